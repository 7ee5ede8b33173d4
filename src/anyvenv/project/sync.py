"""The project sync pipeline behind ``anyvenv sync``, ``run``, ``pip``, ``add`` and ``remove``.

    discover the project -> the Python request -> lock -> inspect the env (cached state, else
    run its python) -> reuse it, or find an interpreter and (re)build it where it can run ->
    decide the link mode -> ``uv sync`` into it (or into its shadow, then mirror; a new
    symlinked env's check runs meanwhile; for add and remove, ``uv add``/``uv remove`` edit the
    project first) -> record state

Bad input (no project, invalid TOML, no matching Python, requires-python not met) is found
before the env is touched, so an existing env is left as it was.
"""

from __future__ import annotations

import os
import time

from anyvenv.envbuild.config import abandoned_env, is_virtual_environment
from anyvenv.envbuild.pointerfile import (
    is_pointer,
    pointer_reason,
    read_pointer_form,
    write_pointer,
)
from anyvenv.errors import (
    AnyvenvError,
    CannotEditHere,
    EnvironmentBroken,
    InterpreterNotFound,
    NothingExecutableHere,
    UsageError,
)
from anyvenv.fs.lock import ShareLock, env_lock
from anyvenv.fs.paths import (
    is_below,
    same_place,
    through_directory_link,
)
from anyvenv.project import inputs as inputs_store
from anyvenv.project import state as state_store
from anyvenv.project.envchoice import (
    EnvLocation,
    Placement,
    chmod_fails_at,
    elsewhere_env_path,
    envs_dir,
    fault_of,
    placement_for,
    python_key,
    shadow_env_path,
)
from anyvenv.project.envmake import build_at
from anyvenv.project.health import (
    EnvFacts,
    facts_of_info,
    inspect_env,
    made_by_anyvenv,
    satisfies,
    state_fields_of,
    version_text,
    vital_files,
)
from anyvenv.project.inputfiles import NotFingerprintable, env_inputs, sync_inputs
from anyvenv.project.inputs import (
    INEXACT_LINE,
    InputsRecord,
    Invocation,
    always_runs_uv,
    exactness_line,
)
from anyvenv.project.linkmode import LinkChoice, decide_link_mode, forced_link_mode
from anyvenv.project.model import (
    Project,
    PythonChoice,
    choose_python,
    discover,
)
from anyvenv.project.owners import EnvKind, other_project_served, record_owner
from anyvenv.project.shadow import ensure_shadow, mirror_shadow, tree_of
from anyvenv.project.state import SyncState
from anyvenv.project.uptodate import result_json
from anyvenv.project.uvcache import CacheDirLookup, uv_cache_dir
from anyvenv.project.uvcall import (
    READ_ONLY_SYNC_FLAGS,
    find_uv,
    python_as_chosen,
    run_uv,
    sync_command,
    uv_environment,
)
from anyvenv.project.uvlock import RewritableLockfile
from anyvenv.project.uvrules import (
    env_flag,
    has_flag,
    project_env_path,
    start_dir,
    uses_version_files,
)
from anyvenv.project.uvsettings import (
    compiles_bytecode,
    configured_link_mode,
    preference_in_args,
    python_downloads_and_source,
    python_preference,
    reinstalls,
    reruns_every_sync,
)
from anyvenv.pythons.ondemand import Downloads
from anyvenv.record import field, mutable_record, record, replace

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:  # the no-op path imports neither the probe nor the mirror
    from collections.abc import Callable, Mapping, Sequence
    from types import TracebackType

    from anyvenv.envbuild.builder import PendingCheck
    from anyvenv.interpreter.query import InterpreterInfo
    from anyvenv.project.mirror import MirrorReport
    from anyvenv.pythons.installer import InstallProgress, InstallResult


@record
class SyncOptions:
    python: str | None = None  # anyvenv's --python (uv's request syntax)
    link_mode: str | None = None  # --link-mode
    uv_args: tuple[str, ...] = ()  # everything else, passed to uv unchanged
    cwd: str | None = None
    uv_command: str = "sync"  # or "add", "remove": uv edits the project, then syncs the env
    for_pip: bool = False  # for `uv pip`: a link-mode in uv's pip table comes first
    on_lock_wait: Callable[[str], object] | None = None  # told when another sync holds the lock
    # told (files written, files to write) while a shadow env's packages are copied into the env
    on_mirror_progress: Callable[[int, int], object] | None = None
    # told (stage, done, total) while a Python no install answers is downloaded, then done
    on_python_progress: InstallProgress | None = None
    on_python_progress_done: Callable[[], object] | None = None


