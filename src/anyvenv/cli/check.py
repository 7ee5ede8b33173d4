"""``anyvenv check [ENV] [--json]``: exit 0 when the environment is usable, 1 when not."""

from __future__ import annotations

from anyvenv.cli.output import add_json_flag

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace

    from anyvenv.repair.diagnose import Diagnosis

DEFAULT_ENV = ".venv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "env",
        nargs="?",
        default=DEFAULT_ENV,
        metavar="ENV",
        help=f"the environment (default: {DEFAULT_ENV})",
    )
    add_json_flag(parser)


def quick_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """``[ENV] [--json]`` as argparse would read it; ``None``: leave it to argparse."""
    from anyvenv.cli.plainargs import path_and_json_args

    return path_and_json_args(argv, "env", DEFAULT_ENV)


def run(args: argparse.Namespace | SimpleNamespace) -> int:
    import os

    from anyvenv.cli.output import print_json
    from anyvenv.project.pointer import resolve_existing_env
    from anyvenv.project.shadow import with_unfinished_copy
    from anyvenv.repair.diagnose import check

    env, anothers = resolve_existing_env(args.env, os.environ)  # a pointer file is followed
    tell_anothers(anothers, env, "checking")
    diagnosis = check(env)
    # (a copy from a shadow env is known to the project layer)
    diagnosis.findings = with_unfinished_copy(diagnosis.env, diagnosis.findings)
    if args.json:
        print_json(diagnosis.to_json())
    else:
        print_findings_report(diagnosis)
        if not diagnosis.usable:
            import shlex

            from anyvenv.repair.envstate import base_out_of_reach
            from anyvenv.repair.findings import Code
            from anyvenv.repair.fixes import (
                nothing_executable_here,
                stuck_words,
                unrepairable,
                unwritable,
            )

            out = base_out_of_reach(diagnosis.env)
            stuck = unwritable(diagnosis.env)
            nowhere = (  # (scripts shown 0644 where nothing can be executable: no repair helps)
                nothing_executable_here(diagnosis.env)
                if stuck is None and diagnosis.has(Code.SCRIPT_NOT_EXECUTABLE)
                else None
            )
            if diagnosis.fill_refused:
                print("do as the fill-unfinished line says: repair does not act on it")
            # (with a fill left, the rest may be what it left half-way: repair undoes it first)
            elif any(f.code is Code.FILL_UNFINISHED for f in diagnosis.errors):
                print(f"fix it with: anyvenv repair {shlex.quote(args.env)}")
            elif out is not None:  # (its base is not gone: repair refuses to move it off it)
                print(f"repair cannot mend it for you: {out.reason()}; {out.let_in()}")
            elif unrepairable(diagnosis) is not None:  # repair would refuse: say what will work
                print(
                    f"recreate it: anyvenv venv --clear {shlex.quote(os.fspath(diagnosis.env))}"
                    " (then reinstall its packages)"
                )
            elif stuck is not None:
                print(stuck_words(stuck, args.env))
            elif nowhere is not None:
                print(f"it cannot be repaired where it is: {nowhere}")
            elif diagnosis.reinstall_only:
                print("reinstall the packages named above: repair writes no package's files")
            else:
                print(f"fix it with: anyvenv repair {shlex.quote(args.env)}")
    return 0 if diagnosis.usable else 1


def tell_anothers(anothers: str | None, env: str, doing: str) -> None:
    """Where the pointer names another user's env (``anothers``: the line that says so), that
    line on stderr, and that ``env``, this user's own, is what the command is ``doing``
    (``"checking"``)."""
    if anothers is not None:
        import sys

        print(f"anyvenv: {anothers}; {doing} yours at {env}", file=sys.stderr)


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
