"""``anyvenv check [ENV] [--json]``: exit 0 when the environment is usable, 1 when not."""

from __future__ import annotations

import argparse
import shlex

from anyvenv.cli.output import add_json_flag

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.repair.diagnose import Diagnosis


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "env", nargs="?", default=".venv", metavar="ENV", help="the environment (default: .venv)"
    )
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from anyvenv.cli.output import print_json
    from anyvenv.project.envchoice import resolve_env
    from anyvenv.repair.diagnose import check

    diagnosis = check(resolve_env(args.env))  # a pointer file is followed
    if args.json:
        print_json(diagnosis.to_json())
    else:
        print_findings_report(diagnosis)
        if not diagnosis.usable:
            print(f"fix it with: anyvenv repair {shlex.quote(args.env)}")
    return 0 if diagnosis.usable else 1


def print_findings_report(diagnosis: Diagnosis) -> None:
    """The verdict line and one line per finding."""
    state = "usable" if diagnosis.usable else "not usable"
    what = f"made by {diagnosis.made_by}"
    if diagnosis.version_text:
        what += f" for Python {diagnosis.version_text}"
    print(f"{diagnosis.env}: {state} ({what})")
    if not diagnosis.findings:
        return
    width = max(len(f.code.value) for f in diagnosis.findings)
    for finding in diagnosis.findings:
        print(f"  {finding.severity.value:<7}  {finding.code.value:<{width}}  {finding.message}")
