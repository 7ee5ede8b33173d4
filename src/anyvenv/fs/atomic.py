"""Build beside, then rename into place: a crash leaves the old state or the new, never half.

Names of leftovers say who made them (``.NAME.anyvenv-staging-HOST-PID-RAND``, temp files
``.NAME.anyvenv-tmp-HOST-PID-RAND``), so the next run can clear those whose maker is gone.
An existing target is swapped with the new tree in one step where the filesystem can
(``renameat2(RENAME_EXCHANGE)``), so it is never missing, not even for an instant.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time

from anyvenv.fs.place import DATA_MODE, create_file
from anyvenv.fs.processes import process_alive
from anyvenv.killpoints import checkpoint
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

# Paths are strings here (``str | os.PathLike[str]`` in, ``str`` out): importing pathlib costs
# more start-up time than creating a whole environment on local disk.

MARK = ".anyvenv-"  # every staging and retired directory: ".<target name>.anyvenv-..."
STAGING_MARK = MARK + "staging-"
RETIRED_MARK = MARK + "old-"
REMOVING_MARK = MARK + "removing-"  # on its way out: cleared, never put back
TEMP_MARK = ".anyvenv-tmp-"
RENAME_PROBE_MARK = ".anyvenv-rename-probe-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _tag() -> str:
    return leftover_tag()


def leftover_tag() -> str:
    """``HOST-PID-RAND``: ends the name of anything left behind, so it can be cleared later."""
    return f"{this_host()}-{os.getpid()}-{os.urandom(3).hex()}"


# what a leftover's name adds to its target's (".", a mark, HOST-PID-RAND: host at most 32
# characters) must fit in NAME_MAX (255 bytes) with the target's name part
LONGEST_STEM = 180


def leftover_stem(name: str) -> str:
    """``.NAME``, the start of the names of what is left beside ``NAME``; a name too long to
    leave room for the rest is cut and ends with a checksum of the whole, so that two long
    names stay apart."""
    if len(os.fsencode(name)) <= LONGEST_STEM:
        return "." + name
    import zlib

    check = f"~{zlib.crc32(os.fsencode(name)):08x}"
    cut = name
    while len(os.fsencode(cut)) > LONGEST_STEM - len(check):
        cut = cut[:-1]
    return f".{cut}{check}"


def _beside(target: str | os.PathLike[str], mark: str) -> str:
    parent, name = os.path.split(os.fspath(target))
    return os.path.join(parent, f"{leftover_stem(name)}{mark}{_tag()}")


def staging_name(target: str | os.PathLike[str]) -> str:
    return _beside(target, STAGING_MARK)


def retired_name(target: str | os.PathLike[str]) -> str:
    return _beside(target, RETIRED_MARK)


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = DATA_MODE) -> None:
    """Replace ``path`` with ``data`` in one rename (a reader sees old or new bytes). Temp
    files of this path left by killed runs are removed first."""
    target = os.fspath(path)
    parent, name = os.path.split(target)
    sweep_dead(parent, TEMP_MARK, prefix=f"{leftover_stem(name)}{TEMP_MARK}")
    temp = _beside(target, TEMP_MARK)

    def make() -> None:
        create_file(temp, data, mode)
        checkpoint("atomic-write:" + name)

    _made_then_renamed(make, temp, target)


def replace_with_symlink(path: str | os.PathLike[str], target: str) -> None:
    """Make ``path`` a symlink to ``target`` in one rename (a reader follows the old link or
    the new one, never none)."""
    link = os.fspath(path)
    temp = _beside(link, TEMP_MARK)
    _made_then_renamed(lambda: os.symlink(target, temp), temp, link)


def _made_then_renamed(make: Callable[[], None], temp: str, target: str) -> None:
    """``make()`` the entry ``temp``, then rename it over ``target``; on any failure (or
    interruption) ``temp`` is removed, even where ``make`` failed after creating it (a FUSE
    server that answers late)."""
    try:
        make()
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def unlink_while_open(path: str) -> None:
    """``os.unlink(path)`` (raising as it does), with the file held open meanwhile where it
    can be opened. A FUSE daemon (libfuse's high-level API: sshfs, faultfs) keeps a file
    unlinked while open as ``.fuse_hiddenNNN`` until its release; a file unlinked just after
    a close (a record read a moment before) can race that release, which close() does not
    wait for, and stay hidden for good. Held open, it is hidden until this process's own
    close, and removed when that release reaches the daemon."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        os.unlink(path)
        return
    try:
        os.unlink(path)
    finally:
        os.close(fd)


def read_small_file(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """The bytes of a small file anyvenv reads whole (a pointer, a record), or ``None`` when
    it is missing, unreadable or longer than ``limit`` bytes."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


@record
class Leftover:
    path: str
    host: str
    pid: int
    kind: str  # "staging" or "retired"


def parse_leftover(
    target: str | os.PathLike[str], entry: str | os.PathLike[str]
) -> Leftover | None:
    """A staging or retired directory of ``target``, with its maker; ``None`` if not ours."""
    prefix = leftover_stem(os.path.basename(os.fspath(target)))
    entry = os.fspath(entry)
    name = os.path.basename(entry)
    for mark, kind in ((STAGING_MARK, "staging"), (RETIRED_MARK, "retired")):
        if name.startswith(prefix + mark):
            parts = name[len(prefix + mark) :].rsplit("-", 2)
            if len(parts) == 3 and parts[1].isdigit():
                return Leftover(entry, parts[0], int(parts[1]), kind)
    return None


_HOST: list[str] = []


def this_host() -> str:
    """The host part of leftover names: the host name and, after a dot, this pid namespace
    (a container with the same host name has other pids: its live leftovers are not ours to
    judge by pid)."""
    if not _HOST:
        # os.uname, not socket.gethostname: importing socket costs start-up time
        name = os.uname().nodename.replace("-", "_").replace("/", "_")[:24] or "host"
        try:
            namespace = "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())
        except OSError:
            namespace = ""
        _HOST.append(f"{name}.{namespace[-6:]}" if namespace else name)
    return _HOST[0]


def leftovers_of(target: str | os.PathLike[str], names: list[str] | None = None) -> list[Leftover]:
    """The staging and retired directories beside ``target`` (``names``: its parent's
    entries, when the caller has listed them already)."""
    parent = os.path.dirname(os.fspath(target))
    if names is None:
        try:
            names = os.listdir(parent or ".")
        except OSError:
            return []
    prefix = leftover_stem(os.path.basename(os.fspath(target))) + MARK  # only names like ours
    found = (
        parse_leftover(target, os.path.join(parent, name))
        for name in names
        if name.startswith(prefix)
    )
    return [item for item in found if item is not None]


def maker_is_gone(tail: str) -> bool:
    """Whether ``HOST-PID-RAND[...]`` names a process of this host that no longer runs."""
    parts = tail.split("-")
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    return parts[0] == this_host() and not process_alive(int(parts[1]))


def sweep_dead(directory: str | os.PathLike[str], mark: str, prefix: str = "") -> list[str]:
    """Remove the entries of ``directory`` named ``...MARK HOST-PID-RAND...`` (and starting
    with ``prefix``) whose maker (on this host) is gone: temp files of :func:`atomic_write`,
    probe directories."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return _sweep_names(directory, names, mark, prefix)


def dead_leftovers(
    directory: str | os.PathLike[str], names: list[str], mark: str, prefix: str = ""
) -> list[str]:
    """The paths among ``names`` that :func:`sweep_dead` would remove (nothing is removed)."""
    found: list[str] = []
    for name in names:
        # leftovers' names start with a dot (or the prefix asked for, as the temp dir's
        # copies do); others are someone's (an env named "x.anyvenv-old-host-1-a")
        if not name.startswith(prefix or "."):
            continue
        _, hit, tail = name.partition(mark)
        if hit and name.startswith(prefix) and maker_is_gone(tail):
            found.append(os.path.join(directory, name))
    return found


def _sweep_names(
    directory: str | os.PathLike[str], names: list[str], mark: str, prefix: str = ""
) -> list[str]:
    removed: list[str] = []
    for path in dead_leftovers(directory, names, mark, prefix):
        try:
            remove_tree(path)
        except OSError:
            continue
        removed.append(path)
    return removed


def remove_aside(path: str) -> None:
    """Remove a tree anyvenv made: first renamed aside (one rename, so its name holds all of
    it or nothing), then removed quietly; a kill leaves a leftover that :func:`sweep_dead`
    clears. Raises :class:`OSError` only if the rename fails (then nothing changed)."""
    remove_tree_quietly(set_aside(path))


def set_aside(path: str) -> str:
    """The first half of :func:`remove_aside`: rename ``path`` to a removal name beside it and
    return that name, for a caller that must move it under a lock and remove it after."""
    aside = _beside(path, REMOVING_MARK)  # not a retired name: recover would put it back
    os.rename(path, aside)
    checkpoint("remove-aside:" + os.path.basename(path))
    return aside


def recover(target: str | os.PathLike[str]) -> list[str]:
    """Undo what a killed run left beside ``target``; returns the paths removed or restored.

    Only leftovers made on this host by a process that is gone are touched. A retired copy
    of the old target is put back when the target itself is missing (the crash fell between
    the two renames of :func:`commit`), otherwise removed. Dead temp files of
    :func:`atomic_write` beside it are removed too.
    """
    parent = os.path.dirname(os.fspath(target)) or "."
    try:
        names = os.listdir(parent)  # once, for both kinds of leftovers (a round trip on a share)
    except OSError:
        return []
    touched = _sweep_names(parent, names, TEMP_MARK)
    me = this_host()
    for item in leftovers_of(target, names):
        if item.host != me or process_alive(item.pid):
            continue
        try:
            if item.kind == "retired" and not os.path.lexists(target):
                os.rename(item.path, target)
            else:
                remove_tree(item.path)
        except OSError:
            continue  # (files the user may not remove: left for a later run, or for them)
        touched.append(item.path)
    return touched


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove a tree anyvenv made (never follows links out of it)."""
    try:
        is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    if not is_dir:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    import shutil  # here: start-up time of the commands that remove nothing

    while_fuse_holds(os.fspath(path), lambda: shutil.rmtree(path))


def first_unremovable(path: str | os.PathLike[str]) -> str | None:
    """The first directory that keeps this user from removing the tree at ``path`` (or from
    renaming it: its parent comes first): one it may not write to or search, list, or, with
    the sticky bit, whose entries it does not own. ``None`` when :func:`remove_tree` can
    remove it all, as far as permissions tell (root may change anything not read-only)."""
    top = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(top))
    uid = os.geteuid()
    if not os.access(parent, os.W_OK | os.X_OK) or _sticky_keeps(parent, [top], uid):
        return parent
    unlistable: list[str] = []

    def cannot_list(error: OSError) -> None:
        unlistable.append(error.filename)

    for directory, dirnames, filenames in os.walk(top, onerror=cannot_list):
        if unlistable:
            return unlistable[0]
        if not os.access(directory, os.W_OK | os.X_OK):
            return directory
        entries = [os.path.join(directory, name) for name in (*dirnames, *filenames)]
        if _sticky_keeps(directory, entries, uid):
            return directory
    return unlistable[0] if unlistable else None


def _sticky_keeps(directory: str, entries: list[str], uid: int) -> bool:
    """Whether ``directory``'s sticky bit keeps user ``uid`` from removing or renaming one of
    ``entries``: only an entry's owner, the directory's, or root may."""
    if uid == 0:
        return False
    info = os.lstat(directory)
    if not info.st_mode & stat.S_ISVTX or info.st_uid == uid:
        return False
    return any(os.lstat(entry).st_uid != uid for entry in entries)


def why_unremovable(path: str | os.PathLike[str]) -> str | None:
    """What keeps this user from removing the tree at ``path`` (:func:`first_unremovable`),
    as a clause: ``"you may not change /x (owned by root)"``, or that /x is on a read-only
    filesystem; ``None`` when nothing does."""
    blocked = first_unremovable(path)
    if blocked is None:
        return None
    try:
        if os.statvfs(blocked).f_flag & os.ST_RDONLY:
            return f"{blocked} is on a read-only filesystem"
        return f"you may not change {blocked} (owned by {owner_name(blocked)})"
    except OSError:
        return f"you may not change {blocked}"


def owner_name(path: str | os.PathLike[str]) -> str:
    """The user name of ``path``'s owner (``uid N`` when it has none)."""
    import pwd

    uid = os.lstat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def ownership(path: str | os.PathLike[str]) -> str:
    """``owned by NAME, mode 0755``: what an error that refuses this user ``path`` says of it."""
    return f"owned by {owner_name(path)}, mode {stat.S_IMODE(os.stat(path).st_mode):04o}"


# libfuse's high-level API renames a file unlinked while open (a probe's script that was just
# killed) to .fuse_hiddenNNN and removes it when the kernel's release reaches the daemon, a
# moment after the process is gone; until then its directory is not empty.
FUSE_HIDDEN_PREFIX = ".fuse_hidden"
_RELEASE_WAITS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)  # seconds, 1.59 in all


def remove_tree_quietly(path: str) -> None:
    """Remove a tree we made (or a file, or a link, not followed) without raising. A
    directory held only by files a FUSE daemon has not released yet is tried again for a
    moment."""
    try:
        os.unlink(path)  # without an lstat first: each is a round trip on a share
    except IsADirectoryError:
        _remove_directory_quietly(path)
    except OSError:
        try:  # EPERM is what unlink(2) of a directory gives on Linux
            if stat.S_ISDIR(os.lstat(path).st_mode):
                _remove_directory_quietly(path)
        except OSError:
            pass


def _remove_directory_quietly(path: str) -> None:
    def remove() -> None:
        _remove_entries(path)
        os.rmdir(path)

    try:
        while_fuse_holds(path, remove)
    except OSError:
        pass


def while_fuse_holds(path: str, remove: Callable[[], None]) -> None:
    """``remove()`` the tree at ``path``, tried again for a moment while all that keeps it is
    files a FUSE daemon has not released yet; the last error is raised."""
    for wait in _RELEASE_WAITS:
        try:
            remove()
            return
        except OSError as exc:
            if not _held_by_fuse_only(exc, path):
                raise
        time.sleep(wait)
    remove()


def _held_by_fuse_only(error: OSError, path: str) -> bool:
    """``error`` says the tree at ``path`` is not empty, and what is left in it is only
    files a FUSE daemon has hidden until their release: worth waiting for."""
    if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EBUSY):
        return False
    try:
        for _, _, files in os.walk(path):
            if not all(name.startswith(FUSE_HIDDEN_PREFIX) for name in files):
                return False
    except OSError:
        return False
    return True


