"""The project sync pipeline behind ``anyvenv sync``, ``run``, ``add`` and ``remove``.

    discover the project -> the Python request -> lock (:mod:`~anyvenv.project.session`) ->
    inspect the env (cached state, else run its python) -> reuse it, or find an interpreter
    and (re)build it where it can run (:mod:`~anyvenv.project.prepare`) -> decide the link
    mode -> ``uv sync`` into it (or into its shadow, then mirror; a new symlinked env's check
    runs meanwhile; for add and remove, ``uv add``/``uv remove`` edit the project first) ->
    record state

Bad input (no project, invalid TOML, no matching Python, requires-python not met) is found
before the env is touched, so an existing env is left as it was.
"""

from __future__ import annotations

import os
import time

from anyvenv.errors import CannotEditHere, EnvironmentBroken
from anyvenv.fs.outcome import REWRITES_WORK
from anyvenv.project import inputs as inputs_store
from anyvenv.project.envchoice import Placement
from anyvenv.project.health import made_by_anyvenv
from anyvenv.project.inputfiles import NotFingerprintable, env_inputs, sync_inputs
from anyvenv.project.inputs import (
    INEXACT_LINE,
    InputsRecord,
    always_runs_uv,
    entry_of,
    exactness_line,
    still_matches,
)
from anyvenv.project.linkmode import LinkChoice
from anyvenv.project.prepare import (
    PreparedEnv,
    prepare,
    project_rewrites,
    put_back_replaced,
    save_state,
    undo_created,
    vital_paths,
)
from anyvenv.project.readonce import FileMemo
from anyvenv.project.session import LockedProject, Session, SyncOptions
from anyvenv.project.shadow import ensure_shadow, mirror_into_env
from anyvenv.project.uptodate import result_json
from anyvenv.project.uvcall import (
    READ_ONLY_SYNC_FLAGS,
    UV_ERROR_EXIT,
    python_as_chosen,
    run_uv,
    sync_command,
    uv_environment,
)
from anyvenv.project.uvlock import RewritableLockfile
from anyvenv.project.uvrules import has_flag, start_dir
from anyvenv.project.uvsettings import reruns_every_sync
from anyvenv.record import mutable_record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:  # the no-op path imports neither the probe nor the mirror
    from collections.abc import Collection, Mapping, Sequence

    from anyvenv.project.inputs import Entry
    from anyvenv.project.mirror import MirrorReport
    from anyvenv.project.model import Project


@mutable_record
class SyncResult:
    prepared: PreparedEnv
    link: LinkChoice
    uv_exit_code: int
    mirror: MirrorReport | None
    seconds: float
    uv_ran: bool = True  # False: nothing uv reads had changed since the last successful sync

    def to_json(self) -> dict[str, object]:
        p = self.prepared
        return result_json(
            summary_of(p, self.link),
            action=p.action,
            rebuild_reason=p.rebuild_reason,
            uv_exit_code=self.uv_exit_code,
            uv_ran=self.uv_ran,
            mirror=self.mirror.to_json() if self.mirror else None,
            notes=p.notes,
            seconds=self.seconds,
        )


def summary_of(p: PreparedEnv, link: LinkChoice) -> dict[str, object]:
    """The fields of ``--json`` that stay as they are while the env is reused."""
    return {
        "project": p.project.root,
        "workspace_root": p.project.workspace_root,
        "declared": p.location.declared,
        "env": p.location.env,
        "placement": p.location.placement.value,
        "reason": p.location.reason,
        "shadow": p.location.shadow,
        "python": ".".join(map(str, p.state.version)),
        "base_executable": p.state.base_executable,
        "python_request": p.choice.request.raw,
        "python_request_source": p.choice.source,
        # uv's warnings for lines of the version file it ignores: said again by a no-op sync
        "python_request_warnings": list(p.choice.warnings),
        "link_mode": link.mode.value,
        "link_mode_reason": link.reason,
    }


def _check_not_replaced(target: str, ours: bool) -> None:
    """uv must have reused the env we made, not replaced it."""
    if ours and not made_by_anyvenv(target):
        raise EnvironmentBroken(
            f"uv replaced the environment at {target} instead of reusing it",
            "run 'anyvenv sync' again; report this if it repeats",
        )


