"""Real-filesystem test lab for anyvenv: fault-injecting FUSE mounts, exFAT, NTFS, FAT, sshfs,
SMB (Samba through smbnetfs), rclone.

Use through the fixtures of tests/conftest.py (``lab``, ``target``, ``lab_target``).
"""

from lab.core import ALL_KINDS, FAULT_KINDS, SSHFS_KINDS, Lab, LabMount, Op, OpTrace
from lab.mounts import LabUnavailable
from lab.probe import PROBE_KEYS, probe_all

__all__ = [
    "ALL_KINDS",
    "FAULT_KINDS",
    "PROBE_KEYS",
    "SSHFS_KINDS",
    "Lab",
    "LabMount",
    "LabUnavailable",
    "Op",
    "OpTrace",
    "probe_all",
]
