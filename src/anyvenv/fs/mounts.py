"""Which mount a path lives on, read from /proc/self/mountinfo (Linux)."""

from __future__ import annotations

import os

from anyvenv.record import record

MOUNTINFO = "/proc/self/mountinfo"

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
"""Filesystems on a local block device or in memory: calls there cannot hang on a network
peer or a FUSE server, and flock there is the kernel's own."""

DEVICE_FSTYPES = frozenset(
    {
        "vfat", "msdos", "exfat", "ntfs", "ntfs3", "hfsplus", "udf", "iso9660", "squashfs",
        "fuseblk",  # (exfat-fuse, ntfs-3g: a FUSE driver of a block device)
        "fuse.fusefat",
    }
)  # fmt: skip
"""Other filesystems of a local device (a USB drive): their calls are answered at once,
though not always by the kernel alone."""

ONE_AT_A_TIME_FSTYPES = frozenset({"fuse.smbnetfs"})
"""Far filesystems whose FUSE server answers one call at a time (smbnetfs: libsmbclient, its
one connection to a server behind a lock): calls made at once only queue there, and cost
more (measured: ``check`` of a 1,400-file env, its stats by 8 threads, up to 1.5x slower)."""

NAME_MANGLING_FSTYPES = frozenset({"fuse.smbnetfs"})
"""Filesystems that take some names wrongly rather than refuse them (see
:func:`anyvenv.fs.atomic.name_taken_wrongly`): smbnetfs (libsmbclient) reads ``?`` as the
start of a URL's options (``q?x`` is made as ``q``), answers a name holding one of
``\\:*"<>|`` with EIO and then fails every call for some seconds (measured: 3 s), and stores a
name ending in a dot or a space under a mangled 8.3 name. Such names are refused before any
call is made there."""

UNRENAMABLE_TREE_FSTYPES = frozenset({"fuse.rclone"})
"""Filesystems where a directory holding files is never renamed, whatever a probe measured:
rclone's VFS cache cannot read the files of a renamed directory until it has uploaded them,
some 5 s later (EIO with ``--vfs-cache-mode writes``, no bytes with ``full``; with ``off`` or
``minimal`` a read back may pass, racing the upload), and a tree removed under its new name
comes back on the remote (rclone 1.60, its bug #6809)."""


@record
class MountInfo:
    """One line of /proc/self/mountinfo."""

    mount_point: str
    fstype: str
    source: str
    options: tuple[str, ...]
    device: str
    super_options: tuple[str, ...] = ()  # (the filesystem's own: cifs's mfsymlinks, fuse's...)

    @property
    def read_only(self) -> bool:
        return "ro" in self.options

    @property
    def noexec(self) -> bool:
        return "noexec" in self.options

    @property
    def is_local(self) -> bool:
        return self.fstype in LOCAL_FSTYPES

    @property
    def renames_trees(self) -> bool:
        """Whether a directory holding files may be renamed here (see
        :data:`UNRENAMABLE_TREE_FSTYPES`; a probe measures the rest)."""
        return renames_trees(self.fstype)

    @property
    def takes_names_wrongly(self) -> bool:
        """Whether some names are made wrongly here, not refused (see
        :data:`NAME_MANGLING_FSTYPES`)."""
        return self.fstype in NAME_MANGLING_FSTYPES

    @property
    def answers_from_afar(self) -> bool:
        """Whether each call waits on a server or a FUSE daemon of its own (a network share,
        sshfs, rclone, an unknown FUSE filesystem), not on a local device or memory: where
        calls made at once finish sooner than one after another."""
        return not self.is_local and self.fstype not in DEVICE_FSTYPES

    @property
    def answers_at_once(self) -> bool:
        """Whether calls made at once here finish sooner than one after another: far (see
        :attr:`answers_from_afar`), and not one of :data:`ONE_AT_A_TIME_FSTYPES`."""
        return self.answers_from_afar and self.fstype not in ONE_AT_A_TIME_FSTYPES


def renames_trees(fstype: str | None) -> bool:
    """Whether a directory holding files may be renamed on a filesystem of ``fstype``
    (``None``: not known) as far as its type tells (see :data:`UNRENAMABLE_TREE_FSTYPES`)."""
    return fstype not in UNRENAMABLE_TREE_FSTYPES


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo_line(line: str) -> MountInfo | None:
    """Parse one mountinfo line; ``None`` for a line that does not have the documented shape.

    Fields are separated by single spaces (the kernel escapes space, tab, newline and
    backslash in names); other whitespace, such as a no-break space, belongs to a name."""
    fields = line.rstrip("\n").split(" ")
    try:
        sep = fields.index("-", 6)
    except ValueError:
        return None
    if len(fields) < sep + 3:
        return None
    return MountInfo(
        mount_point=_unescape(fields[4]),
        fstype=fields[sep + 1],
        source=_unescape(fields[sep + 2]),
        options=tuple(fields[5].split(",")),
        device=fields[2],
        super_options=tuple(fields[sep + 3].split(",")) if len(fields) > sep + 3 else (),
    )


