"""Build beside, then rename into place: a crash leaves the old state or the new, never half.

Files are written whole under a temp name, then renamed over their target. A tree is built in
a staging directory beside its target (:mod:`anyvenv.fs.leftovers` names both, and clears
what killed runs left), then committed: an existing target is swapped with the new tree in
one step where the filesystem can (``renameat2(RENAME_EXCHANGE)``), so it is never missing,
not even for an instant. An old tree that cannot be renamed at all (overlayfs's lower layer
without redirect_dir: EXDEV) is replaced file by file instead, as where a renamed directory
loses its files (fusefat).
"""

from __future__ import annotations

import errno
import os
import sys

from anyvenv.fs import CFG_NAME
from anyvenv.fs.leftovers import (
    HELD_MARK,
    STAGING_MARK,
    TEMP_MARK,
    beside_name,
    leftover_stem,
    leftover_tag,
    mark_moving,
    retired_name,
    staging_name,
    sweep_dead,
)
from anyvenv.fs.paths import name_over_limit, remove_while_empty
from anyvenv.fs.place import DATA_MODE, create_file, sync_directory, write_all
from anyvenv.fs.remove import (
    FUSE_HIDDEN_PREFIX,
    move_hidden,
    remove_tree,
    remove_tree_but_held,
    remove_tree_quietly,
)
from anyvenv.killpoints import checkpoint
from anyvenv.record import record
from anyvenv.signals import held_signals

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from anyvenv.errors import UsageError
    from anyvenv.fs.mounts import MountKey

# Paths are strings here (``str | os.PathLike[str]`` in, ``str`` out): importing pathlib costs
# more start-up time than creating a whole environment on local disk.

RENAME_PROBE_MARK = ".anyvenv-rename-probe-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def atomic_write(
    path: str | os.PathLike[str], data: bytes, mode: int = DATA_MODE, *, durable: bool = False
) -> None:
    """Replace ``path`` with ``data`` in one rename (a reader sees old or new bytes). Temp
    files of this path left by killed runs are removed first. ``durable``: the bytes reach
    the disk before the rename, and the rename before this returns (fsync of the file, then
    of its directory), so a crash leaves the old bytes or the new, never an empty file."""
    target = os.fspath(path)
    parent, name = os.path.split(target)
    sweep_dead(parent, TEMP_MARK, prefix=f"{leftover_stem(name)}{TEMP_MARK}")
    temp = beside_name(target, TEMP_MARK)

    def make() -> None:
        create_file(temp, data, mode, durable=durable)
        checkpoint("atomic-write:" + name)

    _made_then_renamed(make, temp, target)
    if durable:
        sync_directory(parent or ".")


def replace_with_symlink(path: str | os.PathLike[str], target: str) -> None:
    """Make ``path`` a symlink to ``target`` in one rename (a reader follows the old link or
    the new one, never none)."""
    link = os.fspath(path)
    temp = beside_name(link, TEMP_MARK)
    _made_then_renamed(lambda: os.symlink(target, temp), temp, link)


def _made_then_renamed(make: Callable[[], None], temp: str, target: str) -> None:
    """``make()`` the entry ``temp``, then rename it over ``target``; on any failure (or
    interruption) ``temp`` is removed, even where ``make`` failed after creating it (a FUSE
    server that answers late)."""
    try:
        make()
        os.replace(temp, target)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError) and exc.filename == temp and exc.errno:
            raise OSError(exc.errno, exc.strerror, target) from exc  # (the name the user knows)
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
    except OSError as exc:
        os.close(fd)
        if exc.errno != errno.EBUSY:
            raise
        unlink_once_closed(path)  # (SMB through libsmbclient: a file held open stays)
    else:
        os.close(fd)


