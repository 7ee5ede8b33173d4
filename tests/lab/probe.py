"""Raw-syscall probes of what a directory's filesystem really does.

Each probe returns "ok", "no" (the call succeeded but the effect is missing or
wrong) or the errno name of the call that failed. ``probe_all`` runs every
probe in its own fresh subdirectory; test_lab.py compares the result with each
mount's ``expect`` table. Independent of anyvenv's own probe on purpose.
"""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

OK = "ok"
NO = "no"
PAYLOAD = b"anyvenv-lab\n"

PROBE_KEYS = (
    "symlink_create",
    "symlink_relative",
    "symlink_dotdot",
    "symlink_absolute",
    "hardlink",
    "chmod",
    "exec",
    "exec_by_default",
    "case_sensitive",
    "rename_over",
    "rename_open",
    "reopen_write",
    "excl_create",
    "flock",
    "fcntl_lock",
    "dir_rename",
)


_PREFERRED_NAMES = {errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EAGAIN: "EAGAIN"}


def errno_name(error: OSError) -> str:
    """EOPNOTSUPP rather than Python's ENOTSUP for 95 (same value on Linux)."""
    code = error.errno or 0
    return _PREFERRED_NAMES.get(code) or errno.errorcode.get(code, f"errno{code}")


def _write(path: Path, data: bytes = PAYLOAD, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _guard(probe: Callable[[Path], str], work: Path) -> str:
    try:
        return probe(work)
    except OSError as error:
        return errno_name(error)


def symlink_create(work: Path) -> str:
    _write(work / "target")
    os.symlink("target", work / "link")
    return OK


def _link_reads_back(link: Path, text: str, expected_content: bytes) -> str:
    os.symlink(text, link)
    if os.readlink(link) != text:
        return NO
    try:
        content = link.read_bytes()
    except FileNotFoundError:
        return NO  # dangling: the target was rewritten on the way
    return OK if content == expected_content else NO


def symlink_relative(work: Path) -> str:
    (work / "sub").mkdir()
    _write(work / "sub" / "target")
    return _link_reads_back(work / "link", "sub/target", PAYLOAD)


def symlink_dotdot(work: Path) -> str:
    """A relative target going up with ".." (staying inside the mount)."""
    (work / "sub").mkdir()
    (work / "dir").mkdir()
    _write(work / "sub" / "target")
    return _link_reads_back(work / "dir" / "link", "../sub/target", PAYLOAD)


def symlink_absolute(work: Path, outside: Path) -> str:
    """A link to ``outside`` (an absolute path on another filesystem)."""
    return _link_reads_back(work / "link", str(outside), outside.read_bytes())


def hardlink(work: Path) -> str:
    _write(work / "a")
    os.link(work / "a", work / "b")
    with open(work / "b", "ab") as stream:
        stream.write(b"more")
    return OK if (work / "a").read_bytes() == PAYLOAD + b"more" else NO


def chmod(work: Path) -> str:
    """Is a mode change honoured? Two changes so a fixed mode cannot pass by chance."""
    path = work / "file"
    _write(path)
    for mode in (0o700, 0o751):
        os.chmod(path, mode)
        if os.stat(path).st_mode & 0o7777 != mode:
            return NO
    return OK


def execute(work: Path) -> str:
    """Can a script created executable (mode at creation) be execve'd?"""
    script = work / "script"
    _write(script, b"#!/bin/sh\nexit 7\n", mode=0o755)
    try:
        result = subprocess.run([str(script)], check=False, timeout=30)
    except PermissionError as error:
        return errno_name(error)
    return OK if result.returncode == 7 else NO


def exec_by_default(work: Path) -> str:
    """Can a script created *without* exec bits (mode 0644) be execve'd anyway, because the
    mount gives every file exec bits? "no" where it cannot (EACCES: the usual case)."""
    script = work / "script"
    _write(script, b"#!/bin/sh\nexit 7\n", mode=0o644)
    try:
        result = subprocess.run([str(script)], check=False, timeout=30)
    except PermissionError:
        return NO
    return OK if result.returncode == 7 else NO


def case_sensitive(work: Path) -> str:
    _write(work / "Case")
    return NO if (work / "cASE").exists() else OK


def rename_over(work: Path) -> str:
    _write(work / "new", b"new")
    _write(work / "old", b"old")
    os.rename(work / "new", work / "old")
    if (work / "new").exists() or (work / "old").read_bytes() != b"new":
        return NO
    return OK


def rename_open(work: Path) -> str:
    """A file is renamed while it is held open (libsmbclient's servers refuse: EBUSY)."""
    _write(work / "held")
    fd = os.open(work / "held", os.O_RDONLY)
    try:
        os.rename(work / "held", work / "moved")
    finally:
        os.close(fd)
    return OK if (work / "moved").exists() and not (work / "held").exists() else NO


def reopen_write(work: Path) -> str:
    """A file written through a second open (O_TRUNC) while its first (O_RDWR, O_EXCL) is held
    keeps those bytes once both are closed, as uv writes what it installs (rclone without
    its VFS cache empties it when the first is closed)."""
    path = work / "reopened"
    first = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        second = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(second, PAYLOAD)
        finally:
            os.close(second)
    finally:
        os.close(first)
    return OK if path.read_bytes() == PAYLOAD else NO


def dir_rename(work: Path) -> str:
    """A renamed directory keeps what it holds, readable at once (fusefat loses it; rclone's
    VFS cache cannot read it until uploaded: EIO, or no bytes with --vfs-cache-mode full).
    It is renamed back after: rclone 1.60 brings a tree removed under its new name back on
    the remote (its bug #6809)."""
    moving, moved = work / "moving", work / "moved"
    moving.mkdir()
    _write(moving / "inside")
    os.rename(moving, moved)
    try:
        return OK if (moved / "inside").read_bytes() == PAYLOAD else NO
    except FileNotFoundError:
        return NO  # (lost with the rename: fusefat)
    finally:
        os.rename(moved, moving)


def excl_create(work: Path) -> str:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    os.close(os.open(work / "lock", flags, 0o644))
    try:
        os.close(os.open(work / "lock", flags, 0o644))
    except FileExistsError:
        return OK
    return NO


def flock(work: Path) -> str:
    """flock on one open file description must exclude a second one."""
    _write(work / "lock")
    first = os.open(work / "lock", os.O_RDWR)
    second = os.open(work / "lock", os.O_RDWR)
    try:
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            fcntl.flock(second, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return OK
        return NO
    finally:
        os.close(second)
        os.close(first)


_OTHER_PROCESS_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(3)
sys.exit(0)
"""


def fcntl_lock(work: Path) -> str:
    """A POSIX write lock must exclude another process."""
    _write(work / "lock")
    fd = os.open(work / "lock", os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        other = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS_LOCK, str(work / "lock")],
            check=False,
            timeout=60,
        )
        return OK if other.returncode == 3 else NO
    finally:
        os.close(fd)


def probe_all(directory: Path, outside: Path) -> dict[str, str]:
    """Run every probe in a fresh subdirectory of ``directory``.

    ``outside`` must be an existing file on another filesystem (the absolute
    symlink target).
    """
    probes: dict[str, Callable[[Path], str]] = {
        "symlink_create": symlink_create,
        "symlink_relative": symlink_relative,
        "symlink_dotdot": symlink_dotdot,
        "symlink_absolute": lambda work: symlink_absolute(work, outside),
        "hardlink": hardlink,
        "chmod": chmod,
        "exec": execute,
        "exec_by_default": exec_by_default,
        "case_sensitive": case_sensitive,
        "rename_over": rename_over,
        "rename_open": rename_open,
        "reopen_write": reopen_write,
        "excl_create": excl_create,
        "flock": flock,
        "fcntl_lock": fcntl_lock,
        "dir_rename": dir_rename,
    }
    results: dict[str, str] = {}
    for key in PROBE_KEYS:
        work = directory / f"probe-{key}"
        work.mkdir()
        results[key] = _guard(probes[key], work)
    return results
