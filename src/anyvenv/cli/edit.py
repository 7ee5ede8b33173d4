"""``anyvenv add`` and ``anyvenv remove``: ``uv add``/``uv remove`` with the project env made
or reused by anyvenv (as ``anyvenv sync`` does) and the project's files put back if uv fails."""

from __future__ import annotations

from anyvenv.cli.sync import OWN, add_common
from anyvenv.cli.uvargs import describe_passthrough, pass_through

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def add_arguments(parser: argparse.ArgumentParser, uv_command: str) -> None:
    from anyvenv.cli.output import add_json_flag

    add_common(parser)
    add_json_flag(parser)
    describe_passthrough(parser, f"uv {uv_command} (packages and options)")
    pass_through(parser, OWN)
    parser.set_defaults(uv_command=uv_command)


def run(args: argparse.Namespace) -> int:
    from anyvenv.cli.sync import run_leaving_env_alone, script_left_to_uv

    if not args.uv_args:  # before any env is made for it
        from anyvenv.errors import UsageError

        raise UsageError(
            f"nothing to {args.uv_command}",
            f"name the packages, e.g. 'anyvenv {args.uv_command} requests'",
        )

    handed = script_left_to_uv(args, args.uv_command)
    if handed is not None:
        return handed
    return run_leaving_env_alone(args, args.uv_command)
