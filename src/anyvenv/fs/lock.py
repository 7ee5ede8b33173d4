"""A lock that works on shares.

On a local filesystem ``flock`` is right: the kernel drops it when the holder dies. On FUSE
(sshfs), CIFS and NFS it may fail (ENOSYS, ENOLCK, EBADF) or, worse, lock only on this
client: two hosts of one share would both "hold" it. There the lock is a file created with
``O_EXCL`` (atomic on the server; written whole and hard-linked into place where links work)
holding host (name and boot id), machine id, pid namespace, pid and process start time. The
host with the disk takes that file too, after its flock: a client of the same directory
through a share (a VM's view of the host's folder) cannot see the flock. A stale one is removed only when its holder is provably gone: same host and boot,
and that pid is dead or is a different process (start time differs); or same host name and
machine id but an earlier boot (the machine has rebooted since, and every process of that boot
is gone). A lock held from another machine is never stolen. One whose holder cannot be read
(empty: its maker died between making and writing it, or a crash kept its name and not its
bytes) is stale once unchanged for a grace period, or at once on a local disk where it was
last written before this machine booted.

An env's lock (:func:`env_lock`) also takes a flock in ``/tmp`` named after the env (see
:func:`_machine_lock_path`), which every user of the machine reaches: a user who may not write
beside the env (another user's project holding their env; a read-only mount) takes that one
alone.

Neither kind of lock leaves a file behind when let go. The flock file is removed by its holder
before it unlocks; a waiter that then gets the lock on the removed file sees that the path no
longer names it and opens the path again (the usual unlink-on-release protocol). A holder
killed with SIGKILL leaves its flock file, taken again only by the next taker of that env;
those left in /tmp are removed by :func:`sweep_machine_flocks` (``anyvenv cache clean``), by
the same protocol: flocked, then unlinked while held.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from anyvenv.errors import AnyvenvError
from anyvenv.fs import env_lock_path
from anyvenv.fs.mounts import mount_of
from anyvenv.fs.processes import process_alive, process_start_time
from anyvenv.killpoints import checkpoint
from anyvenv.record import as_dict, record
from anyvenv.signals import held_signals

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

UNREADABLE_GRACE_SECONDS = 30.0
_FLOCK_UNUSABLE = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.EBADF, errno.EINVAL}


def _refused_writing(error: OSError, path: str) -> bool:
    """Whether ``error`` says this user may not write beside ``path`` (a read-only mount or
    share, another user's directory), not that a file there is in the way: EROFS and EACCES;
    EPERM only where ``access()`` agrees, as sshfs says EPERM for a file that another client
    has just made (a share lock must not become this machine's alone on a race). (FUSE
    without default_permissions and CIFS with noperm say writable to ``access()`` and then
    refuse: their EACCES is believed.)"""
    if error.errno in (errno.EROFS, errno.EACCES):
        return True
    directory = os.path.dirname(path) or "."
    return error.errno == errno.EPERM and not os.access(directory, os.W_OK | os.X_OK)


class LockTimeout(AnyvenvError):
    """Another process held the lock for longer than we were willing to wait."""


class LockUnavailable(AnyvenvError):
    """The lock file cannot be made: a read-only or full filesystem, no permission, or
    something planted at its path (a link there is never followed)."""


@record
class Holder:
    host: str
    pid: int
    started: str  # the process start time as /proc/PID/stat gives it ("" if unknown)
    token: str
    machine: str = ""  # /etc/machine-id ("" if unknown, and in locks of older versions)
    pidns: str = ""  # the holder's pid namespace ("pid:[N]"; "" if unknown or older)
    uid: int = -1  # the holder's user (-1 in locks of older versions)

    def describe(self) -> str:
        """``pid N on this machine`` (``pid N of alice on vm``): who to wait for, or ask."""
        mine = _this_host()
        same = self.host == mine
        name = self.host.rpartition("#")[0] or self.host  # (without the boot id)
        where = "this machine" if same else name
        if not same and "#" in self.host and name == mine.rpartition("#")[0]:
            # (an older release's lock names no boot: its host is all there is to say)
            where += " (another boot of this machine, or another machine of that name)"
        whose = ""
        if self.uid >= 0 and self.uid != os.getuid():  # (another user: say whose it is)
            if same:
                from anyvenv.fs.remove import user_name

                whose = f" of {user_name(self.uid)}"
            else:  # (another machine's uids are not this one's)
                whose = f" of uid {self.uid}"
        return f"pid {self.pid}{whose} on {where}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                found = handle.read().strip()
        except OSError:
            continue
        if found:
            return found
    return ""


def _this_host() -> str:
    """``NAME#BOOT-ID``: this machine, in this boot, as a holder's ``host`` says it."""
    return f"{os.uname().nodename}#{_boot_id()}"


def current_holder() -> Holder:
    return Holder(
        host=_this_host(),
        pid=os.getpid(),
        started=process_start_time(os.getpid()),
        token=os.urandom(8).hex(),
        machine=_machine_id(),
        pidns=_pid_namespace(),
        uid=os.getuid(),
    )


def _rebooted_since(holder: Holder, me: Holder) -> bool:
    """``holder`` ran on this machine (same name and machine id) in another boot."""
    name, _, boot = holder.host.rpartition("#")
    my_name, _, my_boot = me.host.rpartition("#")
    return bool(
        holder.machine
        and holder.machine == me.machine
        and name == my_name
        and boot
        and my_boot
        and boot != my_boot
    )


def holder_is_gone(holder: Holder) -> bool:
    """True only when we can prove the holder no longer runs."""
    me = current_holder()
    if holder.host != me.host:
        return _rebooted_since(holder, me)
    if holder.pidns and me.pidns and holder.pidns != me.pidns:
        return False  # a container with our host name: its pids are not ours to look up
    if not process_alive(holder.pid):  # (a zombie, killed and not reaped, holds nothing)
        return True
    started = process_start_time(holder.pid)
    return bool(holder.started and started and started != holder.started)


def read_holder(path: str) -> Holder | None:
    """The holder recorded in a lock file; ``None`` while it is being written or if garbage."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096)
    finally:
        os.close(fd)
    import json  # here: the lock file is for shares; local disks take flock

    try:
        data = json.loads(raw)
        return Holder(
            str(data["host"]),
            int(data["pid"]),
            str(data["started"]),
            str(data["token"]),
            str(data.get("machine", "")),
            str(data.get("pidns", "")),
            int(data.get("uid", -1)),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _holder_json(holder: Holder) -> bytes:
    """The holder as a JSON object, written without the json module (whose import costs the
    start-up of every sync: the lock file is taken on local disks too)."""
    fields = []
    for key, value in as_dict(holder).items():
        if isinstance(value, int):
            fields.append(f'"{key}": {value}')
        else:
            fields.append(f'"{key}": "{_json_text(str(value))}"')
    return ("{" + ", ".join(fields) + "}").encode("utf-8", "surrogateescape")


def _json_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(char if char >= " " else f"\\u{ord(char):04x}" for char in escaped)


def _create_holder_file(path: str, payload: bytes, durable: bool = True) -> bool:
    """Create ``path`` exclusively holding ``payload``; False if it exists. Where hard links
    work it appears whole, in one step; elsewhere it is created, then written (and removed
    again if it could not be written completely). ``durable``: its bytes are on disk before
    its name is (hard links), or before this returns (a crash must not leave a lock file
    whose holder cannot be read; not needed beside a local flock, where such a file from
    before a boot is stale at once: :func:`_before_boot`)."""
    linked = _link_holder_file(path, payload, durable)
    if linked is not None:
        return linked
    return _create_then_write(path, payload, durable)


_NO_HARD_LINKS = {errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV}
# a link() that fails for one of these fails the O_EXCL create too: said as it is
_LINK_STOPS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.ENOENT}


def _link_holder_file(path: str, payload: bytes, durable: bool) -> bool | None:
    """A temp file written whole, then hard-linked to ``path`` (``link`` fails if ``path``
    exists, on servers too): no one ever sees the lock file empty, so a holder paused between
    creating and writing it cannot lose it to a waiter's grace period. ``None`` where hard
    links fail (FAT, exFAT; rclone says EIO) or cannot tell "exists" (sshfs says EPERM): the
    caller then creates it with ``O_EXCL``, which says what a failure stopping both is."""
    from anyvenv.fs.leftovers import TEMP_MARK, leftover_tag
    from anyvenv.fs.place import create_file

    temp = f"{path}{TEMP_MARK}{leftover_tag()}"  # a killed run's is swept as a temp file
    with held_signals():  # (a Ctrl-C between the create and the unlink would leave the temp)
        create_file(temp, payload, 0o644, durable=durable)
        try:
            _readable_by_all(temp)
            os.link(temp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno in _NO_HARD_LINKS or exc.errno not in _LINK_STOPS:
                return None
            raise
        finally:
            _unlink_while_open(temp)
    return True


def _create_then_write(path: str, payload: bytes, durable: bool) -> bool:
    from anyvenv.fs.place import create_file

    for attempt in range(2):
        try:
            create_file(path, payload, 0o644, durable=durable)
            _readable_by_all(path)
        except FileExistsError:
            return False
        except PermissionError:
            # sshfs: SFTP has no "exists" status, so O_EXCL on a file another client made
            # fails EPERM when this client's kernel has not seen it yet
            if os.path.lexists(path):
                return False
            if attempt:
                raise
            continue  # it may have been released in between: try once more
        return True
    return False


def _lock_fix(error: OSError, where: str) -> str:
    """What to do where a lock file cannot be made: free space, look at the device, use a
    shorter path, or make the directory writable (and remove what was planted at the path, if
    something is)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free space on that filesystem"
    if error.errno == errno.EIO:
        return "check that device and its connection"
    if error.errno == errno.ENAMETOOLONG:  # (its name fits: env_lock_path cuts a long one)
        return _too_long_fix(where)
    if os.path.islink(where) or (os.path.lexists(where) and not os.path.isfile(where)):
        return "a link or other file planted at that path is never followed: remove it"
    if error.errno == errno.EACCES and os.path.isfile(where) and not os.access(where, os.R_OK):
        from anyvenv.fs.remove import ownership  # another user's, that this one cannot open

        return f"it is not yours to open ({ownership(where)}): its owner or root may remove it"
    return "the directory must be writable"


def _too_long_fix(where: str) -> str:
    """What to do where the path ``where`` is too long (ENAMETOOLONG): its name, longer than
    its filesystem takes, or the whole, longer than a path may be."""
    from anyvenv.fs.paths import byte_length, name_over_limit, path_max

    over = name_over_limit(where)
    if over is not None:
        return (
            f"its name is {over[0]} bytes, and the filesystem takes {over[1]}: use a shorter name"
        )
    size, limit = byte_length(where), path_max(os.path.dirname(where))
    return f"that path is {size} bytes, and the limit there is {limit}: use a shorter path"


def _same_holder(first: Holder | None, second: Holder | None) -> bool:
    """Both unreadable, or both the same holder (by token)."""
    if first is None or second is None:
        return first is second
    return first.token == second.token


def uses_lock_file(directory: str) -> bool:
    """Whether flock cannot be trusted here (network and FUSE filesystems)."""
    mount = mount_of(directory)
    return mount is None or not mount.is_local


def env_lock(
    env: str | os.PathLike[str],
    on_wait: Callable[[str], object] | None = None,
    timeout: float | None = None,
) -> ShareLock:
    """The lock of the env at ``env`` (its declared path: a pointer file's, for an env kept
    elsewhere), beside it: ``sync``, ``venv``, ``repair`` and ``cache prune`` of one env take
    turns. Each taker also takes a flock in ``/tmp`` named after the env, which
    every user of this machine reaches: where the env's directory is not a user's to write (a
    project owned by another user, whose env is theirs; a read-only mount), that flock alone
    is their lock, as uv's project locks are, and still excludes a taker who can write there."""
    path = os.fspath(env)
    return ShareLock(
        env_lock_path(path),
        on_wait=on_wait,
        machine_lock=lambda: _machine_lock_path(path),
        **({} if timeout is None else {"timeout": timeout}),
    )


MACHINE_LOCK_DIR = "/tmp"  # not TMPDIR: every user of the machine must meet in one place
_MACHINE_PREFIX = "anyvenv-"  # then 16 hex digits, .lock (and .flock: the file of the flock)
_MACHINE_FLOCK_SUFFIX = ".lock.flock"


def _machine_lock_path(env: str) -> str | None:
    """``/tmp/anyvenv-<key>.lock``; in ``TMPDIR`` where ``/tmp`` may not be written (a
    container's read-only root); ``None`` where neither may (this machine's flock is then
    only what the lock beside the env gives). The key is a hash (FNV-1a: hashlib would load
    OpenSSL, a cost every command taking a lock would pay) of the env's real path, links
    resolved; on a local disk, of its directory's device and inode and its name instead: one
    key for every path to it, a bind mount's too. (Not on FUSE or network filesystems, whose
    inode numbers may change while nothing holds them: sshfs, exfat-fuse, fusefat.)"""
    from anyvenv.userdirs import fnv1a_64

    try:
        real = os.path.realpath(env)
    except OSError:  # a link on the way that cannot be read back: what it is, then
        real = os.path.abspath(env)
    key = real
    parent, name = os.path.split(real)
    mount = mount_of(parent)
    if mount is not None and mount.is_local:
        try:
            info = os.stat(parent)
            key = f"{info.st_dev}:{info.st_ino}/{name}"
        except OSError:
            pass
    for directory in _machine_lock_dirs():
        if os.access(directory, os.W_OK | os.X_OK):
            digest = fnv1a_64(os.fsencode(key))  # (the path's bytes: one lock, any locale)
            return os.path.join(directory, f"{_MACHINE_PREFIX}{digest:016x}.lock")
    return None


def _machine_lock_dirs() -> list[str]:
    """Where :func:`_machine_lock_path` looks, in turn: /tmp, then an absolute TMPDIR."""
    found = [MACHINE_LOCK_DIR]
    fallback = os.environ.get("TMPDIR", "")
    if os.path.isabs(fallback) and os.path.normpath(fallback) != MACHINE_LOCK_DIR:
        found.append(fallback)
    return found


def sweep_machine_flocks(directories: list[str] | None = None) -> int:
    """Remove the machine flock files (``anyvenv-<16 hex>.lock.flock``) in /tmp and TMPDIR
    (or ``directories``) that no one holds: a holder removes its own on release, but one
    killed (SIGKILL, the OOM killer) leaves it for good, as uv leaves its /tmp/uv-*.lock.
    Only this user's files (root's: everyone's). Returns how many went. Not run on every
    release: a listing of a /tmp holding thousands of files costs milliseconds that each
    command would pay; ``anyvenv cache clean`` runs it."""
    removed = 0
    for directory in _machine_lock_dirs() if directories is None else directories:
        try:
            names = [entry.name for entry in os.scandir(directory)]
        except OSError:
            continue
        for name in names:
            if _is_machine_flock_name(name) and _sweep_flock_file(os.path.join(directory, name)):
                removed += 1
    return removed


def _is_machine_flock_name(name: str) -> bool:
    """Exactly a name :func:`_machine_lock_path` makes, plus ``.flock``: nothing else goes."""
    key = name[len(_MACHINE_PREFIX) : -len(_MACHINE_FLOCK_SUFFIX)]
    return (
        name.startswith(_MACHINE_PREFIX)
        and name.endswith(_MACHINE_FLOCK_SUFFIX)
        and len(key) == 16
        and all(char in "0123456789abcdef" for char in key)
    )


def _sweep_flock_file(path: str) -> bool:
    """Remove ``path`` if it is a regular file of this user's (any, for root) whose flock
    is free, the way a holder lets go (:func:`_unflock`): unlinked while flocked, so a taker
    that opened it before sees, once it has the flock, that the path no longer names it and
    opens the path again (:meth:`ShareLock._flock`). Never waits, never follows a link,
    never creates; any failure leaves it."""
    me = os.geteuid()
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or (me != 0 and info.st_uid != me):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino) or not stat.S_ISREG(
            opened.st_mode
        ):
            return False  # (replaced since the lstat, its inode number reused or not: next time)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not _still_named(fd, path):
            return False  # (its holder let go and removed it; the path may be a new one's)
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # (the flock goes with it)