@mutable_record
class PreparedEnv:
    """An env that runs and satisfies the request, ready for uv."""

    project: Project
    choice: PythonChoice
    location: EnvLocation
    state: SyncState
    action: str  # "created", "rebuilt" or "reused"
    rebuild_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    pending_check: PendingCheck | None = None  # a new symlinked env's check, still running
    # False: the env is used as it is for this command only (uv pip on an env sync would
    # rebuild): no state is saved, so that the next sync judges it afresh
    keeps_state: bool = True

    @property
    def install_target(self) -> str:
        """Where uv installs: the shadow env, or the env itself."""
        return self.location.shadow or self.location.env


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
        "link_mode": link.mode.value,
        "link_mode_reason": link.reason,
    }


# -- choosing where and building ----------------------------------------------------------------


def choose_location(
    declared: str, project: Project, key: str, environ: Mapping[str, str]
) -> EnvLocation:
    from anyvenv.fs.probe import probe, probe_path_for

    result = probe(probe_path_for(landing_dir(declared)))
    placement, reason = placement_for(result)
    name = project.env_name
    fails = result.chmod_fails
    if placement is Placement.ELSEWHERE:
        env = elsewhere_env_path(declared, name, key, environ, reason)
        return EnvLocation(declared, env, placement, reason, chmod_fails=fails)
    shadow = None
    if placement is Placement.SHADOW:
        shadow = shadow_env_path(declared, name, key, environ, fault_of(result) or reason)
    return EnvLocation(declared, declared, placement, reason, shadow, fails)


def landing_dir(declared: str) -> str:
    """Where a new env at ``declared`` lands, whose filesystem decides how it is made: the
    directory a link at ``declared`` names (the env is built in it, as uv builds through
    such a link), ``declared`` itself where it is filled in place (a mount point, an empty
    directory: ``/app/.venv`` in a container, whose parent may not be the user's), else
    ``declared``'s parent."""
    from anyvenv.fs.inplace import keeps_identity

    followed = through_directory_link(declared)
    if followed != declared:
        return followed
    if os.path.isdir(declared) and not os.path.islink(declared) and keeps_identity(declared):
        return declared
    return os.path.dirname(declared)


def _clear_declared(declared: str) -> None:
    """Make room at the declared path for an env in place: a pointer file or an abandoned env
    go (an empty directory stays: the env is built into it, see anyvenv.fs.inplace)."""
    if is_pointer(declared):
        os.unlink(declared)
    elif abandoned_env(declared):
        from anyvenv.fs.inplace import remove_or_empty

        remove_or_empty(declared)  # (a mount point, the working directory: emptied)


def env_prompt(project: Project) -> str:
    """The prompt of a project's env, as uv's: the workspace root's project name, normalised
    (``My_Proj`` is ``my-proj``), else the workspace directory's name (from any member)."""
    if not project.workspace_name:
        return os.path.basename(project.workspace_root)
    parts = project.workspace_name.lower().replace("_", "-").replace(".", "-").split("-")
    return "-".join(part for part in parts if part)  # (no re: its import costs start-up)


def build_env(
    project: Project,
    declared: str,
    info: InterpreterInfo,
    environ: Mapping[str, str],
    defer_check: bool = False,
    notes: list[str] | None = None,
) -> tuple[EnvLocation, PendingCheck | None]:
    """Build a fresh env for ``info`` where it can run; falls back to the per-user directory
    when the declared place cannot hold a runnable env. With ``defer_check``, the check of an
    env in place whose python is a symlink may still be running (see :func:`sync`); what the
    user must be told is added to ``notes``."""
    key = python_key(info.version, info.free_threaded)
    location = choose_location(declared, project, key, environ)
    if location.placement is not Placement.ELSEWHERE:
        _clear_declared(declared)
        try:
            pending = build_at(location.env, info, defer_check, env_prompt(project), notes)
            return location, pending
        except (EnvironmentBroken, NothingExecutableHere) as exc:
            reason = f"{landing_dir(declared)} cannot hold a runnable environment ({exc.message})"
            env = elsewhere_env_path(declared, project.env_name, key, environ, reason)
            location = EnvLocation(
                declared, env, Placement.ELSEWHERE, reason, chmod_fails=location.chmod_fails
            )
    build_at(location.env, info, prompt=env_prompt(project), notes=notes)
    record_owner(location.env, declared, EnvKind.ELSEWHERE)
    write_pointer(declared, location.env)
    return location, None


def _discard_old(
    old: SyncState | None, old_env: str, new: EnvLocation, environ: Mapping[str, str]
) -> None:
    """Remove what the previous env left in anyvenv's own directories (never the user's)."""
    if old_env != new.env and is_below(old_env, envs_dir(environ)) and os.path.isdir(old_env):
        _remove_tree_or_leave_it(old_env)
    if old is not None and old.shadow and old.shadow != new.shadow:
        _remove_tree_or_leave_it(old.shadow)


def _remove_tree_or_leave_it(path: str) -> None:
    from anyvenv.fs.atomic import remove_tree

    try:
        remove_tree(path)  # a link planted there is refused, not followed
    except OSError:
        pass


