"""A lock that works on shares.

On a local filesystem ``flock`` is right: the kernel drops it when the holder dies. On FUSE
(sshfs), CIFS and NFS it may fail (ENOSYS, ENOLCK, EBADF) or, worse, lock only on this
client: two hosts of one share would both "hold" it. There the lock is a file created with
``O_EXCL`` (atomic on the server) holding host, pid and process start time. A stale one is
removed only when its holder is provably gone: same host, and that pid is dead or is a
different process (start time differs). A lock held from another host is never stolen.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from anyvenv.errors import AnyvenvError
from anyvenv.fs.mounts import mount_of

LOCAL_FSTYPES = frozenset(
    {
        "ext2",
        "ext3",
        "ext4",
        "xfs",
        "btrfs",
        "tmpfs",
        "zfs",
        "f2fs",
        "jfs",
        "reiserfs",
        "overlay",
        "bcachefs",
    }
)
_FLOCK_UNUSABLE = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.EBADF, errno.EINVAL}


class LockTimeout(AnyvenvError):
    """Another process held the lock for longer than we were willing to wait."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started: str  # the process start time as /proc/PID/stat gives it ("" if unknown)
    token: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def process_start_time(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (Linux), "" elsewhere or if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return ""
    fields = raw[raw.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else ""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def current_holder() -> Holder:
    return Holder(
        host=f"{socket.gethostname()}#{_boot_id()}",
        pid=os.getpid(),
        started=process_start_time(os.getpid()),
        token=secrets.token_hex(8),
    )


def holder_is_gone(holder: Holder) -> bool:
    """True only when we can prove the holder no longer runs."""
    me = current_holder()
    if holder.host != me.host:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    started = process_start_time(holder.pid)
    return bool(holder.started and started and started != holder.started)


def read_holder(path: Path) -> Holder | None:
    """The holder recorded in a lock file; ``None`` while it is being written or if garbage."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    try:
        data = json.loads(raw)
        return Holder(str(data["host"]), int(data["pid"]), str(data["started"]), str(data["token"]))
    except (ValueError, KeyError, TypeError):
        return None


def uses_lock_file(directory: Path) -> bool:
    """Whether flock cannot be trusted here (network and FUSE filesystems)."""
    mount = mount_of(directory)
    return mount is None or mount.fstype not in LOCAL_FSTYPES


class ShareLock:
    """An exclusive lock named by ``path``, usable as a context manager."""

    def __init__(self, path: Path, *, timeout: float = 600.0, poll: float = 0.05) -> None:
        self.path = path
        self.timeout = timeout
        self.poll = poll
        self._fd: int | None = None
        self._holder: Holder | None = None

    def __enter__(self) -> ShareLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not uses_lock_file(self.path.parent) and self._try_flock(deadline):
            return
        self._acquire_lock_file(deadline)

    def _try_flock(self, deadline: float) -> bool:
        fd = os.open(
            self.path.with_name(self.path.name + ".flock"),
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
        )
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LockTimeout(
                        f"{self.path} is locked by another process",
                        "wait for it to finish, then try again",
                    ) from None
                time.sleep(self.poll)
            except OSError as exc:
                os.close(fd)
                if exc.errno in _FLOCK_UNUSABLE:
                    return False
                raise

    def _acquire_lock_file(self, deadline: float) -> None:
        me = current_holder()
        payload = json.dumps(me.__dict__).encode()
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            except FileExistsError:
                self._break_if_stale()
            else:
                try:
                    os.write(fd, payload)
                    with contextlib.suppress(OSError):
                        os.fsync(fd)
                finally:
                    os.close(fd)
                self._holder = me
                return
            if time.monotonic() > deadline:
                holder = read_holder(self.path)
                who = holder.describe() if holder else "another process"
                raise LockTimeout(
                    f"{self.path} is held by {who}",
                    f"wait for it; if that process is gone for good, remove {self.path}",
                )
            time.sleep(self.poll)

    def _break_if_stale(self) -> None:
        """Remove the lock file if its holder is provably gone; serialised by a breaker file
        so that two breakers cannot remove a fresh lock taken in between."""
        holder = read_holder(self.path)
        if holder is None or not holder_is_gone(holder):
            return
        breaker = self.path.with_name(self.path.name + ".break")
        try:
            fd = os.open(breaker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            breaking = read_holder(breaker)
            if breaking is not None and holder_is_gone(breaking):
                with contextlib.suppress(OSError):
                    os.unlink(breaker)
            return
        try:
            os.write(fd, json.dumps(current_holder().__dict__).encode())
            os.close(fd)
            again = read_holder(self.path)
            if again is not None and again.token == holder.token:
                os.unlink(self.path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(breaker)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._holder is not None:
            current = read_holder(self.path)
            if current is not None and current.token == self._holder.token:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            self._holder = None
