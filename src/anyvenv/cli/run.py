"""``anyvenv run [--no-sync] [--python X] [uv run options] [--] CMD ...``: sync as ``uv run``
does (extraneous packages stay unless ``--exact``), then run CMD in the env as ``uv run``
would (:mod:`anyvenv.project.runtarget`). What only uv can carry out is handed to it:
``--with``/``--env-file`` on top of the synced env (``uv run --no-sync``), and scripts with
inline metadata, ``--isolated`` and ``--no-project`` to uv alone (envs of its own, in its cache).
"""

from __future__ import annotations

import os

from anyvenv.cli.sync import add_common
from anyvenv.cli.uvargs import OwnOptions, pass_through
from anyvenv.project.runargs import takes_value

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run reads OWN before argparse is imported (see cli.fastpath)
    import argparse
    from collections.abc import Mapping, Sequence

    from anyvenv.errors import UsageError
    from anyvenv.project.runtarget import RunTarget

OWN = OwnOptions(
    with_value=frozenset({"-p", "--python", "--link-mode"}),
    flags=frozenset({"--no-sync"}),
    command_follows=True,
    uv_takes_value=takes_value,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-sync", action="store_true", help="run in the env as it is, without syncing"
    )
    add_common(parser)
    parser.add_argument(
        "cmd",
        nargs="*",
        metavar="CMD",
        help="the command and its arguments, read as uv run reads them: python, a .py file, "
        "-m MODULE, - (standard input) or a command on PATH; other options are uv run's",
    )
    pass_through(parser, OWN)


def run(args: argparse.Namespace) -> int:
    from anyvenv.project.runargs import read_run_args
    from anyvenv.project.runtarget import UV_ALONE, UV_ON_ENV, plan_run
    from anyvenv.project.uvrules import start_dir

    request = read_run_args(args.uv_args, os.environ)
    workdir = start_dir(args.uv_args, os.getcwd(), os.environ, project=False)
    plan = plan_run(request, args.uv_args, args.command, workdir, stdin_script)
    target = plan.target
    if plan.route == UV_ALONE:  # (an env of uv's own, in its cache)
        if target is not None and target.kind == "inline-script":
            _relock_script(args, os.path.join(workdir, target.target))
        return exec_uv_run(uv_run_words(args), os.environ)
    _check_env_files(request.env_files, workdir)  # before a sync, as uv reads them first
    sync_args = request.sync_args
    if target is not None:
        sync_args = target.project_args(workdir, sync_args, os.environ)
    from anyvenv.errors import NotAProject
    from anyvenv.project.prepare import EnvLeftAlone

    try:
        env, declared = _synced_env(args, sync_args, checked=plan.route != UV_ON_ENV)
    except (NotAProject, EnvLeftAlone):
        # no project, or one uv does not manage: uv runs the command without a project env
        return exec_uv_run(uv_run_words(args), os.environ)
    if plan.route == UV_ON_ENV:
        from anyvenv.project.runenv import hand_over_to_uv_run

        on_env, options = hand_over_to_uv_run(env, declared, os.environ)
        return exec_uv_run(uv_run_words(args, on_env=True, options=options), on_env)
    if target is None:
        return _list_commands(env)
    return exec_target(env, target, workdir)


def _relock_script(args: argparse.Namespace, script: str) -> None:
    """Where uv cannot rewrite the script's lock beside it (FAT, SMB), one that must change is
    made first in a copy on local disk (uv run would fail writing it)."""
    from anyvenv.cli.sync import tell_script_notes
    from anyvenv.project.scriptcopy import relock_in_copy

    given = [*args.uv_args, *(["--python", args.python] if args.python else [])]
    done = relock_in_copy("run", given, script, os.environ, os.getcwd())
    tell_script_notes(done, args.uv_args)
    if done is not None and done.uv_exit_code != 0:
        raise SystemExit(done.uv_exit_code)


def _check_env_files(paths: list[str], workdir: str) -> None:
    """As uv run, which reads its env files before anything else: one that is not there, or
    cannot be read, is a usage error (uv says the same, but only after a whole sync)."""
    from anyvenv.errors import UsageError

    for path in paths:
        full = os.path.join(workdir, path)
        why = None
        if not os.path.exists(full):
            raise UsageError(
                f"no environment file found at {path}",
                "create it, or leave out --env-file (UV_ENV_FILE)",
            )
        if os.path.isdir(full):
            why = "it is a directory"
        else:
            try:  # (non-blocking: a FIFO is read by uv, not here)
                os.close(os.open(full, os.O_RDONLY | os.O_NONBLOCK))
            except OSError as exc:
                why = exc.strerror or str(exc)
        if why is not None:
            raise UsageError(
                f"cannot read the environment file {path}: {why}",
                "name a readable file, or leave out --env-file (UV_ENV_FILE)",
            )


