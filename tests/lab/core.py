"""The test lab: real mounts (faultfs modes, exFAT, NTFS, FAT, sshfs, SMB, rclone, tmpfs,
overlay) made on demand."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from lab.expect import CAN_EXECUTE, EXPECT
from lab.faults import MODES, SPECIAL_MODES, WRITE_BUDGET_FILE
from lab.mounts import (
    ActiveMount,
    LabUnavailable,
    abort_fuse_connection,
    mount_entry,
    require_fuse,
    require_overlay,
    require_programs,
    require_root,
    run,
    start_mount_process,
)
from lab.smbd import SambaServer
from lab.sshd import SFTP_SERVER, SshServer

LAB_DIR = Path(__file__).resolve().parent
TESTS_DIR = LAB_DIR.parent

FAULT_KINDS = [f"faultfs:{mode}" for mode in MODES if mode not in SPECIAL_MODES]
SSHFS_KINDS = ["sshfs", "sshfs-nosymlink", "sshfs-noreadlink"]
ALL_KINDS = ["local", *FAULT_KINDS, "exfat", "ntfs", "fat", *SSHFS_KINDS, "smb", "rclone"]
"""Every kind a venv should be tried on; a test parametrized over it runs once per kind."""

IMAGE_SIZE = 256 * 1024 * 1024
LAB_PARENT = "/tmp"
LAB_PREFIX = "anyvenv-lab-"
OWNER_FILE = "owner"
SSHFS_NO_CACHE = (
    "dir_cache=no",
    "attr_timeout=0",
    "entry_timeout=0",
    "negative_timeout=0",
)
SFTP_DENY = {
    "sshfs-nosymlink": f"{SFTP_SERVER} -P symlink",
    "sshfs-noreadlink": f"{SFTP_SERVER} -P readlink",
}

RCLONE_CACHE_MODES = {"rclone": "writes", "rclone-off": "off"}
"""rclone's --vfs-cache-mode per lab mount ("writes": what its docs advise for programs that
write files; "off": a special mount, where a file reopened for writing loses its writes)."""

HUNG_KIND = "faultfs:hang-symlink"
HUNG_TARGETS_PER_MOUNT = 2
"""Targets a hung mount hands out before a new one is made (see :meth:`Lab.hung_target`)."""

OnUnavailable = Callable[[str, LabUnavailable], NoReturn]


@dataclass(frozen=True)
class Op:
    """One operation a faultfs mount answered (see :meth:`Lab.count_ops`)."""

    pid: int
    """The process that asked (its thread group: every thread of a process counts as it)."""
    name: str
    """The FUSE operation: getattr (a lookup or a stat), opendir, readdir, open, read, ..."""
    path: str
    """Its first path, on the mount (mount root + the path FUSE gives), or "" for none (an
    operation on an open file)."""


@dataclass
class OpTrace:
    """The operations of a faultfs mount during a ``with lab.count_ops(kind)`` block, filled
    in when the block ends."""

    ops: list[Op] = field(default_factory=list)

    def count(
        self, name: str | None = None, under: Path | str | None = None, pid: int | None = None
    ) -> int:
        """How many operations were ``name`` (any, if None), on ``under`` or a path below
        it (any path, if None), asked by process ``pid`` (any, if None)."""
        return len(self.select(name, under, pid))

    def select(
        self, name: str | None = None, under: Path | str | None = None, pid: int | None = None
    ) -> list[Op]:
        prefix = None if under is None else str(under).rstrip("/")
        return [
            op
            for op in self.ops
            if (name is None or op.name == name)
            and (pid is None or op.pid == pid)
            and (prefix is None or op.path == prefix or op.path.startswith(prefix + "/"))
        ]


@dataclass(frozen=True)
class LabMount:
    """One mounted filesystem of the lab and what it is measured to do."""

    kind: str
    root: Path
    fstype: str
    """As /proc/self/mountinfo shows it, e.g. "fuse.faultfs", "fuseblk", "fuse.sshfs"."""
    can_execute: bool
    """Can any file on it be executed?"""
    expect: dict[str, str] = field(default_factory=dict)
    """What a correct probe reports (keys of lab.probe.PROBE_KEYS)."""
    source: str = ""
    """What is mounted: backing directory, image, or remote directory."""
    mount_seconds: float = 0.0


def _raise(kind: str, error: LabUnavailable) -> NoReturn:
    raise error


class Lab:
    """Mounts each kind once per session, on first use; ``close`` undoes everything."""

    def __init__(self, on_unavailable: OnUnavailable = _raise, base: Path | None = None) -> None:
        self._on_unavailable = on_unavailable
        self._base = base
        self._owns_base = base is None
        self._lock = threading.RLock()
        self._mounts: dict[str, LabMount] = {}
        self._active: list[ActiveMount] = []
        self._status: dict[str, str] = {}
        self._failures: dict[str, LabUnavailable] = {}
        self._dropped: dict[str, str] = {}  # kind: why its mount was taken down early
        self._counter = itertools.count(1)
        self._hung_targets = 0  # handed out from the hung mount now up
        self._sshd: SshServer | None = None
        self._smbd: SambaServer | None = None
        self._closed = False
        atexit.register(self.close)

    # -- public API ------------------------------------------------------
    @property
    def base(self) -> Path:
        """The lab's own temp dir (/tmp/anyvenv-lab-XXXX): images, mount points, backing dirs."""
        if self._base is None:
            reap_stale_labs()
            self._base = Path(tempfile.mkdtemp(prefix=LAB_PREFIX, dir=LAB_PARENT))
            (self._base / OWNER_FILE).write_text(_process_identity(os.getpid()))
        return self._base

    def mount(self, kind: str) -> LabMount:
        """The mount of ``kind`` (one of ALL_KINDS, or "faultfs:readonly"), made on first use."""
        with self._lock:
            if kind not in self._mounts:
                self._mounts[kind] = self._make_recorded(kind, lambda: self._make(kind))
            return self._mounts[kind]

    def target(self, kind: str, name: str = "t") -> Path:
        """A fresh empty directory on the mount of ``kind``."""
        return self._fresh_dir(self.mount(kind).root, name)

    def outside_file(self) -> Path:
        """A file on the local disk, outside every mount (an absolute symlink target)."""
        path = self.base / "outside" / "target.txt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"anyvenv-lab\n")
        return path

    def sshfs_pair(self, cached: bool = True) -> tuple[LabMount, LabMount]:
        """Two sshfs mounts (separate sshfs processes and SSH connections) of one directory,
        as two hosts sharing a home would see it. Write through one, read through the other.

        ``cached=True``: Debian's defaults (sshfs keeps names and attributes up to 20 s,
        the kernel 1 s), so one side may see the other's changes late, as real hosts do.
        ``cached=False``: no sshfs or kernel caching, every change is seen at once.
        """
        prefix = "sshfs-pair" if cached else "sshfs-nocache-pair"
        with self._lock:
            pair = tuple(self.mount_special(f"{prefix}-{side}") for side in "ab")
            return pair[0], pair[1]

    def readonly_target(self, populate: Callable[[Path], object] | None = None) -> Path:
        """A fresh directory on a faultfs mount whose every change fails with EROFS.

        ``populate`` gets the same directory writable (the backing store) to put content in.
        """
        mount = self.mount("faultfs:readonly")
        backing_dir = self._fresh_dir(Path(mount.source), "ro")
        if populate is not None:
            populate(backing_dir)
        return mount.root / backing_dir.name

    def small_target(self, size_kib: int = 1024) -> Path:
        """A fresh directory on a tiny filesystem of its own (a new tmpfs each call, so what
        one ENOSPC test leaves behind cannot fill the next one's), for ENOSPC tests."""
        mount = self.mount_special(f"tmpfs-{size_kib}k-{next(self._counter)}")
        return self._fresh_dir(mount.root, "small")

    def overlay_target(
        self,
        populate: Callable[[Path], object] | None = None,
        *,
        redirect_dir: bool = False,
        fuse: bool = False,
    ) -> Path:
        """A fresh directory on a new overlay mount (kernel overlayfs; ``fuse``:
        fuse-overlayfs) whose lower layer holds what ``populate`` put there: it gets the
        returned path before anything is mounted over it (a plain directory on the lab's
        disk then), as an image layer built at the path a container sees. Renaming a directory
        that has a part in the lower layer fails with EXDEV (kernel: with ``redirect_dir``
        off, the default of many kernels and of Docker's overlay2; fuse-overlayfs always);
        directories made since rename. A new mount each call, unmounted by ``close``."""
        name = f"{'fuse-overlayfs' if fuse else 'overlay'}-{next(self._counter)}"
        with self._lock:
            self._mounts[name] = self._make_recorded(
                name, lambda: self._make_overlay(name, populate, redirect_dir, fuse)
            )
            return self._mounts[name].root / "t"

    def hung_target(self) -> Path:
        """A fresh directory on a faultfs mount where symlink() never answers (a hung
        server); everything else works. The lab unmounts it by aborting its connection.
        Every call that hangs keeps one of the FUSE server's threads (libfuse runs at most
        10): after :data:`HUNG_TARGETS_PER_MOUNT` targets a new mount is made, so the calls
        that hung for earlier tests cannot leave a later one's unanswered."""
        with self._lock:
            self._hung_targets += 1
            renew = self._hung_targets > HUNG_TARGETS_PER_MOUNT
            if renew:
                self._hung_targets = 1
        if renew:
            self._drop(HUNG_KIND, "renewed: the calls of earlier tests held its threads")
        mount = self.mount(HUNG_KIND)
        backing_dir = self._fresh_dir(Path(mount.source), "hung")
        return mount.root / backing_dir.name

    @contextlib.contextmanager
    def hung_watchdog(self, seconds: float) -> Iterator[threading.Event]:
        """Bound a test on the hung mount: if it has not ended within ``seconds`` (a
        regression left something waiting on the mount with no bound of its own, where not
        even SIGKILL frees a process), abort the mount's connection. Every pending call then
        fails (ENOTCONN) and the test can end; the event yielded says the watchdog fired. The
        aborted mount is unmounted on leaving, and the next ``hung_target`` mounts a new one."""
        fired = threading.Event()

        def abort() -> None:  # (no lab lock: the stuck thread may be holding it)
            mount = self._mounts.get(HUNG_KIND)
            if mount is not None and abort_fuse_connection(mount.root):
                fired.set()

        timer = threading.Timer(seconds, abort)
        timer.daemon = True
        timer.start()
        try:
            yield fired
        finally:
            timer.cancel()
            timer.join()
            if fired.is_set():
                self._drop(HUNG_KIND, f"aborted after a test hung for {seconds:g}s")

    @contextlib.contextmanager
    def count_ops(self, kind: str) -> Iterator[OpTrace]:
        """The operations the faultfs mount of ``kind`` answers during the block (the trace
        yielded is filled in when it ends): round trips to a share, counted without a clock.
        A lookup the kernel answers from its cache (an entry or attributes seen in the last
        second) never reaches the mount; release and releasedir are sent without waiting
        and may come after the block. Blocks of one mount must not overlap."""
        if not kind.startswith("faultfs:"):
            raise ValueError(f"only faultfs mounts trace their operations, not {kind!r}")
        mount = self.mount(kind)
        trace, ops = self._trace_file(kind), OpTrace()
        trace.write_bytes(b"")
        try:
            yield ops
        finally:
            recorded = trace.read_bytes()
            trace.unlink()
            root = str(mount.root)
            for line in recorded.decode("utf-8", "surrogateescape").splitlines():
                pid, name, path = line.split(" ", 2)
                ops.ops.append(Op(int(pid), name, "" if path == "-" else root + path.rstrip("/")))

    def bind_target(
        self, options: str = "", source: Path | None = None, over: bool = False
    ) -> Path:
        """A bind mount (``mount --bind``, then ``mount -o remount,bind,OPTIONS``: "noexec",
        "nosymfollow", "ro", comma-separated) of a fresh directory on the local disk, or of
        ``source``: the same filesystem and device number as its source, but another mount
        (a hard link between the two fails with EXDEV). Mounted at a fresh mount point, or
        with ``over`` on ``source`` itself (the same path, seen through the new mount).
        Unmounted by :meth:`close`, or before by :meth:`unbind`."""
        require_root("bind mount")
        with self._lock:
            if source is None:
                (self.base / "bind-sources").mkdir(exist_ok=True)
                source = self._fresh_dir(self.base / "bind-sources", "b")
            if over:
                mountpoint = source
            else:
                (self.base / "mnt").mkdir(exist_ok=True)
                mountpoint = self._fresh_dir(self.base / "mnt", "bind")
            run(["mount", "--bind", source, mountpoint])
            active = _BindMount(mountpoint)
            self._active.append(active)
            if options:
                run(["mount", "-o", f"remount,bind,{options}", mountpoint])
            return mountpoint

    def unbind(self, mountpoint: Path) -> None:
        """Undo the last :meth:`bind_target` mounted at ``mountpoint`` (what it covered, a
        directory or another mount, shows again)."""
        with self._lock:
            for active in reversed(self._active):
                if isinstance(active, _BindMount) and active.mountpoint == mountpoint:
                    active.unmount()
                    self._active.remove(active)
                    return
            raise ValueError(f"no bind mount of the lab's at {mountpoint}")

    def eio_target(self) -> tuple[Path, Callable[[int | None], None]]:
        """A fresh directory on a faultfs mount whose writes fail with EIO once a budget is
        spent, and the function that sets it: ``set_budget(n)`` allows ``n`` more write
        calls (on the whole mount), ``set_budget(None)`` lifts the limit."""
        mount = self.mount("faultfs:eio-after-writes")
        backing = Path(mount.source)
        control = backing / WRITE_BUDGET_FILE

        def set_budget(writes: int | None) -> None:
            if writes is None:
                control.unlink(missing_ok=True)
                return
            temp = control.with_name(control.name + ".new")
            temp.write_text(f"{writes}\n")
            os.replace(temp, control)  # a new inode: faultfs re-reads it

        set_budget(None)
        return mount.root / self._fresh_dir(backing, "eio").name, set_budget

    def noexec_or_0644_target(self) -> Path:
        """A fresh directory where nothing can be executed (every file shown 0644)."""
        return self.target("faultfs:mode-0644")

    def mount_special(self, name: str) -> LabMount:
        """Mounts outside ALL_KINDS: "sshfs-pair-{a,b}", "sshfs-nocache-pair-{a,b}",
        "fat-root" (a FAT volume of its own), "rclone-off" (rclone with --vfs-cache-mode
        off), "tmpfs-<N>k[-<n>]"."""
        with self._lock:
            if name not in self._mounts:
                self._mounts[name] = self._make_recorded(name, lambda: self._make_special(name))
            return self._mounts[name]

    def special_target(self, name: str) -> Path:
        """A fresh empty directory on the special mount ``name`` (see :meth:`mount_special`)."""
        return self._fresh_dir(self.mount_special(name).root, "t")

    def status(self) -> dict[str, str]:
        """Per kind tried: "mounted (0.3s)" or "not mounted: why"."""
        return dict(self._status)

    def summary(self) -> str:
        if not self._status:
            return "lab mounts: none requested"
        return "lab mounts: " + ", ".join(f"{kind} {state}" for kind, state in self._status.items())

    def close(self) -> None:
        """Unmount everything (newest first), stop sshd, remove the temp dir. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for active in reversed(self._active):
                with contextlib.suppress(Exception):
                    active.unmount()
            for server in (self._sshd, self._smbd):
                if server is not None:
                    server.stop()
            if self._owns_base and self._base is not None and self._nothing_mounted_below():
                shutil.rmtree(self._base, ignore_errors=True)

    def _drop(self, kind: str, why: str) -> None:
        """Unmount the mount of ``kind`` and forget it: the next use mounts a new one."""
        with self._lock:
            mount = self._mounts.pop(kind, None)
            if mount is None:
                return
            for active in [a for a in self._active if a.mountpoint == mount.root]:
                with contextlib.suppress(Exception):
                    active.unmount()
                self._active.remove(active)
            self._status[kind] = self._dropped[kind] = why

    # -- making mounts ---------------------------------------------------
    def _make_recorded(self, kind: str, make: Callable[[], LabMount]) -> LabMount:
        if self._closed:
            raise RuntimeError("the lab is closed")
        if kind in self._failures:  # tried once this session: do not wait for it again
            self._on_unavailable(kind, self._failures[kind])
        try:
            mount = make()
        except LabUnavailable as error:
            self._failures[kind] = error
            self._status[kind] = f"not mounted: {error.reason}"
            self._on_unavailable(kind, error)
        self._status[kind] = f"mounted ({mount.mount_seconds:.2f}s)"
        if kind in self._dropped:
            self._status[kind] += f", again after the first was {self._dropped[kind]}"
        return mount

    def _make(self, kind: str) -> LabMount:
        if kind == "local":
            root = self.base / "local"
            root.mkdir(exist_ok=True)
            return self._describe(kind, root, fstype=_fstype_of(root), source=str(root))
        if kind.startswith("faultfs:") and kind.removeprefix("faultfs:") in MODES:
            return self._make_faultfs(kind, kind.removeprefix("faultfs:"))
        if kind == "exfat":
            return self._make_exfat()
        if kind == "ntfs":
            return self._make_ntfs()
        if kind == "fat":
            return self._make_fat(kind, IMAGE_SIZE, ["-F", "32"])
        if kind in SSHFS_KINDS:
            return self._make_sshfs(kind, kind, SFTP_DENY.get(kind))
        if kind == "smb":
            return self._make_smb(kind)
        if kind == "rclone":
            return self._make_rclone(kind)
        raise LabUnavailable(f"unknown lab kind {kind!r}")

    def _make_special(self, name: str) -> LabMount:
        if name in ("sshfs-pair-a", "sshfs-pair-b"):
            return self._make_sshfs(name, "sshfs-pair", None, expect_as="sshfs")
        if name in ("sshfs-nocache-pair-a", "sshfs-nocache-pair-b"):
            return self._make_sshfs(
                name, "sshfs-nocache-pair", None, expect_as="sshfs", extra=SSHFS_NO_CACHE
            )
        if name == "rclone-off":
            return self._make_rclone(name)
        if name == "fat-root":  # (its root is probed, where a crash of fusefat harms no other)
            return self._make_fat(name, IMAGE_SIZE, ["-F", "32"], expect_as="fat")
        if name.startswith("tmpfs-"):
            size = name[len("tmpfs-") :].split("-")[0]
            if size.endswith("k") and size[:-1].isdigit():
                return self._make_tmpfs(name, int(size[:-1]))
        raise LabUnavailable(f"unknown special lab mount {name!r}")

    def _describe(
        self,
        kind: str,
        root: Path,
        fstype: str,
        source: str,
        seconds: float = 0.0,
        expect_as: str | None = None,
    ) -> LabMount:
        table = expect_as or kind
        return LabMount(
            kind=kind,
            root=root,
            fstype=fstype,
            can_execute=CAN_EXECUTE.get(table, True),
            expect=dict(EXPECT.get(table, {})),
            source=source,
            mount_seconds=seconds,
        )

    def _track(self, kind: str, active: ActiveMount, source: str, **kw: str) -> LabMount:
        self._active.append(active)
        entry = mount_entry(active.mountpoint)
        if entry is None:
            raise LabUnavailable(f"{kind}: mount vanished right after mounting")
        return self._describe(kind, active.mountpoint, entry[0], source, active.seconds, **kw)

    def _mountpoint(self, name: str) -> Path:
        path = self.base / "mnt" / name.replace(":", "-")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _make_faultfs(self, kind: str, mode: str) -> LabMount:
        require_fuse()
        backing = self.base / "backing" / mode
        backing.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
        mountpoint = self._mountpoint(kind)
        command = [
            sys.executable,
            "-m",
            "lab.faultfs",
            str(backing),
            str(mountpoint),
            "--mode",
            mode,
            "--trace",
            str(self._trace_file(kind)),
        ]
        active = start_mount_process(command, mountpoint, self._log(kind), env=env)
        return self._track(kind, active, str(backing))

    def _make_exfat(self) -> LabMount:
        """exfat-fuse always asks for a block device (its 'blkdev' option): a loop device."""
        require_programs("mkfs.exfat", "mount.exfat-fuse")
        return self._make_on_loop_device("exfat", ["mkfs.exfat"], ["mount.exfat-fuse"])

    def _make_ntfs(self) -> LabMount:
        """ntfs-3g, as a Linux machine mounts an NTFS drive, on a loop device (fuseblk)."""
        require_programs("mkntfs", "ntfs-3g")
        return self._make_on_loop_device(
            "ntfs", ["mkntfs", "--force", "--quick", "--quiet"], ["ntfs-3g"]
        )

    def _make_on_loop_device(self, kind: str, mkfs: list[str], mount: list[str]) -> LabMount:
        """An image made by ``mkfs IMAGE``, on a loop device mounted by the daemonizing FUSE
        program ``mount DEVICE MOUNTPOINT``; the device is detached after the unmount."""
        require_fuse()
        require_root(f"{kind} (losetup)")
        require_programs("losetup")
        image = self._image(f"{kind}.img", IMAGE_SIZE)
        run([*mkfs, image])
        device = run(["losetup", "--find", "--show", image]).strip()
        mountpoint = self._mountpoint(kind)
        try:
            active = start_mount_process(
                [*mount, device, mountpoint], mountpoint, self._log(kind), daemonizes=True
            )
        except BaseException:
            run(["losetup", "-d", device])
            raise
        active.after_unmount.append(lambda: _detach_loop(device))
        return self._track(kind, active, str(image))

    def _make_fat(self, kind: str, size: int, mkfs_options: list[str], **describe: str) -> LabMount:
        require_fuse()
        require_programs("mkfs.fat", "fusefat")
        image = self._image(f"{kind}.img", size)
        run(["mkfs.fat", *mkfs_options, image])
        mountpoint = self._mountpoint(kind)
        # kernel_cache: fusefat 0.1a returns wrong bytes now and then when several processes
        # read at once (9 in 48000 reads of 20 files by 8 readers; none in 192000 with it)
        active = start_mount_process(
            ["fusefat", "-f", "-o", "rw+,kernel_cache", image, mountpoint],
            mountpoint,
            self._log(kind),
        )
        return self._track(kind, active, str(image), **describe)

    def _make_sshfs(
        self,
        kind: str,
        source_name: str,
        sftp_server: str | None,
        expect_as: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> LabMount:
        require_fuse()
        server = self._ssh_server()
        source = self.base / "ssh-src" / source_name
        source.mkdir(parents=True, exist_ok=True)
        mountpoint = self._mountpoint(kind)
        command = server.sshfs_command(source, mountpoint, f"sshfs-lab-{kind}", sftp_server, extra)
        active = start_mount_process(command, mountpoint, self._log(kind))
        described = {} if expect_as is None else {"expect_as": expect_as}
        return self._track(kind, active, str(source), **described)

    def _make_smb(self, kind: str) -> LabMount:
        """The share of a private smbd, through smbnetfs (see lab.smbd), bind-mounted."""
        require_fuse()
        require_root("smb (bind mount)")
        if self._smbd is None:
            self._smbd = SambaServer.start(self.base / "smbd")
        server = self._smbd
        network = self._mountpoint(f"{kind}-network")
        command, environment = server.smbnetfs_command(network)
        started = time.monotonic()
        self._active.append(start_mount_process(command, network, self._log(kind), environment))
        mountpoint = self._mountpoint(kind)
        run(["mount", "--bind", server.share_in(network), mountpoint])
        bound = ActiveMount(mountpoint, seconds=time.monotonic() - started)
        return self._track(kind, bound, str(server.share_dir))

    def _make_rclone(self, kind: str) -> LabMount:
        """A local directory through ``rclone mount`` (in the foreground: the lab stops it
        after the unmount, where it lingers uploading), with every file shown 0755 and a
        fresh cache directory of its own."""
        require_fuse()
        require_programs("rclone")
        source = self.base / "rclone-src" / kind
        source.mkdir(parents=True, exist_ok=True)
        (self.base / "rclone-cache").mkdir(exist_ok=True)
        cache = self._fresh_dir(self.base / "rclone-cache", kind)
        mountpoint = self._mountpoint(kind)
        command: list[str | os.PathLike[str]] = [
            "rclone",
            "mount",
            source,
            mountpoint,
            "--vfs-cache-mode",
            RCLONE_CACHE_MODES[kind],
            "--file-perms",
            "0755",
            "--cache-dir",
            cache,
            "--config",
            os.devnull,  # (no user's remotes or settings: a local directory needs none)
            "--log-file",
            self._log(kind),
        ]
        active = start_mount_process(command, mountpoint, self._log(kind))
        return self._track(kind, active, str(source))

    def _make_tmpfs(self, name: str, size_kib: int) -> LabMount:
        require_root("tmpfs mount")
        mountpoint = self._mountpoint(name)
        run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", name, mountpoint])
        return self._track(name, ActiveMount(mountpoint), name, expect_as="local")

    def _make_overlay(
        self,
        name: str,
        populate: Callable[[Path], object] | None,
        redirect_dir: bool,
        fuse: bool,
    ) -> LabMount:
        """The mount point is populated (``t`` in it), then becomes the lower layer: moved
        to ``<lab>/overlay/NAME/lower``, and a new empty mount point made in its place."""
        if fuse:
            require_fuse()
            require_programs("fuse-overlayfs")
        else:
            require_root("overlay mount")
            require_overlay()
        mountpoint = self._mountpoint(name)
        (mountpoint / "t").mkdir()
        if populate is not None:
            populate(mountpoint / "t")
        layers = self.base / "overlay" / name
        layers.mkdir(parents=True)
        lower, upper, work = layers / "lower", layers / "upper", layers / "work"
        os.rename(mountpoint, lower)
        upper.mkdir()
        work.mkdir()
        mountpoint.mkdir()
        options = f"lowerdir={lower},upperdir={upper},workdir={work}"
        if fuse:
            active = start_mount_process(
                ["fuse-overlayfs", "-f", "-o", options, mountpoint], mountpoint, self._log(name)
            )
        else:
            started = time.monotonic()
            options += f",redirect_dir={'on' if redirect_dir else 'off'}"
            run(["mount", "-t", "overlay", "overlay", "-o", options, mountpoint])
            active = ActiveMount(mountpoint, seconds=time.monotonic() - started)
        return self._track(name, active, str(lower), expect_as="local")

    def _ssh_server(self) -> SshServer:
        if self._sshd is None:
            self._sshd = SshServer.start(self.base / "sshd")
        return self._sshd

    # -- small helpers ---------------------------------------------------
    def _image(self, name: str, size: int) -> Path:
        image = self.base / "images" / name
        image.parent.mkdir(parents=True, exist_ok=True)
        with open(image, "wb") as stream:
            stream.truncate(size)  # sparse
        return image

    def _log(self, kind: str) -> Path:
        logs = self.base / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs / f"{kind.replace(':', '-')}.log"

    def _trace_file(self, kind: str) -> Path:
        """Where the faultfs mount of ``kind`` records its operations while it exists."""
        traces = self.base / "traces"
        traces.mkdir(parents=True, exist_ok=True)
        return traces / f"{kind.replace(':', '-')}.ops"

    def _fresh_dir(self, parent: Path, name: str) -> Path:
        path = parent / f"{name}{next(self._counter):04d}"
        path.mkdir()
        return path

    def _nothing_mounted_below(self) -> bool:
        return all(mount_entry(active.mountpoint) is None for active in self._active)


class _BindMount(ActiveMount):
    """A bind mount of the lab's: one ``umount`` undoes it (not :func:`unmount_path`, which
    would go on to unmount what a bind over a mount point covers)."""

    def unmount(self) -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["umount", str(self.mountpoint)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
                check=False,
            )


def _fstype_of(path: Path) -> str:
    """fstype of the mount containing ``path`` (longest matching mount point)."""
    best, fstype = -1, "unknown"
    resolved = str(path.resolve())
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as stream:
        for line in stream:
            fields, _, tail = line.partition(" - ")
            point = fields.split()[4]
            inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= best:
                best, fstype = len(point), tail.split()[0]
    return fstype


def _detach_loop(device: str) -> None:
    with contextlib.suppress(LabUnavailable):
        run(["losetup", "-d", device])


def _process_identity(pid: int) -> str:
    """The pid and start time of a process: tells a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stream:
            start = stream.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""
    return f"{pid} {start}"


