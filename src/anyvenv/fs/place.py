"""Put a file at a new path by one of four strategies: symlink, hard link, reflink or copy.

Modes are set when the file is created (``os.open(..., mode)``): on mounts where chmod is
accepted but ignored, that is the only way a copied file becomes executable. The umask takes
the group's and others' bits from a mode, as from any file a program makes (uv's and venv's
envs follow it too: ``umask 002`` in a shared group directory gives ``rw-rw-r--``); the
owner's bits are never taken, so an executable stays executable.
"""

from __future__ import annotations

import errno
import fcntl
import os

from anyvenv.killpoints import checkpoint
from anyvenv.record import StrChoice

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from types import TracebackType

FICLONE = 0x40049409  # _IOW(0x94, 9, int): clone a whole file (Linux)
_COPY_CHUNK = 1 << 20
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
DATA_MODE = 0o666  # the most a new file may have: the umask takes from it (see above)
EXECUTABLE_MODE = 0o777


class Strategy(str, StrChoice):
    """How a file is placed. The value is what pyvenv.cfg and ``--json`` report."""

    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    REFLINK = "reflink"
    COPY = "copy"


class _new_file:  # named like the context-manager function it replaces
    """``with _new_file(path, mode) as fd:`` a descriptor on a new file created with ``mode``
    less what the umask takes from the group's and others' bits (a link at ``path`` is not
    followed). On success the owner's bits are made whole (a umask may cut them too); on any
    failure the half-written file is removed. (A class, not a contextlib generator: importing
    contextlib costs start-up time.)"""

    def __init__(self, path: str | os.PathLike[str], mode: int) -> None:
        self.path, self.mode = path, mode & ~(process_umask() & 0o077)
        self.fd = -1

    def __enter__(self) -> int:
        self.fd = os.open(self.path, _NEW_FILE_FLAGS, self.mode)
        return self.fd

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None:
            self._discard(close=True)
            self._name_in(error)  # (a failed read of a copy's source is named by _copy_fd)
            return
        try:
            _settle_mode(self.fd, self.mode)
        except BaseException as exc:
            self._discard(close=True)
            self._name_in(exc)
            raise
        try:
            os.close(self.fd)  # may report a write error late (NFS, FUSE): the fd is gone anyway
        except BaseException as exc:
            self._discard(close=False)
            self._name_in(exc)
            raise

    def _name_in(self, error: BaseException | None) -> None:
        """An error without a name (a full disk: ENOSPC, EDQUOT, EIO from a write or at
        close) raised again with this file's, which ``os.write`` and ``os.close`` do not give
        it; a copy names its source's read errors itself."""
        if isinstance(error, OSError) and error.filename is None and error.errno:
            raise OSError(error.errno, error.strerror, os.fspath(self.path)) from error

    def _discard(self, *, close: bool) -> None:
        try:
            if close:
                os.close(self.fd)
        except OSError:
            pass
        finally:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _settle_mode(fd: int, mode: int) -> None:
    """Apply ``mode`` where the umask cut the owner's bits of it; where chmod is refused, keep
    what creation gave. (Where the umask cut nothing of it, creation gave it: no chmod, which
    is a round trip to the server on a network or FUSE mount.)"""
    if mode & process_umask() == 0:
        return
    try:
        os.fchmod(fd, mode)
    except OSError:
        pass


_umask: list[int] = []


def forget_umask() -> None:
    """Have :func:`process_umask` read it again (the API's calls: a host process may set it
    between them)."""
    _umask.clear()


def process_umask() -> int:
    """This process's umask, read once (from /proc on Linux: reading it with ``os.umask``
    means setting it, which races with other threads creating files)."""
    if not _umask:
        value = None
        try:
            with open("/proc/self/status", "rb") as status:
                for line in status:
                    if line.startswith(b"Umask:"):
                        value = int(line.split()[1], 8)
                        break
        except (OSError, ValueError, IndexError):
            pass
        if value is None:
            value = os.umask(0o022)
            os.umask(value)
        _umask.append(value)
    return _umask[0]


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``: a short write (a file size limit, a full disk reached
    part-way) is followed by another, which raises what stopped it (EFBIG, ENOSPC)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:  # (a daemon that takes nothing and says no error: not forever)
            raise OSError(errno.EIO, "the filesystem took none of the bytes written")
        view = view[written:]


def create_file(
    path: str | os.PathLike[str], data: bytes, mode: int = DATA_MODE, *, durable: bool = False
) -> None:
    """Create ``path`` (it must not exist, a link there is not followed) holding ``data``;
    ``durable``: on disk (fsync) before this returns, so that a crash after a later step that
    names it (a link, a rename) cannot leave that name on an empty file."""
    with _new_file(path, mode) as fd:
        write_all(fd, data)
        if durable:
            _fsync(fd)
    checkpoint("create:" + os.path.basename(os.fspath(path)))


