"""``anyvenv lock [--json] [uv lock options]``: ``uv lock`` that works where uv cannot replace
uv.lock in place (chmod fails: FAT; a file held open cannot be renamed: SMB)."""

from __future__ import annotations

import os

from anyvenv.cli.uvargs import OwnOptions, describe_passthrough, pass_through

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

OWN = OwnOptions(with_value=frozenset(), flags=frozenset({"--json"}))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from anyvenv.cli.output import add_json_flag

    add_json_flag(parser)
    describe_passthrough(parser, "uv lock")
    pass_through(parser, OWN)


def run(args: argparse.Namespace) -> int:
    from anyvenv.cli.sync import quiet_in, script_left_to_uv
    from anyvenv.project.localcopy import lock_project

    handed = script_left_to_uv(args, "lock")  # a script's lock: uv's alone
    if handed is not None:
        return handed
    result = lock_project(args.uv_args, os.environ, os.getcwd())
    if args.json:
        from anyvenv.cli.output import print_json

        print_json(result.to_json())
    elif not quiet_in(args.uv_args):
        from anyvenv.cli.output import tell_notes

        tell_notes(result.notes)
    return result.uv_exit_code
