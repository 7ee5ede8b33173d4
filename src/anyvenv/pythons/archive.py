"""Read an install_only archive strictly and extract it by what the filesystem allows.

Every member is checked before anything is written: it must sit under the archive's
``python/`` top directory, hold no ``..`` or control characters, and be a directory, a
regular file, a symlink or a hard link; symlinks must be relative and stay inside the tree
without passing through another link; hard links must name an earlier file. Devices, FIFOs
and anything else are refused.

Links are made by a :class:`LinkPlan` decided once from the probe of the target: symlinks
where they are created *and* read back, otherwise hard links to (or copies of) what the
link resolves to inside the tree. Files are created with their mode (exec bits kept even
where chmod is ignored).
"""

from __future__ import annotations

import enum
import os
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from anyvenv.errors import AnyvenvError
from anyvenv.fs.place import Strategy, copy_file, create_file
from anyvenv.fs.probe import ProbeResult

TOP = "python"
MAX_LINK_HOPS = 40
_FORBIDDEN_CHARS = frozenset(chr(code) for code in range(32)) | {"\x7f", "\\"}

ExtractProgress = Callable[[int, int], None]
"""Called with (members done, members in all) during extraction."""


class UnsafeArchive(AnyvenvError):
    """A member would land outside the install tree or is of a kind we never extract."""


class BrokenArchive(AnyvenvError):
    """The archive cannot be read to its end (truncated, corrupt, not a tar.gz)."""


class Kind(str, enum.Enum):
    DIR = "dir"
    FILE = "file"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"


@dataclass(frozen=True)
class Entry:
    """A checked member: where it goes (relative to the install root) and what it is."""

    kind: Kind
    path: str
    mode: int
    link: str = ""
    """SYMLINK: the link text as written; HARDLINK: the path of the file it names."""


def _refuse(member: str, why: str) -> UnsafeArchive:
    return UnsafeArchive(
        f"archive member {member!r} {why}",
        "the archive is not a python-build-standalone install_only build; nothing was installed",
    )


def _clean_parts(text: str, member: str) -> list[str]:
    """Path parts of ``text``, refusing absolute paths, ``..`` and odd characters."""
    if not text:
        raise _refuse(member, "has an empty name")
    if text.startswith("/"):
        raise _refuse(member, "has an absolute path")
    if any(char in _FORBIDDEN_CHARS for char in text):
        raise _refuse(member, "has a control character or backslash in its name")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refuse(member, "contains '..'")
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in parts):
        raise _refuse(member, "has a name longer than 255 bytes")
    return parts


def member_path(name: str, member: str | None = None) -> str | None:
    """The path below ``python/`` of a member name; ``None`` for the top directory itself."""
    shown = member if member is not None else name
    parts = _clean_parts(name, shown)
    if not parts or parts[0] != TOP:
        raise _refuse(shown, f"is not under the top directory '{TOP}/'")
    return "/".join(parts[1:]) or None


def _check_symlink_text(path: str, text: str, member: str) -> None:
    """A relative target of the form ``(../)*a/b`` that stays inside the tree."""
    if not text:
        raise _refuse(member, "is a symlink with an empty target")
    if text.startswith("/"):
        raise _refuse(member, f"is a symlink to the absolute path {text!r}")
    if any(char in _FORBIDDEN_CHARS for char in text):
        raise _refuse(member, "is a symlink whose target has a control character or backslash")
    parts = text.rstrip("/").split("/")
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    rest = parts[ups:]
    if any(part in ("", ".", "..") for part in rest):
        raise _refuse(member, f"is a symlink with an unusual target {text!r}")
    depth = path.count("/")  # directories above the link inside the tree
    if ups > depth or (ups == depth and not rest):
        raise _refuse(member, f"is a symlink to {text!r}, outside the tree")


# The most a directory of the tree may have; the umask takes from it, as from uv's (``umask
# 002`` in a shared group directory: the group may replace or remove the install too).
DIR_MODE = 0o775