def _remove_entries(path: str) -> None:
    try:
        entries = os.listdir(path)
    except OSError:
        entries = []
    for name in entries:
        remove_tree_quietly(os.path.join(path, name))


class staging_directory:  # named like the context-manager function it replaces
    """``with staging_directory(target) as staging:`` a fresh directory beside ``target``
    (``inside``: in it, for :mod:`anyvenv.fs.inplace`), removed on the way out unless it was
    moved or emptied into place. (A class, not a contextlib generator: importing contextlib
    costs start-up time.)"""

    def __init__(
        self,
        target: str | os.PathLike[str],
        inside: bool = False,
        on_failure: Callable[[str, OSError], object] | None = None,
    ) -> None:
        self.on_failure = on_failure  # told when the directory cannot be made (then raised)
        self.path = (
            os.path.join(os.fspath(target), STAGING_MARK + _tag())
            if inside
            else staging_name(target)
        )

    def __enter__(self) -> str:
        try:
            os.mkdir(self.path)  # (0o777 less the umask, as any directory a program makes)
        except OSError as exc:
            if self.on_failure is not None:
                self.on_failure(self.path, exc)
            raise
        checkpoint("staging:made")
        return self.path

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if os.path.lexists(self.path):
            try:
                remove_tree(self.path)
            except OSError:
                pass


