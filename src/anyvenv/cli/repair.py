"""``anyvenv repair [ENV] [--dry-run] [--json]``: fix a broken environment in place.

Exit 0 when the environment is usable afterwards (or would be, for ``--dry-run``), 1 when
not, 2 for a path that is not an environment."""

from __future__ import annotations

import argparse
import os

from anyvenv.cli.output import add_json_flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from anyvenv.repair.apply import RepairReport
    from anyvenv.repair.diagnose import Diagnosis


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "env", nargs="?", default=".venv", metavar="ENV", help="the environment (default: .venv)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would change, change nothing"
    )
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from anyvenv.cli.check import print_findings_report, tell_anothers
    from anyvenv.cli.output import print_json, tell_waiting
    from anyvenv.project.pointer import resolve_existing_env
    from anyvenv.project.shadow import with_unfinished_copy
    from anyvenv.project.uvsettings import preference_where_env_is
    from anyvenv.repair.apply import repair

    # a pointer file (.venv of a project whose env lives elsewhere) is followed, as by check
    env = args.env
    if args.env:
        env, anothers = resolve_existing_env(args.env, os.environ)
        tell_anothers(anothers, env, "repairing")
    report = repair(
        env,
        dry_run=args.dry_run,
        declared=args.env,
        on_lock_wait=tell_waiting,
        # (uv's settings where the env is declared: a project's, for its pointer too; read
        # only if a base is looked up)
        python_preference=lambda: preference_where_env_is(args.env, os.environ, os.getcwd()),
    )
    for diagnosis in (report.before, report.after):  # (the stopped command finishes a copy)
        if diagnosis is not None:
            diagnosis.findings = with_unfinished_copy(report.env, diagnosis.findings)
    if args.json:
        print_json(report.to_json())
        return _exit_code(report)
    before = report.before
    cannot = report.plan.cannot
    if not report.plan.fixes and report.changes:  # (a fill a killed run left, finished)
        print(f"{report.env}: repaired")
        for change in report.changes:
            print(f"  {change.action} {change.path}: {change.detail}")
    if not report.plan.fixes:
        print_findings_report(before)
        if before.findings:
            print("nothing repair can change")
            _print_cannot(cannot)
            _print_reinstall(before)
        elif not report.changes:
            print("nothing to repair")
        return _exit_code(report)
    if args.dry_run:
        print_findings_report(before)
        print("would change:")
        for fix in report.plan.fixes:
            print(f"  {fix.description}")
        _print_cannot(cannot)
        _print_reinstall(before)
        return _exit_code(report)
    print(f"{report.env}: repaired")
    for change in report.changes:
        print(f"  {change.action} {change.path}: {change.detail}")
    after = report.after
    if after is not None and after.findings:
        print_findings_report(after)
    _print_cannot(cannot)
    if after is not None:
        _print_reinstall(after)
    return _exit_code(report)


def _exit_code(report: RepairReport) -> int:
    """0 when the env is usable after the repair, or would be after a dry run's fixes (none
    of which repair cannot make); 1 otherwise. The same with --json and without."""
    if report.dry_run and report.plan.fixes:
        return 1 if report.plan.cannot else 0
    return 0 if report.usable else 1


def _print_reinstall(diagnosis: Diagnosis) -> None:
    """Where packages are damaged (their findings name the reinstall), that repair left
    them: it writes no package's files."""
    from anyvenv.repair.findings import PACKAGE_CODES

    if diagnosis.has(*PACKAGE_CODES):
        print("reinstall the packages named above: repair writes no package's files")


def _print_cannot(cannot: list[str]) -> None:
    """What repair cannot mend where the env is, one indented line each."""
    if cannot:
        print("cannot:", *(f"  {what}" for what in cannot), sep="\n")
