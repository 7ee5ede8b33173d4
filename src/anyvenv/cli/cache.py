"""``anyvenv cache dir|clean|prune``: where anyvenv keeps things, clearing its caches, and
removing the envs no project uses."""

from __future__ import annotations

import argparse
import sys

from anyvenv.cli.output import add_json_flag

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.project.prune import PruneEntry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="cache_command", metavar="SUBCOMMAND", parser_class=type(parser)
    )
    sub.required = True
    where = sub.add_parser("dir", help="print the directories anyvenv keeps envs and caches in")
    add_json_flag(where)
    clean = sub.add_parser(
        "clean",
        help="clear anyvenv's caches: Python downloads, interpreter and pyproject.toml "
        "lookups, the build shim, lock files left by killed runs",
        description="Clear anyvenv's caches, which are made again when needed: Python "
        "downloads, the interpreter and pyproject.toml lookups, and the build shim (what "
        "lets builds run where chmod fails); and the lock files that killed runs left in /tmp. "
        "The envs kept outside "
        "projects are not touched: 'anyvenv cache prune' removes those no project uses.",
    )
    add_json_flag(clean)
    prune = sub.add_parser(
        "prune",
        help="remove the envs kept outside projects that no project uses any more",
        description="Remove the envs anyvenv keeps outside projects (for filesystems that "
        "cannot run one, and shadow envs where chmod fails) that their project no longer "
        "uses, and what interrupted runs left behind. An env is removed only when its project "
        "says so under its lock, or its directory is gone from a filesystem that is mounted "
        "now; the rest is kept and listed with the reason.",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="say what would be removed, remove nothing"
    )
    add_json_flag(prune)


LABELS = {
    "envs": "envs of projects whose filesystem cannot run one",
    "shadow": "shadow envs (where chmod fails)",
    "pythons": "managed Pythons",
    "python_downloads": "Python downloads",
    "cache": "anyvenv's cache (lookups; by default shadow envs and downloads too)",
}


def run(args: argparse.Namespace) -> int:
    import os

    if args.cache_command == "dir":
        from anyvenv.caches import directories

        found = directories(os.environ)
        if args.json:
            from anyvenv.cli.output import print_json

            print_json(found)
        else:
            from anyvenv.cli.output import print_table

            print_table(((LABELS[key], path) for key, path in found.items()), indent="")
        return 0
    if args.cache_command == "clean":
        return _clean(args.json)
    from anyvenv.project.prune import prune

    entries = prune(os.environ, dry_run=args.dry_run)
    if args.json:
        from anyvenv.cli.output import print_json

        print_json({"dry_run": args.dry_run, "entries": [e.to_json() for e in entries]})
    else:
        _print_prune(entries, args.dry_run)
    return 0


def _print_prune(entries: list[PruneEntry], dry_run: bool) -> None:
    from anyvenv.project.owners import Verdict

    unused = [e for e in entries if e.verdict is Verdict.UNUSED]
    kept = [e for e in entries if e.verdict is Verdict.KEPT]
    in_use = sum(1 for e in entries if e.verdict is Verdict.IN_USE)
    verb = "Would remove" if dry_run else "Removed"
    said = f"{verb} {len(unused)}, kept {len(kept)} not known to be unused, {in_use} in use"
    print(said, file=sys.stderr)  # (as uv's cache commands: stdout is for --json)
    done = "unused" if dry_run else "removed"
    for label, entry in [(done, e) for e in unused] + [("kept", e) for e in kept]:
        why = f"project {entry.project}: {entry.reason}" if entry.project else entry.reason
        print(f"  {label:<7}  {entry.path}  ({why})", file=sys.stderr)


def _clean(as_json: bool) -> int:
    import os

    from anyvenv.caches import clean

    cleared, kept, stale_locks = clean(os.environ)
    code = 1 if kept else 0
    if as_json:
        from anyvenv.cli.output import print_json

        print_json(
            {
                "cleared": [entry.to_json() for entry in cleared],
                "not_cleared": [entry.to_json() for entry in kept],
                "stale_lock_files_removed": stale_locks,
            }
        )
        return code
    files = sum(entry.files for entry in cleared)
    size = sum(entry.bytes for entry in cleared)
    print(f"Removed {files} files ({size / 1024 / 1024:.1f} MiB)", file=sys.stderr)  # (as uv's)
    for entry in cleared:
        print(f"  {entry.path}  ({entry.files} files)", file=sys.stderr)
    if stale_locks:
        print(f"  {stale_locks} lock files left by killed runs", file=sys.stderr)
    for left in kept:
        print(f"anyvenv: error: {left.path} was not cleared: {left.reason}", file=sys.stderr)
    return code
