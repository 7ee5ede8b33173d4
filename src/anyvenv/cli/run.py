"""``anyvenv run [--no-sync] [--python X] [uv sync options] [--] CMD ...``.

Put ``--`` before CMD when you pass uv options that take a value.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from anyvenv.cli.sync import add_common
from anyvenv.cli.uvargs import OwnOptions, pass_through

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
    import sys

    from anyvenv.errors import UsageError
    from anyvenv.project.runenv import activated_environment, existing_env

    command: list[str] = list(args.command)
    if not command:
        raise UsageError(
            "no command to run", "write it after the options, e.g. 'anyvenv run -- python -V'"
        )
    if args.no_sync:
        from anyvenv.project.envchoice import declared_env_path
        from anyvenv.project.model import discover
        from anyvenv.project.uvcall import project_start_dir

        project = discover(project_start_dir(args.uv_args, Path.cwd()))
        env = existing_env(declared_env_path(project.workspace_root, os.environ))
    else:
        from anyvenv.cli.sync import options_of
        from anyvenv.project.sync import SyncOptions, sync

        options = options_of(args)
        assert isinstance(options, SyncOptions)
        result = sync(options)
        if result.uv_exit_code != 0:
            return result.uv_exit_code
        env = result.prepared.location.env
    environ = activated_environment(env, os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, environ)
    except OSError as exc:
        raise UsageError(
            f"cannot run {command[0]!r}: {exc.strerror}",
            f"is it installed in {env}? (PATH starts with {env}/bin)",
        ) from exc
    return 0  # pragma: no cover - exec does not return
