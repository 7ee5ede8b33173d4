"""The project env before uv runs: reuse it, or find an interpreter and (re)build it where it
can run (in place, through a shadow env, or in the per-user directory behind a pointer file).

Called with the project lock held (see :mod:`anyvenv.project.session`).
"""

from __future__ import annotations

import os
import stat

from anyvenv.envbuild.config import abandoned_env
from anyvenv.envbuild.pointerfile import (
    EMPTY_POINTER,
    is_empty_pointer,
    is_pointer,
    pointer_reason,
    read_pointer_form,
    refuse_pointer_over,
    write_pointer,
)
from anyvenv.errors import (
    AnyvenvError,
    EnvironmentBroken,
    InterpreterNotFound,
    NothingExecutableHere,
    OptionWords,
    UsageError,
)
from anyvenv.fs import is_virtual_environment
from anyvenv.fs.mounts import mount_basis
from anyvenv.fs.paths import is_below, same_place, through_directory_link
from anyvenv.project import state as state_store
from anyvenv.project.envchoice import (
    EnvLocation,
    Placement,
    elsewhere_env_path,
    envs_dir,
    fault_of,
    is_own_shadow,
    own_shadow,
    placement_for,
    python_key,
    shadow_env_path,
)
from anyvenv.project.envmake import build_at
from anyvenv.project.health import (
    EnvFacts,
    facts_of_info,
    inspect_env,
    satisfies,
    state_fields_of,
    version_text,
    vital_files,
)
from anyvenv.project.model import Project, PythonChoice
from anyvenv.project.owners import (
    EnvKind,
    other_project_served,
    own_env_for,
    pointer_names,
    record_owner,
)
from anyvenv.project.pointer import PER_USER, anothers_env
from anyvenv.project.state import SyncState
from anyvenv.record import field, mutable_record, replace

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:  # the no-op path imports neither the probe nor the mirror
    from collections.abc import Mapping

    from anyvenv.envbuild.builder import PendingCheck
    from anyvenv.interpreter.query import InterpreterInfo
    from anyvenv.project.shadow import ShadowedEnv
    from anyvenv.pythons.installer import InstallResult


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
    # the env this one replaced in place, kept aside (under a retired name) until uv takes the
    # command, and where it goes back: put back if uv refuses it (:func:`put_back_replaced`),
    # else removed
    replaced_env: tuple[str, str] | None = None
    # where the pointer names another user's env (an env kept off a share is per user): the
    # line that says so and which env is used instead, this user's own (the pointer is left
    # to its owner)
    anothers: str | None = None

    @property
    def install_target(self) -> str:
        """Where uv installs: the shadow env, or the env itself."""
        return self.location.shadow or self.location.env

    @property
    def project_root(self) -> str:
        """The root of the project the env serves (its workspace's), for owner records."""
        return self.project.workspace_root


# -- choosing where and building ----------------------------------------------------------------


def choose_location(
    declared: str, project: Project, key: str, environ: Mapping[str, str]
) -> EnvLocation:
    from anyvenv.fs.probe import probe, probe_path_for

    result = probe(probe_path_for(landing_dir(declared)))
    placement, reason = placement_for(result)
    name = project.env_name
    rewrites = result.rewrites
    if placement is Placement.ELSEWHERE:
        env = elsewhere_env_path(declared, name, key, environ, reason)
        return EnvLocation(declared, env, placement, reason, rewrites=rewrites)
    shadow = None
    if placement is Placement.SHADOW:
        shadow = shadow_env_path(declared, name, key, environ, fault_of(result) or reason)
    return EnvLocation(declared, declared, placement, reason, shadow, rewrites)


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
    if is_pointer(declared):  # (an empty one is mended before: _mend_empty_pointer)
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
    keep_replaced: bool = False,
) -> tuple[EnvLocation, PendingCheck | None, str | None]:
    """Build a fresh env for ``info`` where it can run; falls back to the per-user directory
    when the declared place cannot hold a runnable env. With ``defer_check``, the check of an
    env in place whose python is a symlink may still be running (see :func:`sync`); what the
    user must be told is added to ``notes``. With ``keep_replaced``, an env replaced in place
    (without a shadow env) is kept: its path is returned last."""
    key = python_key(info.version, info.free_threaded)
    location = choose_location(declared, project, key, environ)
    if location.placement is not Placement.ELSEWHERE:
        _clear_declared(declared)
        keep = keep_replaced and location.shadow is None
        try:
            pending, kept = build_at(
                location.env, info, defer_check, env_prompt(project), notes, keep
            )
            return location, pending, kept
        except (EnvironmentBroken, NothingExecutableHere) as exc:
            reason = f"{landing_dir(declared)} cannot hold a runnable environment ({exc.message})"
            env = elsewhere_env_path(declared, project.env_name, key, environ, reason)
            location = EnvLocation(
                declared, env, Placement.ELSEWHERE, reason, rewrites=location.rewrites
            )
    refuse_pointer_over(declared)  # (before an env of this user's there is rebuilt)
    build_at(location.env, info, prompt=env_prompt(project), notes=notes)
    record_owner(location.env, declared, EnvKind.ELSEWHERE, project=project.workspace_root)
    write_pointer(declared, location.env)
    return location, None, None