def name_refused(path: str, failure: OSError) -> bool:
    """Whether ``failure`` to make ``path`` is its name being refused by the filesystem (FAT:
    no ``:"*?<>|``, EPERM from fusefat, ENOENT from exfat-fuse; fusefat: no letters beyond
    ASCII): its directory is there and takes a plain name."""
    if failure.errno not in (errno.EPERM, errno.EINVAL, errno.EILSEQ, errno.ENOENT):
        return False
    plain = os.path.join(os.path.dirname(path), f"{TEMP_MARK}name{_tag()}")
    try:
        os.mkdir(plain)
    except OSError:
        return False  # (the directory refuses any name, or is not there)
    os.rmdir(plain)
    return True


_rename_keeps_contents: dict[int, bool] = {}


def remember_directory_rename(device: int, keeps_contents: bool) -> None:
    """What the probe measured of renaming a directory on ``device`` (an ``st_dev``)."""
    _rename_keeps_contents[device] = keeps_contents


def directory_rename_keeps_contents(parent: str | os.PathLike[str]) -> bool:
    """Whether a renamed directory still holds its files on the filesystem of ``parent``.

    fusefat (FAT32 through FUSE) renames the entry but loses what was in it. Measured once per
    filesystem (device) and process, in ``parent`` itself.
    """
    device = os.stat(parent).st_dev
    known = _rename_keeps_contents.get(device)
    if known is not None:
        return known
    from anyvenv.fs.mounts import mount_of

    mount = mount_of(parent)
    if mount is not None and mount.is_local:  # a kernel filesystem: POSIX rename semantics
        _rename_keeps_contents[device] = True
        return True
    sweep_dead(parent, RENAME_PROBE_MARK)
    workdir = os.path.join(parent, f"{RENAME_PROBE_MARK}{_tag()}")
    os.mkdir(workdir)
    try:
        keeps = renamed_directory_keeps_files(workdir)
    finally:
        remove_tree_quietly(workdir)
        if os.path.lexists(workdir):  # a .fuse_hidden name that showed up after the listing
            remove_tree_quietly(workdir)
    _rename_keeps_contents[device] = keeps
    return keeps