def _existing_location(
    declared: str,
    env: str,
    pointed: bool,
    saved: SyncState | None,
    facts: EnvFacts,
    project: Project,
    environ: Mapping[str, str],
) -> EnvLocation | str:
    """Where a healthy existing env stands, or why it must be rebuilt to be usable here."""
    if saved is not None:
        placement = Placement(saved.placement)
        return EnvLocation(
            declared, env, placement, saved.reason, saved.shadow or None, saved.chmod_fails
        )
    if pointed:
        from anyvenv.fs.probe import probe, probe_path_for

        result = probe(probe_path_for(os.path.dirname(declared)))
        placement, why = placement_for(result)
        reason = why if placement is Placement.ELSEWHERE else pointer_reason(declared)
        return EnvLocation(
            declared, env, Placement.ELSEWHERE, reason, chmod_fails=result.chmod_fails
        )
    from anyvenv.fs.probe import probe

    result = probe(env)
    placement, reason = placement_for(result)
    if placement is not Placement.IN_PLACE:  # not made by anyvenv sync for this filesystem
        moved_from = state_store.moved_from(env)
        if moved_from is not None:  # copied or moved: its shadow env was made for that path
            return f"it was made by 'anyvenv sync' for {moved_from}, and here {reason}"
        if facts.made_by_anyvenv and placement is Placement.SHADOW:
            # made by anyvenv venv for this filesystem (files with their modes, the chmod
            # shim): uv installs through a new shadow env, what is installed kept
            key = python_key(facts.version, facts.free_threaded)
            why = fault_of(result) or reason
            shadow = shadow_env_path(declared, project.env_name, key, environ, why)
            return EnvLocation(declared, env, placement, reason, shadow, result.chmod_fails)
        return f"it was not made by anyvenv for this filesystem, where {reason}"
    return EnvLocation(declared, env, placement, reason)


def _follow_a_move(env: str, preference: str | None) -> list[str]:
    """An env moved (or copied) with its project keeps console scripts and activation
    scripts that name its old path: rewritten for where it is now, as ``anyvenv repair``
    does (a base it needs looked up with the project's python-preference ``preference``).
    Notes for the user; nothing when the env was not moved."""
    old = state_store.moved_from(env)
    if old is None or (os.path.isdir(old) and os.path.samefile(old, env)):
        return []
    from anyvenv.repair.apply import repair

    try:
        report = repair(env, take_env_lock=False, python_preference=preference)  # sync holds it
    except AnyvenvError as exc:
        return [f"the env was moved from {old}; {exc.one_line()}"]
    if not report.changes:
        return []
    return [
        f"the env was moved from {old}: rewrote {len(report.changes)} files (console and "
        "activation scripts) that named the old path"
    ]


def _keep_owner_records(location: EnvLocation) -> None:
    """A reused env outside the project, or its shadow, names the project it serves now (the
    project may have moved, or the env may predate owner records)."""
    if location.placement is Placement.ELSEWHERE and not same_place(
        location.declared, location.env
    ):
        # (UV_PROJECT_ENVIRONMENT naming the env itself would make it its own owner and
        # hide the project whose pointer names it)
        record_owner(location.env, location.declared, EnvKind.ELSEWHERE)
    if location.shadow and os.path.isdir(location.shadow):
        record_owner(location.shadow, location.declared, EnvKind.SHADOW)


def _new_state(location: EnvLocation, facts: EnvFacts) -> SyncState:
    return SyncState(
        env=location.env,
        placement=location.placement.value,
        reason=location.reason,
        shadow=location.shadow,
        chmod_fails=location.chmod_fails,
        **state_fields_of(facts),
    )


class EnvLeftAlone(AnyvenvError):
    """The command leaves the env alone (``sync --dry-run``, ``add --no-sync``, a project uv
    does not manage) and the env is not there to reuse: the caller runs uv without anyvenv
    making one (``env``: the env path uv gets). Should a caller miss it, it is one line."""

    def __init__(self, env: str) -> None:
        super().__init__(
            f"no environment is made at {env} for this command",
            "run the same command with uv itself",
        )
        self.env = env


class BrokenEnvAsItIs(AnyvenvError):
    """``uv pip`` acts on the env it finds, as it is; this one exists and does not run. It
    is not made again for it (that would take every package installed in it): exit 1, with
    the commands that mend it."""

    def __init__(self, env: str, declared: str, why: str) -> None:
        super().__init__(
            f"the project env {env} does not work ({why}), and 'anyvenv pip' uses the env as "
            "it is, as uv pip does",
            f"'anyvenv repair {declared}' mends it, keeping its packages; 'anyvenv sync' "
            "makes it again from the lock",
        )