def try_env_lock(
    env: str | os.PathLike[str], on_wait: Callable[[str], object] | None = None
) -> ShareLock | None:
    """:func:`env_lock`, taken; ``None`` where it cannot be made (a directory that is not
    writable: an env filled in place at a mount point), where no sync can take it either.
    (Not a contextlib manager: that import costs start-up.)"""
    lock = env_lock(env, on_wait)
    try:
        lock.acquire()
    except LockUnavailable:
        return None
    return lock


WAIT_NOTICE_SECONDS = 1.0  # a wait longer than this is told (ShareLock's on_wait)


class ShareLock:
    """An exclusive lock named by ``path``, usable as a context manager. ``on_wait`` is told
    once, after :data:`WAIT_NOTICE_SECONDS`, that the lock is held and by whom."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 600.0,
        poll: float = 0.05,
        unreadable_grace: float = UNREADABLE_GRACE_SECONDS,
        on_wait: Callable[[str], object] | None = None,
        machine_lock: Callable[[], str | None] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.on_wait = on_wait
        # a flock of this machine's (in /tmp) taken after the lock beside ``path``, and alone
        # where ``path``'s directory may not be written
        self.machine_lock = machine_lock
        self._machine_path: str | None = None  # (worked out when it is taken)
        self._machine_fd: int | None = None
        self._stale_stays = False  # a stale lock file of a gone holder we may not remove
        self._notice_at = 0.0  # when a wait is told (set by acquire)
        self.timeout = timeout
        self.poll = poll
        self.unreadable_grace = unreadable_grace
        self._fd: int | None = None
        self._holder: Holder | None = None
        self._payload = b""  # what this taker wrote into the lock file
        # lock or breaker file without a readable holder: its identity and since when we see it
        self._unreadable: dict[str, tuple[tuple[int, int, int], float]] = {}

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
        self._notice_at = time.monotonic() + WAIT_NOTICE_SECONDS
        deadline = time.monotonic() + self.timeout
        try:
            try:
                self._acquire_beside(deadline)
            except OSError as exc:
                if self.machine_lock is None or not _refused_writing(exc, self.path):
                    raise
                self._acquire_machine_lock(deadline, alone=True)
            else:
                try:
                    self._acquire_machine_lock(deadline, alone=False)
                except BaseException:
                    self.release()
                    raise
        except OSError as exc:
            where = os.fspath(exc.filename or self.path)
            raise LockUnavailable(
                f"cannot take the lock {where}: "
                f"{exc.strerror or exc} ({errno.errorcode.get(exc.errno or 0, exc.errno)})",
                _lock_fix(exc, where),
            ) from exc

    def _acquire_machine_lock(self, deadline: float, alone: bool) -> None:
        """The flock in /tmp: the lock of a taker who may not write beside the env (``alone``:
        its failure is the lock's), else one more lock, taken where it can be."""
        path = None if self.machine_lock is None else self.machine_lock()
        if path is None:
            if alone:
                raise LockUnavailable(
                    f"cannot take the lock of {self.path}: its directory may not be written, "
                    "and neither /tmp nor TMPDIR may be",
                    "set TMPDIR to a directory you may write",
                )
            return
        self._machine_path = path + ".flock"
        try:
            self._machine_fd = self._flock(self._machine_path, deadline)
        except OSError:
            if alone:
                raise
        if alone and self._machine_fd is None:
            raise OSError(errno.ENOLCK, "flock does not work", path)

    def _acquire_beside(self, deadline: float) -> None:
        if not uses_lock_file(os.path.dirname(self.path)):
            self._fd = self._flock(self.path + ".flock", deadline)
        if self._fd is not None:
            # the lock file too: a client of this directory through a share (a VM's
            # sshfs or SMB view of it) cannot see this flock and takes the file instead
            try:
                self._acquire_lock_file(deadline)
            except BaseException:
                self.release()
                raise
            return
        self._acquire_lock_file(deadline)

    def _flock(self, flock_path: str, deadline: float) -> int | None:
        """The descriptor of ``flock_path``, flocked (waited for up to ``deadline``); ``None``
        where flock does not work there."""
        fd = _open_flock_file(flock_path)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _still_named(fd, flock_path):
                    return fd
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    who = self._holder_beside("another process of this machine")
                    raise LockTimeout(
                        f"{self.path} is held by {who}", "wait for it to finish, then try again"
                    ) from None
                self._tell_wait(lambda: self._holder_beside("another process of this machine"))
                time.sleep(self.poll)
            except OSError as exc:
                os.close(fd)
                if exc.errno in _FLOCK_UNUSABLE:
                    return None
                raise
            else:
                # its holder removed it on release: this lock guards nothing any more
                os.close(fd)
                fd = _open_flock_file(flock_path)

    def _acquire_lock_file(self, deadline: float) -> None:
        from anyvenv.fs.leftovers import TEMP_MARK, sweep_dead

        me = current_holder()
        payload = _holder_json(me)
        self._payload = payload
        # the temp files of lock and breaker files that killed takers left (see
        # _link_holder_file): NAME.anyvenv-tmp-*, NAME.break.anyvenv-tmp-*
        directory, name = os.path.split(self.path)
        sweep_dead(directory or ".", TEMP_MARK, prefix=name + ".")
        while True:
            try:
                # (self._fd: the flock beside it, on a local disk)
                if _create_holder_file(self.path, payload, durable=self._fd is None):
                    self._holder = me
                    return
            except BaseException:  # Ctrl-C, SIGTERM once the file was there: no one's then
                _unlink_if_holding(self.path, payload)
                raise
            self._break_if_stale()
            if self._stale_stays:  # (not ours to remove on release either)
                self._stale_stays = False
                return
            if time.monotonic() > deadline:
                who = self._holder_beside()
                raise LockTimeout(
                    f"{self.path} is held by {who}",
                    f"wait for it; if that process is gone for good, remove {self.path}",
                )
            self._tell_wait(self._holder_beside, True)
            time.sleep(self.poll)

    def _tell_wait(self, who: Callable[[], str], of_file: bool = False) -> None:
        """Tell ``on_wait``, once per acquire and only after the notice delay, who holds it
        (``who()``, asked then; ``of_file``: by the lock file, which may outlive a holder; a
        flock cannot)."""
        if self.on_wait is None or time.monotonic() < self._notice_at:
            return
        self._notice_at = float("inf")
        gone = "; if that process is gone for good, remove the file" if of_file else ""
        self.on_wait(f"waiting for {self.path}, held by {who()} (up to {self.timeout:.0f} s{gone})")

    def _holder_beside(self, otherwise: str = "another process") -> str:
        """Who holds the lock, by its lock file (the flock's holder writes it too)."""
        holder = read_holder(self.path)
        return holder.describe() if holder else otherwise

    def _break_if_stale(self) -> None:
        """Remove the lock file if its holder is provably gone; serialised by a breaker file
        so that two breakers cannot remove a fresh lock taken in between.

        A lock file whose holder cannot be read (its maker died between creating and writing
        it) counts as stale once it has stayed unchanged for ``unreadable_grace`` seconds, or
        at once where it was last written before this machine booted (:func:`_before_boot`)."""
        holder = read_holder(self.path)
        if holder is None:
            if not self._unreadable_stale(self.path):
                return
        elif not holder_is_gone(holder):
            return
        breaker = self.path + ".break"
        if not _create_holder_file(breaker, _holder_json(current_holder())):
            self._clear_stale_breaker(breaker)
            return
        try:
            again = read_holder(self.path)
            if _same_holder(holder, again) and (
                holder is not None or self._unreadable_stale(self.path)
            ):
                os.unlink(self.path)
        except PermissionError:
            # another user's, in a sticky directory: it stays, holding off other machines
            # as if it were ours, while this machine's takers are held off by the flocks
            self._stale_stays = True
        except OSError:
            pass
        finally:
            self._unreadable.pop(self.path, None)
            _unlink_quietly(breaker)

    def _clear_stale_breaker(self, breaker: str) -> None:
        """A breaker left by a process that died while breaking would block every later one."""
        breaking = read_holder(breaker)
        stale = self._unreadable_stale(breaker) if breaking is None else holder_is_gone(breaking)
        if stale and _same_holder(breaking, read_holder(breaker)):
            try:
                os.unlink(breaker)
            except PermissionError:  # another user's, in a sticky directory: stepped over
                self._stale_stays = True  # (as the stale lock file it was breaking)
            except OSError:
                pass
            self._unreadable.pop(breaker, None)

    def _unreadable_stale(self, path: str) -> bool:
        """Whether ``path``, holding no readable holder, is stale: from before this boot, or
        unchanged for the grace period."""
        return _before_boot(path) or self._unreadable_for_long(path)

    def _unreadable_for_long(self, path: str) -> bool:
        """Whether ``path`` (holding no readable holder) has stayed the same file with the same
        size and mtime for the grace period, as seen by this process."""
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            self._unreadable.pop(path, None)
            return False
        identity = (st.st_ino, st.st_size, st.st_mtime_ns)
        now = time.monotonic()
        seen = self._unreadable.get(path)
        if seen is None or seen[0] != identity:
            self._unreadable[path] = (identity, now)
            return False
        return now - seen[1] >= self.unreadable_grace

    def release(self) -> None:
        with held_signals():  # (a Ctrl-C between these steps would leave the later files)
            if self._holder is not None:  # first, while the flock (if any) still holds
                _unlink_if_holding(self.path, self._payload)  # ours still (json-free compare)
                self._holder = None
                checkpoint("lock:holder-file-removed")
            if self._fd is not None:
                _unflock(self._fd, self.path + ".flock")
                self._fd = None
            if self._machine_fd is not None and self._machine_path is not None:
                _unflock(self._machine_fd, self._machine_path)
                self._machine_fd = None


def _before_boot(path: str) -> bool:
    """Whether ``path`` (a lock file without a readable holder: a crash kept its name, not
    its bytes) is on a local filesystem and was last written before this machine booted: no
    process of this boot made it, and none writes it now. (Only where this machine's clock
    stamps it: on a share, another machine may be writing it, stamped by the server's.)"""
    from anyvenv.fs.processes import boot_time

    booted = boot_time()
    if booted is None:
        return False
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if st.st_mtime >= booted:
        return False
    return not uses_lock_file(os.path.dirname(path) or ".")


def _unflock(fd: int, path: str) -> None:
    """Let go of a flock taken by :meth:`ShareLock._flock`: the file is removed while still
    held (see the module doc; another user's, in /tmp, stays), then unlocked and closed."""
    try:
        os.unlink(path)
        busy = False
    except OSError as exc:
        busy = exc.errno == errno.EBUSY  # (SMB: a file held open cannot be removed)
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError:
        pass
    os.close(fd)
    if busy:  # (another holder that opened it since keeps it: EBUSY again, it stays)
        _unlink_once_closed(path)


def _open_flock_file(path: str) -> int:
    refused: PermissionError | None = None
    for _ in range(3):  # (a turn more: another user's file went between our two opens)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except PermissionError as exc:
            # another user's (its holder's, or left by one killed): flock needs no writing;
            # none there, the directory is not ours to write
            refused = exc
            try:
                return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # (or its holder let go and removed it: made anew, as ours)
            except OSError:
                raise exc from None
        _readable_by_all(fd)
        return fd
    assert refused is not None
    raise refused


def _readable_by_all(file: int | str) -> None:
    """A lock file (an open one, by its fd) or holder file of ours made 0644 whatever the
    umask (077 made it 0600): other users must open it to wait for its flock, and read who
    holds it (a holder file they cannot read would look unwritten, and be taken for stale
    after the grace period while its holder runs)."""
    try:
        info = os.fstat(file) if isinstance(file, int) else os.lstat(file)
        if info.st_uid != os.geteuid() or info.st_mode & 0o044 == 0o044:
            return
        if isinstance(file, int):
            os.fchmod(file, 0o644)
        else:
            os.chmod(file, 0o644, follow_symlinks=False)
    except (OSError, NotImplementedError):  # (FAT: chmod fails; every file there is readable)
        pass


def _still_named(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


# A FUSE daemon (libfuse's high-level API, as sshfs and faultfs use) keeps a file unlinked
# while open as .fuse_hiddenNNN until its release. A file unlinked just after its close can
# race that release (close() does not wait for it) and stay hidden for good, keeping its
# directory from being removed; unlinked while held open, it is hidden until this process's
# own close, and removed when that release reaches the daemon, a moment later. So the files
# of a lock are unlinked while open (and a directory emptied of them is removed with
# anyvenv.fs.remove.while_fuse_holds, which waits for that moment).


def _unlink_while_open(path: str) -> None:
    from anyvenv.fs.atomic import unlink_while_open

    try:
        unlink_while_open(path)
    except OSError:
        pass


def _unlink_if_holding(path: str, payload: bytes) -> None:
    """Remove ``path`` if it holds ``payload`` (read and removed through one open)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    ours = False
    try:
        ours = os.read(fd, 4096) == payload
        if ours:
            os.unlink(path)
            ours = False  # (gone)
    except OSError as exc:
        ours = ours and exc.errno == errno.EBUSY  # (SMB: removed once closed, below)
    finally:
        os.close(fd)
    if ours:
        _unlink_once_closed(path)


def _unlink_once_closed(path: str) -> None:
    from anyvenv.fs.atomic import unlink_once_closed

    try:
        unlink_once_closed(path)
    except OSError:
        pass


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
