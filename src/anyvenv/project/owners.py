"""Owner records: which project env path an env in anyvenv's own directories serves, and
whether that project still uses it (:func:`use_of`, for ``cache prune`` and for a new env's
name).

An env that lives outside its project (``Placement.ELSEWHERE``, in the per-user envs
directory) or a shadow env (in the user cache) carries ``.anyvenv-owner``::

    # anyvenv: the project environment this env serves (read by 'anyvenv cache prune')
    owner = /mnt/share/proj/.venv
    project = /mnt/share/proj
    kind = elsewhere
    mount-point = /mnt/share
    mount-source = //server/share
    mount-device = 0:53
    project-inode = 1234567
    owner-hex = 2f6d6e742f...
    project-hex = 2f6d6e742f...

``owner-hex`` holds the owner's path byte for byte (hex of its file-system encoding): a path
may hold a newline, which ends a ``key = value`` line, or spaces at its ends, which the
reading strips. ``owner`` is kept beside it for the reader (the paths as written come first:
a newline in one, read as the end of its line, is followed by the real lines it would fake).
``project`` (and ``project-hex``, the same way) is the root of the project (its workspace's)
the env serves, which prune and the messages name: the declared path need not be in it
(``UV_PROJECT_ENVIRONMENT=/elsewhere/env``), nor its directory be it (``.tox/py312``).
Records written before it have none (nor has the shadow of an env no project stands for):
the directory holding the declared path is then named.

``owner`` is the declared env path (a pointer file there names an ``elsewhere`` env; the env
there records its ``shadow``). The mount the project was on (where, what, and the device
number of its filesystem, which a remount or another filesystem at the same place changes)
tells a project that is gone from one whose filesystem is just not mounted now; an empty
``mount-point`` means it was not known. ``project-inode`` (of the directory holding the
declared path, on that filesystem) tells a project renamed away, whose env this stays, from
a new project made at its old path: that one gets another env. ``key = value`` lines, like
pyvenv.cfg.
"""

from __future__ import annotations

import os

from anyvenv.envbuild.config import parse_pyvenv_cfg
from anyvenv.record import StrChoice, record

OWNER_NAME = ".anyvenv-owner"
OWNER_MAX_BYTES = 16 * 1024


class EnvKind(str, StrChoice):
    ELSEWHERE = "elsewhere"  # the project's env, kept off a filesystem that cannot run it
    SHADOW = "shadow"  # where uv installs for an env on a filesystem where chmod fails


class Verdict(str, StrChoice):
    UNUSED = "unused"  # removed (or would be, with --dry-run)
    IN_USE = "in-use"
    KEPT = "kept"  # not known to be unused: no record, unmounted, busy


@record
class Owner:
    declared: str  # the project's env path
    kind: EnvKind
    mount_point: str  # the mount the project was on when the record was written
    mount_source: str  # what was mounted there (a device, //server/share, host:dir)
    mount_device: str = ""  # major:minor of that filesystem ("": not recorded)
    project_inode: str = ""  # of the directory holding ``declared`` ("": not recorded)
    project: str = ""  # the root of the project it serves ("": not recorded, or no project)

    def project_named(self) -> str:
        """The project, as messages name it: its root, else (a record without it) the
        directory holding its env path."""
        return self.project or os.path.dirname(self.declared)


def owner_of(declared: str, kind: EnvKind, project: str | None) -> Owner:
    """The record for an env serving ``declared`` for the project at ``project`` (its root;
    ``None``: no project stands for the env), with the mount the project is on now (unknown,
    all empty, where the mount table cannot be read: prune then keeps the env)."""
    from anyvenv.fs.mounts import mount_of

    root = project or ""
    mount = mount_of(os.path.dirname(declared))
    if mount is None:
        return Owner(declared, kind, "", "", "", project=root)
    inode = _inode_of(os.path.dirname(declared))
    return Owner(declared, kind, mount.mount_point, mount.source, mount.device, inode, root)


def _inode_of(directory: str) -> str:
    try:
        return str(os.stat(directory).st_ino)
    except OSError:
        return ""