def sync(options: SyncOptions, environ: Mapping[str, str] | None = None) -> SyncResult:
    """Make or reuse the project env, then run ``uv sync`` into it, unless nothing uv reads
    has changed since the last successful run.

    A new env whose python is a symlink to the base is checked while uv runs (uv may not start
    that python at all: it keeps what it learns of an interpreter in its cache); if the check
    fails, whatever uv did, the env is removed, built again with its check first (falling back
    to the per-user directory), and uv runs again.
    """
    started = time.perf_counter()
    with LockedProject(options, environ, True, options.uv_args) as session:
        result = _sync_locked(session, started)
        pending = session.prepared.pending_check
        if pending is not None:
            session.prepared.pending_check = None
            try:
                pending.finish()
            except EnvironmentBroken as exc:
                session.prepared = _rebuild_checked(session, exc)
                session.inputs = None
                result = _sync_locked(session, started)
        if result.uv_exit_code == UV_ERROR_EXIT and session.prepared.action == "created":
            undo_created(session.prepared)
        elif result.uv_exit_code == UV_ERROR_EXIT:
            put_back_replaced(session.prepared)
    return result


def _rebuild_checked(session: Session, failed: EnvironmentBroken) -> PreparedEnv:
    """After the deferred check of a new env failed: remove it, build again, checked first."""
    from anyvenv.fs.inplace import remove_or_empty

    old = session.prepared
    remove_or_empty(old.location.env)  # made by this sync a moment ago
    rebuilt = prepare(old.project, old.choice, old.location.declared, session.environ)
    rebuilt.action, rebuilt.rebuild_reason = "rebuilt", failed.message
    rebuilt.replaced_env = old.replaced_env  # (the env before this sync, if kept)
    return rebuilt


def _sync_locked(session: Session, started: float) -> SyncResult:
    # before uv runs, each of the project's files is read once (readonce): the memo is
    # emptied before uv runs, and what is read after it is read afresh
    with session.reads.active():
        options, prepared = session.options, session.prepared
        location = prepared.location
        # what differs between a whole env and its shadow was done to the env by hand
        made_shadow = location.shadow is not None and ensure_shadow(
            prepared,
            keep_all=exactness_line(options.uv_args) == INEXACT_LINE,  # (anyvenv run's sync)
        )
        if made_shadow:
            prepared.notes.append(f"made the shadow env {location.shadow}")
        link = session.link_mode(options.uv_args)
        if not made_shadow and nothing_changed(session):
            return SyncResult(prepared, link, 0, None, time.perf_counter() - started, False)
        # no record of the last sync: it may have been killed while uv installed (see below)
        unrecorded = not inputs_store.forget(location.env)
        target = prepared.install_target
        site = os.path.join(target, prepared.state.site_packages)
        read_only = has_flag(options.uv_args, *READ_ONLY_SYNC_FLAGS)  # (--dry-run changes nothing)
        # dead dist-infos removed ("lost": reinstalled below, if wanted), and what to reinstall
        lost, reinstall = ([], []) if read_only else reinstall_interrupted(site, unrecorded)
        command = sync_command(
            session.uv,
            [*options.uv_args, *reinstall],
            os.path.join(target, "bin", "python"),
            link.mode.value,
            options.uv_command,
        )
        uv_env = python_as_chosen(uv_environment(session.environ, target, location.declared))
        before = inputs_before(session)
        rewrites = project_rewrites(prepared)
        from anyvenv.project.buildshim import named_dirs, project_source_dirs, with_build_shim

        # uv builds the project and its path sources where they are (and what add is given)
        sources = project_source_dirs(prepared.project)
        if options.uv_command != "sync":
            sources += named_dirs(options.uv_args, session.cwd)
        uv_env = with_build_shim(uv_env, sources)
    session.reads.forget()
    if options.uv_command == "sync":
        lockfile = RewritableLockfile(
            os.path.join(prepared.project.workspace_root, "uv.lock"),
            rewrites,
            prepared.notes,
            command,
            uv_env,
            options.uv_args,
            session.cwd,
        )
        relock = lockfile.set_aside or lockfile.in_copy_only
        code = _relock_in_copy(session, lockfile, target, uv_env) if relock else 0
        if code == 0:
            with lockfile:
                code = run_uv(command, uv_env, session.cwd)
    else:
        in_copy = rewrites != REWRITES_WORK
        code = _edit_project(session, command, uv_env, target, link.mode.value, in_copy)
    with FileMemo().active():  # (uv is done: what it wrote is read afresh, once)
        if code == UV_ERROR_EXIT:  # (not a resolution that failed: uv's exit 1)
            session.note_cache_trouble(options.uv_args)
        report: MirrorReport | None = None
        if code == 0:
            _check_not_replaced(target, prepared.state.made_by_anyvenv or target != location.env)
            mirrors = location.shadow is not None and not has_flag(
                options.uv_args, *READ_ONLY_SYNC_FLAGS
            )
            if mirrors and _checked_before_mirroring(prepared):
                # what uv reinstalled is copied again even where its RECORD is the same
                again = session.reinstalls([*options.uv_args, *reinstall])
                report = mirror_into_env(
                    prepared,
                    options.on_mirror_progress,
                    again,
                    prepared.notes.append,
                    session.compiles_bytecode(options.uv_args),
                    keep_seed=True,
                )
            session.inputs = inputs_of(session, link, before)
            prepared.notes += lost_record_notes(site, lost, location.declared)
    return SyncResult(prepared, link, code, report, time.perf_counter() - started)


