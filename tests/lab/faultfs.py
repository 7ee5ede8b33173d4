"""faultfs: a fault-injecting FUSE passthrough filesystem built on mfusepy.

Run as its own process (foreground, multithreaded)::

    python -m lab.faultfs BACKING MOUNTPOINT --mode symlink-eopnotsupp

Every operation is passed through to BACKING on open file descriptors
(os.pread/os.pwrite); the mode (see lab.faults.MODES) decides which operations
fail or are silently ignored. SIGTERM or ``fusermount3 -u MOUNTPOINT`` ends it.

libfuse 3 is used when it is installed (mfusepy would pick libfuse 2 first);
set FUSE_LIBRARY_PATH or FUSE_LIBRARY_NAME to choose another.
"""

from __future__ import annotations

import argparse
import errno
import functools
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from ctypes.util import find_library
from types import ModuleType
from typing import Any

from lab.faults import HANG_NAME_PREFIX, MODES, NOBODY_ID, WRITE_BUDGET_FILE, FaultSpec

FSNAME_PREFIX = "faultfs-"
SUBTYPE = "faultfs"
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
HANG_POLL_SECONDS = 0.2
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND | os.O_CREAT
_STAT_KEYS = (
    "st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size",
    "st_blocks", "st_blksize", "st_rdev",
)  # fmt: skip
_STATVFS_KEYS = (
    "f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
    "f_favail", "f_namemax",
)  # fmt: skip


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


# every operation a latency applies to and a trace records (mfusepy reads their signatures:
# wrapped, not replaced)
_SLOWED = (
    "getattr", "access", "statfs", "chmod", "chown", "utimens", "mkdir", "rmdir", "unlink",
    "rename", "symlink", "readlink", "link", "opendir", "readdir", "releasedir", "create",
    "open", "read", "write", "truncate", "fsync", "release",
)  # fmt: skip