def _no_sync(args: argparse.Namespace) -> bool:
    """``--no-sync``, or ``UV_NO_SYNC`` as uv run reads it."""
    from anyvenv.project.uvrules import env_flag

    return bool(args.no_sync) or env_flag(os.environ, "UV_NO_SYNC")


def _synced_env(args: argparse.Namespace, sync_args: list[str], checked: bool) -> tuple[str, str]:
    """The env to run in, synced unless ``--no-sync``, and the path the project declares it
    at. ``checked``: under ``--no-sync``, uv reads the command line first
    (:func:`_checked_by_uv_run`; not where uv runs the command itself)."""
    if _no_sync(args):
        from anyvenv.errors import EnvironmentBroken
        from anyvenv.project.runenv import project_env

        if args.link_mode:  # refused as uv refuses it, though nothing is installed
            from anyvenv.project.linkmode import parse_link_mode

            parse_link_mode(args.link_mode, "--link-mode")
        if args.python:  # (as sync reads it; an env that is not that Python: uv run warns)
            from anyvenv.interpreter.request import parse_request

            parse_request(args.python)
        try:
            env, declared = project_env(sync_args, os.getcwd(), os.environ)
        except EnvironmentBroken:  # none yet: made (nothing installed), as uv run --no-sync
            return _env_without_sync(args, sync_args, checked)
        if checked:
            _checked_by_uv_run(args, sync_args, env, declared)
        return env, declared
    from anyvenv.cli.sync import options_of, quiet_in, report
    from anyvenv.project.sync import sync
    from anyvenv.record import replace

    result = sync(replace(options_of(args), uv_args=tuple(sync_args), for_run=True))
    if result.uv_exit_code != 0:  # uv's error is the news; anyvenv's notes follow it
        if not quiet_in(args.uv_args):
            from anyvenv.cli.output import tell_notes

            tell_notes(result.prepared.notes)
        raise SystemExit(result.uv_exit_code)
    if result.prepared.action != "reused" or result.prepared.notes:
        report(result, quiet=quiet_in(args.uv_args))
    location = result.prepared.location
    return os.fspath(location.env), os.fspath(location.declared)


def _env_without_sync(
    args: argparse.Namespace, sync_args: list[str], checked: bool
) -> tuple[str, str]:
    """An env made with nothing installed (or one that did not run, replaced), as ``uv run
    --no-sync`` makes one; where uv then refuses the command line (``checked``), a new one
    is removed again, as uv, which reads the command line first, makes none."""
    from anyvenv.cli.sync import options_of
    from anyvenv.project.session import LockedProject
    from anyvenv.record import replace

    with LockedProject(
        replace(options_of(args), uv_args=tuple(sync_args), for_run=True)
    ) as session:
        prepared = session.prepared
        location = prepared.location
        if prepared.action == "rebuilt":  # as uv run --no-sync, which warns of it too
            import sys

            print(
                f"anyvenv: warning: replaced the environment at {location.env} with an empty "
                f"one, because {prepared.rebuild_reason}",
                file=sys.stderr,
            )
        env, declared = os.fspath(location.env), os.fspath(location.declared)
        if checked:
            try:
                _checked_by_uv_run(args, sync_args, env, declared)
            except SystemExit:
                if prepared.action == "created":
                    from anyvenv.project.prepare import undo_created

                    undo_created(prepared)
                raise
        return env, declared


def _checked_by_uv_run(
    args: argparse.Namespace, sync_args: Sequence[str], env: str, declared: str
) -> None:
    """Under ``--no-sync`` no ``uv sync`` read the command line and the project: ``uv run
    --no-sync`` reads them, on the env, running ``/bin/sh -c :``, so that what it refuses (an option
    it does not know, a ``--package`` not in the workspace, a ``required-version`` this uv
    is not) is refused, with its exit code, and what it warns of (an env that is not the
    Python asked for: ``--python``, ``UV_PYTHON``, ``.python-version``) is said, before
    anyvenv runs the command itself (as it would after a sync)."""
    from anyvenv.project.runenv import hand_over_to_uv_run
    from anyvenv.project.uvcall import run_uv
    from anyvenv.uvbinary import find_uv

    on_env, options = hand_over_to_uv_run(env, declared, os.environ)
    words = [*_without(sync_args, options), *options, "--no-sync"]
    if args.python:
        words += ["--python", args.python]
    if args.link_mode:
        words += ["--link-mode", args.link_mode]
    # (/bin/sh by its path: a PATH that holds no `true` is the user's to have)
    code = run_uv([find_uv(), "run", *words, "--", "/bin/sh", "-c", ":"], on_env, os.getcwd())
    if code != 0:
        raise SystemExit(128 - code if code < 0 else code)