def lost_record_notes(site: str, lost: list[str], declared: str) -> list[str]:
    """What to say of the distributions whose dist-info had lost its RECORD and METADATA
    (an install or an uninstall that stopped half-way: a file another program held open, on
    a share) and that the sync did not install again: files of them may be left, importable,
    which no record names any more."""
    if not lost:  # (the common case: no listing)
        return []
    from anyvenv.envbuild.dists import dist_info_name

    try:
        there = {dist_info_name(name) for name in os.listdir(site) if name.endswith(".dist-info")}
    except OSError:
        return []
    return [
        f"the install record of {name} had been lost (an install or an uninstall of it that "
        f"stopped half-way), and {name} was not installed again: files of it may be left in "
        f"{site}, where they can still be imported; remove them by hand, or make the env "
        f"again (remove {declared}, then run 'anyvenv sync')"
        for name in lost
        if name not in there
    ]


def _checked_before_mirroring(prepared: PreparedEnv) -> bool:
    """Whether the env may be given the shadow's packages: a new env's deferred check is
    finished first (the copy is the long part), and once it passed the state is saved, so
    that a sync killed while copying leaves an env the next one knows as its own. A failed
    check stays pending: :func:`sync` builds the env again (its ``finish`` says it again)."""
    pending = prepared.pending_check
    if pending is None:
        return True
    try:
        pending.finish()
    except EnvironmentBroken:
        return False
    prepared.pending_check = None
    save_state(prepared)
    return True


def _relock_in_copy(
    session: Session, lockfile: RewritableLockfile, target: str, uv_env: Mapping[str, str]
) -> int:
    """uv.lock must change (or be made) where uv cannot write it: lock in a copy of the project
    on local disk (versions kept) when the project allows it, else leave it to ``lockfile``
    (set aside, versions resolved afresh), or, where uv can write no file there, refuse
    (:class:`CannotEditHere`). uv's exit code."""
    from anyvenv.project.localcopy import (
        cannot_lock_here,
        lock_in_copy,
        locked_in_copy,
        why_not_copyable,
    )
    from anyvenv.project.uvhelp import carried_over, uv_options

    project, options = session.prepared.project, session.options
    reason = why_not_copyable(project, options.uv_args, session.environ)
    if reason is not None and lockfile.in_copy_only:
        raise cannot_lock_here(_why_rewrites_fail(project), reason)
    if reason is not None:
        lockfile.why_not_in_copy = reason
        return 0
    lock_args = carried_over(
        options.uv_args, uv_options(session.uv, "sync"), uv_options(session.uv, "lock")
    )
    code, _ = lock_in_copy(
        project,
        session.uv,
        [*lock_args, "--python", os.path.join(target, "bin", "python")],
        uv_env,
        start_dir(options.uv_args, session.cwd, session.environ, project=False),
    )
    if code == 0:
        lockfile.set_aside = False  # current now: uv sync leaves it
        session.prepared.notes.append(locked_in_copy(_why_rewrites_fail(project)))
    return code