def unlink_once_closed(path: str) -> None:
    """``os.unlink(path)`` of a file this process has just closed, where a file that is open
    cannot be removed (EBUSY: SMB through libsmbclient, smbnetfs and gvfs-smb): the close
    reaches the server a moment after close() returns, so EBUSY is tried again for up to
    half a second (another process holding it open keeps it: EBUSY is raised then)."""
    import time

    for pause in (0.0, 0.01, 0.02, 0.04, 0.08, 0.15, 0.2):
        time.sleep(pause)
        try:
            os.unlink(path)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or pause == 0.2:
                raise


def read_small_file(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """The bytes of a small file anyvenv reads whole (a pointer, a record), or ``None`` when
    it is missing, unreadable or longer than ``limit`` bytes."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


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
            os.path.join(os.fspath(target), STAGING_MARK + leftover_tag())
            if inside
            else staging_name(target)
        )

    def __enter__(self) -> str:
        try:
            os.mkdir(self.path)  # (0o777 less the umask, as any directory a program makes)
            checkpoint("staging:made")
        except OSError as exc:
            if self.on_failure is not None:
                self.on_failure(self.path, exc)
            raise
        except BaseException:  # Ctrl-C before the with block (and so __exit__) began
            remove_tree_quietly(self.path)
            raise
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
    ASCII): its directory is there and takes a plain name. A name longer than its filesystem
    takes (fusefat says EPERM), and a path longer than a path may be (ENAMETOOLONG: neither is
    a full disk) count too (:func:`path_too_long` tells the second)."""
    refusals = (errno.EPERM, errno.EINVAL, errno.EILSEQ, errno.ENOENT, errno.ENAMETOOLONG)
    if failure.errno in (errno.EINVAL, errno.EIO) and wrongly_taken_name(path) is not None:
        return True  # (smbnetfs: refused before it was asked, or EIO; a plain name fails too)
    if failure.errno not in refusals:
        return False
    if failure.errno == errno.ENAMETOOLONG or name_over_limit(path) is not None:
        return True
    if _portable_name(os.path.basename(path)):
        return False  # (no filesystem refuses such a name: a full fusefat says EPERM)
    left = room_left(os.path.dirname(path)) if failure.errno == errno.EPERM else None
    if left is not None and left < NEARLY_FULL_BYTES:
        return False  # (a full FUSE filesystem may say EPERM, and a plain name still fits)
    plain = os.path.join(os.path.dirname(path), f"{TEMP_MARK}name{leftover_tag()}")
    try:
        os.mkdir(plain)
    except OSError:
        return False  # (the directory refuses any name, or is not there)
    os.rmdir(plain)
    return True


def name_taken_wrongly(name: str) -> bool:
    """Whether ``name`` is one a filesystem of
    :data:`~anyvenv.fs.mounts.NAME_MANGLING_FSTYPES` takes wrongly: holding one of
    ``\\:*"<>|?`` or a control character, or ending in a dot or a space."""
    return name.endswith((".", " ")) or any(char in _WRONGLY_TAKEN or char < " " for char in name)


_WRONGLY_TAKEN = frozenset('\\:*"<>|?')


def wrongly_taken_name(path: str) -> str | None:
    """``path`` up to its first name below the mount point holding it that its filesystem
    takes wrongly (:func:`name_taken_wrongly`), where it is one that does; else ``None``.
    Nothing on that filesystem is looked at (smbnetfs must not be asked)."""
    absolute = os.path.abspath(path)
    if not any(name_taken_wrongly(name) for name in absolute.split(os.sep) if name):
        return None
    from anyvenv.fs.mounts import mount_containing

    mount = mount_containing(absolute)
    if mount is None or not mount.takes_names_wrongly:
        return None
    head = mount.mount_point
    for name in os.path.relpath(absolute, head).split(os.sep):
        head = os.path.join(head, name)
        if name_taken_wrongly(name):
            return head
    return None


def refuse_wrongly_taken(path: str) -> None:
    """Raise :class:`~anyvenv.errors.UsageError` (:func:`name_refusal`) where ``path`` holds
    a name its filesystem would take wrongly (:func:`wrongly_taken_name`), before anything is
    asked of it."""
    named = wrongly_taken_name(path)
    if named is not None:
        raise name_refusal(named, OSError(errno.EINVAL, os.strerror(errno.EINVAL), named))


def path_too_long(path: str, failure: OSError) -> bool:
    """Whether ``failure`` to make ``path`` is its path being longer than a path may be
    (ENAMETOOLONG where its name fits)."""
    return failure.errno == errno.ENAMETOOLONG and name_over_limit(path) is None


def too_long_path_clause(path: str) -> str:
    """``"its path is too long (N bytes; the limit there is M)"``, of ``path``."""
    from anyvenv.fs.paths import byte_length, path_max

    return (
        f"its path is too long ({byte_length(path)} bytes; the limit there is "
        f"{path_max(os.path.dirname(path))})"
    )


def _portable_name(name: str) -> bool:
    """Whether ``name`` is made of POSIX's portable filename characters (letters, digits,
    ``.``, ``_``, ``-``) and does not end in a dot (which FAT drops): a name every
    filesystem takes, whose refusal is something else (a full disk)."""
    return bool(name) and not name.endswith(".") and all(char in _PORTABLE for char in name)


_PORTABLE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

NEARLY_FULL_BYTES = 1 << 20
"""Less room than this left on a filesystem: an error there may be its being full, whatever
errno it gave (EIO from sshfs, on write or at close; EPERM from some FUSE filesystems)."""


def room_left(path: str | os.PathLike[str]) -> int | None:
    """The bytes this user may still write on the filesystem holding ``path`` (or its
    nearest directory that is there); ``None`` where that cannot be told."""
    from anyvenv.fs.paths import upward

    directory = next((each for each in upward(os.path.abspath(path)) if os.path.isdir(each)), None)
    if directory is None:
        return None
    try:
        info = os.statvfs(directory)
    except OSError:
        return None
    if info.f_blocks == 0:
        return None  # (a filesystem that reports no sizes: fusefat)
    return info.f_bavail * info.f_frsize


def name_refusal(path: str, failure: OSError) -> UsageError:
    """The error for a name ``path`` ends in that its filesystem refuses (see
    :func:`name_refused`): too long (its length and the filesystem's limit), in a path too
    long, or holding letters it does not take (the name itself, in quotes)."""
    from anyvenv.errors import UsageError
    from anyvenv.fs.outcome import errno_name

    directory, name = os.path.split(path)
    over = name_over_limit(path)
    if over is not None:
        return UsageError(
            f"the name {name[:24]}... in {directory} is too long ({over[0]} bytes; "
            f"the filesystem takes {over[1]}; {errno_name(failure.errno)})",
            "choose a shorter name",
        )
    if path_too_long(path, failure):
        return UsageError(
            f"cannot create {path}: {too_long_path_clause(path)}", "pick a shorter path"
        )
    return UsageError(
        f"the filesystem at {directory} refuses the name '{name}' ({errno_name(failure.errno)})",
        "pick a name of ASCII letters, digits, '-', '_' and '.' (FAT and SMB shares take no "
        ':"*?<>|\\ and some FUSE filesystems no other letters)',
    )


_rename_keeps_contents: dict[MountKey, bool] = {}


def remember_directory_rename(mount: MountKey, keeps_contents: bool) -> None:
    """What the probe measured of renaming a directory on the filesystem ``mount``
    (:func:`~anyvenv.fs.mounts.mount_key`)."""
    _rename_keeps_contents[mount] = keeps_contents


def directory_rename_keeps_contents(parent: str | os.PathLike[str]) -> bool:
    """Whether a renamed directory still holds its files, readable, on the filesystem of
    ``parent``.

    fusefat (FAT32 through FUSE) renames the entry but loses what was in it; rclone cannot
    read it back until uploaded, and is never trusted with it (see
    :data:`~anyvenv.fs.mounts.UNRENAMABLE_TREE_FSTYPES`). Measured once per mounted
    filesystem (:func:`~anyvenv.fs.mounts.mount_key`: not the device alone, which a FUSE
    filesystem mounted after another may get again) and process, in ``parent`` itself; a
    step of the measure that fails counts as "no" (the commit then moves file by file, and
    meets a real fault itself).
    """
    from anyvenv.fs.mounts import mount_key, mount_of

    mount = mount_of(parent)
    key = mount_key(os.stat(parent).st_dev, mount)
    known = _rename_keeps_contents.get(key)
    if known is not None:
        return known
    if mount is not None and (mount.is_local or not mount.renames_trees):
        # a kernel filesystem: POSIX rename semantics; rclone: never
        _rename_keeps_contents[key] = mount.is_local
        return mount.is_local
    sweep_dead(parent, RENAME_PROBE_MARK)
    workdir = os.path.join(parent, f"{RENAME_PROBE_MARK}{leftover_tag()}")
    os.mkdir(workdir)
    try:
        keeps = renamed_directory_keeps_files(workdir)
    except OSError:
        keeps = False
    finally:
        remove_tree_quietly(workdir)
        if os.path.lexists(workdir):  # a .fuse_hidden name that showed up after the listing
            remove_tree_quietly(workdir)
    _rename_keeps_contents[key] = keeps
    return keeps


_RENAME_PROBE_BYTES = b"anyvenv probe\n"


def renamed_directory_keeps_files(workdir: str) -> bool:
    """Inside ``workdir`` (an empty directory of ours, removed by the caller): whether a
    directory holding a file still holds it once renamed, with its bytes read back at once.
    fusefat renames the entry and loses the files in it that hold data (empty ones survive),
    so the file is not empty; rclone's VFS cache keeps the entry but cannot read it until
    uploaded (EIO, raised; or no bytes). The directory is renamed back before the caller
    removes it: rclone 1.60 brings a tree removed under its new name back on the remote."""
    moving, moved = os.path.join(workdir, "moving"), os.path.join(workdir, "moved")
    os.mkdir(moving)
    fd = os.open(os.path.join(moving, "inside"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, _RENAME_PROBE_BYTES)
    finally:
        os.close(fd)
    os.rename(moving, moved)
    try:
        with open(os.path.join(moved, "inside"), "rb") as stream:
            return stream.read(len(_RENAME_PROBE_BYTES) + 1) == _RENAME_PROBE_BYTES
    except FileNotFoundError:
        return False  # (lost with the rename)
    finally:
        os.rename(moved, moving)


def move_tree_by_files(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Move a tree by recreating its directories and renaming each file (for filesystems
    where renaming a directory loses its contents); ``source`` is removed afterwards. The
    files of its top directory go last, so that a move killed part-way leaves no
    ``pyvenv.cfg``: what it leaves is never taken for a whole env."""
    move_files(source, destination)
    remove_tree(source)


def move_files(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """:func:`move_tree_by_files` but for the removal of ``source``, whose directories stay
    (emptied). Directories already in ``destination`` are kept, and filled."""
    top: list[str] = []
    for directory, dirs, files in os.walk(source):
        relative = os.path.relpath(directory, source)
        into = os.fspath(destination) if relative == "." else os.path.join(destination, relative)
        os.makedirs(into, exist_ok=True)
        entries = files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]
        if relative == ".":
            top = entries
            continue
        for name in entries:
            os.rename(os.path.join(directory, name), os.path.join(into, name))
            checkpoint("commit:moved-file")
    for name in sorted(top, key=lambda name: name == CFG_NAME):  # (last: with it, the env is whole)
        os.rename(os.path.join(source, name), os.path.join(destination, name))
        checkpoint("commit:moved-file")


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
            checkpoint("commit:moved-file")
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
            checkpoint("commit:removed-old-entry")
    remove_tree(source)


@record
class Remains:
    """What is left of a replaced tree that could not be removed whole, and why."""

    path: str
    reason: str
    held: bool = False  # only files a FUSE daemon keeps for a program still running are left

    def message(self, what: str) -> str:
        if self.held:
            return (
                f"a program still holds files of the old {what}: what is left of it is at "
                f"{self.path}, and anyvenv's next run there removes it once that program ends"
            )
        return (
            f"could not remove all of the old {what} ({self.reason}): what is left of it is at "
            f"{self.path}; remove it yourself (anyvenv tries again on its next run there)"
        )


def cannot_rename_tree(failure: OSError) -> bool:
    """Whether ``failure`` to rename a directory beside itself (in its own parent) says this
    tree cannot be renamed here, only its files can: EXDEV, from overlayfs for a directory
    with a part in a lower layer (a container image's) unless it is mounted with
    ``redirect_dir=on`` (off by default on many kernels and in Docker's overlay2), and from
    fuse-overlayfs always. The directories it made itself rename."""
    return failure.errno == errno.EXDEV


def commit(
    staging: str | os.PathLike[str],
    target: str | os.PathLike[str],
    by_files: Callable[[str, str], None] | None = None,
) -> Remains | None:
    """Move ``staging`` to ``target``. An existing target is swapped with it in one step where
    the filesystem can (then removed); elsewhere it is retired first, then removed (a crash in
    between leaves it under the retired name, and :func:`~anyvenv.fs.leftovers.recover` puts it back). Returns what
    is left of the old target where some of it could not be removed (files of another owner).

    Where renaming a directory loses its contents (fusefat) or leaves them unreadable for a
    while (rclone), the old target is emptied and the new tree is moved in file by file
    (:func:`commit_by_files`): not atomic, but the only way that keeps the files. So is an
    old target that cannot be renamed at all (:func:`cannot_rename_tree`: overlayfs's lower
    layer), there only (``by_files``: what does it instead, given ``staging`` and ``target``).
    """
    if not directory_rename_keeps_contents(os.path.dirname(os.fspath(staging)) or "."):
        with held_signals():  # (a Ctrl-C here would leave neither the old tree nor the new)
            commit_by_files(os.fspath(staging), os.fspath(target))
        return None
    if os.path.lexists(target) and exchange(staging, target):
        checkpoint("commit:exchanged")
        remains = _remove_old(os.fspath(staging))  # the old tree, now under the staging name
        checkpoint("commit:removed-old")
        return remains
    retired: str | None = None
    going: str | None = None
    try:
        with held_signals():  # (a Ctrl-C between these renames would leave the old tree beside)
            if os.path.lexists(target):
                retiring = retired_name(target)
                try:
                    os.rename(target, retiring)
                except OSError as exc:
                    if not cannot_rename_tree(exc):
                        raise
                    (by_files or commit_by_files)(os.fspath(staging), os.fspath(target))
                    return None
                retired = retiring
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
            # first under a staging name: a retired tree is put back by recover when the
            # target is missing, and one half-removed by a kill must never be
            going = staging_name(target)
            try:
                os.rename(retired, going)
            except OSError as exc:
                return Remains(retired, f"{exc.strerror or exc}")
            checkpoint("commit:old-set-aside")
    except BaseException:  # (a Ctrl-C held back until now: the old tree goes first, as staging)
        if going is not None and os.path.lexists(going):
            remove_tree_quietly(going)
        raise
    remains = _remove_old(going)
    checkpoint("commit:removed-old")
    return remains


def commit_by_files(staging: str, target: str) -> None:
    """:func:`commit` where a renamed directory loses its files: the old target is emptied
    (``pyvenv.cfg`` first) and the new tree moved in file by file (``pyvenv.cfg`` last), with
    a marker in the target meanwhile (:func:`~anyvenv.fs.leftovers.mark_moving`). A run
    killed part-way leaves a directory that :func:`~anyvenv.fs.leftovers.recover` knows for
    anyvenv's, and removes: without the marker it looked like one of the user's, which the
    next ``anyvenv venv`` refused to replace. One that fails part-way (a full disk) removes
    the target itself: neither tree is whole any more."""
    if os.path.isdir(target) and not os.path.islink(target):
        old = os.listdir(target)
    else:
        remove_tree(target)  # (a file or a link there, if anything)
        os.mkdir(target)
        old = []
    # a program running from the old tree: fusefat keeps each file it holds, hidden, until
    # it lets go; those are moved into one directory, so that none of the old tree's stays
    hold = os.path.join(target, HELD_MARK + leftover_tag())
    marker = mark_moving(target, [*old, *os.listdir(staging), os.path.basename(hold)])
    checkpoint("commit:marked")
    try:
        for name in sorted(old, key=lambda name: name != CFG_NAME):  # (taken out first)
            remove_tree_but_held(os.path.join(target, name), hold)
            checkpoint("commit:removed-old-entry")
        if old:
            move_hidden(target, hold)  # (the top level's own: a pyvenv.cfg held open)
        move_files(staging, target)
    except OSError:
        remove_tree_quietly(target)
        raise
    os.unlink(marker)  # (the new tree is whole: a failure here leaves it, marker and all)
    checkpoint("commit:unmarked")
    remove_while_empty([hold])  # (else its files go when the program ends; it, next time)
    remove_tree(staging)


def commit_keeping(staging: str | os.PathLike[str], target: str | os.PathLike[str]) -> str | None:
    """As :func:`commit`, but the old target is kept beside it under a retired name, whose
    path is returned, for the caller to remove or put back (a run killed before it does so
    leaves it to :func:`~anyvenv.fs.leftovers.recover`: put back if the target is missing,
    else removed). ``None`` where there was no old target, or where renaming a directory
    loses its contents or the old target cannot be renamed (:func:`cannot_rename_tree`): then
    the old one is removed, as by :func:`commit`."""
    if not os.path.lexists(target) or not directory_rename_keeps_contents(
        os.path.dirname(os.fspath(staging)) or "."
    ):
        commit(staging, target)
        return None
    kept = retired_name(target)
    if exchange(staging, target):
        checkpoint("commit:exchanged")
        os.rename(staging, kept)  # the old tree, now under the staging name
        checkpoint("commit:old-kept")
        return kept
    try:
        os.rename(target, kept)
    except OSError as exc:
        if not cannot_rename_tree(exc):
            raise
        with held_signals():  # (kept, every file of it would be copied up: not kept)
            commit_by_files(os.fspath(staging), os.fspath(target))
        return None
    checkpoint("commit:retired")
    try:
        os.rename(staging, target)
    except BaseException:
        if not os.path.lexists(target):
            os.rename(kept, target)
        raise
    checkpoint("commit:renamed")
    return kept


def _remove_old(path: str) -> Remains | None:
    try:
        remove_tree(path)
    except OSError as exc:
        try:  # all but the hidden files a FUSE daemon keeps for a program that holds them
            remove_tree_but_held(path)
        except OSError:
            where = f": {os.path.basename(exc.filename)}" if exc.filename else ""
            return Remains(path, f"{exc.strerror or exc}{where}")
        if os.path.lexists(path):
            where = f": {os.path.basename(exc.filename)}" if exc.filename else ""
            held = _holds_hidden_files(path)  # (else an empty directory that would not go)
            return Remains(path, f"{exc.strerror or exc}{where}", held=held)
    return None


def _holds_hidden_files(path: str) -> bool:
    """Whether a FUSE daemon's hidden files (files removed while a program holds them) are
    in the tree at ``path``."""
    try:
        return any(
            name.startswith(FUSE_HIDDEN_PREFIX) for _, _, files in os.walk(path) for name in files
        )
    except OSError:
        return False


def exchange(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False``
    where the system or the filesystem cannot (FUSE filesystems, sshfs, CIFS mostly), or
    where one of them is a directory that cannot be renamed there (EXDEV: overlayfs's lower
    layer, see :func:`cannot_rename_tree`; a rename of it fails the same way)."""
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
    if code in _NO_EXCHANGE or code == errno.EXDEV:
        return False
    raise OSError(code, os.strerror(code), os.fspath(second))
