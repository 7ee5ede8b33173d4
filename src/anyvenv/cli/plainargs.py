"""Command lines of the form ``[PATH] [--json]`` (``check``, ``probe``) read without argparse,
whose import costs more than those commands' own work on a healthy env or a local disk."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import SimpleNamespace


def path_and_json(argv: Sequence[str]) -> tuple[str | None, bool] | None:
    """The positional argument (``None`` if absent) and whether ``--json`` was given, as
    argparse reads them; ``None`` for anything else (help, ``--``, an abbreviation, a second
    positional), which argparse answers."""
    path: str | None = None
    as_json = False
    for arg in argv:
        if arg == "--json":
            as_json = True
        elif arg.startswith("-") or path is not None:
            return None
        else:
            path = arg
    return path, as_json


def path_and_json_args(argv: Sequence[str], dest: str, default: str) -> SimpleNamespace | None:
    """The namespace argparse gives ``[PATH] [--json]`` (``PATH`` stored as ``dest``, else
    ``default``); ``None``: leave the command line to argparse."""
    read = path_and_json(argv)
    if read is None:
        return None
    from types import SimpleNamespace

    path, as_json = read
    return SimpleNamespace(**{dest: default if path is None else path, "json": as_json})