def _using_yours(anothers: str, env: str) -> str:
    """The line that says the pointer names another user's env (``anothers``), and that this
    user's own, ``env``, is used."""
    return f"{anothers}; using yours at {env} ({PER_USER}: the pointer is left to its owner)"


def build_own_env(
    project: Project,
    declared: str,
    info: InterpreterInfo,
    environ: Mapping[str, str],
    notes: list[str] | None = None,
) -> tuple[EnvLocation, None, None]:
    """Build this user's own env for ``info`` where the pointer at ``declared`` names another
    user's env: in this user's envs directory, whatever the project's filesystem would allow
    (the pointer is its owner's, and is left as it is; an env kept off a share is per user).
    As :func:`build_env` returns."""
    key = python_key(info.version, info.free_threaded)
    location = choose_location(declared, project, key, environ)
    if location.placement is not Placement.ELSEWHERE:  # (a pointer of another user's all the same)
        reason = f"{declared} is a pointer to another user's env, which is left to them"
        env = elsewhere_env_path(declared, project.env_name, key, environ, reason)
        location = EnvLocation(
            declared, env, Placement.ELSEWHERE, reason, rewrites=location.rewrites
        )
    build_at(location.env, info, prompt=env_prompt(project), notes=notes)
    record_owner(location.env, declared, EnvKind.ELSEWHERE, project=project.workspace_root)
    return location, None, None


def _discard_old(
    old: SyncState | None, old_env: str, new: EnvLocation, environ: Mapping[str, str]
) -> None:
    """Remove what the previous env left in anyvenv's own directories (never the user's)."""
    if old_env != new.env and is_below(old_env, envs_dir(environ)) and os.path.isdir(old_env):
        remove_tree_or_leave_it(old_env)
    if (
        old is not None
        and old.shadow
        and old.shadow != new.shadow
        and is_own_shadow(old.shadow, environ)  # (never another user's or machine's)
    ):
        remove_tree_or_leave_it(old.shadow)


def remove_tree_or_leave_it(path: str) -> None:
    from anyvenv.fs.remove import remove_tree

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
        shadow = saved.shadow or None
        if shadow is not None:
            key = python_key(facts.version, facts.free_threaded)
            shadow = own_shadow(shadow, declared, project.env_name, key, environ, saved.reason)
        return EnvLocation(declared, env, placement, saved.reason, shadow, saved.rewrites)
    if pointed:
        from anyvenv.fs.probe import probe, probe_path_for

        result = probe(probe_path_for(os.path.dirname(declared)))
        placement, why = placement_for(result)
        reason = why if placement is Placement.ELSEWHERE else pointer_reason(declared)
        return EnvLocation(declared, env, Placement.ELSEWHERE, reason, rewrites=result.rewrites)
    from anyvenv.fs.probe import probe

    result = probe(env)
    placement, reason = placement_for(result)
    if placement is not Placement.IN_PLACE:  # not made by anyvenv sync for this filesystem
        moved_from = state_store.moved_from(env)
        if moved_from is not None:  # copied or moved: its shadow env was made for that path
            return f"it was made by 'anyvenv sync' for {moved_from}, and here {reason}"
        if placement is Placement.SHADOW and (facts.made_by_anyvenv or _scripts_run(env)):
            # made by anyvenv venv for this filesystem (files with their modes, the chmod
            # shim), or by another tool and nothing in it lacks its exec bits (FAT, exFAT
            # show them on every file), given the shim: uv installs through a new shadow
            # env, what is installed kept
            if result.needs_mode_shim:
                _give_mode_shim(os.path.join(env, facts.site_packages))
            key = python_key(facts.version, facts.free_threaded)
            why = fault_of(result) or reason
            shadow = shadow_env_path(declared, project.env_name, key, environ, why)
            return EnvLocation(declared, env, placement, reason, shadow, result.rewrites)
        unrunnable = (
            ", and scripts in its bin/ cannot be run" if placement is Placement.SHADOW else ""
        )
        return f"it was not made by anyvenv for this filesystem, where {reason}{unrunnable}"
    return EnvLocation(declared, env, placement, reason)