def _why_rewrites_fail(project: Project) -> str:
    """Why uv cannot write the project's files where they are (probed there before: cached)."""
    from anyvenv.project.envchoice import probed_at

    found = probed_at(project.workspace_root)
    return (found.why_rewrites_fail if found is not None else "") or "its writes fail"


def _edit_project(
    session: Session,
    command: Sequence[str],
    uv_env: Mapping[str, str],
    target: str,
    link: str,
    in_copy: bool,
) -> int:
    """``uv add``/``uv remove``; what uv changed of the project's files is put back if it fails
    or is stopped. Where chmod fails uv cannot rewrite pyproject.toml in place (it fails at
    the fchmod that copies the old mode, after rewriting it: the file is left torn, and
    fusefat's volume damaged), nor where a file held open cannot be renamed (its temp file
    is renamed into place while still open): uv edits a copy of the project on local disk,
    anyvenv puts the files back, and ``uv sync`` follows."""
    from anyvenv.project.editguard import EditGuard

    prepared = session.prepared
    if in_copy:
        from anyvenv.project.localcopy import why_not_copyable

        reason = why_not_copyable(prepared.project, session.options.uv_args, session.environ)
        if reason is not None:
            raise CannotEditHere(
                f"uv cannot {session.options.uv_command} dependencies on the project's "
                f"filesystem: {_why_rewrites_fail(prepared.project)} there, and the project "
                f"cannot be edited through a copy: {reason}",
                "edit pyproject.toml by hand, then run 'anyvenv sync'",
            )
    guard = EditGuard(prepared.project)
    try:
        if in_copy:
            code = _edit_in_copy(session, uv_env, target, link)
        else:
            code = run_uv(command, uv_env, session.cwd)
    except BaseException:  # Ctrl-C while uv ran: what it began is put back
        guard.failed()
        raise
    if code != 0:
        guard.failed()
        what = f"uv {session.options.uv_command} failed"
        if guard.restored:
            prepared.notes.append(f"{what}: put back {', '.join(guard.restored)}")
        if guard.not_restored:
            prepared.notes.append(
                f"{what} and these could not be put back: {', '.join(guard.not_restored)}"
            )
    return code


def _edit_in_copy(session: Session, uv_env: Mapping[str, str], target: str, link: str) -> int:
    """uv edits a copy of the project's files; then ``uv sync`` (with the edit's options that
    sync takes) installs what changed, unless ``--no-sync``."""
    from anyvenv.project.localcopy import edit_in_copy, unmoved_environ
    from anyvenv.project.uvhelp import carried_over, uv_options

    options = session.options
    python = os.path.join(target, "bin", "python")
    code = edit_in_copy(
        session.prepared.project,
        session.uv,
        options.uv_command,
        options.uv_args,
        python,
        unmoved_environ(uv_env),
        start_dir(options.uv_args, session.cwd, session.environ, project=False),
    )
    if code != 0 or has_flag(options.uv_args, "--no-sync"):
        return code
    sync_args = carried_over(
        options.uv_args, uv_options(session.uv, options.uv_command), uv_options(session.uv, "sync")
    )
    return run_uv(sync_command(session.uv, sync_args, python, link), uv_env, session.cwd)


# -- the no-op shortcut ------------------------------------------------------------------------


def nothing_changed(session: Session) -> bool:
    """The env was reused and the inputs of the last successful uv run all hold."""
    prepared = session.prepared
    if session.options.uv_command != "sync":
        return False  # uv add and uv remove always run
    if prepared.action != "reused" or always_runs_uv(session.options.uv_args, session.environ):
        return False
    recorded = inputs_store.load(prepared.location.env)
    return recorded is not None and recorded.holds_for(session.invocation())


