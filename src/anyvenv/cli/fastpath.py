"""Commands answered before argparse is imported, where start-up time is most of the cost:

- ``anyvenv sync`` and ``anyvenv run`` when nothing uv reads has changed since the last
  successful sync, answered before argparse, TOML or uv are loaded (a no-op sync should cost
  no more than ``uv sync``'s own no-op); the ordinary way checks the same record under the lock;
- any other ``sync`` or ``run`` with an ordinary command line: the options read here go
  straight to the command, without building argparse's parsers;
- ``anyvenv venv`` with an ordinary command line (read by :func:`anyvenv.cli.venv.quick_args`
  from the same option table argparse is built from);
- ``anyvenv check [ENV] [--json]`` and ``anyvenv probe [DIR] [--json]``
  (:mod:`anyvenv.cli.plainargs`).

Anything else, or anything unusual on the command line, goes the ordinary way
(:mod:`anyvenv.cli.main`).
"""

from __future__ import annotations

import os
import sys
import time

from anyvenv.errors import AnyvenvError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import SimpleNamespace
    from typing import Any

    from anyvenv.project.uptodate import UpToDate

_WITH_VALUE = {"-p": "--python", "--python": "--python", "--link-mode": "--link-mode"}


def own_values(ours: Sequence[str]) -> dict[str, str] | None:
    """anyvenv's options as argparse reads them (``-p X``, ``-pX``, ``--python=X``, flags);
    ``None`` for help or a missing value, which argparse answers."""
    values: dict[str, str] = {}
    index = 0
    while index < len(ours):
        arg = ours[index]
        if arg in _WITH_VALUE:
            if index + 1 >= len(ours):
                return None
            index += 1
            values[_WITH_VALUE[arg]] = ours[index]
        elif arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
            if name not in _WITH_VALUE:
                return None
            values[_WITH_VALUE[name]] = value
        elif arg.startswith("-p") and not arg.startswith("--"):
            value = arg[2:]
            values["--python"] = value[1:] if value.startswith("=") else value
        elif arg in ("--json", "--no-sync"):
            values[arg] = ""
        else:
            return None
        index += 1
    return values


class QuickArgs:
    """The namespace argparse would give ``sync`` or ``run`` for an ordinary command line."""

    def __init__(self, values: dict[str, str], uv_args: list[str], command: list[str]) -> None:
        self.python = values.get("--python")
        self.link_mode = values.get("--link-mode")
        self.json = "--json" in values
        self.no_sync = "--no-sync" in values
        self.uv_args = uv_args
        self.command = command


def _up_to_date(values: dict[str, str], uv_args: Sequence[str]) -> UpToDate | None:
    from anyvenv.project.inputs import Invocation
    from anyvenv.project.uptodate import find_up_to_date

    try:
        cwd = os.getcwd()
    except OSError:  # a working directory that is gone: the ordinary way says so
        return None
    invocation = Invocation(
        values.get("--python"), values.get("--link-mode"), uv_args, cwd, os.environ
    )
    return find_up_to_date(invocation)


def _sync(argv: Sequence[str], started: float) -> int | None:
    from anyvenv.cli.sync import OWN, quiet_in, up_to_date_line
    from anyvenv.cli.uvargs import refuse_empty_paths

    ours, uv_args, _ = OWN.split(argv)
    values = own_values(ours)
    if values is None:
        return None
    refuse_empty_paths(uv_args)
    found = _up_to_date(values, uv_args)
    if found is None:
        from anyvenv.cli.sync import run

        return _ordinary(run, QuickArgs(values, uv_args, []))
    _warn_if_another_env_is_active(found, uv_args)
    _repeat_version_file_warnings(found, uv_args)
    if "--json" in values:
        from anyvenv.cli.output import print_json

        print_json(found.to_json(time.perf_counter() - started))
    elif not quiet_in(uv_args):
        print(up_to_date_line(found.summary), file=sys.stderr)
    return 0


def _repeat_version_file_warnings(found: UpToDate, uv_args: Sequence[str]) -> None:
    """uv's warnings for lines of the version file it ignores, as the last sync said them
    (the file is as it was then): uv says them on every command; not under ``-q``."""
    from anyvenv.cli.sync import quiet_in

    warnings = found.summary.get("python_request_warnings")
    if quiet_in(uv_args) or not isinstance(warnings, list):
        return
    for warning in warnings:
        print(f"anyvenv: warning: {warning}", file=sys.stderr)


def _warn_if_another_env_is_active(found: UpToDate, uv_args: Sequence[str]) -> None:
    """uv's warning, which every sync or run that runs uv prints: an activated env other than
    the project's (the env, or its pointer file) is not the one used (uv not running must not
    hide it); not under ``-q``, as uv."""
    from anyvenv.cli.sync import quiet_in

    active = os.environ.get("VIRTUAL_ENV")
    if not active or "--active" in uv_args or quiet_in(uv_args):
        return
    if os.path.realpath(active) in (os.path.realpath(found.env), os.path.realpath(found.declared)):
        return
    print(
        f"warning: `VIRTUAL_ENV={_shown(active)}` does not match the project environment path "
        f"`{_shown(found.env)}` and will be ignored; use `--active` to target the active environment "
        "instead",
        file=sys.stderr,
    )