def _give_mode_shim(site_packages: str) -> None:
    """The chmod shim for an env taken over where chmod fails or is ignored, so that its own
    pip works as in one anyvenv made; left out where it cannot be written (the env's files
    are this user's to read only): uv installs through the shadow env all the same."""
    from anyvenv.envbuild.modeshim import add_mode_shim

    try:
        add_mode_shim(site_packages)
    except OSError:
        pass


def _scripts_run(env: str) -> bool:
    """Whether this user may run every script (a file starting ``#!``) in the env's bin/:
    an env another tool made on a filesystem where chmod fails or is ignored then lacks
    nothing an env anyvenv made there has, but the chmod shim."""
    bin_dir = os.path.join(env, "bin")
    try:
        names = os.listdir(bin_dir)
    except OSError:
        return False
    for name in names:
        path = os.path.join(bin_dir, name)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # (a FIFO would block the read)
                continue
            with open(path, "rb") as handle:
                script = handle.read(2) == b"#!"
        except OSError:  # (a link that cannot be followed, a file this user cannot read)
            continue
        if script and not os.access(path, os.X_OK):
            return False
    return True


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
        report = repair(  # (sync holds the lock; it keeps the changes only)
            env, take_env_lock=False, python_preference=preference, package_files=False
        )
    except AnyvenvError as exc:
        return [f"the env was moved from {old}; {exc.one_line()}"]
    if not report.changes:
        return []
    return [
        f"the env was moved from {old}: rewrote {len(report.changes)} files (console and "
        "activation scripts) that named the old path"
    ]


def _keep_owner_records(location: EnvLocation, project: Project) -> None:
    """A reused env outside the project, or its shadow, names the project it serves now (the
    project may have moved, or the env may predate owner records, or the project in them)."""
    if location.placement is Placement.ELSEWHERE and not same_place(
        location.declared, location.env
    ):
        # (UV_PROJECT_ENVIRONMENT naming the env itself would make it its own owner and
        # hide the project whose pointer names it)
        record_owner(
            location.env, location.declared, EnvKind.ELSEWHERE, project=project.workspace_root
        )
    if location.shadow and os.path.isdir(location.shadow):
        record_owner(
            location.shadow, location.declared, EnvKind.SHADOW, project=project.workspace_root
        )


