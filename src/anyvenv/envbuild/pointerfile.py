"""The pointer file: a project's declared env path (``.venv``) holding the path of its env,
which lives elsewhere (no file can be executed where the project is).

The file holds the env's absolute path on a line of its own, as uv's ``.venv`` redirect
files do, so that plain uv (0.13 and later) follows it too::

    /home/me/.local/share/anyvenv/envs/proj-3f2a9c0d1e2b4a5c

A redirect written by hand may name the env relative to the file's directory, as uv reads
it (taken for a pointer only where that path leads to an env). Pointer files of earlier
anyvenv releases are still read: ``key = value`` lines like pyvenv.cfg with
``anyvenv-pointer = 1``, an absolute ``env`` and the ``reason``.
"""

from __future__ import annotations

import os

from anyvenv.envbuild.config import abandoned_env, parse_pyvenv_cfg
from anyvenv.errors import EnvironmentBroken, UsageError
from anyvenv.fs import is_virtual_environment

POINTER_KEY = "anyvenv-pointer"
POINTER_MAX_BYTES = 64 * 1024


def render_pointer(env: str) -> bytes:
    """A pointer file naming ``env``: its absolute path, as uv's redirect files hold it."""
    return os.fsencode(env) + b"\n"


def _pointer_values(path: str) -> dict[str, str] | None:
    """What a pointer file at ``path`` says (one read): ``env``, and ``reason`` in one of
    an earlier release; ``None`` when ``path`` is no regular file, is unreadable or too
    large, or is neither form of pointer."""
    from anyvenv.fs.atomic import read_small_file

    if not os.path.isfile(path):
        return None
    data = read_small_file(path, POINTER_MAX_BYTES)
    if data is None:
        return None
    text = os.fsdecode(data)  # (written with os.fsencode: the path's bytes, any locale)
    lines = text.strip().splitlines()
    if len(lines) == 1 and os.path.isabs(lines[0]):
        return {"env": lines[0]}  # (uv's redirect form: one absolute path)
    if len(lines) == 1:  # a relative one, as uv follows it: from the file's directory, to an env
        target = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), lines[0]))
        if is_virtual_environment(target):
            return {"env": target}
    values = parse_pyvenv_cfg(text)
    return values if POINTER_KEY in values else None


def is_empty_pointer(path: str) -> bool:
    """A regular file of no bytes (not a link): at a project's declared env path, a pointer
    whose contents a crash lost (its name reached the disk, its bytes did not), as uv says
    of an empty redirect file."""
    from anyvenv.fs.paths import is_empty_file

    return is_empty_file(path)


EMPTY_POINTER = "is an empty pointer file (what it named was lost, likely in a crash)"
"""How an empty file at a project's declared env path is said (:func:`is_empty_pointer`)."""


def pointer_reason(path: str) -> str:
    """Why the pointer file at ``path`` was written, where it says (an earlier release's)."""
    values = _pointer_values(path) or {}
    return values.get("reason", f"{path} is a pointer file to an env that lives elsewhere")


def is_pointer(path: str) -> bool:
    """A regular file (not a directory) that is a pointer file, of either form."""
    return _pointer_values(path) is not None


def read_pointer(path: str) -> str | None:
    """The env a pointer file at ``path`` names; ``None`` if ``path`` is no pointer file."""
    found = read_pointer_form(path)
    return None if found is None else found[0]


def read_pointer_form(path: str) -> tuple[str, bool] | None:
    """The env a pointer file at ``path`` names, and whether the file is of an earlier
    release's form (to be written again in uv's, which plain uv follows); ``None`` if
    ``path`` is no pointer file."""
    values = _pointer_values(path)
    if values is None:
        return None
    target = values.get("env", "")
    if not target or not os.path.isabs(target):
        raise EnvironmentBroken(
            f"the pointer file {path} names no absolute env path",
            f"remove {path} and run 'anyvenv sync'",
        )
    return target, POINTER_KEY in values


def refuse_pointer_over(path: str) -> None:
    """Raise :class:`UsageError` where :func:`write_pointer` would refuse to replace what is
    at ``path``: asked before an env is built for the pointer to name, so that nothing is
    built, nor an env there rebuilt, for a pointer that cannot be written."""
    if os.path.isdir(path) and not os.path.islink(path):
        if not is_virtual_environment(path) and not _regenerable(path):
            raise UsageError(
                f"{path} is a directory but not a virtual environment",
                "refusing to replace it: move it away, then retry",
            )
    elif (
        os.path.lexists(path)
        and not is_pointer(path)
        and not os.path.islink(path)
        and not is_empty_pointer(path)
    ):
        raise UsageError(
            f"{path} exists and is not an anyvenv pointer file",
            "refusing to replace it: move it away, then retry",
        )


def write_pointer(path: str, env: str) -> None:
    """Make ``path`` a pointer to ``env``; a venv directory there is replaced, nothing else."""
    refuse_pointer_over(path)
    if os.path.isdir(path) and not os.path.islink(path):
        from anyvenv.fs.inplace import remove_or_empty

        remove_or_empty(path)  # (aside first: a kill leaves the env whole, or gone)
        if os.path.isdir(path):
            os.rmdir(path)  # emptied in place (the working directory): the pointer takes it
    elif os.path.islink(path):
        os.unlink(path)
    from anyvenv.fs.atomic import atomic_write

    atomic_write(path, render_pointer(env), durable=True)  # (a crash leaves no empty one)


def _regenerable(path: str) -> bool:
    """Empty (empty directories aside: what venv leaves when it fails early), or what uv
    leaves when it gives up (:func:`~anyvenv.envbuild.config.abandoned_env`)."""
    from anyvenv.fs.inplace import prune_if_only_directories

    return not os.listdir(path) or abandoned_env(path) or prune_if_only_directories(path)