def _file_mode(mode: int) -> int:
    """Keep read and exec bits, drop set-id, sticky and write for others; owner may write,
    and a group that may read, where the umask allows it (as for uv's installs)."""
    return (mode & 0o755) | 0o600 | (0o020 if mode & 0o040 else 0)


def check_member(member: tarfile.TarInfo) -> Entry | None:
    """The checked :class:`Entry` of one member (``None``: the top directory itself).

    Raises :class:`UnsafeArchive` for anything that could write outside the tree or is not
    a directory, regular file, symlink or hard link.
    """
    path = member_path(member.name)
    if member.isdir():
        return None if path is None else Entry(Kind.DIR, path, DIR_MODE)
    if path is None:
        raise _refuse(member.name, "replaces the top directory with a non-directory")
    if member.isreg():
        return Entry(Kind.FILE, path, _file_mode(member.mode))
    if member.issym():
        _check_symlink_text(path, member.linkname, member.name)
        return Entry(Kind.SYMLINK, path, 0o777, member.linkname.rstrip("/"))
    if member.islnk():
        target = member_path(member.linkname, member.name)
        if target is None:
            raise _refuse(member.name, "is a hard link to the top directory")
        return Entry(Kind.HARDLINK, path, _file_mode(member.mode), target)
    kinds = {
        tarfile.CHRTYPE: "a character device",
        tarfile.BLKTYPE: "a block device",
        tarfile.FIFOTYPE: "a FIFO",
    }
    raise _refuse(member.name, f"is {kinds.get(member.type, f'of tar type {member.type!r}')}")


