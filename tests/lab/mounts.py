"""Starting, watching and stopping mount processes (FUSE servers, tmpfs, overlay, loop devices)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MOUNT_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
FUSECTL = "/sys/fs/fuse/connections"


class LabUnavailable(Exception):
    """A lab mount could not be made.

    ``environmental`` is True when this machine cannot mount at all (not root,
    no /dev/fuse, a program missing): tests may skip then, unless
    ANYVENV_LAB_REQUIRED=1. Any other failure is a real error.
    """

    def __init__(self, reason: str, environmental: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.environmental = environmental


def require_programs(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise LabUnavailable(f"missing program(s): {', '.join(missing)}", environmental=True)


def require_fuse() -> None:
    if not os.path.exists("/dev/fuse"):
        raise LabUnavailable("/dev/fuse does not exist", environmental=True)
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        raise LabUnavailable("/dev/fuse is not accessible", environmental=True)
    require_programs("fusermount3")


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabUnavailable(f"{what} needs root", environmental=True)


def require_overlay() -> None:
    """The kernel's overlayfs: listed in /proc/filesystems (its module loaded, or built in)."""
    try:
        with open("/proc/filesystems", encoding="utf-8") as stream:
            listed = {line.split()[-1] for line in stream if line.strip()}
    except OSError:
        listed = set()
    if "overlay" not in listed:
        raise LabUnavailable("overlay is not in /proc/filesystems", environmental=True)


def _unescape(text: str) -> str:
    """Undo the octal escapes of /proc/self/mountinfo (\\040 for a space)."""
    return text.encode().decode("unicode_escape")


def mount_entry(mountpoint: Path) -> tuple[str, str] | None:
    """(fstype, source) of the topmost mount exactly at ``mountpoint``, or None."""
    wanted = str(mountpoint)
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as stream:
        for line in stream:
            fields, _, tail = line.partition(" - ")
            parts = fields.split()
            if len(parts) > 4 and _unescape(parts[4]) == wanted:
                tail_parts = tail.split()
                found = (tail_parts[0], _unescape(tail_parts[1]) if len(tail_parts) > 1 else "")
    return found


def run(command: Sequence[str | os.PathLike[str]], timeout: float = 120.0) -> str:
    """Run a setup command; its failure is a lab failure with the output in the message."""
    try:
        result = subprocess.run(
            [os.fspath(part) for part in command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        raise LabUnavailable(f"missing program: {error.filename}", environmental=True) from error
    if result.returncode != 0:
        shown = " ".join(os.fspath(part) for part in command)
        raise LabUnavailable(
            f"`{shown}` failed ({result.returncode}): {(result.stderr or result.stdout).strip()}"
        )
    return result.stdout


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class ActiveMount:
    """A mount made by the lab and how to undo it."""

    mountpoint: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    after_unmount: list[Callable[[], None]] = field(default_factory=list)
    seconds: float = 0.0
    """How long mounting took."""

    def unmount(self) -> None:
        unmount_path(self.mountpoint)
        if self.process is not None:
            stop_process(self.process)
        for undo in self.after_unmount:
            with contextlib.suppress(Exception):
                undo()


def unmount_path(mountpoint: Path) -> None:
    """fusermount3 -u, then umount, then a lazy umount (after aborting a FUSE connection
    that does not answer); quiet when nothing is mounted."""
    attempts = (
        ["fusermount3", "-u", "-q"],
        ["umount"],
        ["umount", "-l"],
    )
    for command in attempts:
        if mount_entry(mountpoint) is None:
            return
        if command[-1] == "-l":
            abort_fuse_connection(mountpoint)
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [*command, str(mountpoint)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=STOP_TIMEOUT,
                check=False,
            )


def abort_fuse_connection(mountpoint: Path) -> bool:
    """Abort the FUSE connection of the mount at ``mountpoint`` (every pending and later
    request fails with ENOTCONN): what ends a hung FUSE server's hold on its callers. The
    connection is found by the mount's device number in mountinfo (no stat of the mount)."""
    wanted = str(mountpoint)
    device = None
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as stream:
        for line in stream:
            parts = line.partition(" - ")[0].split()
            if len(parts) > 4 and _unescape(parts[4]) == wanted:
                device = parts[2]
    if device is None:
        return False
    connections = Path(FUSECTL)
    if mount_entry(connections) is None:  # fusectl is not always mounted
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["mount", "-t", "fusectl", "fusectl", FUSECTL],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=STOP_TIMEOUT,
                check=False,
            )
    try:
        (connections / device.split(":")[1] / "abort").write_text("1")
    except OSError:
        return False
    return True


def stop_process(process: subprocess.Popen[bytes], wait_first: bool = True) -> None:
    """Let a server end by itself (a FUSE server does after its unmount), else SIGTERM,
    else SIGKILL. ``wait_first=False`` sends SIGTERM at once."""
    steps = (
        (None, process.terminate, process.kill) if wait_first else (process.terminate, process.kill)
    )
    for signal_it in steps:
        if signal_it is not None:
            with contextlib.suppress(ProcessLookupError):
                signal_it()
        try:
            process.wait(timeout=STOP_TIMEOUT / 2)
            return
        except subprocess.TimeoutExpired:
            continue


def start_mount_process(
    command: Sequence[str | os.PathLike[str]],
    mountpoint: Path,
    log: Path,
    env: dict[str, str] | None = None,
    daemonizes: bool = False,
) -> ActiveMount:
    """Start a FUSE server and wait until its mount shows in mountinfo.

    ``daemonizes``: the program forks away and its first process exits 0 once
    mounted (exfat-fuse); otherwise it runs in the foreground and is kept.
    """
    mountpoint.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "ab") as log_stream:
        process = subprocess.Popen(
            [os.fspath(part) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=log_stream,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal must not kill it before unmount
        )
    active = ActiveMount(mountpoint, None if daemonizes else process, log)
    try:
        _wait_mounted(mountpoint, process, log, daemonizes)
    except BaseException:
        active.process = process
        active.unmount()
        raise
    active.seconds = time.monotonic() - started
    return active


def _wait_mounted(
    mountpoint: Path, process: subprocess.Popen[bytes], log: Path, daemonizes: bool
) -> None:
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while time.monotonic() < deadline:
        if mount_entry(mountpoint) is not None:
            if daemonizes:
                process.wait(timeout=MOUNT_TIMEOUT)
            return
        code = process.poll()
        if code is not None and not (daemonizes and code == 0):
            raise LabUnavailable(f"mount process exited with {code}: {_tail(log)}")
        time.sleep(0.02)
    raise LabUnavailable(f"not mounted after {MOUNT_TIMEOUT:.0f}s: {_tail(log)}")
