"""Fault modes of faultfs: what each mode breaks (pure data, no FUSE import)."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Literal

ChmodBehaviour = Literal["honour", "ignore", "fail"]

NOBODY_ID = 65534


@dataclass(frozen=True)
class FaultSpec:
    """How one faultfs mode deviates from a plain passthrough."""

    symlink_errno: int | None = None
    """symlink() fails with this errno."""
    readlink_errno: int | None = None
    """readlink() fails with this errno; links are then shown owned by nobody."""
    link_errno: int | None = None
    """link() (hard link) fails with this errno."""
    chmod: ChmodBehaviour = "honour"
    chmod_errno: int = errno.ENOSYS
    """errno of chmod when chmod is "fail"."""
    file_mode: int | None = None
    """Every regular file is reported with these permission bits."""
    dir_mode: int | None = None
    """Every directory is reported with these permission bits."""
    lock_errno: int | None = None
    """flock() and fcntl locks fail with this errno."""
    readonly: bool = False
    """Every modifying operation fails with EROFS (the fs says so, not the kernel)."""
    symlink_hangs: bool = False
    """symlink() never answers (a hung server): the caller waits until the mount goes away.
    Nor does looking up a name that starts with HANG_NAME_PREFIX (a stat of a project on
    the hung mount)."""
    write_budget: bool = False
    """write() fails with EIO once the budget in WRITE_BUDGET_FILE (in the backing root:
    a number of write calls still allowed) is spent; without that file writes never fail."""
    absolute_symlink_errno: int | None = None
    """symlink() of an absolute target fails with this errno (relative ones are made)."""
    link_copies: bool = False
    """link() succeeds but makes a copy, not a second name of the file (as some servers
    emulate hard links)."""
    absolute_readlink_rewritten: bool = False
    """readlink() of an absolute target answers it relative to the link, as if the mount's
    root were /: what sshfs's transform_symlinks shows (the link then leads nowhere)."""
    latency_seconds: float = 0.0
    """Every operation answers after this long (a share far away: each one answered, slowly)."""
    dir_rename_errno: int | None = None
    """rename() of a directory fails with this errno (files are renamed): the step that
    measures whether a renamed directory keeps its files fails, as on a failing share."""
    busy_while_open: bool = False
    """unlink() or rename() of a file that is open (by anyone) fails with EBUSY, and so does
    a rename over one: SMB through libsmbclient (smbnetfs, gvfs-smb), where the server holds
    an open file's name."""


HANG_NAME_PREFIX = "never-answers"
"""In symlink_hangs modes, any lookup of a name starting with this hangs too."""

WRITE_BUDGET_FILE = ".faultfs-write-budget"
"""The control file of write_budget modes, in the backing directory's root."""


MODES: dict[str, FaultSpec] = {
    "passthrough": FaultSpec(),
    "symlink-eopnotsupp": FaultSpec(symlink_errno=errno.EOPNOTSUPP),
    "symlink-eperm": FaultSpec(symlink_errno=errno.EPERM),
    "symlink-enosys": FaultSpec(symlink_errno=errno.ENOSYS),
    "symlink-eio": FaultSpec(symlink_errno=errno.EIO),
    "readlink-eacces": FaultSpec(readlink_errno=errno.EACCES),
    "link-eperm": FaultSpec(link_errno=errno.EPERM),
    "link-exdev": FaultSpec(link_errno=errno.EXDEV),
    "chmod-ignored": FaultSpec(chmod="ignore"),
    "chmod-enosys": FaultSpec(chmod="fail", chmod_errno=errno.ENOSYS),
    "mode-0755": FaultSpec(chmod="ignore", file_mode=0o755, dir_mode=0o755),
    "mode-0644": FaultSpec(chmod="ignore", file_mode=0o644, dir_mode=0o755),
    "cifs-like": FaultSpec(
        symlink_errno=errno.EOPNOTSUPP, chmod="ignore", file_mode=0o755, dir_mode=0o755
    ),
    "lock-enolck": FaultSpec(lock_errno=errno.ENOLCK),
    "readonly": FaultSpec(readonly=True),
    "hang-symlink": FaultSpec(symlink_hangs=True),
    "eio-after-writes": FaultSpec(write_budget=True),
    "absolute-symlink-eperm": FaultSpec(absolute_symlink_errno=errno.EPERM),
    "absolute-readlink-rewritten": FaultSpec(absolute_readlink_rewritten=True),
    "link-copies": FaultSpec(link_copies=True),
    "link-eio": FaultSpec(link_errno=errno.EIO),  # (rclone's answer to link())
    "busy-while-open": FaultSpec(busy_while_open=True),
    "slow-20ms": FaultSpec(latency_seconds=0.02),
    "dir-rename-eio": FaultSpec(dir_rename_errno=errno.EIO),
}
"""Every faultfs mode by name."""

SPECIAL_MODES = frozenset(
    {
        "readonly",
        "hang-symlink",
        "eio-after-writes",
        "absolute-symlink-eperm",
        "absolute-readlink-rewritten",
        "link-copies",
        "link-eio",
        "busy-while-open",
        "slow-20ms",
        "dir-rename-eio",
    }
)
"""Modes that are not a filesystem to build on (lab.ALL_KINDS leaves them out): reached
through Lab.readonly_target, Lab.hung_target and Lab.eio_target, and the link faults through
Lab.target("faultfs:MODE")."""
