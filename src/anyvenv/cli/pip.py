"""``anyvenv pip SUBCOMMAND [ARGS...]``: ``uv pip`` against the project env."""

from __future__ import annotations

import argparse

from anyvenv.cli.uvargs import OwnOptions, pass_through

OWN = OwnOptions(with_value=frozenset(), flags=frozenset(), command_follows=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "subcommand",
        nargs="*",
        metavar="SUBCOMMAND",
        help="a 'uv pip' subcommand and its arguments (install, uninstall, list, freeze, ...)",
    )
    pass_through(parser, OWN)


def run(args: argparse.Namespace) -> int:
    import os

    from anyvenv.errors import NotAProject, UsageError
    from anyvenv.project.pip import run_pip, targets_another_env
    from anyvenv.project.sync import SyncOptions
    from anyvenv.project.uvcall import exec_uv

    words = pip_words(args)
    if not words:
        raise UsageError("no 'uv pip' subcommand given", "e.g. 'anyvenv pip list'")
    from anyvenv.project.sync import EnvLeftAlone

    try:
        if not targets_another_env(words, os.environ, os.getcwd()):
            return run_pip(words, SyncOptions()).uv_exit_code
    except (NotAProject, EnvLeftAlone):  # no project, or one uv does not manage
        pass
    # as plain uv pip, on the env it finds (the one named, VIRTUAL_ENV, .venv above); anyvenv
    # makes none
    return exec_uv(["pip", *words], os.environ)


def pip_words(args: argparse.Namespace) -> list[str]:
    """uv pip's own arguments, in the order given (a ``--`` among them kept)."""
    if args.separated:
        return [*args.uv_args, "--", *args.command]
    return [*args.uv_args, *args.command]
