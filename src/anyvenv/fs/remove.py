"""Removing trees anyvenv made, links never followed, and saying what keeps a user from it.

A FUSE daemon hides a file unlinked while open until its release, which can come a moment
after the process is gone: removal waits a moment for those.
"""

from __future__ import annotations

import errno
import os
import stat
import time

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove a tree anyvenv made (never follows links out of it)."""
    try:
        is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    if not is_dir:
        _unlink_if_there(os.fspath(path))
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
    return user_name(os.lstat(path).st_uid)


def user_name(uid: int) -> str:
    """The name of the user ``uid`` (``uid N`` when it has none)."""
    import pwd

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


def remove_tree_but_held(path: str, hold: str | None = None) -> None:
    """Remove the tree at ``path`` but what a FUSE daemon keeps for a program that still
    holds it: libfuse turns a file removed while open into a ``.fuse_hidden*`` file, removed
    when the program lets go. With ``hold`` (a directory on the same filesystem, made when
    first needed) those files are moved there, where the daemon still removes them, so that
    no directory of the tree stays; without, the directories holding one stay (emptied of
    all else). Anything else that cannot be removed raises. Links are removed, never
    followed. Costs no more than a plain removal where nothing is held: a directory is
    looked into again only when it cannot be removed."""
    if not os.path.isdir(path) or os.path.islink(path):
        _unlink_if_there(path)
        return
    for directory, dirs, files in os.walk(path, topdown=False, onerror=_raise):
        for name in files:
            if not name.startswith(FUSE_HIDDEN_PREFIX):
                _unlink_if_there(os.path.join(directory, name))
        for name in dirs:
            _remove_directory_but_held(os.path.join(directory, name), hold)
    _remove_directory_but_held(path, hold)


def move_hidden(directory: str, hold: str) -> None:
    """Move the hidden files of a FUSE daemon (files removed while open) from ``directory``
    into ``hold``, made when first needed; one released meanwhile is gone already."""
    for name in os.listdir(directory):
        if name.startswith(FUSE_HIDDEN_PREFIX):
            os.makedirs(hold, exist_ok=True)
            try:
                os.rename(os.path.join(directory, name), os.path.join(hold, name))
            except FileNotFoundError:
                pass


def _raise(error: OSError) -> None:
    """``os.walk``'s ``onerror``: a directory that cannot be listed is not passed over."""
    raise error


def _unlink_if_there(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_directory_but_held(path: str, hold: str | None) -> None:
    """``rmdir``, or ``unlink`` for a link to a directory. Where only hidden files of a FUSE
    daemon are left in it: with ``hold``, they are moved there and it is removed; without,
    it is kept."""
    try:
        if os.path.islink(path):
            os.unlink(path)
        else:
            os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if not _held_by_fuse_only(exc, path):
            raise
        if hold is not None:
            move_hidden(path, hold)
            os.rmdir(path)


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
    let_go = True
    for wait in _RELEASE_WAITS:
        try:
            remove()
            return
        except OSError as exc:
            if not _held_by_fuse_only(exc, path):
                raise
        if let_go:
            let_go = False
            if _let_go_of_own_files(path):
                continue  # (their release is on its way now: no wait before trying again)
        time.sleep(wait)
    remove()


def _let_go_of_own_files(path: str) -> bool:
    """Point this process's descriptors on files already unlinked from the tree at ``path``
    at /dev/null, and say whether there were any. One lost to Ctrl-C between its ``open``
    and its owner (a copy interrupted there) keeps the FUSE daemon's hidden file, and so
    the tree, until this process ends; its number stays open (on /dev/null), so whoever
    still holds it closes it as before, never another file that took its number."""
    prefix = os.path.realpath(path) + "/"
    try:
        numbers = os.listdir("/proc/self/fd")
    except OSError:
        return False
    null = -1
    try:
        for number in numbers:
            try:
                target = os.readlink(f"/proc/self/fd/{number}")
            except OSError:
                continue
            if target.startswith(prefix) and target.endswith(" (deleted)"):
                if null < 0:
                    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                os.dup2(null, int(number), inheritable=False)
    except OSError:
        pass
    finally:
        if null >= 0:
            os.close(null)
    return null >= 0


def _held_by_fuse_only(error: OSError, path: str) -> bool:
    """``error`` says the tree at ``path`` is not empty, and what is left in it is only
    files a FUSE daemon has hidden until their release: worth waiting for. (fusefat says
    EPERM for a directory that is not empty.) A hidden file that went while it was being
    removed is worth trying again too."""
    if error.errno == errno.ENOENT:
        return os.path.basename(os.fsdecode(error.filename or "")).startswith(FUSE_HIDDEN_PREFIX)
    if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EBUSY, errno.EPERM):
        return False
    try:
        for _, _, files in os.walk(path, onerror=_raise):  # (a directory not listed: no)
            if not all(name.startswith(FUSE_HIDDEN_PREFIX) for name in files):
                return False
    except OSError:
        return False
    return True


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove_entries(path: str) -> None:
    """Remove what the directory at ``path`` holds, through descriptors: a directory in it
    swapped for a link by another user meanwhile (a group's env) is never followed."""
    try:
        descriptor = os.open(path, _DIRECTORY_FLAGS)
    except OSError:
        return
    try:
        _remove_entries_at(descriptor)
    finally:
        os.close(descriptor)


def _remove_entries_at(directory: int) -> None:
    from anyvenv.fs.bounded import beat  # (each entry a step, in a bounded probe's child)

    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        beat()
        try:
            os.unlink(name, dir_fd=directory)  # (EISDIR, or EPERM, for a directory)
            continue
        except OSError:
            pass
        try:  # a directory, not a link to one (opened as itself, whatever its name is later)
            inner = os.open(name, _DIRECTORY_FLAGS, dir_fd=directory)
        except OSError:
            continue
        try:
            _remove_entries_at(inner)
        finally:
            os.close(inner)
        try:
            os.rmdir(name, dir_fd=directory)
        except OSError:
            pass
