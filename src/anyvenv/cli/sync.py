"""``anyvenv sync [--python X] [--link-mode M] [--json] [uv sync options]``."""

from __future__ import annotations

import sys

from anyvenv.cli.uvargs import OwnOptions, describe_passthrough, pass_through

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op sync reads OWN before argparse is imported (see cli.fastpath)
    import argparse
    from collections.abc import Callable, Mapping, Sequence

    from anyvenv.cli.output import ProgressBar
    from anyvenv.project.scriptcopy import ScriptResult
    from anyvenv.project.session import SyncOptions
    from anyvenv.project.sync import SyncResult

OWN = OwnOptions(
    with_value=frozenset({"-p", "--python", "--link-mode"}), flags=frozenset({"--json"})
)


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options of sync that run shares."""
    parser.add_argument(
        "-p", "--python", help="the Python to use (default: .python-version, requires-python)"
    )
    parser.add_argument(
        "--link-mode",
        metavar="MODE",
        help="how uv places package files: clone, hardlink, copy, symlink "
        "(default: decided from probes of the env and of uv's cache)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from anyvenv.cli.output import add_json_flag

    add_common(parser)
    add_json_flag(parser)
    describe_passthrough(parser, "uv sync")
    pass_through(parser, OWN)


def report(result: SyncResult, quiet: bool) -> None:
    """One or two lines on stderr (beside uv's own output) saying what anyvenv did."""
    from anyvenv.project.envchoice import Placement

    if quiet:
        return
    prepared = result.prepared
    location = prepared.location
    if not result.uv_ran:
        from anyvenv.project.sync import summary_of

        print(up_to_date_line(summary_of(prepared, result.link)), file=sys.stderr)
        return
    from anyvenv.cli.output import tell_notes

    if prepared.action in ("undone", "restored"):  # uv refused the command: as it was
        tell_notes(prepared.notes)
        return
    failed = result.uv_exit_code != 0
    if not (failed and prepared.action == "reused"):  # uv's error is the news then
        version = ".".join(map(str, prepared.state.version))
        what = {"created": "Created", "rebuilt": "Rebuilt", "reused": "Using"}[prepared.action]
        into = " into its shadow env" if location.placement is Placement.SHADOW else ""
        line = (
            f"anyvenv: {what} {location.env} (CPython {version}; "
            f"link mode {result.link.mode.value}{into})"
        )
        if prepared.rebuild_reason:
            line += f"; the old one was replaced: {prepared.rebuild_reason}"
        if failed:
            line += "; then " + uv_failure(result.uv_exit_code)
        print(line, file=sys.stderr)
    elif result.uv_exit_code < 0:  # (killed: uv said nothing, so that is the news)
        print(f"anyvenv: {uv_failure(result.uv_exit_code)}", file=sys.stderr)
    if (
        location.placement is Placement.ELSEWHERE
        and prepared.action != "reused"
        and prepared.anothers is None  # (the pointer names another user's env, said above)
    ):
        print(
            f"anyvenv: the environment lives outside the project ({location.reason}); "
            f"{location.declared} is a pointer file to it",
            file=sys.stderr,
        )
    tell_notes(prepared.notes)
    if (
        location.placement is Placement.SHADOW
        and result.mirror is not None
        and result.mirror.changed
    ):
        m = result.mirror
        print(
            f"anyvenv: copied {len(m.added) + len(m.updated)} and removed {len(m.removed)} "
            f"distributions from the shadow env {location.shadow} "
            f"({m.files_written} files written, {m.files_removed} removed)",
            file=sys.stderr,
        )


def options_of(args: argparse.Namespace) -> SyncOptions:
    from anyvenv.cli.output import tell_notes, tell_waiting, tell_warnings
    from anyvenv.project.session import SyncOptions

    quiet = quiet_in(args.uv_args) or bool(getattr(args, "json", False))
    bar = None if quiet else python_progress(args.uv_args)
    return SyncOptions(
        python=args.python,
        link_mode=args.link_mode,
        uv_args=tuple(args.uv_args),
        on_lock_wait=tell_waiting,
        # (uv -q says none; --json keeps stderr for what is said beside it)
        on_warning=None if quiet_in(args.uv_args) else lambda line: tell_warnings([line]),
        on_mirror_progress=None if quiet else mirror_progress(args.uv_args),
        on_python_progress=bar,
        on_python_progress_done=None if bar is None else bar.close,
        on_anothers_env=None if quiet else lambda line: tell_notes([line]),
    )


def script_left_to_uv(args: argparse.Namespace, uv_command: str) -> int | None:
    """With ``--script FILE``, uv works on the script's own env (in its cache), not on the
    project: uv does it alone, as plain ``uv`` would, except that where uv cannot rewrite the
    script and its lock (FAT, SMB) it edits or locks a copy of them on local disk
    (:mod:`anyvenv.project.scriptcopy`). ``None`` without ``--script``."""
    import os

    from anyvenv.project.uvcall import exec_uv, names_script
    from anyvenv.project.uvrules import option_value

    if (  # (uv sync alone has --output-format: uv lock, add and remove refuse it themselves)
        uv_command == "sync"
        and args.json
        and option_value(args.uv_args, "--output-format") == "json"
    ):
        from anyvenv.errors import UsageError

        raise UsageError(
            "--json and --output-format json would both print a JSON document on stdout",
            "use one of them (--json: anyvenv's report, --output-format json: uv's)",
        )
    if args.json and "--show-settings" in args.uv_args[: _end_of_options(args.uv_args)]:
        from anyvenv.errors import UsageError

        raise UsageError(
            "--json and --show-settings would both print on stdout (uv's settings are not JSON)",
            "use one of them",
        )
    if not names_script(args.uv_args):
        return None
    if args.json:
        from anyvenv.errors import UsageError

        reports = "uv.lock" if uv_command == "lock" else "the project env"
        raise UsageError(
            f"--json reports {reports}, and with --script uv works on the script's own",
            f"drop --json (uv {uv_command} --script has no JSON output)",
        )
    from anyvenv.project.scriptcopy import edit_in_copy, named_script, relock_in_copy

    # where uv cannot rewrite the script and its lock beside it: in a copy on local disk
    words, cwd = uv_words(args, uv_command), os.getcwd()
    if uv_command == "sync":
        script = named_script(args.uv_args, cwd, os.environ)
        done = (
            None if script is None else relock_in_copy("sync", words[1:], script, os.environ, cwd)
        )
        if done is None or done.uv_exit_code == 0:
            tell_script_notes(done, args.uv_args)
            return exec_uv(words, os.environ)
    else:
        done = edit_in_copy(uv_command, words, args.uv_args, os.environ, cwd)
        if done is None:
            return exec_uv(words, os.environ)
    tell_script_notes(done, args.uv_args)
    return done.uv_exit_code


def tell_script_notes(done: ScriptResult | None, uv_args: Sequence[str]) -> None:
    """What was done in a copy of a script, said unless quiet."""
    if done is not None and not quiet_in(uv_args):
        from anyvenv.cli.output import tell_notes

        tell_notes(done.notes)


def uv_words(args: argparse.Namespace, uv_command: str) -> list[str]:
    """uv's command line for what anyvenv was given (anyvenv's own options included)."""
    words = [uv_command, *args.uv_args]
    if getattr(args, "python", None):  # `lock` has neither
        words += ["--python", args.python]
    if getattr(args, "link_mode", None):
        words += ["--link-mode", args.link_mode]
    return words


def run_leaving_env_alone(args: argparse.Namespace, uv_command: str) -> int:
    """``sync``, ``add`` or ``remove``; where uv will not touch the env (``--dry-run``,
    ``--check``, ``--no-sync``...) and there is none to reuse, uv runs alone on the env path,
    so that nothing is made (or rebuilt) for a command that changes no env."""
    import os

    from anyvenv.project.prepare import EnvLeftAlone
    from anyvenv.project.sync import sync
    from anyvenv.record import replace

    try:
        result = sync(replace(options_of(args), uv_command=uv_command))
    except EnvLeftAlone as left:
        from anyvenv.project.uvcall import exec_uv, run_uv
        from anyvenv.uvbinary import find_uv

        environ = {**os.environ, "UV_PROJECT_ENVIRONMENT": os.path.abspath(left.env)}
        if not args.json:
            return exec_uv(uv_words(args, uv_command), environ)
        code = run_uv([find_uv(), *uv_words(args, uv_command)], environ, os.getcwd())
        from anyvenv.cli.output import print_json

        print_json({"action": "left to uv", "env": left.env, "uv_exit_code": code})
        return code
    if args.json:
        from anyvenv.cli.output import print_json

        print_json(result.to_json())
    else:
        report(result, quiet=is_quiet(args))
    return result.uv_exit_code


def run(args: argparse.Namespace) -> int:
    handed = script_left_to_uv(args, "sync")
    if handed is not None:
        return handed
    return run_leaving_env_alone(args, "sync")


def is_quiet(args: argparse.Namespace) -> bool:
    return quiet_in(args.uv_args)


def mirror_progress(uv_args: Sequence[str]) -> Callable[[int, int], None] | None:
    """The progress bar of the copy from a shadow env: none under ``-q``, nor under uv's
    ``--no-progress`` (``UV_NO_PROGRESS``), which anyvenv's bar follows as uv's do."""
    from anyvenv.cli.output import files_progress

    return files_progress("anyvenv", "mirror") if _draws_progress(uv_args) else None


def python_progress(uv_args: Sequence[str]) -> ProgressBar | None:
    """The progress bar of a Python downloaded because none answers the request (as
    :func:`mirror_progress`, drawn on a terminal only)."""
    from anyvenv.cli.output import ProgressBar, draws_progress

    return ProgressBar("cpython") if _draws_progress(uv_args) and draws_progress() else None


def _draws_progress(uv_args: Sequence[str]) -> bool:
    from anyvenv.cli.output import no_progress_by_variable

    if quiet_in(uv_args) or "--no-progress" in uv_args[: _end_of_options(uv_args)]:
        return False
    return not no_progress_by_variable()


def _end_of_options(uv_args: Sequence[str]) -> int:
    return uv_args.index("--") if "--" in uv_args else len(uv_args)


def quiet_in(uv_args: Sequence[str]) -> bool:
    """``-q``/``--quiet`` go to uv and quieten anyvenv too; also ``-qq`` and clusters such as
    ``-qp 3.12`` and ``-vq``, as uv reads them."""
    from anyvenv.project.uvrules import PLAIN_SHORT_FLAGS

    for arg in uv_args:
        if arg == "--":
            break
        if arg == "--quiet":
            return True
        if arg.startswith("-") and not arg.startswith("--"):
            letters = arg[1:]
            flags = letters[: len(letters) - len(letters.lstrip(PLAIN_SHORT_FLAGS))]
            if "q" in flags:
                return True
    return False


def up_to_date_line(summary: Mapping[str, object]) -> str:
    """What a sync that did not need uv says (from its ``--json`` summary)."""
    into = " into its shadow env" if summary.get("placement") == "shadow" else ""
    return (
        f"anyvenv: Using {summary['env']} (CPython {summary['python']}; "
        f"link mode {summary['link_mode']}{into}); up to date: nothing uv reads has changed "
        "since the last sync, so uv was not run"
    )


def uv_failure(code: int) -> str:
    """How uv ended, for a line after its own output: killed by a signal, it said nothing."""
    from anyvenv.spawn import killed_by

    killed = killed_by(code)
    if killed is not None:
        return f"uv was killed by {killed}, before it could say why"
    return f"uv failed (exit code {code}, its error above)"
