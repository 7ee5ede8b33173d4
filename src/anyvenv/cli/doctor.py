"""``anyvenv doctor [DIR] [--json]``: what works in a directory and what to do about it."""

from __future__ import annotations

import argparse

from anyvenv.cli.output import add_json_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        metavar="DIR",
        help="the directory to advise on (default: the current directory)",
    )
    parser.add_argument(
        "-p",
        "--python",
        help="the base interpreter to plan for (default: the one anyvenv venv would use in DIR)",
    )
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from anyvenv.cli.output import print_json
    from anyvenv.doctor import NotProbedHere, doctor

    try:
        advice = doctor(args.directory, args.python)
    except NotProbedHere as exc:  # (the error line follows what can be said all the same)
        if exc.env_options and not args.json:
            print("what can be said here without writing:")
            for option in exc.env_options:
                print(f"  - {option.advice}" + _proof(option.evidence))
        raise
    if args.json:
        print_json(advice.to_json())
        return 0
    result = advice.probe
    options = ",".join(result.mount_options)
    print(
        f"{result.path}: {result.fstype or '?'} mounted at {result.mount_point or '?'}"
        + (f" ({options})" if options else "")
    )
    print("tools here:")
    width = max(len(tool.tool) for tool in advice.tools)
    for tool in advice.tools:
        print(
            f"  {tool.tool:<{width}}  {tool.outcome.value:<6}  {tool.reason}"
            + _proof(tool.evidence)
        )
    plan = advice.strategy
    libpython = "" if plan.libpython == "none" else f", libpython by {plan.libpython}"
    print(f"anyvenv venv: {plan.strategy}{libpython} ({plan.reason})")
    placement, why = advice.sync_placement()
    print(f"anyvenv sync: {placement} ({why})")
    if advice.options:
        print("your options:")
        for option in advice.options:
            print(f"  - {option.advice}" + _proof(option.evidence))
    else:
        print("everything works here: no changes needed")
    return 0


def _proof(evidence: dict[str, str]) -> str:
    if not evidence:
        return ""
    return " [" + ", ".join(f"{key}: {value}" for key, value in evidence.items()) + "]"