def leaves_env_alone(options: SyncOptions, environ: Mapping[str, str]) -> bool:
    """Whether uv will not change the project env: ``--show-settings`` (uv prints them and
    stops), ``sync --dry-run``/``--check``, or an edit with ``--no-sync``/``--frozen`` (or
    ``UV_NO_SYNC``/``UV_FROZEN``)."""
    args = options.uv_args
    if has_flag(args, "--show-settings"):
        return True
    if options.uv_command == "sync":
        return has_flag(args, "--dry-run", "--check")
    return has_flag(args, "--no-sync", "--frozen") or any(
        env_flag(environ, name) for name in ("UV_NO_SYNC", "UV_FROZEN")
    )


def prepare(
    project: Project,
    choice: PythonChoice,
    declared: str,
    environ: Mapping[str, str],
    defer_check: bool = False,
    may_build: bool = True,
    as_it_is: bool = False,
) -> PreparedEnv:
    """Reuse the project's env or (re)build it. Call with the project lock held. With
    ``defer_check``, a new env's check may still run (``PreparedEnv.pending_check``). Without
    ``may_build``, an env that would have to be made raises :class:`EnvLeftAlone`. With
    ``as_it_is`` (``uv pip``, which acts on the env it finds), an env that runs is used
    whatever its Python; only a missing or broken one is made."""
    from anyvenv.fs.atomic import recover

    # what killed runs left beside the env (a staging tree, an old env half removed, temp
    # files): undone before the env is judged, also when it is then reused as it is
    recover(declared)
    pointer = read_pointer_form(declared)
    pointed_to, earlier_form = pointer if pointer is not None else (None, False)
    env = pointed_to if pointed_to is not None else declared
    saved = state_store.load(env) if os.path.isdir(env) else None
    facts, broken = inspect_env(env, saved, strict=not as_it_is)
    other = other_project_served(env, declared) if pointed_to is not None else None
    if other is not None:  # a copied project's pointer: that env stays the original's
        env, saved, facts = declared, None, None
        broken = f"it points to the env of {other}, which that project still uses"
    if facts is not None:
        broken = _unfit(project, choice, facts, env, as_it_is)
        if broken is None:
            location = _existing_location(
                declared, env, pointed_to is not None, saved, facts, project, environ
            )
            provisional = isinstance(location, str) and as_it_is
            if provisional:  # (made by another tool, or moved: as it is, for uv pip only)
                location = _location_as_it_is(declared, project, facts, environ)
            if isinstance(location, str):
                broken = location
            else:
                # (a saved state whose env was checked again, a vital file changed: as it is)
                kept = (
                    _new_state(location, facts)
                    if saved is None
                    else replace(saved, **state_fields_of(facts))
                )
                _keep_owner_records(location)
                if earlier_form:  # (an earlier release's pointer: in uv's form now)
                    write_pointer(declared, env)
                notes = (
                    _follow_a_move(env, choice.preference)
                    if saved is None and not provisional
                    else []
                )
                return PreparedEnv(
                    project, choice, location, kept, "reused", notes=notes,
                    keeps_state=not provisional,
                )  # fmt: skip
    if not may_build:
        raise EnvLeftAlone(env)
    if as_it_is and other is None and broken is not None and is_virtual_environment(env):
        raise BrokenEnvAsItIs(env, declared, broken)
    told: list[str] = []
    info = find_base_interpreter(project, choice, told)
    location, pending = build_env(project, declared, info, environ, defer_check, told)
    _discard_old(saved, env, location, environ)
    new_facts = facts_of_info(location.env, info)
    action = "rebuilt" if broken is not None else "created"
    state = _new_state(location, new_facts)
    prepared = PreparedEnv(
        project, choice, location, state, action, broken, notes=told, pending_check=pending
    )
    if pending is None:  # checked: saved now, so that a sync killed or stopped before its
        _save_state(prepared)  # end leaves an env the next one knows as its own, not rebuilds
    return prepared


def _unfit(
    project: Project, choice: PythonChoice, facts: EnvFacts, env: str, as_it_is: bool
) -> str | None:
    """Why an env that runs is not the one this project asks for, as uv judges it: another
    Python than the request, outside requires-python, or not of the kind python-preference
    allows (only-managed, only-system) unless the request names it by path. ``as_it_is``
    (``uv pip``): any env will do, but a Python asked for by ``UV_PYTHON`` must be the env's,
    as uv pip refuses another (:class:`UsageError`)."""
    has = f"it has Python {version_text(facts.version)}"
    if not satisfies(choice.request, facts):
        if as_it_is and choice.source.startswith("UV_PYTHON="):
            raise UsageError(
                f"the project env {env} has Python {version_text(facts.version)}, but "
                f"{choice.source} asks for another",
                "unset UV_PYTHON, or run 'anyvenv sync' with it to rebuild the env",
            )
        return None if as_it_is else f"{has}, but {choice.source} asks for {choice.request.raw}"
    if as_it_is:
        return None
    if not project.allows(facts.version):
        return f"{has}, outside requires-python {project.requires_python_text}"
    if choice.preference in ("only-managed", "only-system") and choice.request.path is None:
        from anyvenv.interpreter.discovery import is_managed

        managed = is_managed(facts.base_executable)
        if managed != (choice.preference == "only-managed"):
            kind = "a managed" if managed else "a system"
            return f"it was made from {kind} Python, and python-preference is {choice.preference}"
    return None