def _shown(path: str) -> str:
    """A path as uv shows it: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except (OSError, ValueError):
        return path
    return path if relative.startswith("..") else relative


def _run(argv: Sequence[str]) -> int | None:
    from anyvenv.cli.run import OWN, stdin_script
    from anyvenv.cli.uvargs import refuse_empty_paths

    ours, uv_args, command = OWN.split(argv)
    values = own_values(ours)
    if values is None or not command:
        return None
    refuse_empty_paths(uv_args)
    from anyvenv.project.uvrules import env_flag

    # (--no-sync, UV_NO_SYNC: an env a sync would leave as it is serves as well, at once;
    # a value of UV_NO_SYNC that uv refuses is refused here too)
    env_flag(os.environ, "UV_NO_SYNC")
    from anyvenv.project.runargs import read_run_args
    from anyvenv.project.runtarget import IN_ENV, plan_run
    from anyvenv.project.uvrules import start_dir

    request = read_run_args(uv_args, os.environ)
    try:
        workdir = start_dir(uv_args, os.getcwd(), os.environ, project=False)
    except OSError:  # a working directory that is gone: the ordinary way says so
        return None
    try:  # (the ordinary way decides alike: it calls plan_run too)
        plan = plan_run(request, uv_args, command, workdir, stdin_script)
    except AnyvenvError:  # the ordinary way says what is wrong
        return None
    target = plan.target
    found = None
    if plan.route == IN_ENV and target is not None:  # (uv runs anything else: it must start)
        found = _up_to_date(values, target.project_args(workdir, request.sync_args, os.environ))
    if found is None or target is None:
        from anyvenv.cli.run import run

        return _ordinary(run, QuickArgs(values, uv_args, command))
    from anyvenv.cli.guard import guarded
    from anyvenv.cli.run import exec_target

    _warn_if_another_env_is_active(found, uv_args)
    _repeat_version_file_warnings(found, uv_args)
    # (guarded: exec meets a missing command, as the ordinary way)
    return guarded(lambda: exec_target(found.env, target, workdir))


def _ordinary(run: Callable[[Any], int], args: QuickArgs) -> int:
    """``sync`` or ``run`` that needs uv: the command's own ``run``, as argparse would call it."""
    from anyvenv.cli.guard import guarded

    return guarded(lambda: run(args))


def _venv(argv: Sequence[str]) -> int | None:
    from anyvenv.cli.venv import DEFAULT_PATH, moves_working_dir, quick_args, run

    args = quick_args(argv)
    if args is None:
        return None
    from anyvenv.cli.guard import guarded
    from anyvenv.fs.probe import settle_started, start_probe

    def probe_early_then_run() -> int:
        # on a share, the probe of the target's directory runs while the rest of anyvenv
        # loads (with no path and UV_PROJECT_ENVIRONMENT set, or with the working directory
        # moved, the target is known later)
        known = args.path is not None or not os.environ.get("UV_PROJECT_ENVIRONMENT")
        if known and not moves_working_dir(args):
            start_probe(os.path.dirname(os.path.abspath(args.path or DEFAULT_PATH)))
        return run(args)

    try:
        return guarded(probe_early_then_run)
    finally:
        settle_started()


def _check(argv: Sequence[str]) -> int | None:
    from anyvenv.cli.check import quick_args, run

    return _quick(quick_args(argv), run)


def _probe(argv: Sequence[str]) -> int | None:
    from anyvenv.cli.probe import quick_args, run

    return _quick(quick_args(argv), run)


def _quick(args: SimpleNamespace | None, run: Callable[[Any], int]) -> int | None:
    """``run(args)`` as argparse's way would call it; ``None`` when the command line is left
    to argparse."""
    if args is None:
        return None
    from anyvenv.cli.guard import guarded

    return guarded(lambda: run(args))


def answer(argv: Sequence[str]) -> int | None:
    """The exit code of a no-op ``sync`` or ``run``, of ``venv``, ``check`` or ``probe``;
    ``None``: take the ordinary way."""
    started = time.perf_counter()
    command = _COMMANDS.get(argv[0]) if argv else None
    if command is None:
        return None
    try:
        if os.environ.get("ANYVENV_FS_TIMEOUT") and not ("-h" in argv or "--help" in argv):
            from anyvenv.fs.bounded import check_timeout_setting

            check_timeout_setting()  # a bad value: said before anything runs (not over help)
        if argv[0] in ("venv", "sync", "run") and not ("-h" in argv or "--help" in argv):
            from anyvenv.project.uvrules import check_global_flags

            check_global_flags(os.environ)  # (as uv: before anything is made)
        return command(argv[1:], started)
    except BrokenPipeError:
        return 1
    except AnyvenvError as exc:  # e.g. a variable that is read before any command runs
        from anyvenv.cli.guard import report

        return report(exc)


# the commands this path may answer, by their first word: (arguments, start time) -> exit
# code, or None for the ordinary way
_COMMANDS: dict[str, Callable[[Sequence[str], float], int | None]] = {
    "venv": lambda argv, started: _venv(argv),
    "sync": _sync,
    "run": lambda argv, started: _run(argv),
    "check": lambda argv, started: _check(argv),
    "probe": lambda argv, started: _probe(argv),
}