def new_state(location: EnvLocation, facts: EnvFacts) -> SyncState:
    return SyncState(
        env=location.env,
        placement=location.placement.value,
        reason=location.reason,
        shadow=location.shadow,
        rewrites=location.rewrites,
        env_mount=mount_basis(location.env),  # (placed for this mount)
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
        from anyvenv.envbuild.config import made_on_windows

        mend = (
            f"'anyvenv repair {declared}' mends it, keeping its packages; "
            if made_on_windows(env) is None
            else ""  # (nothing of Windows' runs here: not repair's to mend)
        )
        super().__init__(
            f"the project env {env} does not work ({why}), and 'anyvenv pip' uses the env as "
            "it is, as uv pip does",
            f"{mend}'anyvenv sync' makes it again from the lock",
        )


def prepare(
    project: Project,
    choice: PythonChoice,
    declared: str,
    environ: Mapping[str, str],
    defer_check: bool = False,
    may_build: bool = True,
    as_it_is: bool = False,
    keep_replaced: bool = False,
) -> PreparedEnv:
    """Reuse the project's env or (re)build it. Call with the project lock held. With
    ``defer_check``, a new env's check may still run (``PreparedEnv.pending_check``). Without
    ``may_build``, an env that would have to be made raises :class:`EnvLeftAlone`. With
    ``as_it_is`` (``uv pip``, which acts on the env it finds), an env that runs is used
    whatever its Python; only a missing or broken one is made. With ``keep_replaced``, an env
    that runs and is rebuilt in place is kept aside (``PreparedEnv.replaced_env``)."""
    from anyvenv.fs.leftovers import recover

    # what killed runs left beside the env (a staging tree, an old env half removed, temp
    # files): undone before the env is judged, also when it is then reused as it is
    recover(declared)
    mended = _mend_empty_pointer(declared, environ)
    prepared = _prepare(
        project, choice, declared, environ, defer_check, may_build, as_it_is, keep_replaced
    )
    if mended is not None:
        prepared.notes.insert(0, mended)
    return prepared


def _mend_empty_pointer(declared: str, environ: Mapping[str, str]) -> str | None:
    """Where ``declared`` is an empty pointer file (:func:`is_empty_pointer`), write it again
    naming this user's env kept elsewhere for the project, or, where there is none, remove it
    (the env is then made, and the pointer written, as at first). The line that says so."""
    if not is_empty_pointer(declared):
        return None
    own = own_env_for(declared, envs_dir(environ))
    if own is not None:
        write_pointer(declared, own)
        return f"{declared} {EMPTY_POINTER}: written again, naming {own}"
    os.unlink(declared)
    return f"{declared} {EMPTY_POINTER}, and no env of the project was found: made again"


def _prepare(
    project: Project,
    choice: PythonChoice,
    declared: str,
    environ: Mapping[str, str],
    defer_check: bool,
    may_build: bool,
    as_it_is: bool,
    keep_replaced: bool,
) -> PreparedEnv:
    """:func:`prepare`, once what killed runs and crashes left is mended."""
    pointer = read_pointer_form(declared)
    pointed_to, earlier_form = pointer if pointer is not None else (None, False)
    anothers = None if pointed_to is None else anothers_env(declared, pointed_to, environ)
    if anothers is not None:  # this user's own env stands for the pointer's, found without it
        pointed_to, earlier_form = own_env_for(declared, envs_dir(environ)), False
    env = pointed_to if pointed_to is not None else declared
    if os.path.isdir(env):  # a fill in place that a killed run left, finished or undone
        from anyvenv.fs.inplace import recover_inside  # (before the env is judged, as venv)

        recover_inside(env)
    saved = state_store.load(env) if os.path.isdir(env) else None
    facts, broken = inspect_env(env, saved)
    if anothers is not None and pointed_to is None:  # (none of this user's yet: one is made)
        facts, broken = None, None
    base_moved = False
    if as_it_is and facts is None and broken is not None:  # (uv pip acts on what runs:
        facts = inspect_env(env, saved, strict=False)[0]  # a base changed under it too)
        base_moved = facts is not None
    other = other_project_served(env, declared) if pointed_to is not None else None
    if other is not None:  # a copied project's pointer: that env stays the original's
        env, saved, facts = declared, None, None
        broken = f"it points to the env of {other}, which that project still uses"
    if facts is not None:
        broken = _unfit(project, choice, facts, env, as_it_is)
        if broken is None:
            reused = _reuse(
                project, choice, declared, env, pointed_to is not None, saved, facts,
                environ, as_it_is, base_moved,
            )  # fmt: skip
            if isinstance(reused, str):
                broken = reused
            else:
                if earlier_form:  # (an earlier release's pointer: in uv's form now)
                    write_pointer(declared, env)
                if anothers is not None:
                    reused.anothers = _using_yours(anothers, env)
                return reused
    if not may_build:
        raise EnvLeftAlone(env)
    if as_it_is and other is None and broken is not None and is_virtual_environment(env):
        raise BrokenEnvAsItIs(env, declared, broken)
    told: list[str] = []
    info = find_base_interpreter(project, choice, told)
    if (
        pointed_to is not None
        and other is None
        and anothers is None
        and not os.path.lexists(pointed_to)
    ):
        own = _own_env_elsewhere(project, choice, declared, pointed_to, info, environ)
        if own is not None:  # (another machine's pointer)
            return own
    # (in place, without a shadow env: what the env holds is all there is to put back; not
    # through a link, whose target the old env is kept beside)
    runs_in_place = facts is not None and pointed_to is None and other is None
    unshadowed = (saved is None or not saved.shadow) and not os.path.islink(env)
    if anothers is not None:
        location, pending, kept_old = build_own_env(project, declared, info, environ, told)
    else:
        location, pending, kept_old = build_env(
            project, declared, info, environ, defer_check, told,
            keep_replaced=keep_replaced and runs_in_place and unshadowed,
        )  # fmt: skip
    _discard_old(saved, env, location, environ)
    new_facts = facts_of_info(location.env, info)
    action = "rebuilt" if broken is not None else "created"
    state = new_state(location, new_facts)
    prepared = PreparedEnv(
        project,
        choice,
        location,
        state,
        action,
        broken,
        notes=told,
        pending_check=pending,
        replaced_env=None if kept_old is None else (kept_old, location.env),
        anothers=None if anothers is None else _using_yours(anothers, location.env),
    )
    if pending is None:  # checked: saved now, so that a sync killed or stopped before its
        save_state(prepared)  # end leaves an env the next one knows as its own, not rebuilds
    return prepared


def _reuse(
    project: Project,
    choice: PythonChoice,
    declared: str,
    env: str,
    pointed: bool,
    saved: SyncState | None,
    facts: EnvFacts,
    environ: Mapping[str, str],
    as_it_is: bool,
    base_moved: bool = False,
) -> PreparedEnv | str:
    """The env at ``env``, which runs and is the one asked for, reused; or why it must be
    rebuilt to be usable here."""
    location = _existing_location(declared, env, pointed, saved, facts, project, environ)
    provisional = isinstance(location, str) and as_it_is
    if provisional:  # (made by another tool, or moved: as it is, for uv pip only)
        location = _location_as_it_is(declared, project, facts, environ)
    if isinstance(location, str):
        return location
    # (a saved state whose env was checked again, a vital file changed: as it is)
    kept = (
        new_state(location, facts)
        if saved is None
        else replace(saved, shadow=location.shadow, **state_fields_of(facts))
    )
    _keep_owner_records(location, project)
    notes = _follow_a_move(env, choice.preference) if saved is None and not provisional else []
    return PreparedEnv(
        project, choice, location, kept, "reused", notes=notes,
        # (an env whose base changed is used as it is, not recorded as checked: the next
        # sync must still find it changed and rebuild it)
        keeps_state=not provisional and not base_moved,
    )  # fmt: skip


def _own_env_elsewhere(
    project: Project,
    choice: PythonChoice,
    declared: str,
    pointed_to: str,
    info: InterpreterInfo,
    environ: Mapping[str, str],
) -> PreparedEnv | None:
    """The env this user keeps for the project in the per-user directory, reused, where the
    pointer names an env that is not here: one another machine or user made, whose sync
    wrote the pointer on the share. ``None`` when there is none that serves the project,
    runs and is the one asked for: a new one is made."""
    from anyvenv.errors import UnfitUserDir
    from anyvenv.fs.paths import same_entry
    from anyvenv.project.owners import read_owner

    key = python_key(info.version, info.free_threaded)
    try:
        location = choose_location(declared, project, key, environ)
    except UnfitUserDir:
        return None  # (said by the build that follows)
    env = location.env
    owner = read_owner(env) if location.placement is Placement.ELSEWHERE else None
    if owner is None or not same_entry(owner.declared, declared):
        return None
    saved = state_store.load(env)
    facts = inspect_env(env, saved)[0]  # (None where it does not run: why is not asked)
    if facts is None or _unfit(project, choice, facts, env, False):
        return None
    reused = _reuse(project, choice, declared, env, True, saved, facts, environ, False)
    if isinstance(reused, str):
        return None
    write_pointer(declared, env)
    reused.notes.append(
        f"{declared} named {pointed_to}, which is not here (an env of another machine or "
        f"user?): this one's env for the project, {env}, is used again"
    )
    return reused


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


# how the hints of a Python not found name the options of the command (sync, run, lock...):
# uv's, which it takes
UV_COMMAND_WORDS = OptionWords.command_line(
    "python", "offline", python_downloads="--allow-python-downloads"
)


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
        info = find_or_download(
            choice.request.raw or None, choice.preference, downloads, words=UV_COMMAND_WORDS
        )
    except InterpreterNotFound as exc:
        raise choice.named_in(exc) from exc
    if not project.allows(info.version):
        raise UsageError(
            f"Python {info.version_text} (from {choice.source}) does not satisfy the project's "
            f"requires-python {project.requires_python_text}",
            "ask for a Python that does (--python, .python-version) or change requires-python",
        )
    return info


def undo_created(prepared: PreparedEnv) -> None:
    """uv stopped with exit code 2, its code for an error (a command it refuses, a file it
    cannot install: sync, pip): the env made for it goes, and the project is as before
    the command (an env replaced for it cannot come back, so only a new one is undone)."""
    from anyvenv.fs.inplace import remove_or_empty

    location = prepared.location
    if location.shadow is not None:
        remove_tree_or_leave_it(location.shadow)
    if location.placement is Placement.ELSEWHERE and pointer_names(location.declared, location.env):
        os.unlink(location.declared)  # (not another user's pointer, naming their env)
    env = location.env
    remove_or_empty(env)  # (a mount point, the working directory: emptied)
    prepared.action = "undone"
    prepared.notes.append(f"uv stopped with exit code 2: removed the env made for it at {env}")


def _remove_kept(kept: str, env: str) -> None:
    """Remove the env kept aside for ``env``: first under a staging name (recover puts a
    retired one back where the env is missing, and removes a staging one of a dead run)."""
    from anyvenv.fs.leftovers import staging_name
    from anyvenv.fs.remove import remove_tree_quietly

    going = staging_name(env)
    try:
        os.rename(kept, going)
    except OSError:
        return
    remove_tree_quietly(going)


def put_back_replaced(prepared: PreparedEnv) -> bool:
    """uv stopped with exit code 2 (a command it refuses, a file it cannot install):
    the env replaced for it comes back, as it was before the command, and the new one goes.
    Whether it came back."""
    from anyvenv.fs.leftovers import staging_name
    from anyvenv.fs.remove import remove_tree_quietly
    from anyvenv.killpoints import checkpoint

    if prepared.replaced_env is None:
        return False
    kept, env = prepared.replaced_env
    prepared.replaced_env = None
    new = staging_name(env)  # (removed by recover if this run dies: the kept one comes back)
    try:
        os.rename(env, new)
    except OSError:
        _remove_kept(kept, env)
        return False
    checkpoint("sync:new-env-set-aside")
    try:
        os.rename(kept, env)
    except OSError:
        os.rename(new, env)
        _remove_kept(kept, env)
        return False
    remove_tree_quietly(new)
    prepared.action = "restored"
    prepared.notes.append(
        f"uv stopped with exit code 2: put back the env that was at {prepared.location.env}"
    )
    return True


def discard_replaced(prepared: PreparedEnv) -> None:
    """uv took the command (or it stopped otherwise): the env kept aside goes."""
    if prepared.replaced_env is not None:
        _remove_kept(*prepared.replaced_env)
        prepared.replaced_env = None


def vital_paths(prepared: ShadowedEnv) -> list[str]:
    """The files the state's fingerprint covers (kept from before, or found now)."""
    current = prepared.state
    return list(current.fingerprint) or vital_files(prepared.location.env, current.base_executable)


def save_state(prepared: ShadowedEnv) -> None:
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


def project_rewrites(prepared: PreparedEnv) -> str:
    """``ProbeResult.rewrites`` where the project's files are: can uv write uv.lock and
    pyproject.toml there, replace them, or neither? Measured at the workspace root: the env
    may be on another filesystem (``UV_PROJECT_ENVIRONMENT`` or ``--active`` off a FAT drive)."""
    from anyvenv.fs.probe import probe_path_for
    from anyvenv.project.envchoice import rewrites_at

    root = prepared.project.workspace_root
    location = prepared.location
    try:
        env_parent = probe_path_for(os.path.dirname(location.declared))
        if os.stat(root).st_dev == os.stat(env_parent).st_dev:
            return location.rewrites
    except OSError:
        pass
    return rewrites_at(root)