def _fsync(fd: int) -> None:
    """``fsync``, where the filesystem has it (EINVAL: one that keeps nothing to flush)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise


def sync_file(path: str | os.PathLike[str]) -> None:
    """Have the bytes of the file at ``path`` (written earlier, closed) reach the disk; an
    I/O error flushing them is raised (what was written is lost). Nothing where it cannot
    be opened to be synced (a share that refuses a file of mode 0 to be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (PermissionError, FileNotFoundError):
        return
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def sync_directory(path: str | os.PathLike[str]) -> None:
    """Have the entries of the directory ``path`` (a file created, renamed or removed in it)
    reach the disk; quietly nothing where a directory cannot be opened or synced."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_filesystem(path: str | os.PathLike[str]) -> None:
    """Have everything written to the filesystem that holds the directory ``path`` (a tree
    of thousands of files staged there) reach the disk: one ``syncfs`` of that filesystem
    (Linux; far cheaper than an fsync per file, each of which commits the journal), else
    ``sync`` of every filesystem. An I/O error flushing (what was written is lost) is
    raised; nothing where the directory cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        os.sync()
        return
    try:
        failure = _syncfs(fd)
    finally:
        os.close(fd)
    if failure is None:
        os.sync()  # (no syncfs in this libc)
    elif failure and failure not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        raise OSError(failure, os.strerror(failure), os.fspath(path))


def _syncfs(fd: int) -> int | None:
    """libc's ``syncfs(fd)`` (Python has no ``os.syncfs``): 0, the errno of a failure, or
    ``None`` where the C library has no such function."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (ImportError, OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    if syncfs(fd) == 0:
        return 0
    return ctypes.get_errno() or errno.EIO


def copy_file(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], mode: int | None = None
) -> None:
    """Copy bytes into a new file created with ``mode`` (default: the source's mode)."""
    with open(source, "rb") as src:
        src_fd = src.fileno()
        with _new_file(destination, _mode_of(src_fd, mode)) as dst_fd:
            _copy_fd(src_fd, dst_fd, source)
    checkpoint("copy:" + os.path.basename(os.fspath(destination)))


def reflink_file(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], mode: int | None = None
) -> None:
    """Clone ``source`` into a new file (FICLONE); raises ``OSError`` where unsupported."""
    with open(source, "rb") as src:
        src_fd = src.fileno()
        with _new_file(destination, _mode_of(src_fd, mode)) as dst_fd:
            fcntl.ioctl(dst_fd, FICLONE, src_fd)
    checkpoint("reflink:" + os.path.basename(os.fspath(destination)))


def _mode_of(src_fd: int, mode: int | None) -> int:
    return os.fstat(src_fd).st_mode & 0o7777 if mode is None else mode


def _copy_fd(src_fd: int, dst_fd: int, source: str | os.PathLike[str]) -> None:
    """Kernel-side copy where possible (copy_file_range, sendfile), else read/write; a read
    that fails is named by ``source`` (what is unnamed is the new file's: a write's)."""
    size = os.fstat(src_fd).st_size
    copied = 0
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            while copied < size:
                n = copy_range(src_fd, dst_fd, min(size - copied, 1 << 30))
                if n == 0:
                    break
                copied += n
            if copied >= size:
                return
        except OSError as exc:
            if exc.errno not in (
                errno.EXDEV,
                errno.ENOSYS,
                errno.EINVAL,
                errno.EOPNOTSUPP,
                errno.EBADF,
            ):
                raise
    os.lseek(src_fd, copied, os.SEEK_SET)
    os.lseek(dst_fd, copied, os.SEEK_SET)
    while True:
        try:
            chunk = os.read(src_fd, _COPY_CHUNK)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, os.fspath(source)) from exc
        if not chunk:
            return
        write_all(dst_fd, chunk)


def place_file(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    strategy: Strategy,
    *,
    mode: int | None = None,
) -> None:
    """Place ``source`` at ``destination`` by ``strategy`` (a symlink's text: ``source`` as
    given). The caller chose the strategy from the probe; no fallback happens here, so a
    failure is an ``OSError`` the caller can name.
    """
    if strategy is Strategy.SYMLINK:
        os.symlink(os.fspath(source), destination)
        checkpoint("symlink:" + os.path.basename(os.fspath(destination)))
    elif strategy is Strategy.HARDLINK:
        os.link(source, destination, follow_symlinks=True)
        checkpoint("hardlink:" + os.path.basename(os.fspath(destination)))
    elif strategy is Strategy.REFLINK:
        reflink_file(source, destination, mode)
    else:
        copy_file(source, destination, mode)


def may_hard_link(source: str | os.PathLike[str]) -> bool:
    """Whether the kernel lets this process hard-link ``source``. With fs.protected_hardlinks
    (most distributions' default) only its owner, or who may read and write it, may: a
    user's link to a root-owned interpreter fails EPERM where the probe's own links worked."""
    if os.geteuid() == 0:
        return True  # (CAP_FOWNER)
    try:
        info = os.stat(source)
    except OSError:
        return False
    if info.st_uid == os.geteuid():
        return True
    readable_writable = os.access(source, os.R_OK | os.W_OK)
    if readable_writable and not info.st_mode & 0o6000:  # not setuid/setgid
        return True
    try:
        with open("/proc/sys/fs/protected_hardlinks", "rb") as handle:
            return handle.read().strip() == b"0"
    except OSError:
        return False  # unknown: as if protected


def same_filesystem(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two existing paths are on one device and reached by one mount of it: only
    then can a hard link between them work (link(2) fails with EXDEV between two mounts of
    one filesystem, which share a device number: a bind mount and its source)."""
    try:
        if os.stat(a).st_dev != os.stat(b).st_dev:
            return False
    except OSError:
        return False
    from anyvenv.fs.mounts import same_mount

    return same_mount(a, b)