def _location_as_it_is(
    declared: str, project: Project, facts: EnvFacts, environ: Mapping[str, str]
) -> EnvLocation:
    """Where an env found in place stands for ``uv pip``, which uses it as it is: through a
    shadow env where chmod fails or is ignored there."""
    key = python_key(facts.version, facts.free_threaded)
    location = choose_location(declared, project, key, environ)
    if location.placement is Placement.ELSEWHERE:  # (it runs there all the same)
        return EnvLocation(declared, declared, Placement.IN_PLACE, location.reason)
    return location


def find_base_interpreter(
    project: Project, choice: PythonChoice, notes: list[str]
) -> InterpreterInfo:
    """The interpreter to build from, downloaded where none answers the request and uv's
    python-downloads allows (said in ``notes``); :class:`UsageError` when it breaks
    requires-python."""
    from anyvenv.pythons.ondemand import find_or_download

    downloads = choice.downloads
    if downloads is not None:

        def tell(result: InstallResult) -> None:
            if result.status != "already installed":  # (by a run at the same time)
                notes.append(
                    f"installed {result.install.name} into {result.install.path.parent}: no "
                    f"installed Python answered {choice.request.raw or 'the default request'!r} "
                    f"(from {choice.source}; uv's python-downloads is automatic)"
                )

        downloads = replace(downloads, on_installed=tell)
    try:
        info = find_or_download(choice.request.raw or None, choice.preference, downloads)
    except InterpreterNotFound as exc:
        raise choice.named_in(exc) from exc
    if not project.allows(info.version):
        raise UsageError(
            f"Python {info.version_text} (from {choice.source}) does not satisfy the project's "
            f"requires-python {project.requires_python_text}",
            "ask for a Python that does (--python, .python-version) or change requires-python",
        )
    return info


# -- the whole sync ----------------------------------------------------------------------------


def project_lock(declared: str, on_wait: Callable[[str], object] | None = None) -> ShareLock:
    """The lock that serialises syncs of one project: beside the declared env path."""
    os.makedirs(os.path.dirname(declared), exist_ok=True)
    return env_lock(declared, on_wait)


def locate(
    options: SyncOptions, environ: Mapping[str, str], cwd: str
) -> tuple[Project, PythonChoice, str]:
    """The project, its Python request and its declared env path (reads files only)."""
    project = discover(start_dir(options.uv_args, cwd, environ))
    explicit, workdir = options.python, start_dir(options.uv_args, cwd, environ, project=False)
    if workdir != cwd:  # (--directory: a relative path asked for is taken from there)
        explicit = explicit and _path_against(workdir, explicit)
        if environ.get("UV_PYTHON"):
            environ = {**environ, "UV_PYTHON": _path_against(workdir, environ["UV_PYTHON"])}
    choice = choose_python(
        project,
        explicit,
        environ,
        # uv's project env reads .python-version at the workspace root only (its
        # ProjectEnvironment asks from there), not from the working directory as uv venv does
        start=project.workspace_root,
        use_version_files=uses_version_files(options.uv_args, environ),
    )
    preference = python_preference(
        preference_in_args(options.uv_args), project.workspace_root, options.uv_args, environ, cwd
    )
    root = project.workspace_root
    downloads = Downloads(  # (uv's python-downloads is read only if a download is wanted)
        lambda: python_downloads_and_source(root, options.uv_args, environ, cwd),
        offline=has_flag(options.uv_args, "--offline") or env_flag(environ, "UV_OFFLINE"),
        progress=options.on_python_progress,
        progress_done=options.on_python_progress_done,
    )
    choice = replace(choice, preference=preference, downloads=downloads)
    declared = project_env_path(project.workspace_root, options.uv_args, environ, cwd)
    _check_uv_can_take(declared)
    return project, choice, declared


def _path_against(workdir: str, request: str) -> str:
    """A Python request that is a relative path, made absolute against the directory uv
    runs in (``--directory`` moves it, as it moves uv before uv reads its options)."""
    from anyvenv.interpreter.request import names_a_path

    if not names_a_path(request) or os.path.isabs(os.path.expanduser(request)):
        return request
    return os.path.join(workdir, request)


def _check_uv_can_take(env: str) -> None:
    """uv refuses an env path that is not UTF-8 (after it is built): said first, with the fix."""
    encoded = os.fsencode(env)
    try:
        encoded.decode("utf-8")
    except UnicodeDecodeError:
        shown = encoded.decode("utf-8", "backslashreplace")
        raise UsageError(
            f"the project env path {shown} is not valid UTF-8, and uv takes no other",
            "set UV_PROJECT_ENVIRONMENT to a UTF-8 path (the project itself may stay), or "
            "rename the directory",
        ) from None