def _owner_alive(base: Path) -> bool:
    try:
        identity = (base / OWNER_FILE).read_text().strip()
    except FileNotFoundError:
        # a lab being created right now has no owner file yet
        with contextlib.suppress(FileNotFoundError):
            return time.time() - base.stat().st_mtime < 60
        return False
    pid = identity.split()[0] if identity else ""
    return pid.isdigit() and _process_identity(int(pid)) == identity


def _mounts_below(base: Path) -> list[Path]:
    prefix = str(base) + "/"
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as stream:
        points = [line.split()[4] for line in stream]
    return [Path(point) for point in reversed(points) if point.startswith(prefix)]


def reap_stale_labs(parent: str = LAB_PARENT) -> list[Path]:
    """Unmount and remove labs left by killed sessions (owner process gone)."""
    reaped = []
    for base in Path(parent).glob(LAB_PREFIX + "*"):
        if not base.is_dir() or _owner_alive(base):
            continue
        for mountpoint in _mounts_below(base):
            ActiveMount(mountpoint).unmount()
        _stop_stale_server(base / "sshd" / "sshd.pid")
        _stop_stale_server(base / "smbd" / "run" / "smbd.pid")
        _detach_loops_below(base)
        if not _mounts_below(base):
            shutil.rmtree(base, ignore_errors=True)
            reaped.append(base)
    return reaped


def _detach_loops_below(base: Path) -> None:
    with contextlib.suppress(LabUnavailable):
        listing = run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"])
        for line in listing.splitlines():
            name, _, backing = line.strip().partition(" ")
            if backing.strip().startswith(f"{base}/"):
                _detach_loop(name)


def _stop_stale_server(pidfile: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