def _slowed(operation: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    @functools.wraps(operation)
    def slowly(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return operation(*args, **kwargs)

    return slowly


Caller = Callable[[], int]
"""The thread id of the process whose request is being answered (fuse_get_context's pid)."""

_OPENING = frozenset({"open", "opendir", "create"})
_CLOSING = frozenset({"release", "releasedir"})


class Tracer:
    """Appends ``PID NAME PATH`` to ``trace`` for each operation while that file exists (the
    lab creates it for a block of a test and removes it after). PID is the caller's process,
    PATH the first path argument as FUSE gives it; an operation on an open file (where FUSE
    gives no path: nopath) shows the path it was opened by, ``-`` if not known."""

    def __init__(self, trace: str, caller: Caller) -> None:
        self._trace = trace
        self._caller = caller
        self._lock = threading.Lock()
        self._opened: dict[int, str] = {}  # file handle -> path it was opened by

    def wrap(self, operation: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(operation)
        def traced(*args: Any, **kwargs: Any) -> Any:
            path = args[0] if args else None
            if path is None:
                handle = kwargs.get("fh", args[-1] if args else None)
                with self._lock:
                    known = self._opened.get(handle) if isinstance(handle, int) else None
                    if name in _CLOSING and isinstance(handle, int):
                        self._opened.pop(handle, None)
                path = known
            self._record(name, path)
            answer = operation(*args, **kwargs)
            if name in _OPENING and isinstance(answer, int) and isinstance(args[0], str):
                with self._lock:
                    self._opened[answer] = args[0]
            return answer

        return traced

    def _record(self, name: str, path: object) -> None:
        try:
            fd = os.open(self._trace, os.O_WRONLY | os.O_APPEND)
        except OSError:  # (no trace asked for now)
            return
        try:
            shown = path if isinstance(path, str) and path else "-"
            line = f"{_process_of(self._caller())} {name} {shown}\n"
            os.write(fd, line.encode("utf-8", "surrogateescape"))  # (O_APPEND: one write, whole)
        finally:
            os.close(fd)


def _process_of(thread: int) -> int:
    """The process (thread group) of a thread id: FUSE names the calling thread."""
    try:
        with open(f"/proc/{thread}/status", encoding="ascii", errors="replace") as stream:
            for line in stream:
                if line.startswith("Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return thread


class FaultOps:
    """mfusepy operations: a passthrough to ``backing`` with the faults of ``spec``.

    mfusepy registers only the callbacks an object has, so lock callbacks are
    attached per instance: without them the kernel keeps flock/fcntl locks
    locally, which is the correct behaviour for a single-host mount.
    """

    use_ns = True
    # No hard_remove: an open file that is unlinked is renamed to .fuse_hidden* until
    # closed (libfuse's default), so fstat on it still works. Operations on open files
    # may still get a NULL path; all of them work on the file descriptor then.
    flag_nullpath_ok = True
    flag_nopath = True

    def __init__(
        self,
        backing: str,
        spec: FaultSpec,
        mountpoint: str = "",
        trace: str = "",
        caller: Caller | None = None,
    ) -> None:
        self._root = os.path.abspath(backing).rstrip("/")
        self._spec = spec
        self._mountpoint = os.path.abspath(mountpoint) if mountpoint else ""
        self._budget_lock = threading.Lock()
        self._budget_stamp: tuple[int, int] | None = None
        self._budget: int | None = None
        self._open_lock = threading.Lock()
        self._open_files: dict[tuple[int, int], int] = {}  # (dev, ino) -> open handles
        self._handle_file: dict[int, tuple[int, int]] = {}  # fh -> (dev, ino)
        if spec.lock_errno is not None:
            self.flock = self._refuse_flock
            self.lock = self._refuse_lock
        if spec.latency_seconds:
            for name in _SLOWED:
                setattr(self, name, _slowed(getattr(self, name), spec.latency_seconds))
        if trace:  # (outermost: an operation is recorded before it waits or answers)
            tracer = Tracer(trace, caller or os.getpid)
            for name in _SLOWED:
                setattr(self, name, tracer.wrap(getattr(self, name), name))

    # -- helpers ---------------------------------------------------------
    def _full(self, path: str) -> str:
        return self._root + path

    def _writable(self) -> None:
        if self._spec.readonly:
            raise _fail(errno.EROFS)

    def _hang(self) -> None:
        """Never answer, as a hung server: wait until the mount is gone (unmounted or its
        connection aborted), which is when nobody waits for the answer any more."""
        while _is_mounted(self._mountpoint):
            time.sleep(HANG_POLL_SECONDS)
        raise _fail(errno.EIO)

    def _spend_write(self) -> None:
        """One write of the budget (re-read when its control file changes); EIO when spent."""
        control = os.path.join(self._root, WRITE_BUDGET_FILE)
        with self._budget_lock:
            try:
                st = os.stat(control)
            except FileNotFoundError:
                self._budget_stamp, self._budget = None, None
                return
            stamp = (st.st_ino, st.st_mtime_ns)
            if stamp != self._budget_stamp:
                self._budget_stamp = stamp
                with open(control, encoding="ascii") as stream:
                    self._budget = int(stream.read().strip() or "0")
            if self._budget is None:
                return
            if self._budget <= 0:
                raise _fail(errno.EIO)
            self._budget -= 1

    def _shown_mode(self, mode: int) -> int:
        fixed = None
        if stat.S_ISREG(mode):
            fixed = self._spec.file_mode
        elif stat.S_ISDIR(mode):
            fixed = self._spec.dir_mode
        return mode if fixed is None else (mode & ~0o7777) | fixed

    def _attrs(self, st: os.stat_result) -> dict[str, Any]:
        attrs: dict[str, Any] = {key: getattr(st, key) for key in _STAT_KEYS}
        attrs["st_mode"] = self._shown_mode(st.st_mode)
        attrs["st_atime"], attrs["st_mtime"] = st.st_atime_ns, st.st_mtime_ns
        attrs["st_ctime"] = st.st_ctime_ns
        if stat.S_ISLNK(st.st_mode) and self._spec.readlink_errno is not None:
            attrs["st_uid"] = attrs["st_gid"] = NOBODY_ID
        return attrs

    # -- metadata --------------------------------------------------------
    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        if (
            self._spec.symlink_hangs
            and path
            and os.path.basename(path).startswith(HANG_NAME_PREFIX)
        ):
            self._hang()
        file = self._file(path, fh)
        st = os.stat(file, follow_symlinks=False) if isinstance(file, str) else os.fstat(file)
        return self._attrs(st)

    def access(self, path: str, amode: int) -> int:
        if amode & os.W_OK:
            self._writable()
        mode = FaultOps.getattr(self, path)["st_mode"]  # (not the slowed or traced one)
        if amode & os.X_OK and stat.S_ISREG(mode) and not mode & 0o111:
            raise _fail(errno.EACCES)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self._full(path))
        return {key: getattr(st, key) for key in _STATVFS_KEYS}

    def _file(self, path: str | None, fh: int | None) -> str | int:
        """The open file if there is one (it may be unlinked), else the path."""
        if fh is not None:
            return fh
        if path is None:
            raise _fail(errno.EBADF)
        return self._full(path)

    def chmod(self, path: str | None, mode: int, fh: int | None = None) -> int:
        self._writable()
        file = self._file(path, fh)
        if self._spec.chmod == "fail":
            raise _fail(self._spec.chmod_errno)
        if self._spec.chmod == "ignore":
            os.stat(file, follow_symlinks=False) if isinstance(file, str) else os.fstat(file)
            return 0
        os.chmod(file, mode & 0o7777)
        return 0

    def chown(self, path: str | None, uid: int, gid: int, fh: int | None = None) -> int:
        self._writable()
        file = self._file(path, fh)
        os.chown(file, uid, gid, follow_symlinks=not isinstance(file, str))
        return 0

    def utimens(
        self, path: str | None, times: tuple[int, int] | None = None, fh: int | None = None
    ) -> int:
        self._writable()
        file = self._file(path, fh)
        follow = not isinstance(file, str)
        if times is None:
            os.utime(file, follow_symlinks=follow)
        else:
            os.utime(file, ns=times, follow_symlinks=follow)
        return 0

    def current_times(self, path: str | None, fh: int | None) -> tuple[int, int]:
        file = self._file(path, fh)
        st = os.stat(file, follow_symlinks=False) if isinstance(file, str) else os.fstat(file)
        return st.st_atime_ns, st.st_mtime_ns

    # -- names -----------------------------------------------------------
    def mkdir(self, path: str, mode: int) -> int:
        self._writable()
        os.mkdir(self._full(path), mode & 0o7777)
        return 0

    def rmdir(self, path: str) -> int:
        self._writable()
        os.rmdir(self._full(path))
        return 0

    def unlink(self, path: str) -> int:
        self._writable()
        self._refuse_if_open(path)
        os.unlink(self._full(path))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._writable()
        self._refuse_if_open(old)
        self._refuse_if_open(new)
        if self._spec.dir_rename_errno is not None and stat.S_ISDIR(
            os.lstat(self._full(old)).st_mode
        ):
            raise _fail(self._spec.dir_rename_errno)
        os.rename(self._full(old), self._full(new))
        return 0

    def _refuse_if_open(self, path: str) -> None:
        """EBUSY for a file some handle holds open (busy_while_open modes)."""
        if not self._spec.busy_while_open:
            return
        try:
            st = os.lstat(self._full(path))
        except OSError:
            return
        with self._open_lock:
            if self._open_files.get((st.st_dev, st.st_ino)):
                raise _fail(errno.EBUSY)

    def _opened(self, fh: int) -> int:
        if self._spec.busy_while_open:
            st = os.fstat(fh)
            key = (st.st_dev, st.st_ino)
            with self._open_lock:
                self._open_files[key] = self._open_files.get(key, 0) + 1
                self._handle_file[fh] = key
        return fh

    def symlink(self, target: str, source: str) -> int:
        """Create the link ``target`` holding the text ``source`` (mfusepy's naming)."""
        self._writable()
        if self._spec.symlink_hangs:
            self._hang()
        if self._spec.symlink_errno is not None:
            raise _fail(self._spec.symlink_errno)
        if self._spec.absolute_symlink_errno is not None and source.startswith("/"):
            raise _fail(self._spec.absolute_symlink_errno)
        os.symlink(source, self._full(target))
        return 0

    def readlink(self, path: str) -> str:
        if self._spec.readlink_errno is not None:
            raise _fail(self._spec.readlink_errno)
        text = os.readlink(self._full(path))
        if self._spec.absolute_readlink_rewritten and text.startswith("/"):
            return os.path.relpath(text, os.path.dirname("/" + path.lstrip("/")))
        return text

    def link(self, target: str, source: str) -> int:
        """Create the hard link ``target`` to the existing ``source``."""
        self._writable()
        if self._spec.link_errno is not None:
            raise _fail(self._spec.link_errno)
        if self._spec.link_copies:  # (a second file: a write through one name is not seen)
            import shutil

            shutil.copy2(self._full(source), self._full(target))
            return 0
        os.link(self._full(source), self._full(target))
        return 0

    # -- directories -----------------------------------------------------
    def opendir(self, path: str) -> int:
        return os.open(self._full(path), os.O_RDONLY | os.O_DIRECTORY)

    def readdir(self, path: str | None, fh: int) -> list[tuple[str, dict[str, int], int]]:
        # use_ino: a zero inode would make readdir(3) skip the entry
        dot_ino = os.fstat(fh).st_ino
        dotdot_ino = os.stat("..", dir_fd=fh).st_ino
        entries: list[tuple[str, dict[str, int], int]] = [
            (".", {"st_mode": stat.S_IFDIR, "st_ino": dot_ino}, 0),
            ("..", {"st_mode": stat.S_IFDIR, "st_ino": dotdot_ino}, 0),
        ]
        with os.scandir(fh) as scan:
            for entry in scan:
                entries.append((entry.name, _dirent_attrs(entry), 0))
        return entries

    def releasedir(self, path: str | None, fh: int) -> int:
        os.close(fh)
        return 0

    # -- files -----------------------------------------------------------
    def create(self, path: str, mode: int, flags: int) -> int:
        self._writable()
        return self._opened(os.open(self._full(path), flags | os.O_CREAT, mode & 0o7777))

    def open(self, path: str, flags: int) -> int:
        if flags & _WRITE_FLAGS:
            self._writable()
        return self._opened(os.open(self._full(path), flags))

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        return os.pread(fh, size, offset)

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        self._writable()
        if self._spec.write_budget:
            self._spend_write()
        return os.pwrite(fh, data, offset)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> int:
        self._writable()
        os.truncate(self._file(path, fh), length)
        return 0

    def fsync(self, path: str | None, datasync: int, fh: int) -> int:
        (os.fdatasync if datasync else os.fsync)(fh)
        return 0

    def release(self, path: str | None, fh: int) -> int:
        with self._open_lock:
            key = self._handle_file.pop(fh, None)
            if key is not None:
                self._open_files[key] -= 1
        os.close(fh)
        return 0

    # -- locks (only attached when the mode refuses them) ----------------
    def _refuse_flock(self, path: str | None, fh: int, op: int) -> int:
        raise _fail(self._spec.lock_errno or errno.ENOLCK)

    def _refuse_lock(self, path: str | None, fh: int, cmd: int, lock: object) -> int:
        raise _fail(self._spec.lock_errno or errno.ENOLCK)


def _is_mounted(mountpoint: str) -> bool:
    """Whether ``mountpoint`` is still in the mount table (read without touching the mount)."""
    if not mountpoint:
        return False
    wanted = mountpoint.replace("\\", "\\134").replace(" ", "\\040").encode()
    with open("/proc/self/mountinfo", "rb") as stream:
        return any(line.split()[4] == wanted for line in stream if len(line.split()) > 4)


def _dirent_attrs(entry: os.DirEntry[str]) -> dict[str, int]:
    """Type bits and inode from the dirent alone (no stat call)."""
    if entry.is_symlink():
        kind = stat.S_IFLNK
    elif entry.is_dir(follow_symlinks=False):
        kind = stat.S_IFDIR
    elif entry.is_file(follow_symlinks=False):
        kind = stat.S_IFREG
    else:
        kind = 0
    return {"st_mode": kind, "st_ino": entry.inode()}


def _load_mfusepy() -> ModuleType:
    """Import mfusepy, preferring libfuse 3 (larger requests than libfuse 2)."""
    chosen = "FUSE_LIBRARY_PATH" in os.environ or "FUSE_LIBRARY_NAME" in os.environ
    if not chosen and find_library("fuse3"):
        os.environ["FUSE_LIBRARY_NAME"] = "fuse3"
    import mfusepy  # type: ignore[import-untyped]

    module: ModuleType = mfusepy
    return module


def _timespec_ns(ts: Any, current_ns: int) -> int:
    if ts.tv_nsec == UTIME_NOW:
        return time.time_ns()
    if ts.tv_nsec == UTIME_OMIT:
        return current_ns
    return int(ts.tv_sec) * 10**9 + int(ts.tv_nsec)


def _fuse_class(mfusepy: ModuleType) -> type:
    """mfusepy.FUSE with fixes: UTIME_NOW/UTIME_OMIT, rename flags, and the open file
    (fuse_file_info) passed on to setattr-like operations and flock, which mfusepy drops
    or mishandles when the path is NULL (unlinked open files, nopath)."""
    base: type = mfusepy.FUSE

    class FaultFUSE(base):  # type: ignore[misc]
        def _path(self, path: bytes | None) -> str | None:
            return None if path is None else path.decode(self.encoding, self.errors)

        def _utimens(self, path: bytes | None, buf: Any, fh: int | None) -> int:
            decoded = self._path(path)
            times = None
            if buf:
                atime, mtime = self.operations.current_times(decoded, fh)
                times = (
                    _timespec_ns(buf.contents.actime, atime),
                    _timespec_ns(buf.contents.modtime, mtime),
                )
            result: int = self.operations.utimens(decoded, times, fh)
            return result

        def utimens_fuse_2(self, path: bytes | None, buf: Any) -> int:
            return self._utimens(path, buf, None)

        def utimens_fuse_3(self, path: bytes | None, buf: Any, fip: Any) -> int:
            return self._utimens(path, buf, _fh(fip))

        def chmod_fuse_3(self, path: bytes | None, mode: int, fip: Any) -> int:
            result: int = self.operations.chmod(self._path(path), mode, _fh(fip))
            return result

        def chown_fuse_3(self, path: bytes | None, uid: int, gid: int, fip: Any) -> int:
            uid = -1 if uid == 0xFFFFFFFF else uid
            gid = -1 if gid == 0xFFFFFFFF else gid
            result: int = self.operations.chown(self._path(path), uid, gid, _fh(fip))
            return result

        def truncate_fuse_3(self, path: bytes | None, length: int, fip: Any) -> int:
            result: int = self.operations.truncate(self._path(path), length, _fh(fip))
            return result

        def rename_fuse_3(self, old: bytes, new: bytes, flags: int) -> int:
            if flags:  # RENAME_NOREPLACE/EXCHANGE would be silently dropped by mfusepy
                return -errno.EINVAL
            result: int = self.rename_fuse_2(old, new)
            return result

        def flock(self, path: bytes | None, fip: Any, op: int) -> int:
            result: int = self.operations.flock(self._path(path), _fh(fip), op)
            return result

    return FaultFUSE


def _fh(fip: Any) -> int | None:
    return int(fip.contents.fh) if fip else None


def libfuse_description() -> str:
    """Which libfuse mfusepy loads in this process, e.g. 'libfuse3.so.3 (3.14)'."""
    mfusepy = _load_mfusepy()
    return f"{mfusepy._libfuse_path} ({mfusepy.fuse_version_major}.{mfusepy.fuse_version_minor})"


def serve(backing: str, mountpoint: str, mode: str, debug: bool = False, trace: str = "") -> None:
    """Mount faultfs in this process and serve until unmounted or signalled."""
    mfusepy = _load_mfusepy()
    os.umask(0)  # the kernel already applied the caller's umask to create/mkdir modes
    fuse_class = _fuse_class(mfusepy)

    def caller() -> int:
        pid: int = mfusepy.fuse_get_context()[2]
        return pid

    fuse_class(
        FaultOps(backing, MODES[mode], mountpoint, trace, caller),
        mountpoint,
        foreground=True,
        nothreads=False,
        debug=debug,
        fsname=FSNAME_PREFIX + mode,
        subtype=SUBTYPE,
        default_permissions=True,
        allow_other=True,
        use_ino=True,
        auto_unmount=True,
        # SMB's client does not hide an open file it is told to remove: the server refuses
        **({"hard_remove": True} if MODES[mode].busy_while_open else {}),
    )


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.faultfs", description=__doc__)
    parser.add_argument("backing", help="directory whose contents are served")
    parser.add_argument("mountpoint")
    parser.add_argument("--mode", default="passthrough", choices=sorted(MODES))
    parser.add_argument("--debug", action="store_true", help="libfuse debug output")
    parser.add_argument(
        "--trace",
        default="",
        metavar="FILE",
        help="while FILE exists, append 'PID OPERATION PATH' to it for each operation",
    )
    parser.add_argument("--which-libfuse", action="store_true", help="print libfuse and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if args.which_libfuse:
        print(libfuse_description())
        return 0
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING)
    serve(args.backing, args.mountpoint, args.mode, debug=args.debug, trace=args.trace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