def uv_run_words(
    args: argparse.Namespace, on_env: bool = False, options: Sequence[str] = ()
) -> list[str]:
    """``uv run``'s command line for what ``anyvenv run`` was given. ``on_env``: on the env
    anyvenv just synced (uv must not sync it, nor pick another Python); ``options``: more of
    uv run's, in place of the user's of the same kind (``--active``/``--no-active``)."""
    words = [*_without(args.uv_args, options), *options]
    if args.python and not on_env:
        words += ["--python", args.python]
    if args.link_mode:
        words += ["--link-mode", args.link_mode]
    if args.no_sync or on_env:
        words.append("--no-sync")
    return [*words, "--", *args.command] if args.command else words


def _without(uv_args: Sequence[str], options: Sequence[str]) -> list[str]:
    """``uv_args`` without the ``--active``/``--no-active`` that ``options`` replace (uv
    refuses ``--active`` twice)."""
    if "--active" not in options:
        return list(uv_args)
    kept: list[str] = []
    value_next = False
    for arg in uv_args:
        if value_next or arg not in ("--active", "--no-active"):
            kept.append(arg)
        value_next = not value_next and takes_value(arg)
    return kept


def exec_uv_run(words: list[str], environ: Mapping[str, str]) -> int:
    """``uv run WORDS``, in place of this process; a script read from standard input already
    (``run -``) is given to uv on its standard input."""
    from anyvenv.project.uvcall import exec_uv

    return exec_uv(["run", *words], environ, _read_stdin[0] if _read_stdin else None)


_read_stdin: list[bytes] = []  # standard input is read once: a no-op run that hands over too


def stdin_script() -> bytes:
    """The script ``anyvenv run -`` was given on standard input, read once."""
    if not _read_stdin:
        import sys

        _read_stdin.append(sys.stdin.buffer.read())
    return _read_stdin[0]


def _list_commands(env: str) -> int:
    """What ``uv run`` with no command says (exit 2)."""
    from anyvenv.project.runtarget import available_commands

    lines = [
        "Provide a command or script to invoke with `anyvenv run <command>` or "
        "`anyvenv run <script>.py`.",
        "",
    ]
    commands = available_commands(env)
    if commands:
        lines += ["The following commands are available in the environment:", ""]
        lines += [f"- {name}" for name in commands]
    lines += ["", "See `anyvenv run --help` for more information."]
    print("\n".join(lines))
    return 2


def exec_target(env: str | os.PathLike[str], target: RunTarget, workdir: str) -> int:
    """Replace this process with ``target`` run in ``env`` (activated) from ``workdir``;
    returns only on error."""
    import sys

    from anyvenv.project.runenv import activated_environment

    env = os.fspath(env)
    argv = target.argv(env, stdin_script() if target.kind == "stdin" else None)
    environ = activated_environment(env, os.environ)
    environ.update(uv_run_variables(os.environ))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if workdir != os.getcwd():
            os.chdir(workdir)
        from anyvenv.spawn import exec_replacing

        exec_replacing(argv[0], argv, environ, search=True)
    except OSError as exc:
        raise _not_runnable(argv[0], exc, env, environ.get("PATH", "")) from exc
    return 0  # pragma: no cover - exec does not return