def _check_not_replaced(target: str, ours: bool) -> None:
    """uv must have reused the env we made, not replaced it."""
    if ours and not made_by_anyvenv(target):
        raise EnvironmentBroken(
            f"uv replaced the environment at {target} instead of reusing it",
            "run 'anyvenv sync' again; report this if it repeats",
        )


@mutable_record
class Session:
    """One locked run on a project: what sync and pip share."""

    options: SyncOptions
    environ: Mapping[str, str]
    cwd: str
    uv: str
    forced_link: LinkChoice | None
    prepared: PreparedEnv
    inputs: InputsRecord | None = None  # saved with the state: uv succeeded on these inputs
    # `uv cache dir`, started before a new env was built (see :func:`early_cache_dir_lookup`)
    cache_dir_lookup: CacheDirLookup | None = None

    def compiles_bytecode(self, uv_args: Sequence[str]) -> bool:
        return compiles_bytecode(*self.settings_context(uv_args), for_pip=self.options.for_pip)

    def reinstalls(self, uv_args: Sequence[str]) -> bool | set[str]:
        """What uv reinstalls with these arguments: everything, else these packages."""
        return reinstalls(*self.settings_context(uv_args), for_pip=self.options.for_pip)

    def settings_context(
        self, uv_args: Sequence[str]
    ) -> tuple[str, Sequence[str], Mapping[str, str], str]:
        return self.prepared.project.workspace_root, uv_args, self.environ, self.cwd

    def link_mode(self, uv_args: Sequence[str]) -> LinkChoice:
        early = self._early_lookup(uv_args)
        return decide_link_mode(
            self.prepared.state,
            self.prepared.install_target,
            self.forced_link,
            uv_args,
            self.environ,
            self.cwd,
            lambda: self._cache_dir(uv_args),  # asked only when no decision is kept for it
            early.sources if early is not None else None,
        )

    def _early_lookup(self, uv_args: Sequence[str]) -> CacheDirLookup | None:
        early = self.cache_dir_lookup
        return early if early is not None and early.args == tuple(uv_args) else None

    def _cache_dir(self, uv_args: Sequence[str]) -> str:
        early = self._early_lookup(uv_args)
        if early is not None:
            return early.result()
        return uv_cache_dir(self.uv, uv_args, self.environ, self.cwd)

    def note_cache_trouble(self, uv_args: Sequence[str]) -> None:
        """After uv failed: say so when its cache is on a filesystem it cannot keep it on (a
        home directory on a share), whose error would not tell the user what to do."""
        from anyvenv.project.uvcache import cache_trouble

        try:
            trouble = cache_trouble(self._cache_dir(uv_args))
        except AnyvenvError:
            return
        if trouble is not None:
            self.prepared.notes.append(
                f"{trouble}: set UV_CACHE_DIR to a directory on a local disk"
            )

    def invocation(self) -> Invocation:
        o = self.options
        return Invocation(o.python, o.link_mode, o.uv_args, self.cwd, self.environ)


def early_cache_dir_lookup(
    uv: str,
    link_args: Sequence[str] | None,
    forced: LinkChoice | None,
    declared: str,
    environ: Mapping[str, str],
    cwd: str,
) -> CacheDirLookup | None:
    """Where there is no env yet, the link mode will be decided after it is built and needs
    uv's cache dir: ask uv now, so that ``uv cache dir`` runs while the env is built."""
    if link_args is None or forced is not None or os.path.lexists(declared):
        return None
    return CacheDirLookup(uv, link_args, environ, cwd)


