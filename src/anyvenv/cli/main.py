"""Argument parsing and dispatch. Imports a command's module only when that command runs."""

from __future__ import annotations

import argparse
import importlib
import sys

from anyvenv.cli.guard import guarded, report
from anyvenv.errors import EXIT_USAGE, AnyvenvError

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, NoReturn

# name -> (module under anyvenv.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "probe": ("probe", "measure what the filesystem at a directory can do"),
    "venv": ("venv", "create a virtual environment that works on this filesystem"),
    "sync": ("sync", "make or repair the project environment, then run `uv sync` into it"),
    "run": ("run", "sync, then run a command in the project environment"),
    "add": ("add", "`uv add` into the project environment anyvenv makes or reuses"),
    "remove": ("remove", "`uv remove` from the project environment anyvenv makes or reuses"),
    "lock": ("lock", "`uv lock`, also where uv cannot replace uv.lock in place (FAT, SMB)"),
    "pip": ("pip", "run `uv pip` against the project environment"),
    "python": (
        "python",
        "install, list, find and uninstall managed CPython builds; where they go (dir)",
    ),
    "check": ("check", "tell whether an environment is usable, and why not"),
    "repair": ("repair", "fix a broken environment in place, keeping its packages"),
    "doctor": ("doctor", "advice for a directory: what works here and what to do"),
    "cache": ("cache", "show anyvenv's directories, clear its caches, prune unused envs"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors stay one line with exit code 2, and
    that takes no abbreviation of an option (as uv: ``--cl`` must not mean ``--clear``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise AnyvenvError(message, f"see '{self.prog} --help'")


def _command_module(name: str) -> ModuleType | None:
    entry = COMMANDS.get(name)
    if entry is None:
        return None
    try:
        return importlib.import_module(f"anyvenv.cli.{entry[0]}")
    except ModuleNotFoundError as exc:
        if exc.name == f"anyvenv.cli.{entry[0]}":
            return None  # not built yet in this version
        raise


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    from anyvenv import __version__

    parser = _Parser(
        prog="anyvenv",
        description="Python environments that work on any filesystem (SMB, sshfs, exFAT, FAT, ...).",
    )
    parser.add_argument("--version", action="version", version=f"anyvenv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (_, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = _command_module(name)
        if module is None:
            continue
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_module=module)
    return parser


def _first_command(argv: list[str]) -> str | None:
    for arg in argv:
        if arg.startswith("-"):
            return None  # global option first: build the full parser
        return arg if arg in COMMANDS else None
    return None


def run(argv: list[str]) -> int:
    return guarded(lambda: _parse_and_run(argv))


def _deepest_prog(parser: argparse.ArgumentParser, argv: list[str]) -> str:
    """The program name of the deepest command ``argv`` names (``anyvenv python install``),
    whose help lists the options it takes."""
    current = parser
    words = (arg for arg in argv if not arg.startswith("-"))
    while True:
        choices = next(
            (
                action.choices
                for action in current._actions
                if isinstance(action, argparse._SubParsersAction)
            ),
            None,
        )
        word = next(words, None) if choices else None
        if not choices or word not in choices:
            return current.prog
        current = choices[word]


def _parse_and_run(argv: list[str]) -> int:
    parser = build_parser(only=_first_command(argv))
    try:
        args = parser.parse_args(argv)
    except AnyvenvError as exc:
        if exc.hint == "see 'anyvenv --help'":  # argparse's last check: name the command's help
            exc = AnyvenvError(exc.message, f"see '{_deepest_prog(parser, argv)} --help'")
        report(exc)
        return EXIT_USAGE
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from anyvenv.fs.bounded import check_timeout_setting

    check_timeout_setting()  # (a setting every command may read: checked before it runs)
    from anyvenv.cli.uvargs import AS_UV_COMMANDS

    if module.__name__.rpartition(".")[2] in AS_UV_COMMANDS:  # (args.command may be run's)
        import os

        from anyvenv.project.uvrules import check_global_flags

        check_global_flags(os.environ)  # (as uv: before anything is made)
    code: int = module.run(args)
    return code
