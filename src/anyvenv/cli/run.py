"""``anyvenv run [--no-sync] [--python X] [uv sync options] [--] CMD ...``.

Put ``--`` before CMD when you pass uv options that take a value.
"""

from __future__ import annotations

import os

from anyvenv.cli.sync import add_common
from anyvenv.cli.uvargs import OwnOptions, pass_through

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run reads OWN before argparse is imported (see cli.fastpath)
    import argparse

OWN = OwnOptions(
    with_value=frozenset({"-p", "--python", "--link-mode"}),
    flags=frozenset({"--no-sync"}),
    command_follows=True,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-sync", action="store_true", help="run in the env as it is, without syncing"
    )
    add_common(parser)
    parser.add_argument("cmd", nargs="*", metavar="CMD", help="the command and its arguments")
    pass_through(parser, OWN)


def run(args: argparse.Namespace) -> int:
    from anyvenv.errors import UsageError
    from anyvenv.project.runenv import project_env

    command: list[str] = list(args.command)
    if not command:
        raise UsageError(
            "no command to run", "write it after the options, e.g. 'anyvenv run -- python -V'"
        )
    if args.no_sync:
        env = project_env(args.uv_args, os.getcwd(), os.environ)
    else:
        from anyvenv.cli.sync import is_quiet, options_of, report
        from anyvenv.project.sync import sync

        result = sync(options_of(args))
        if result.uv_exit_code != 0:
            return result.uv_exit_code
        if result.prepared.action != "reused" or result.prepared.notes:
            report(result, quiet=is_quiet(args))
        env = result.prepared.location.env
    return exec_in(env, command)


def exec_in(env: str | os.PathLike[str], command: list[str]) -> int:
    """Replace this process with ``command`` in ``env`` (activated); returns only on error."""
    import sys

    from anyvenv.errors import UsageError
    from anyvenv.project.runenv import activated_environment

    environ = activated_environment(os.fspath(env), os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, environ)
    except OSError as exc:
        raise UsageError(
            f"cannot run {command[0]!r}: {exc.strerror}",
            f"is it installed in {os.fspath(env)}? (PATH starts with {os.fspath(env)}/bin)",
        ) from exc
    return 0  # pragma: no cover - exec does not return
