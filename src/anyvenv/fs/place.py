"""Put a file at a new path by one of four strategies: symlink, hard link, reflink or copy.

Modes are set when the file is created (``os.open(..., mode)``): on mounts where chmod is
accepted but ignored, that is the only way a copied file becomes executable.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import os
from collections.abc import Iterator

from anyvenv.killpoints import checkpoint

FICLONE = 0x40049409  # _IOW(0x94, 9, int): clone a whole file (Linux)
_COPY_CHUNK = 1 << 20
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Strategy(str, enum.Enum):
    """How a file is placed. The value is what pyvenv.cfg and ``--json`` report."""

    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    REFLINK = "reflink"
    COPY = "copy"


@contextlib.contextmanager
def _new_file(path: str | os.PathLike[str], mode: int) -> Iterator[int]:
    """A descriptor on a new file created with ``mode`` (a link at ``path`` is not followed).
    On success the exact mode is applied (the umask may have cut bits); on any failure the
    half-written file is removed."""
    fd = os.open(path, _NEW_FILE_FLAGS, mode)
    try:
        yield fd
        _settle_mode(fd, mode)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)


def _settle_mode(fd: int, mode: int) -> None:
    """Apply the exact mode; where chmod is refused, keep what creation gave."""
    with contextlib.suppress(OSError):
        os.fchmod(fd, mode)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def create_file(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` (it must not exist, a link there is not followed) holding ``data``."""
    with _new_file(path, mode) as fd:
        _write_all(fd, data)
    checkpoint("create:" + os.path.basename(os.fspath(path)))


def copy_file(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], mode: int | None = None
) -> None:
    """Copy bytes into a new file created with ``mode`` (default: the source's mode)."""
    with open(source, "rb") as src:
        src_fd = src.fileno()
        with _new_file(destination, _mode_of(src_fd, mode)) as dst_fd:
            _copy_fd(src_fd, dst_fd)
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


def _copy_fd(src_fd: int, dst_fd: int) -> None:
    """Kernel-side copy where possible (copy_file_range, sendfile), else read/write."""
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
        chunk = os.read(src_fd, _COPY_CHUNK)
        if not chunk:
            return
        _write_all(dst_fd, chunk)


def place_file(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    strategy: Strategy,
    *,
    link_target: str | None = None,
    mode: int | None = None,
) -> None:
    """Place ``source`` at ``destination`` by ``strategy``.

    ``link_target`` is the text a symlink gets (default: ``source`` as given). The caller
    chose the strategy from the probe; no fallback happens here, so a failure is an
    ``OSError`` the caller can name.
    """
    if strategy is Strategy.SYMLINK:
        os.symlink(link_target if link_target is not None else os.fspath(source), destination)
        checkpoint("symlink:" + os.path.basename(os.fspath(destination)))
    elif strategy is Strategy.HARDLINK:
        os.link(source, destination, follow_symlinks=True)
        checkpoint("hardlink:" + os.path.basename(os.fspath(destination)))
    elif strategy is Strategy.REFLINK:
        reflink_file(source, destination, mode)
    else:
        copy_file(source, destination, mode)


def same_filesystem(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two existing paths are on one device (a hard link between them can work)."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False