def render_owner(owner: Owner) -> bytes:
    lines = [
        "# anyvenv: the project environment this env serves (read by 'anyvenv cache prune')",
        # (the paths as written first: a newline in one cannot stand for the lines after it)
        f"owner = {owner.declared}",
        f"project = {owner.project}",
        f"kind = {owner.kind.value}",
        f"mount-point = {owner.mount_point}",
        f"mount-source = {owner.mount_source}",
        f"mount-device = {owner.mount_device}",
        f"project-inode = {owner.project_inode}",
        f"owner-hex = {os.fsencode(owner.declared).hex()}",
        f"project-hex = {os.fsencode(owner.project).hex()}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def read_owner(env: str) -> Owner | None:
    """The record in ``env``; ``None`` if it has none or one that cannot be read whole."""
    from anyvenv.fs.atomic import read_small_file

    path = os.path.join(env, OWNER_NAME)
    if os.path.islink(path) or not os.path.isfile(path):
        return None
    data = read_small_file(path, OWNER_MAX_BYTES)
    if data is None:
        return None
    values = parse_pyvenv_cfg(data.decode("utf-8", "surrogateescape"))
    declared = values.get("owner", "")
    hexed = values.get("owner-hex")  # (records written before it have none)
    if hexed is not None:
        try:
            declared = os.fsdecode(bytes.fromhex(hexed))
        except ValueError:
            return None
    try:
        kind = EnvKind(values.get("kind", ""))
    except ValueError:
        return None
    if not os.path.isabs(declared):
        return None
    project = values.get("project", "")
    project_hex = values.get("project-hex")  # (records written before it have neither)
    if project_hex is not None:
        try:
            project = os.fsdecode(bytes.fromhex(project_hex))
        except ValueError:
            project = ""  # (the env is still judged by its declared path)
    return Owner(
        declared,
        kind,
        values.get("mount-point", ""),
        values.get("mount-source", ""),
        values.get("mount-device", ""),
        values.get("project-inode", ""),
        project if os.path.isabs(project) else "",
    )


def record_owner(env: str, declared: str, kind: EnvKind, *, project: str | None) -> bool:
    """Write the record unless ``env`` already holds this one: ``declared``, ``kind``, the
    project's root ``project`` (``None``: no project stands for the env) and the mount the
    project is on now (a moved project takes its env along, and a remounted share has another
    device: the record follows on its next sync; so does an earlier release's record, without
    the project). Quietly skipped (``False``) if the env cannot take it: without a record,
    prune keeps the env."""
    owner = owner_of(declared, kind, project)
    if read_owner(env) == owner:
        return True
    from anyvenv.fs.atomic import atomic_write

    try:
        atomic_write(os.path.join(env, OWNER_NAME), render_owner(owner))
    except OSError:
        return False
    return True


def own_env_for(declared: str, directory: str) -> str | None:
    """This user's env kept off the share for the project env path ``declared``: the env in
    ``directory`` (their envs directory) whose owner record names ``declared``, found without
    the pointer there (which may name another user's); the one synced last where a change of
    Python left more than one. ``None`` where there is none."""
    from anyvenv.fs import is_virtual_environment
    from anyvenv.fs.paths import same_entry
    from anyvenv.project.state import STATE_NAME

    try:
        names = os.listdir(directory)
    except OSError:
        return None
    found: list[tuple[float, str]] = []
    for name in names:
        if name.startswith("."):  # (what a sync sets aside: staging, retired)
            continue
        env = os.path.join(directory, name)
        owner = read_owner(env)
        if owner is None or owner.kind is not EnvKind.ELSEWHERE:
            continue
        if not same_entry(owner.declared, declared) or not is_virtual_environment(env):
            continue
        try:
            synced = os.stat(os.path.join(env, STATE_NAME)).st_mtime
        except OSError:
            synced = 0.0
        found.append((synced, env))
    return max(found)[1] if found else None


def serves_another(env: str, declared: str) -> bool:
    """Whether ``env`` serves a project other than the one whose env path is ``declared``,
    one that still uses it (or may: what cannot be read counts as used). An env without an
    owner record serves no one."""
    from anyvenv.fs.paths import same_entry

    owner = read_owner(env)
    if owner is None:
        return False
    if same_entry(owner.declared, declared):
        return renamed_away(owner, env)
    return use_of(env, owner)[0] is not Verdict.UNUSED


def renamed_away(owner: Owner, env: str) -> bool:
    """Whether the project ``env`` was made for was renamed away from the path its record
    names, and another directory (a new project) stands there now: no pointer there names
    ``env``, and that directory, on the same filesystem as recorded, is another one (its
    inode). Not known (no inode recorded, another mount): ``False``, the env is the path's."""
    from anyvenv.fs.mounts import mount_of

    if owner.kind is not EnvKind.ELSEWHERE or not owner.project_inode or not owner.mount_device:
        return False
    if pointer_names(owner.declared, env) is not False:  # (named, or not readable: the path's)
        return False
    here = os.path.dirname(owner.declared)
    mount = mount_of(here)
    if mount is None or mount.device != owner.mount_device:
        return False
    inode = _inode_of(here)
    return bool(inode) and inode != owner.project_inode


def other_project_served(env: str, declared: str) -> str | None:
    """The other project whose pointer names ``env`` and whom ``env`` serves, per its owner
    record (:func:`project_still_served`); or, without a record, the project whose own env
    ``env`` is (beside its pyproject.toml: a pointer committed or written by hand that names
    it). ``None`` when ``env`` serves ``declared``."""
    from anyvenv.fs.paths import same_file

    owner = read_owner(env)
    if owner is not None:
        return project_still_served(owner, env, declared)
    parent = os.path.dirname(env)  # (not one anyvenv put elsewhere: another project's own?)
    if os.path.isfile(os.path.join(parent, "pyproject.toml")) and not same_file(
        parent, os.path.dirname(declared)
    ):
        return parent
    return None


def project_still_served(owner: Owner, env: str, declared: str) -> str | None:
    """The project of ``env``'s owner record when it is not the one whose env path is
    ``declared`` and its pointer still names ``env``: ``declared`` is then a copy of that
    project's pointer. ``None`` when ``env`` serves ``declared``, or its project has moved
    here (its old pointer is gone)."""
    from anyvenv.fs.paths import same_entry

    if same_entry(owner.declared, declared) or not pointer_names(owner.declared, env):
        return None
    return owner.project_named()


def pointer_names(declared: str, env: str) -> bool | None:
    """Whether the pointer file at ``declared`` names ``env``; ``None`` when it cannot be
    read (no pointer there: ``False``)."""
    from anyvenv.envbuild.pointerfile import read_pointer
    from anyvenv.errors import AnyvenvError
    from anyvenv.fs.paths import same_place

    try:
        pointed = read_pointer(declared)
    except AnyvenvError:
        return None
    return pointed is not None and same_place(pointed, env)


def use_of(env: str, owner: Owner) -> tuple[Verdict, str]:
    """Whether the project env path of ``owner`` still uses ``env`` (its pointer file names
    it, its env installs through it), and why: what cannot be read is kept, as no proof."""
    from anyvenv.fs.paths import same_place
    from anyvenv.project import state as state_store

    declared = owner.declared
    if same_place(declared, env):  # UV_PROJECT_ENVIRONMENT names it, or a link to it
        return Verdict.IN_USE, f"{declared} is this env"
    unreadable = _unreadable(declared)
    if unreadable is not None:  # a read error is no proof that it is not used
        return Verdict.KEPT, unreadable
    if owner.kind is EnvKind.ELSEWHERE:
        from anyvenv.envbuild.pointerfile import read_pointer
        from anyvenv.errors import AnyvenvError

        try:
            pointed = read_pointer(declared)
        except AnyvenvError:
            return Verdict.KEPT, f"{declared} is a pointer file that cannot be read"
        if pointed is not None and same_place(pointed, env):
            return Verdict.IN_USE, f"{declared} points to it"
        if pointed is not None:
            anothers = _anothers_pointer(declared, pointed, env)
            if anothers is not None:
                return anothers
        if pointed is not None and not os.path.lexists(pointed):
            return Verdict.KEPT, (  # (the next sync here comes back to this env)
                f"{declared} points to {pointed}, which is not here (another machine's or "
                "user's env, on a shared project): this one is used again by a sync here"
            )
        if pointed is None and os.path.isfile(declared):  # (a sync here refuses it too)
            return Verdict.KEPT, (
                f"{declared} is a file anyvenv does not read as a pointer (another release's "
                "form?): it may still name this env"
            )
        return Verdict.UNUSED, f"{declared} no longer points to it"
    unreadable = _unreadable(os.path.join(declared, state_store.STATE_NAME))
    if unreadable is not None:
        return Verdict.KEPT, unreadable
    # (a state another release saved is read for its shadow alone)
    shadow = state_store.shadow_named(declared) if os.path.isdir(declared) else ""
    if shadow is None and os.path.lexists(os.path.join(declared, state_store.STATE_NAME)):
        return Verdict.KEPT, (
            f"the state of the env at {declared} cannot be read (saved by another release of "
            "anyvenv?): it may install through this one"
        )
    if shadow and same_place(shadow, env):
        return Verdict.IN_USE, f"the env at {declared} installs through it"
    if shadow and _anothers(shadow):
        return Verdict.KEPT, (  # (the next sync here installs through this one again)
            f"the env at {declared} last installed through {shadow}, another user's or "
            "machine's shadow env: this one is used again by a sync here"
        )
    return Verdict.UNUSED, f"no env at {declared} installs through it"


def _anothers_pointer(declared: str, pointed: str, env: str) -> tuple[Verdict, str] | None:
    """Where the pointer at ``declared`` names ``pointed``, another user's env, whether
    ``env`` (this user's, in their envs directory) is the one this user's syncs use in its
    stead (:func:`own_env_for`), and why; ``None`` where ``pointed`` is not another user's."""
    from anyvenv.fs.paths import is_below
    from anyvenv.project.pointer import PER_USER, not_yours

    directory = os.path.dirname(env)
    why = not_yours(pointed)
    if why is None or is_below(pointed, directory):  # (one in this user's dir is theirs)
        return None
    named = f"{declared} names {pointed}, which {why}: {PER_USER}"
    own = own_env_for(declared, directory)
    if own == env:
        return Verdict.IN_USE, f"{named}, and this is yours for the project"
    if own is None:  # (not found as this user's for it: no proof either way)
        return Verdict.KEPT, f"{named}, and this may be yours for the project"
    return Verdict.UNUSED, f"{named}, and yours for the project is {own}"


def _anothers(path: str) -> bool:
    """Whether ``path`` is not this user's: not here (another machine's), or another uid's."""
    try:
        return os.lstat(path).st_uid != os.geteuid()
    except OSError:  # (not here, or in another user's home, not to be entered)
        return True


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read, if it is there and cannot; ``None`` if it is not there or
    can be read."""
    import errno

    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:  # (non-blocking: a FIFO there must not hang prune)
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        return f"{path} cannot be read ({exc.strerror}): no proof that the env is unused"
    return None