def renamed_directory_keeps_files(workdir: str) -> bool:
    """Inside ``workdir`` (an empty directory of ours, removed by the caller): whether a
    directory holding a file still holds it once renamed. fusefat renames the entry and loses
    the files in it that hold data (empty ones survive), so the file is not empty."""
    moving, moved = os.path.join(workdir, "moving"), os.path.join(workdir, "moved")
    os.mkdir(moving)
    fd = os.open(os.path.join(moving, "inside"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, b"anyvenv probe\n")
    finally:
        os.close(fd)
    os.rename(moving, moved)
    return os.path.isfile(os.path.join(moved, "inside"))


def move_tree_by_files(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Move a tree by recreating its directories and renaming each file (for filesystems
    where renaming a directory loses its contents); ``source`` is removed afterwards."""
    for directory, dirs, files in os.walk(source):
        relative = os.path.relpath(directory, source)
        into = os.fspath(destination) if relative == "." else os.path.join(destination, relative)
        os.makedirs(into, exist_ok=True)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            os.rename(os.path.join(directory, name), os.path.join(into, name))
    remove_tree(source)


def replace_tree_by_files(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    last: tuple[str, ...] = (),
) -> None:
    """Make the existing ``destination`` hold ``source``'s tree where renaming a directory
    loses its contents (fusefat): each file replaces its namesake in one rename (the top-level
    directories named in ``last`` after all others), then what only the old tree had is
    removed, and ``source`` with it. Not atomic, but killed part-way ``destination`` holds
    every file of one tree or the other, never fewer."""
    source, destination = os.fspath(source), os.fspath(destination)
    new: set[str] = set()
    for directory, dirs, files in os.walk(source):
        if directory == source:
            dirs.sort(key=lambda name: name in last)  # os.walk visits them in this order
        relative = os.path.relpath(directory, source)
        into = os.path.normpath(os.path.join(destination, relative))
        if (os.path.lexists(into) and not os.path.isdir(into)) or os.path.islink(into):
            os.unlink(into)  # a file (or link) of the old tree where the new one has a directory
        os.makedirs(into, exist_ok=True)
        new.add(os.path.normpath(relative))
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            there = os.path.join(into, name)
            if os.path.isdir(there) and not os.path.islink(there):
                remove_tree(there)  # a directory of the old tree where the new one has a file
            os.replace(os.path.join(directory, name), there)
            new.add(os.path.normpath(os.path.join(relative, name)))
    for directory, dirs, files in os.walk(destination, topdown=False):
        relative = os.path.relpath(directory, destination)
        for name in files + dirs:
            path = os.path.join(directory, name)
            if os.path.normpath(os.path.join(relative, name)) in new:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)  # emptied below already
            else:
                os.unlink(path)
    remove_tree(source)


@record
class Remains:
    """What is left of a replaced tree that could not be removed whole, and why."""

    path: str
    reason: str

    def message(self, what: str) -> str:
        return (
            f"could not remove all of the old {what} ({self.reason}): what is left of it is at "
            f"{self.path}; remove it yourself (anyvenv tries again on its next run there)"
        )


def commit(staging: str | os.PathLike[str], target: str | os.PathLike[str]) -> Remains | None:
    """Move ``staging`` to ``target``. An existing target is swapped with it in one step where
    the filesystem can (then removed); elsewhere it is retired first, then removed (a crash in
    between leaves it under the retired name, and :func:`recover` puts it back). Returns what
    is left of the old target where some of it could not be removed (files of another owner).

    Where renaming a directory loses its contents (fusefat), the old target is removed and the
    new tree is moved in file by file: not atomic, but the only way that keeps the files.
    """
    if not directory_rename_keeps_contents(os.path.dirname(os.fspath(staging)) or "."):
        if os.path.lexists(target):
            remove_tree(target)
        move_tree_by_files(staging, target)
        return None
    if os.path.lexists(target) and exchange(staging, target):
        checkpoint("commit:exchanged")
        remains = _remove_old(os.fspath(staging))  # the old tree, now under the staging name
        checkpoint("commit:removed-old")
        return remains
    retired: str | None = None
    if os.path.lexists(target):
        retired = retired_name(target)
        os.rename(target, retired)
        checkpoint("commit:retired")
    try:
        os.rename(staging, target)
    except BaseException:
        if retired is not None and not os.path.lexists(target):
            os.rename(retired, target)
        raise
    checkpoint("commit:renamed")
    if retired is None:
        return None
    # first under a staging name: a retired tree is put back by recover when the target is
    # missing, and one half-removed by a kill must never be
    going = staging_name(target)
    try:
        os.rename(retired, going)
    except OSError as exc:
        return Remains(retired, f"{exc.strerror or exc}")
    checkpoint("commit:old-set-aside")
    remains = _remove_old(going)
    checkpoint("commit:removed-old")
    return remains


def _remove_old(path: str) -> Remains | None:
    try:
        remove_tree(path)
    except OSError as exc:
        where = f": {os.path.basename(exc.filename)}" if exc.filename else ""
        return Remains(path, f"{exc.strerror or exc}{where}")
    return None


def exchange(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False``
    where the system or the filesystem cannot (FUSE filesystems, sshfs, CIFS mostly)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here: start-up time of the common paths

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    flags = ctypes.c_uint(_RENAME_EXCHANGE)
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), os.fspath(second))