MountKey = tuple[int, "str | None", tuple[str, ...], "str | None", "str | None", tuple[str, ...]]


def mount_key(device: int, mount: MountInfo | None) -> MountKey:
    """What a fact measured on the filesystem of ``device`` (an ``st_dev``) mounted as
    ``mount`` is kept under in a process: its device, mount point, type, source and both kinds
    of options. Not the device alone: bind mounts of one filesystem share it and may differ in
    noexec, nosymfollow...; and a FUSE filesystem mounted after another was unmounted often
    gets the same anonymous device number and mount id (reused lowest first), so another
    filesystem there (or the same share with other options) is known by its type, source and
    options (a process that lives on, a library's host, sees mounts come and go)."""
    if mount is None:
        return (device, None, (), None, None, ())
    return (
        device, mount.mount_point, mount.options, mount.fstype, mount.source, mount.super_options
    )  # fmt: skip


_last_parsed: dict[str, tuple[MountInfo, ...]] = {}  # (the text last read, parsed)


def read_mounts(text: str | None = None) -> list[MountInfo]:
    """All mounts of this process, in mountinfo order (later mounts stack over earlier).
    Read each time (mounts come and go), parsed again only when the text changed: one
    command asks several times."""
    if text is None:
        try:
            with open(MOUNTINFO, "rb") as handle:
                text = os.fsdecode(handle.read())  # (mount points' bytes: as paths are given)
        except OSError:
            return []
    parsed = _last_parsed.get(text)
    if parsed is None:
        lines = text.split("\n")  # not splitlines: U+2028, \x85, \x1c ... may be in a name
        parsed = tuple(m for m in map(parse_mountinfo_line, lines) if m is not None)
        _last_parsed.clear()
        _last_parsed[text] = parsed
    return list(parsed)


def _is_under(path: str, mount_point: str) -> bool:
    if mount_point == "/":
        return True
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def mount_of(
    path: str | os.PathLike[str], mounts: list[MountInfo] | None = None
) -> MountInfo | None:
    """The mount holding ``path`` (resolved): the last, longest mount point above it."""
    return mount_containing(os.path.realpath(path), mounts)


def mount_containing(absolute: str, mounts: list[MountInfo] | None = None) -> MountInfo | None:
    """The mount holding the absolute path ``absolute`` as it is written (not resolved:
    nothing there is looked at, so this cannot hang on a mount that stops answering)."""
    best: MountInfo | None = None
    for mount in read_mounts() if mounts is None else mounts:
        if _is_under(absolute, mount.mount_point) and (
            best is None or len(mount.mount_point) >= len(best.mount_point)
        ):
            best = mount
    return best


def mount_basis(path: str | os.PathLike[str]) -> list[str]:
    """What a decision made from the filesystem at ``path`` rests on, as it can be kept and
    compared later: its mount's type, mount point and options (``[]`` where mountinfo
    cannot be read). Not the device number, which an overlay changes at every start of a
    container, nor the mount id, which every mount gets anew."""
    mount = mount_of(path)
    return [] if mount is None else [mount.fstype, mount.mount_point, ",".join(mount.options)]


_O_PATH = getattr(os, "O_PATH", 0)


def mount_id(path: str | os.PathLike[str]) -> int | None:
    """The id of the mount that ``path`` (followed through links) is reached by, as the
    kernel tells it (``mnt_id`` in /proc/self/fdinfo, Linux 3.15 on): two bind mounts of one
    filesystem share a device number, not a mount id. ``None`` where it cannot be told."""
    if not _O_PATH:
        return None
    try:
        fd = os.open(path, _O_PATH | os.O_CLOEXEC)
    except OSError:
        return None
    try:  # (read while ``fd`` is open: its number is what the file is named by)
        info = os.open(f"/proc/self/fdinfo/{fd}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            text = os.read(info, 4096)
        finally:
            os.close(info)
    except OSError:
        return None
    finally:
        os.close(fd)
    for line in text.split(b"\n"):
        if line.startswith(b"mnt_id:"):
            try:
                return int(line[7:])
            except ValueError:
                return None
    return None


def same_mount(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two existing paths (of one device) are reached by one mount: a hard link or
    a rename between two mounts of one filesystem (a bind mount and its source, two binds
    of one disk into a container) fails with EXDEV. By mount id, else by the mount
    /proc/self/mountinfo places them on; where neither tells, as if they were."""
    first, second = mount_id(a), mount_id(b)
    if first is not None and second is not None:
        return first == second
    mounts = read_mounts()
    if not mounts:
        return True
    of_a, of_b = mount_of(a, mounts), mount_of(b, mounts)
    return of_a is None or of_b is None or of_a.mount_point == of_b.mount_point
