"""``anyvenv cache prune``: remove the envs in anyvenv's own directories that no project uses.

Two directories fill up as projects come and go: the per-user envs of projects whose
filesystem cannot run one (``envs_dir``) and the shadow envs of projects where chmod fails
(``shadow_dir``). Each env there carries an owner record (:mod:`anyvenv.project.owners`). An
env is removed only when its project says, under the project's lock, that it no longer uses
it: the pointer file at the declared path names another env (or is gone), the env at the
declared path records another shadow, or the directory holding the declared path (the
project's, for ``.venv``) is gone from a filesystem that is mounted now. An env without a record, or whose project's filesystem is not mounted,
does not answer (within ``ANYVENV_FS_TIMEOUT``) or is busy syncing, is kept and reported.
Removal renames the env aside first, while the project's lock is still held (a sync that
starts after the verdict cannot take the env up again), so an interrupted prune leaves a
leftover that the next one clears, never a half-removed env under a live name. An env that
cannot be renamed (overlayfs's lower layer: EXDEV) is removed where it is, under the lock,
its ``pyvenv.cfg`` first and its owner record last: an interrupted one leaves no env, and
the next prune finishes it.
"""

from __future__ import annotations

import os

from anyvenv.project.owners import Verdict, use_of
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from anyvenv.fs.mounts import MountInfo
    from anyvenv.project.owners import Owner

LOCK_WAIT_SECONDS = 2.0  # a project whose sync holds the lock longer is left for next time


@record
class PruneEntry:
    path: str
    kind: str  # elsewhere, shadow, leftover
    owner: str | None  # the project env path it serves
    verdict: Verdict
    reason: str
    removed: bool = False
    project: str | None = None  # the project's root, where its record names it

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": self.kind,
            "owner": self.owner,
            "project": self.project,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "removed": self.removed,
        }


def prune(environ: Mapping[str, str], *, dry_run: bool = False) -> list[PruneEntry]:
    """Judge every env in anyvenv's envs and shadow directories; remove the unused ones
    (unless ``dry_run``) and the leftovers of interrupted work whose maker is gone."""
    from anyvenv.fs.mounts import read_mounts
    from anyvenv.project.envchoice import envs_dir, shadow_dir

    mounts = read_mounts()
    entries: list[PruneEntry] = []
    directories = {os.path.realpath(d): d for d in (envs_dir(environ), shadow_dir(environ))}
    for directory in directories.values():  # once, if both are set to one place
        entries.extend(_leftovers(directory, dry_run))
        for name in _names(directory):
            if name.startswith("."):
                continue  # leftovers, above; a live sync's staging is not ours to judge
            entries.append(judge(os.path.join(directory, name), mounts, remove=not dry_run))
    return entries


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def _leftovers(directory: str, dry_run: bool) -> list[PruneEntry]:
    from anyvenv.fs.leftovers import (
        LONGEST_STEM,
        MARK,
        REMOVING_MARK,
        RETIRED_MARK,
        STAGING_MARK,
        dead_leftovers,
        recover,
        sweep_dead,
    )

    marks = (STAGING_MARK, RETIRED_MARK, REMOVING_MARK)
    # a rebuild killed between its two renames left the env under its retired name, with
    # nothing at its own: put back (as the project's next run would), not removed
    for name in _names(directory):
        if name.startswith(".") and RETIRED_MARK in name and not dry_run:
            target = os.path.join(directory, name[1 : name.index(MARK)])
            if len(os.fsencode(os.path.basename(target))) >= LONGEST_STEM - 10:
                continue  # maybe a name cut to fit (leftovers.leftover_stem): the env's unknown
            if not os.path.lexists(target):
                recover(target)
    if dry_run:
        names = _names(directory)
        found = [path for mark in marks for path in dead_leftovers(directory, names, mark)]
    else:  # (only dot-names are leftovers: an env whose name holds a mark is someone's)
        found = [path for mark in marks for path in sweep_dead(directory, mark)]
    reason = "left by an interrupted anyvenv that is gone"
    return [
        PruneEntry(path, "leftover", None, Verdict.UNUSED, reason, removed=not dry_run)
        for path in found
    ]