def _owner_of(path: str) -> str:
    """The name of the user owning ``path`` (its uid where it has none)."""
    uid = os.stat(path).st_uid
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _not_runnable(command: str, exc: OSError, env: str, path: str) -> UsageError:
    """Why ``command`` did not start: not found, or found and its interpreter line names
    what is not there (a moved env), or not executable."""
    import errno
    import shlex
    import shutil

    from anyvenv.errors import UsageError

    found = command if os.sep in command else shutil.which(command, path=path)
    script = os.path.join(env, "bin", command)
    if found is None and exc.errno == errno.EACCES and os.path.isfile(script):
        mode = os.stat(script).st_mode & 0o777
        from anyvenv.repair.scripts import on_noexec

        if mode & 0o111 and on_noexec(script):  # (its bits, and which() passed over it)
            return _on_noexec_mount(script, f"{mode:04o}")
        if mode & 0o111:  # (bits for others than this user: 0744 of another owner)
            return UsageError(
                f"cannot run {script}: this user may not execute it (mode {mode:04o}, owner "
                f"{_owner_of(script)})",
                f"run it as its owner, or have the env's owner run 'anyvenv repair {env}'",
            )
        return UsageError(  # (which() passes over a file that is not executable)
            f"cannot run {script}: it is not executable (mode {mode:04o}: written by a tool "
            "where chmod is ignored?)",
            _repair_hint(
                env,
                f"run 'anyvenv repair {env}', or 'anyvenv sync' with --reinstall-package for "
                "its package",
            ),
        )
    if found is None and os.pathsep in env and os.path.isfile(script):
        return UsageError(  # (PATH cannot hold the env's bin/: it is cut at the separator)
            f"cannot run {command!r}: the env's path contains '{os.pathsep}', so its bin/ "
            "cannot be one entry of PATH",
            f"run {shlex.quote(script)} by its path, or keep the project at a path without "
            f"'{os.pathsep}'",
        )
    if found is None or exc.errno not in (errno.ENOENT, errno.EACCES, errno.ENOEXEC):
        return UsageError(
            f"cannot run {command!r}: {exc.strerror}",
            f"is it installed in {env}? (PATH starts with {env}/bin)",
        )
    from anyvenv.fs.paths import is_below

    if exc.errno == errno.ENOENT and os.path.isfile(found):
        from pathlib import Path

        from anyvenv.envbuild.shebang import read_shebang

        shebang = read_shebang(Path(found))
        named = f" {shebang.interpreter}" if shebang is not None else ""
        fix = (
            _repair_hint(env, f"run 'anyvenv repair {env}' (a moved env) or reinstall the package")
            if is_below(found, env)
            else "fix its first line, or run it with the interpreter it needs"
        )  # (a script of the user's own, not the env's)
        return UsageError(
            f"cannot run {found}: the interpreter its first line names{named} does not exist",
            fix,
        )
    if exc.errno == errno.EACCES and is_below(found, env):
        from anyvenv.repair.scripts import on_noexec

        if on_noexec(found):
            return _on_noexec_mount(found, f"{os.stat(found).st_mode & 0o777:04o}")
    if is_below(found, env):  # one of the env's scripts
        return UsageError(
            f"cannot run {found}: {exc.strerror}",
            f"run 'anyvenv check {env}' to see what is wrong with the env's scripts",
        )
    if os.path.isdir(found):
        why = "it is a directory (without a __main__.py)"
    elif exc.errno == errno.EACCES and not os.access(found, os.X_OK):
        why = "it is not executable"
    else:
        why = exc.strerror or str(exc)
    return UsageError(f"cannot run {found}: {why}", "check the command")


def _on_noexec_mount(script: str, mode: str) -> UsageError:
    """The error for an env's script that has its exec bits on a mount that runs nothing
    (check's words, with the mount)."""
    from anyvenv.errors import UsageError
    from anyvenv.fs.mounts import mount_of
    from anyvenv.repair.fixes import KEEP_IT_ELSEWHERE
    from anyvenv.repair.scripts import exec_bits_but_noexec

    mount = mount_of(script)
    at = f" at {mount.mount_point}" if mount is not None else ""
    why = exec_bits_but_noexec(mode).removesuffix(")") + f"{at})"
    return UsageError(f"cannot run {script}: {why}", KEEP_IT_ELSEWHERE)


def _repair_hint(env: str, hint: str) -> str:
    """``hint`` (a repair), or where the env cannot be repaired where it is, check's words
    for what to do first."""
    from pathlib import Path

    from anyvenv.repair.fixes import stuck_words, unwritable

    stuck = unwritable(Path(env))
    return hint if stuck is None else stuck_words(stuck, env)


def uv_run_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``uv run`` tells the command it runs: ``UV``, the uv binary (for scripts that call
    ``"$UV"``), and ``UV_RUN_RECURSION_DEPTH``, one more than it was."""
    from anyvenv.project.runargs import RECURSION_DEPTH_ENV, recursion_depth
    from anyvenv.uvbinary import find_uv

    return {"UV": find_uv(), RECURSION_DEPTH_ENV: str(recursion_depth(environ) + 1)}