class LockedProject:
    """``with LockedProject(options) as session``: find the project (bad input fails here,
    before anything is touched), take its lock, make or reuse its env; the state (and the inputs
    uv succeeded on) is saved when the block ends without an error. With ``defer_check`` the
    block must settle ``session.prepared.pending_check``; ``link_args`` are the uv arguments
    the block will decide the link mode for, if known."""

    def __init__(
        self,
        options: SyncOptions,
        environ: Mapping[str, str] | None = None,
        defer_check: bool = False,
        link_args: Sequence[str] | None = None,
    ) -> None:
        self.options = options
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.defer_check = defer_check
        self.link_args = link_args
        self._lock: ShareLock | None = None
        self._early: CacheDirLookup | None = None
        self._session: Session | None = None

    def __enter__(self) -> Session:
        options, env_vars = self.options, self.environ
        cwd = options.cwd or os.getcwd()
        project, choice, declared = locate(options, env_vars, cwd)
        if not project.managed:  # uv syncs no env for it (and says so): make none
            raise EnvLeftAlone(declared)
        forced = forced_link_mode(options.link_mode, env_vars) or configured_link_mode(
            project.workspace_root, options.uv_args, env_vars, cwd, for_pip=options.for_pip
        )
        uv = find_uv()
        self._lock = project_lock(declared, options.on_lock_wait)
        self._lock.acquire()
        try:
            self._early = early_cache_dir_lookup(
                uv, self.link_args, forced, declared, env_vars, cwd
            )
            may_build = not leaves_env_alone(options, env_vars) or (
                options.uv_command != "sync" and chmod_fails_at(project.workspace_root)
            )  # (an edit where chmod fails goes through a copy, with an env: as before)
            prepared = prepare(
                project,
                choice,
                declared,
                env_vars,
                self.defer_check,
                may_build=may_build,
                as_it_is=options.for_pip,  # uv pip acts on the env it finds
            )
            self._session = Session(
                options, env_vars, cwd, uv, forced, prepared, cache_dir_lookup=self._early
            )
        except BaseException:
            self._leave(None)
            raise
        return self._session

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._leave(self._session if kind is None else None)

    def _leave(self, finished: Session | None) -> None:
        """Settle what still runs; save what ``finished`` learned; release the lock."""
        try:
            if self._early is not None:
                self._early.cancel()  # not asked for, or asked for already: done with
            session = self._session
            if session is not None and session.prepared.pending_check is not None:
                session.prepared.pending_check.cancel()  # left by an error or Ctrl-C
            if (
                finished is not None
                and finished.prepared.action != "undone"
                and finished.prepared.keeps_state
            ):
                _save_state(finished.prepared)
                if finished.inputs is not None:
                    inputs_store.save(finished.inputs)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None


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
        if result.uv_exit_code == USAGE_EXIT and session.prepared.action == "created":
            undo_created(session.prepared)
    return result


USAGE_EXIT = 2  # uv's exit code for a command it refuses (arguments, settings, project files)


def undo_created(prepared: PreparedEnv) -> None:
    """uv refused the command (sync, pip): the env made for it goes, as plain uv would have
    made none (an env replaced for it cannot come back, so only a new one is undone)."""
    from anyvenv.fs.inplace import remove_or_empty

    location = prepared.location
    if location.shadow is not None:
        _remove_tree_or_leave_it(location.shadow)
    if location.placement is Placement.ELSEWHERE and is_pointer(location.declared):
        os.unlink(location.declared)
    env = location.env
    remove_or_empty(env)  # (a mount point, the working directory: emptied)
    prepared.action = "undone"
    prepared.notes.append(f"uv stopped with exit code 2: removed the env made for it at {env}")


def _rebuild_checked(session: Session, failed: EnvironmentBroken) -> PreparedEnv:
    """After the deferred check of a new env failed: remove it, build again, checked first."""
    from anyvenv.fs.inplace import remove_or_empty

    old = session.prepared
    remove_or_empty(old.location.env)  # made by this sync a moment ago
    rebuilt = prepare(old.project, old.choice, old.location.declared, session.environ)
    rebuilt.action, rebuilt.rebuild_reason = "rebuilt", failed.message
    return rebuilt


