"""``anyvenv venv [PATH] [--python X] ...``."""

from __future__ import annotations

import argparse

from anyvenv.cli.output import add_json_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", nargs="?", default=".venv", help="where to create it (default: .venv)"
    )
    parser.add_argument("-p", "--python", help="a version (3.12), a path or an executable name")
    parser.add_argument(
        "--prompt", help="the prompt prefix when activated (default: the directory name)"
    )
    parser.add_argument(
        "--system-site-packages", action="store_true", help="give access to the base's packages"
    )
    parser.add_argument("--seed", action="store_true", help="install pip into the environment")
    parser.add_argument(
        "--clear", action="store_true", help="replace an existing environment at PATH"
    )
    parser.add_argument(
        "--strategy",
        choices=["auto", "symlink", "hardlink", "copy"],
        default="auto",
        help="how to place the interpreter (default: decided from a probe of the target)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from anyvenv.envbuild.create import create

    info = create(
        args.path,
        args.python,
        prompt=args.prompt,
        system_site_packages=args.system_site_packages,
        seed=args.seed,
        clear=args.clear,
        strategy=args.strategy,
    )
    if args.json:
        from anyvenv.cli.output import print_json

        print_json(info.to_json())
    elif not args.quiet:
        verb = "Replaced" if info.replaced else "Created"
        print(f"{verb} {info.path} with CPython {info.version} ({info.base_executable})")
        placement = info.strategy.value + (
            "" if info.libpython.value == "none" else f", libpython: {info.libpython.value}"
        )
        print(f"interpreter: {placement} ({info.reason})")
        print(f"Activate with: source {info.path}/bin/activate")
    return 0