def symlink_target_path(entry: Entry) -> str:
    """Where a checked symlink points, relative to the install root."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(entry.path), entry.link))


@dataclass(frozen=True)
class Tree:
    """All checked entries of an archive, by path."""

    entries: tuple[Entry, ...]
    by_path: dict[str, Entry] = field(repr=False)

    def resolve(self, path: str) -> Entry | None:
        """The directory or file a path ends at, following links inside the tree."""
        for _ in range(MAX_LINK_HOPS):
            entry = self.by_path.get(path)
            if entry is None or entry.kind in (Kind.DIR, Kind.FILE):
                return entry
            path = symlink_target_path(entry) if entry.kind is Kind.SYMLINK else entry.link
        raise UnsafeArchive(
            f"archive links starting at {path!r} form a loop",
            "the archive is damaged; nothing was installed",
        )

    def under(self, directory: str) -> Iterator[Entry]:
        """Everything below ``directory``, directories only implied by their members too."""
        prefix = directory + "/"
        return (entry for entry in self.by_path.values() if entry.path.startswith(prefix))


def _ancestors(path: str) -> Iterator[str]:
    parts = path.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def check_tree(entries: Iterable[Entry]) -> Tree:
    """Checks that need the whole archive: no duplicates, nothing below a link, hard links to
    earlier files, symlinks that do not pass through other links and do not loop."""
    ordered = tuple(entries)
    by_path: dict[str, Entry] = {}
    for entry in ordered:
        seen = by_path.get(entry.path)
        if seen is not None and not (seen.kind is Kind.DIR and entry.kind is Kind.DIR):
            raise _refuse(TOP + "/" + entry.path, "appears twice")
        if entry.kind is Kind.HARDLINK:
            target = by_path.get(entry.link)
            if target is None or target.kind not in (Kind.FILE, Kind.HARDLINK):
                raise _refuse(TOP + "/" + entry.path, "is a hard link to no earlier file")
        by_path[entry.path] = entry
    for entry in ordered:
        for ancestor in _ancestors(entry.path):
            above = by_path.setdefault(ancestor, Entry(Kind.DIR, ancestor, DIR_MODE))  # implied
            if above.kind is not Kind.DIR:
                raise _refuse(
                    TOP + "/" + entry.path, f"lies below the {above.kind.value} {ancestor!r}"
                )
    tree = Tree(ordered, by_path)
    for entry in ordered:
        if entry.kind is Kind.SYMLINK:
            _check_symlink_walk(tree, entry)
    return tree


def _check_symlink_walk(tree: Tree, entry: Entry) -> None:
    """The target is reached without passing through another link, and does not contain
    the link itself (a copy of it would never end)."""
    current = entry.path.split("/")[:-1]
    parts = entry.link.split("/")
    for index, part in enumerate(parts):
        if part == "..":
            current.pop()
            continue
        current.append(part)
        if index < len(parts) - 1:
            passed = tree.by_path.get("/".join(current))
            if passed is not None and passed.kind is not Kind.DIR:
                raise _refuse(
                    TOP + "/" + entry.path, "is a symlink whose target passes through a link"
                )
    final = tree.resolve(entry.path)
    if final is not None and final.kind is Kind.DIR:
        _check_copyable(tree, entry, final, (final.path,))


def _check_copyable(tree: Tree, link: Entry, directory: Entry, stack: tuple[str, ...]) -> None:
    """A link to ``directory`` can be replaced by a copy of it: neither the link nor a link
    inside the directory (followed as a copy would) leads back into a directory being copied."""
    if link.path.startswith(directory.path + "/"):
        raise _refuse(TOP + "/" + link.path, "is a symlink to a directory that contains it")
    for inner in tree.under(directory.path):
        if inner.kind is not Kind.SYMLINK:
            continue
        final = tree.resolve(inner.path)
        if final is None or final.kind is not Kind.DIR:
            continue
        if final.path in stack or len(stack) > MAX_LINK_HOPS:
            raise _refuse(TOP + "/" + inner.path, "is a symlink in a loop of directory links")
        _check_copyable(tree, inner, final, (*stack, final.path))


# -- reading -----------------------------------------------------------------------------------


def _broken(archive: Path, exc: BaseException) -> BrokenArchive:
    return BrokenArchive(
        f"the archive {archive.name} cannot be read ({exc or type(exc).__name__})",
        "it is truncated or corrupt; delete it from the mirror or cache and download it again",
    )


_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def read_tree(archive: Path) -> Tree:
    """Read every member header (to the archive's end) and check them all."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
    except _READ_ERRORS as exc:
        raise _broken(archive, exc) from exc
    if not members:
        raise _broken(archive, ValueError("no members"))
    checked = (check_member(member) for member in members)
    return check_tree(entry for entry in checked if entry is not None)


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkPlan:
    """How the archive's links are made on one filesystem (decided from its probe)."""

    symlinks: Strategy
    """SYMLINK, or HARDLINK / COPY of what the link resolves to."""
    hardlinks: Strategy
    """HARDLINK or COPY."""
    case_sensitive: bool
    reason: str


def plan_links(result: ProbeResult) -> LinkPlan:
    case_sensitive = result.case_sensitive != "no"
    hardlinks = Strategy.HARDLINK if result.hardlinks_work else Strategy.COPY
    if result.symlinks_work:
        return LinkPlan(Strategy.SYMLINK, hardlinks, case_sensitive, "symlinks work")
    why = result.why_no_symlinks
    how = "hard links" if result.hardlinks_work else f"copies (hard links: {result.hardlink})"
    return LinkPlan(hardlinks, hardlinks, case_sensitive, f"{why}: links become {how}")


@dataclass
class ExtractReport:
    files: int = 0
    directories: int = 0
    links: int = 0
    skipped: list[str] = field(default_factory=list)
    """Members not made: case collisions on case-insensitive filesystems, dangling links
    where symlinks cannot be made."""


# -- extraction ------------------------------------------------------------------------------


class _Extractor:
    def __init__(self, root: Path, tree: Tree, plan: LinkPlan, report: ExtractReport) -> None:
        self.root = root
        self.tree = tree
        self.plan = plan
        self.report = report

    def target(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    def make_dir(self, path: str) -> None:
        os.makedirs(self.target(path), DIR_MODE, exist_ok=True)
        self.report.directories += 1

    def make_file(self, path: str, data: bytes, mode: int) -> None:
        destination = self.target(path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if self._created(path, lambda: create_file(destination, data, mode)):
            self.report.files += 1

    def make_link(self, entry: Entry) -> None:
        destination = self.target(entry.path)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind is Kind.SYMLINK and self.plan.symlinks is Strategy.SYMLINK:
            if self._created(entry.path, lambda: os.symlink(entry.link, destination)):
                self.report.links += 1
            return
        final = self.tree.resolve(entry.path)
        if final is None:
            self.report.skipped.append(f"{entry.path} (link to nothing: {entry.link})")
            return
        strategy = self.plan.symlinks if entry.kind is Kind.SYMLINK else self.plan.hardlinks
        self._materialize(final, entry.path, strategy)
        self.report.links += 1

    def _materialize(
        self, final: Entry, path: str, strategy: Strategy, visiting: tuple[str, ...] = ()
    ) -> None:
        """Put at ``path`` what a link resolves to: a file by hard link or copy, a directory
        as a tree of the same (links inside it made the same way)."""
        if final.kind is Kind.FILE:
            source, destination = self.target(final.path), self.target(path)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if strategy is Strategy.HARDLINK:
                self._created(path, lambda: os.link(source, destination))
            else:
                self._created(path, lambda: copy_file(source, destination, final.mode))
            return
        if final.path in visiting or len(visiting) > MAX_LINK_HOPS:
            raise UnsafeArchive(
                f"archive directory links through {final.path!r} form a loop",
                "the archive is damaged; nothing was installed",
            )
        os.makedirs(self.target(path), DIR_MODE, exist_ok=True)
        for inner in self.tree.under(final.path):
            relative = path + inner.path[len(final.path) :]
            if inner.kind is Kind.DIR:
                os.makedirs(self.target(relative), DIR_MODE, exist_ok=True)
                continue
            resolved = self.tree.resolve(inner.path)
            if resolved is None:
                self.report.skipped.append(f"{relative} (link to nothing)")
            else:
                self._materialize(resolved, relative, strategy, (*visiting, final.path))

    def _created(self, path: str, make: Callable[[], None]) -> bool:
        try:
            make()
        except FileExistsError:
            if self.plan.case_sensitive:
                raise
            self.report.skipped.append(f"{path} (same name as another, ignoring case)")
            return False
        return True


def extract(
    archive: Path,
    tree: Tree,
    destination: Path,
    plan: LinkPlan,
    progress: ExtractProgress | None = None,
) -> ExtractReport:
    """Extract the checked ``tree`` of ``archive`` into the existing empty ``destination``.

    Files and directories come first in archive order, links after them (their targets may
    come later in the archive). ``OSError`` (ENOSPC, EIO ...) propagates to the caller.
    """
    report = ExtractReport()
    work = _Extractor(destination, tree, plan, report)
    total = len(tree.entries)
    done = 0
    links: list[Entry] = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                entry = check_member(member)
                if entry is None:
                    continue
                if entry.kind is Kind.DIR:
                    work.make_dir(entry.path)
                elif entry.kind is Kind.FILE:
                    stream = tar.extractfile(member)
                    if stream is None:
                        raise _broken(archive, ValueError(f"no data for {member.name}"))
                    work.make_file(entry.path, stream.read(), entry.mode)
                else:
                    links.append(entry)
                    continue
                done += 1
                if progress is not None:
                    progress(done, total)
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise _broken(archive, exc) from exc
    except OSError as exc:
        if exc.errno is None:
            raise _broken(archive, exc) from exc  # gzip.BadGzipFile: bad compressed data
        raise
    for entry in links:
        work.make_link(entry)
        done += 1
        if progress is not None:
            progress(done, total)
    return report
