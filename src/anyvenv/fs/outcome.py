"""How a probed operation turned out: ``"ok"``, ``"no"`` or the errno's name."""

from __future__ import annotations

import errno
import os

OK = "ok"
NO = "no"

# How far a file can be written the way most tools write one (ProbeResult.rewrites)
REWRITES_WORK = "works"
ONLY_NEW_FILES = "only-new-files"  # chmod fails: a new file is written, an old one not replaced
NO_REWRITES = "none"  # a file held open cannot be renamed: not even a new file is written

Outcome = str


def errno_name(code: int | None) -> str:
    """``EOPNOTSUPP`` for 95; Linux has ENOTSUP == EOPNOTSUPP and we name it as CIFS users see it."""
    if code is None:
        return "EUNKNOWN"
    if code == errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return errno.errorcode.get(code, f"E{code}")


TOO_LARGE_FIX = (
    "the file is larger than this process may write (ulimit -f) or than that filesystem "
    "takes (FAT: 4 GiB): raise the limit, or use another filesystem"
)
"""What to do about EFBIG from a write (its filesystem not full)."""


IN_USE_FIX = (
    "a program likely holds that file open, and this filesystem cannot replace or remove a "
    "file in use (as SMB through libsmbclient; or it is a mount point): end what runs from "
    "there, then run the command again"
)
"""What to do about EBUSY from a rename or a removal."""


def in_use_fix(holders: list[tuple[int, str]], what: str) -> str:
    """The fix for ``what`` refused because the programs ``holders`` run from it or hold its
    files open."""
    from anyvenv.fs.processes import holders_named

    many = len(holders) > 1
    return (
        f"{holders_named(holders)} {'run' if many else 'runs'} from {what} or "
        f"{'hold' if many else 'holds'} its files open, and this filesystem cannot move, "
        "replace or remove files in use: end what runs from it, then run the command again"
    )


def held_tree_fix(exc: OSError, tree: str, what: str) -> str | None:
    """Where ``exc`` may come from programs holding files of the directory ``tree`` (its
    python running, a file of it open): EBUSY anywhere; EACCES or EPERM where files in use
    stay (SMB refuses to rename a directory in use so, as if permission were lacking; sshfs,
    NFS or a local disk rename it, so a refusal there is about permission). The fix naming the
    programs of this host that hold it (``what``: how to call the tree); ``None`` where
    none does, or the error is another."""
    if exc.errno not in (errno.EBUSY, errno.EACCES, errno.EPERM) or not os.path.isdir(tree):
        return None
    if exc.errno != errno.EBUSY:
        from anyvenv.fs.probe import files_in_use_stay

        if not files_in_use_stay(tree):  # (sshfs, NFS, a local disk: a refusal is one)
            return None
    from anyvenv.fs.processes import holders_below

    holders = holders_below(tree)
    return in_use_fix(holders, what) if holders else None


IN_THE_WAY_FIX = (
    "something is already at that path (a directory that is not empty): look at what is "
    "there and move it away, then run the command again"
)
"""What to do about ENOTEMPTY or EEXIST from a rename: not a matter of free space."""


UNRENAMABLE_FIX = (
    "a directory there cannot be renamed (on overlayfs mounted without redirect_dir=on, one "
    "of a lower layer, such as a container image's): remove the old one yourself (rm -r), "
    "then run the command again"
)
"""What to do about EXDEV from a rename beside itself: not a matter of free space."""


def write_error_fix(code: int | None, otherwise: str) -> str:
    """What to do about a write, rename or removal that failed with ``code``:
    :data:`TOO_LARGE_FIX` for EFBIG, :data:`IN_USE_FIX` for EBUSY, :data:`IN_THE_WAY_FIX`
    for ENOTEMPTY and EEXIST, :data:`UNRENAMABLE_FIX` for EXDEV, else ``otherwise``."""
    if code == errno.EFBIG:
        return TOO_LARGE_FIX
    if code in (errno.ENOTEMPTY, errno.EEXIST):
        return IN_THE_WAY_FIX
    if code == errno.EXDEV:
        return UNRENAMABLE_FIX
    return IN_USE_FIX if code == errno.EBUSY else otherwise


def outcome_of_error(exc: OSError) -> Outcome:
    return errno_name(exc.errno)