def _sync_locked(session: Session, started: float) -> SyncResult:
    options, prepared = session.options, session.prepared
    location = prepared.location
    # adopt: the last sync finished (its record is there), so the env is whole and what
    # differs from the shadow was done to it by hand
    made_shadow = location.shadow is not None and ensure_shadow(
        prepared,
        adopt=os.path.lexists(inputs_store.record_path(location.env)),
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
    reinstall = reinstall_interrupted(target, prepared.state.site_packages, unrecorded)
    command = sync_command(
        session.uv,
        [*options.uv_args, *reinstall],
        os.path.join(target, "bin", "python"),
        link.mode.value,
        options.uv_command,
    )
    uv_env = python_as_chosen(uv_environment(session.environ, target, location.declared))
    if options.uv_command == "sync":
        lockfile = RewritableLockfile(
            os.path.join(prepared.project.workspace_root, "uv.lock"),
            project_chmod_fails(prepared),
            prepared.notes,
            command,
            uv_env,
            options.uv_args,
            session.cwd,
        )
        code = _relock_in_copy(session, lockfile, target, uv_env) if lockfile.set_aside else 0
        if code == 0:
            with lockfile:
                code = run_uv(command, uv_env, session.cwd)
    else:
        code = _edit_project(session, command, uv_env, target, link.mode.value)
    if code != 0:
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
            report = mirror_shadow(prepared, options.on_mirror_progress, again, keep_seed=True)
            if session.compiles_bytecode(options.uv_args):  # uv compiled in the shadow
                from anyvenv.project.mirror import compile_bytecode

                compile_bytecode(tree_of(location.env, prepared.state))
        session.inputs = inputs_of(session, link)
    return SyncResult(prepared, link, code, report, time.perf_counter() - started)


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
    _save_state(prepared)
    return True


def project_chmod_fails(prepared: PreparedEnv) -> bool:
    """Whether chmod fails where the project's files are (uv cannot replace pyproject.toml or
    uv.lock there). Measured at the workspace root: the env may be on another filesystem
    (``UV_PROJECT_ENVIRONMENT`` or ``--active`` off a FAT drive)."""
    from anyvenv.fs.probe import probe_path_for

    root = prepared.project.workspace_root
    location = prepared.location
    try:
        env_parent = probe_path_for(os.path.dirname(location.declared))
        if os.stat(root).st_dev == os.stat(env_parent).st_dev:
            return location.chmod_fails
    except OSError:
        pass
    return chmod_fails_at(root)


def _relock_in_copy(
    session: Session, lockfile: RewritableLockfile, target: str, uv_env: Mapping[str, str]
) -> int:
    """uv.lock must change where uv cannot replace it: lock in a copy of the project on local
    disk (versions kept) when the project allows it, else leave it to ``lockfile`` (set aside,
    versions resolved afresh). uv's exit code."""
    from anyvenv.project.localcopy import LOCKED_IN_COPY, lock_in_copy, why_not_copyable
    from anyvenv.project.uvhelp import carried_over, uv_options

    project, options = session.prepared.project, session.options
    reason = why_not_copyable(project)
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
        lockfile.set_aside = False  # current now: uv sync leaves it as it is
        session.prepared.notes.append(LOCKED_IN_COPY)
    return code


def _edit_project(
    session: Session, command: Sequence[str], uv_env: Mapping[str, str], target: str, link: str
) -> int:
    """``uv add``/``uv remove``; what uv changed of the project's files is put back if it fails
    or is stopped. Where chmod fails uv cannot rewrite pyproject.toml in place (it fails at
    the fchmod that copies the old mode, after rewriting it: the file is left torn, and
    fusefat's volume damaged): uv edits a copy of the project on local disk, anyvenv puts
    the files back, and ``uv sync`` follows."""
    from anyvenv.project.editguard import EditGuard

    prepared = session.prepared
    in_copy = project_chmod_fails(prepared)
    if in_copy:
        from anyvenv.project.localcopy import why_not_copyable

        reason = why_not_copyable(prepared.project)
        if reason is not None:
            raise CannotEditHere(
                f"uv cannot {session.options.uv_command} dependencies on the project's "
                f"filesystem: chmod fails there, and the project cannot be edited through a "
                f"copy: {reason}",
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


def inputs_of(session: Session, link: LinkChoice) -> InputsRecord | None:
    """What the sync that just succeeded read; ``None`` when that cannot be fingerprinted."""
    prepared, options = session.prepared, session.options
    if options.uv_command != "sync" or always_runs_uv(options.uv_args, session.environ):
        return None  # the next sync runs uv: it sees the project as uv add left it
    if reruns_every_sync(*session.settings_context(options.uv_args)):
        return None  # uv's settings reinstall or upgrade: every sync runs uv, as uv would
    location, request = prepared.location, prepared.choice.request
    start = start_dir(options.uv_args, session.cwd, session.environ)
    pointer = location.declared if location.placement is Placement.ELSEWHERE else None
    extra = ["PATH"] if request.name is not None else []  # found on PATH
    try:
        paths = sync_inputs(
            prepared.project, start, session.uv, options.uv_args, session.environ, session.cwd
        )
        paths += env_inputs(location.env, prepared.state.site_packages, location.shadow, pointer)
        if request.path is not None:
            paths.append(os.path.join(session.cwd, os.path.expanduser(request.path)))
        return InputsRecord.take(
            location.env,
            session.invocation(),
            extra,
            paths,
            vital_paths(prepared),
            summary_of(prepared, link),
        )
    except (NotFingerprintable, OSError):  # an input that cannot be read: uv runs next time
        return None


def reinstall_interrupted(target: str, site_packages: str, read_records: bool = False) -> list[str]:
    """uv options that reinstall what a killed install left half-made in ``target`` (whose
    stale ``.data`` directories are removed first: uv cannot install over them);
    ``read_records``: look into each RECORD too (see ``installed.interrupted_installs``)."""
    from anyvenv.envbuild.dists import clear_stale_data_dirs, interrupted_installs

    site = os.path.join(target, site_packages)
    found = sorted(
        {*clear_stale_data_dirs(site), *interrupted_installs(site, read_records=read_records)}
    )
    return [arg for name in found for arg in ("--reinstall-package", name)]


def vital_paths(prepared: PreparedEnv) -> list[str]:
    """The files the state's fingerprint covers (kept from before, or found now)."""
    current = prepared.state
    return list(current.fingerprint) or vital_files(prepared.location.env, current.base_executable)


def _save_state(prepared: PreparedEnv) -> None:
    """Save what is known of the env, with the fingerprint of its vital files. Where one of
    them is gone (uv removed the env half-way and failed), the state is dropped instead: a
    fingerprint without it would match next time, and the env be reused unchecked."""
    env = prepared.location.env
    current = prepared.state
    paths = vital_paths(prepared)
    current.fingerprint = state_store.fingerprint(paths)
    if len(current.fingerprint) < len(set(paths)):
        state_store.discard(env)
    elif state_store.load(env) != current:
        state_store.save(env, current)
