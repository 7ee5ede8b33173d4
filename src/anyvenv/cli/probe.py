"""``anyvenv probe [DIR] [--json]``."""

from __future__ import annotations

import argparse

from anyvenv.cli.output import add_json_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        metavar="DIR",
        help="directory to probe (default: the current directory)",
    )
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from anyvenv.cli.output import print_json, print_mapping
    from anyvenv.fs.probe import probe

    result = probe(args.directory)
    if args.json:
        print_json(result.to_json())
        return 0
    where = f"{result.fstype or '?'} mounted at {result.mount_point or '?'}"
    options = ",".join(result.mount_options)
    print(f"{result.path}: {where}" + (f" ({options})" if options else ""))
    print_mapping(result.checks())
    print(f"verdict: {result.verdict()}")
    return 0
