"""``anyvenv probe [DIR] [--json]``."""

from __future__ import annotations

from anyvenv.cli.output import add_json_flag

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace

DEFAULT_DIRECTORY = "."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        default=DEFAULT_DIRECTORY,
        metavar="DIR",
        help="directory to probe (default: the current directory)",
    )
    add_json_flag(parser)


def quick_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """``[DIR] [--json]`` as argparse would read it; ``None``: leave it to argparse."""
    from anyvenv.cli.plainargs import path_and_json_args

    return path_and_json_args(argv, "directory", DEFAULT_DIRECTORY)


def run(args: argparse.Namespace | SimpleNamespace) -> int:
    from anyvenv.cli.output import print_json, print_mapping
    from anyvenv.fs.probe import probe

    result = probe(args.directory, keep_times=True)  # a measurement: it leaves no trace
    if args.json:
        print_json(result.to_json())
        return 0
    where = f"{result.fstype or '?'} mounted at {result.mount_point or '?'}"
    options = ",".join(result.mount_options)
    print(f"{result.path}: {where}" + (f" ({options})" if options else ""))
    print_mapping(result.checks())
    print(f"verdict: {result.verdict()}")
    return 0