@record
class _Asked:
    """What the project's answer made of an env (in the bounded call's child): the verdict,
    why, where the env was set aside to be removed (``None``: not set aside), and whether it
    is removed (set aside, or removed where it is)."""

    verdict: Verdict
    reason: str
    aside: str | None = None
    removed: bool = False


def judge(env: str, mounts: list[MountInfo], *, remove: bool = False) -> PruneEntry:
    """Whether the env at ``env`` is still used by the project its owner record names; with
    ``remove``, an unused env is moved aside while the project's lock is held (a sync starting
    after the verdict cannot take it up again before it goes), then removed."""
    from anyvenv.project.owners import read_owner

    if os.path.islink(env) or not os.path.isdir(env):
        return PruneEntry(env, "unknown", None, Verdict.KEPT, "not a directory anyvenv made")
    owner = read_owner(env)
    if owner is None:
        from anyvenv.fs import is_virtual_environment

        cut = _cut_removal(env, remove)
        if cut is not None:
            return cut
        if not is_virtual_environment(env):  # (a directory of the user's, put there by hand)
            return PruneEntry(env, "unknown", None, Verdict.KEPT, "not an environment")
        reason = "it has no owner record (made before anyvenv kept them): remove it by hand"
        return PruneEntry(env, "unknown", None, Verdict.KEPT, reason)
    kind, project = owner.kind.value, owner.project or None
    elsewhere = _not_the_recorded_filesystem(owner, mounts)
    if elsewhere is not None:
        return PruneEntry(env, kind, owner.declared, Verdict.KEPT, elsewhere, project=project)
    from anyvenv.errors import MountNotAnswering
    from anyvenv.fs.bounded import call_bounded

    project_dir = os.path.dirname(owner.declared)
    try:  # a share that hangs keeps the env, it does not hang prune
        asked = call_bounded(
            lambda: _ask_project(env, owner, remove),
            what="reading the project",
            where=project_dir,
        )
    except MountNotAnswering as exc:
        asked = _Asked(Verdict.KEPT, exc.message)
    except OSError as exc:  # the lock's file, or the helper died: no proof either way
        asked = _Asked(Verdict.KEPT, f"its project could not be asked: {exc.strerror or exc}")
    if asked.aside is not None:
        from anyvenv.fs.remove import remove_tree_quietly

        # (what it cannot remove, the next prune clears as a leftover)
        remove_tree_quietly(asked.aside)
    return PruneEntry(
        env, kind, owner.declared, asked.verdict, asked.reason, asked.removed, project
    )


def _cut_removal(env: str, remove: bool) -> PruneEntry | None:
    """The entry of what a prune killed while it removed an env in place left at ``env``
    (its owner record gone, no ``pyvenv.cfg``; see
    :func:`~anyvenv.fs.leftovers.remove_in_place`), removed with ``remove``; ``None`` where
    ``env`` is not that."""
    from anyvenv.fs.leftovers import cut_move, undo_cut_move

    found = cut_move(env)
    if found is None or found.complete or not (found.gone and found.only_listed):
        return None
    reason = "left by an interrupted anyvenv that is gone"
    removed = remove and env in undo_cut_move(env)
    return PruneEntry(env, "leftover", None, Verdict.UNUSED, reason, removed=removed)