def _recorded(session: Session) -> bool:
    """Whether a successful run of uv here leaves a record of its inputs (see
    :func:`inputs_of`)."""
    options = session.options
    if options.uv_command != "sync" or always_runs_uv(options.uv_args, session.environ):
        return False  # the next sync runs uv: it sees the project as uv add left it
    # uv's settings reinstall or upgrade: every sync runs uv, as uv would
    return not reruns_every_sync(*session.settings_context(options.uv_args))


def project_inputs(session: Session, checked: Collection[str] = ()) -> list[str]:
    """The paths outside the env that a sync reads (the project's files, uv's config and
    binary, a Python given by path). :class:`NotFingerprintable` or ``OSError`` when that
    cannot be told (``checked``: inputs that told nothing of that before, unchanged since)."""
    prepared, options = session.prepared, session.options
    start = start_dir(options.uv_args, session.cwd, session.environ)
    paths = sync_inputs(
        prepared.project,
        start,
        session.uv,
        options.uv_args,
        session.environ,
        session.cwd,
        checked,
    )
    request = prepared.choice.request
    if request.path is not None:
        paths.append(os.path.join(session.cwd, os.path.expanduser(request.path)))
    return paths


def inputs_before(session: Session) -> dict[str, Entry] | None:
    """The project's inputs as uv is about to read them, for :func:`inputs_of` to tell an
    edit made while uv ran (an editor saving pyproject.toml): ``None`` when no record is
    due or they cannot be told, or when one that this sync read before (``session.reads``:
    the project, the Python request, uv's settings) changed since: what the sync decided by
    is then not what uv reads."""
    if not _recorded(session):
        return None
    try:
        now = time.time_ns()
        before = {path: entry_of(path, now) for path in project_inputs(session)}
    except (NotFingerprintable, OSError):
        return None
    if any(session.reads.changed(path, entry) for path, entry in before.items()):
        return None
    return before


def _held_while_uv_ran(before: dict[str, Entry], lockfile: str) -> set[str]:
    """The inputs that are as they were before uv ran (the ones uv read), but uv.lock, which
    uv writes (the local packages a lock uv wrote names anew are as uv read them)."""
    return {
        path for path, entry in before.items() if path != lockfile and still_matches(path, entry)
    }


def inputs_of(
    session: Session, link: LinkChoice, before: dict[str, Entry] | None
) -> InputsRecord | None:
    """What the sync that just succeeded read; ``None`` when that cannot be fingerprinted,
    or when an input changed while uv ran (``before``: :func:`inputs_before`): uv may have
    read it before the change, and the next sync must run it again."""
    if before is None:  # (also where no record is due: see inputs_before)
        return None
    prepared = session.prepared
    location, request = prepared.location, prepared.choice.request
    pointer = location.declared if location.placement is Placement.ELSEWHERE else None
    extra = ["PATH"] if request.name is not None else []  # found on PATH
    lockfile = os.path.join(prepared.project.workspace_root, "uv.lock")
    try:
        held = _held_while_uv_ran(before, lockfile)
        # (those that held were found to tell nothing against a record before uv ran)
        paths = project_inputs(session, held)
        if any(path in before and path != lockfile and path not in held for path in paths):
            return None
        unchanged = {path: entry for path, entry in before.items() if path != lockfile}
        paths += env_inputs(location.env, prepared.state.site_packages, location.shadow, pointer)
        return InputsRecord.take(
            location.env,
            session.invocation(),
            extra,
            paths,
            vital_paths(prepared),
            summary_of(prepared, link),
            unchanged,  # (just checked: as they were before uv ran)
        )
    except (NotFingerprintable, OSError):  # an input that cannot be read: uv runs next time
        return None


def reinstall_interrupted(site: str, read_records: bool = False) -> tuple[list[str], list[str]]:
    """What a killed install left half-made in the site-packages directory ``site`` (one
    listing; its stale ``.data`` directories and dead dist-infos are removed first: uv cannot
    install over them): the distributions whose dead dist-info was removed, and the uv
    options that reinstall all of them; ``read_records``: look into each RECORD too (see
    ``dists.look_for_half_made``)."""
    from anyvenv.envbuild.dists import look_for_half_made

    found = look_for_half_made(site, read_records=read_records)
    return found.dead, [arg for name in found.reinstall for arg in ("--reinstall-package", name)]
