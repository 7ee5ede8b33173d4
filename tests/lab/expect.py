"""Measured behaviour of each lab kind; tests/test_lab.py checks it on every run.

Values: "ok", "no" (call succeeded, effect missing) or the errno name of the
failing call. Measured on Debian 12 (kernel 6.x, libfuse 3.14, sshfs 3.7.3,
exfat-fuse 1.3.0, ntfs-3g 2022.10.3, fusefat 0.1a, OpenSSH 9.2, Samba 4.17, smbnetfs 0.6.3,
rclone 1.60.1).
"""

from __future__ import annotations

from lab.probe import PROBE_KEYS

ALL_OK: dict[str, str] = {key: "ok" for key in PROBE_KEYS}
# what an ordinary filesystem does: all "ok", but a file made without exec bits is not run
TYPICAL: dict[str, str] = {**ALL_OK, "exec_by_default": "no"}
EVERY_FILE_EXECUTABLE = {"exec_by_default": "ok"}
SYMLINK_KEYS = ("symlink_create", "symlink_relative", "symlink_dotdot", "symlink_absolute")
READ_BACK_KEYS = SYMLINK_KEYS[1:]


def _no_symlinks(errno_name: str) -> dict[str, str]:
    return dict.fromkeys(SYMLINK_KEYS, errno_name)


def _unreadable_links(errno_name: str) -> dict[str, str]:
    return dict.fromkeys(READ_BACK_KEYS, errno_name)


_DIFFERENCES: dict[str, dict[str, str]] = {
    "local": {},
    "faultfs:passthrough": {},
    "faultfs:symlink-eopnotsupp": _no_symlinks("EOPNOTSUPP"),
    "faultfs:symlink-eperm": _no_symlinks("EPERM"),
    "faultfs:symlink-enosys": _no_symlinks("ENOSYS"),
    "faultfs:symlink-eio": _no_symlinks("EIO"),
    "faultfs:readlink-eacces": _unreadable_links("EACCES"),
    "faultfs:link-eperm": {"hardlink": "EPERM"},
    "faultfs:link-exdev": {"hardlink": "EXDEV"},
    "faultfs:chmod-ignored": {"chmod": "no"},
    "faultfs:chmod-enosys": {"chmod": "ENOSYS"},
    "faultfs:mode-0755": {"chmod": "no", **EVERY_FILE_EXECUTABLE},
    "faultfs:mode-0644": {"chmod": "no", "exec": "EACCES"},
    "faultfs:cifs-like": {**_no_symlinks("EOPNOTSUPP"), "chmod": "no", **EVERY_FILE_EXECUTABLE},
    "faultfs:lock-enolck": {"flock": "ENOLCK", "fcntl_lock": "ENOLCK"},
    # exfat-fuse: mode always 0777, chmod a silent no-op, names case-insensitive
    "exfat": {
        **_no_symlinks("ENOSYS"),
        "hardlink": "EPERM",
        "chmod": "no",
        "case_sensitive": "no",
        **EVERY_FILE_EXECUTABLE,
    },
    # ntfs-3g without its `permissions` option: links of every kind and hard links work, every
    # file has mode 0777 and chmod is a silent no-op
    "ntfs": {"chmod": "no", **EVERY_FILE_EXECUTABLE},
    # fusefat: chmod fails ENOSYS (pip and uv fail writing scripts there); a renamed
    # directory comes out empty
    "fat": {
        **_no_symlinks("ENOSYS"),
        "hardlink": "EPERM",
        "chmod": "ENOSYS",
        "case_sensitive": "no",
        "dir_rename": "no",
        **EVERY_FILE_EXECUTABLE,  # mode 0755 for every file
    },
    # Debian's sshfs (contain_symlinks by default): any link can be made, but reading
    # one whose target is absolute or holds ".." fails with EPERM. Locks are local to
    # the client (flock/fcntl "ok" only within one mount; no locking across hosts).
    "sshfs": {"symlink_dotdot": "EPERM", "symlink_absolute": "EPERM"},
    "sshfs-nosymlink": _no_symlinks("EACCES"),  # sftp-server -P symlink
    "sshfs-noreadlink": _unreadable_links("EACCES"),  # sftp-server -P readlink
    # Samba's defaults through smbnetfs (libsmbclient, SMB3, no Unix extensions): no links,
    # modes made from DOS attributes (chmod a silent no-op), names case-insensitive, a file
    # held open cannot be renamed (nor removed: EBUSY)
    "smb": {
        **_no_symlinks("ENOSYS"),
        "hardlink": "EPERM",
        "chmod": "no",
        "case_sensitive": "no",
        "rename_open": "EBUSY",  # (opened without FILE_SHARE_DELETE)
        **EVERY_FILE_EXECUTABLE,
    },
    # rclone mount of a local directory, --vfs-cache-mode writes --file-perms 0755: no links
    # of either kind (EIO), every file 0755 (chmod a silent no-op); a file in a renamed
    # directory cannot be read until rclone has uploaded it, some 5 s later (EIO)
    "rclone": {
        **_no_symlinks("EIO"),
        "hardlink": "EIO",
        "chmod": "no",
        "dir_rename": "EIO",
        **EVERY_FILE_EXECUTABLE,
    },
}

EXPECT: dict[str, dict[str, str]] = {
    kind: {**TYPICAL, **differences} for kind, differences in _DIFFERENCES.items()
}
"""What a correct probe reports, per kind."""

CAN_EXECUTE: dict[str, bool] = {"faultfs:mode-0644": False}
"""Kinds where no file can be executed (absent: True)."""

FSTYPE: dict[str, str] = {
    **{kind: "fuse.faultfs" for kind in _DIFFERENCES if kind.startswith("faultfs:")},
    "faultfs:readonly": "fuse.faultfs",
    "faultfs:hang-symlink": "fuse.faultfs",
    "faultfs:eio-after-writes": "fuse.faultfs",
    "exfat": "fuseblk",
    "ntfs": "fuseblk",
    "fat": "fuse.fusefat",
    "sshfs": "fuse.sshfs",
    "sshfs-nosymlink": "fuse.sshfs",
    "sshfs-noreadlink": "fuse.sshfs",
    "sshfs-pair-a": "fuse.sshfs",
    "sshfs-pair-b": "fuse.sshfs",
    "sshfs-nocache-pair-a": "fuse.sshfs",
    "sshfs-nocache-pair-b": "fuse.sshfs",
    "smb": "fuse.smbnetfs",
    "rclone": "fuse.rclone",
    "rclone-off": "fuse.rclone",
}
"""fstype in /proc/self/mountinfo per kind ("local" depends on the machine)."""