def _not_the_recorded_filesystem(owner: Owner, mounts: list[MountInfo]) -> str | None:
    """Why the filesystem the project was on may not be the one mounted at its place now
    (so its project directory being gone proves nothing); ``None`` when it is. What is
    mounted there now is the topmost mount at that point (a later mount hides the ones
    under it); a remount, another filesystem there, or another mount namespace shows as
    another source or device number."""
    if not owner.mount_point:
        return "the project's filesystem was not known when its record was written"
    was = f"{owner.mount_source or 'unknown'} at {owner.mount_point}"
    top = None
    for mount in mounts:  # in mount order: the last one at that point is the visible one
        if mount.mount_point == owner.mount_point:
            top = mount
    if top is None:
        return f"the project's filesystem ({was}) is not mounted now"
    if (owner.mount_source and top.source != owner.mount_source) or (
        owner.mount_device and top.device != owner.mount_device
    ):
        return (
            f"the filesystem mounted at {owner.mount_point} now ({top.source}, device "
            f"{top.device}) is not the project's ({owner.mount_source or 'unknown'}, device "
            f"{owner.mount_device or 'unknown'}): a sync of the project records it anew"
        )
    return None


def _ask_project(env: str, owner: Owner, remove: bool) -> _Asked:
    """Is the project gone, or, under its lock, does its declared path still use ``env``?
    With ``remove``, an unused env is set aside (or removed where it is) before the lock is
    let go."""
    import errno

    from anyvenv.errors import AnyvenvError
    from anyvenv.fs.lock import env_lock

    project_dir = os.path.dirname(owner.declared)
    holder = _holder(owner)
    try:
        os.stat(project_dir)
    except OSError as exc:  # only "not there" proves it gone: EACCES, ENOTCONN, EIO do not
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return _set_aside_if(remove, env, f"{holder} is gone")
        return _Asked(Verdict.KEPT, f"{holder} cannot be read ({exc})")

    lock = env_lock(owner.declared, timeout=LOCK_WAIT_SECONDS)
    try:
        lock.acquire()
    except AnyvenvError as exc:
        return _Asked(Verdict.KEPT, f"the project's lock could not be taken: {exc.message}")
    try:
        verdict, reason = use_of(env, owner)
        if verdict is not Verdict.UNUSED:
            return _Asked(verdict, reason)
        return _set_aside_if(remove, env, reason)
    finally:
        lock.release()


def _holder(owner: Owner) -> str:
    """The directory holding the project's env path, named as that: the project's own when
    it is the project's root, which the record names (an earlier release's names none); under
    ``UV_PROJECT_ENVIRONMENT=.tox/py312`` it is ``.tox``."""
    directory, name = os.path.split(owner.declared)
    if owner.project and os.path.normpath(directory) == os.path.normpath(owner.project):
        return "its project directory"  # (named beside the reason: PruneEntry.project)
    return f"the directory {directory} that held its project env path {name}"


def _set_aside_if(remove: bool, env: str, reason: str) -> _Asked:
    """The verdict on an unused env, moved aside first if it is to be removed (or removed
    where it is, if it cannot be renamed); an env that cannot be moved is kept, saying why."""
    from anyvenv.fs.leftovers import set_aside
    from anyvenv.fs.remove import why_unremovable
    from anyvenv.project.owners import OWNER_NAME

    if not remove:
        return _Asked(Verdict.UNUSED, reason)
    why = why_unremovable(env)
    if why is not None:  # (moved aside, it would be hidden, and stay: another user's)
        return _Asked(Verdict.KEPT, f"{reason}, but {why}")
    try:
        aside = set_aside(env, last=(OWNER_NAME,))  # (the record last: it names the project)
    except OSError as exc:
        from anyvenv.fs import is_virtual_environment

        if is_virtual_environment(env):  # (nothing of it changed)
            return _Asked(Verdict.KEPT, f"{reason}, but it cannot be moved: {exc}")
        # removed in place part-way: no env any more; the next prune removes the rest
        said = f"{reason}; it is no environment now, but not all of it could be removed ({exc})"
        return _Asked(Verdict.KEPT, f"{said}: the next 'anyvenv cache prune' tries again")
    return _Asked(Verdict.UNUSED, reason, aside, removed=True)
