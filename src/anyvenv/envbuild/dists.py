"""What a site-packages directory says about its distributions, read cheaply (one listing).

Every sync asks whether a killed install left something half-made; that question must not
cost the imports of the mirror (csv, shutil, dataclasses).
"""

from __future__ import annotations

import os

DIST_INFO = ".dist-info"
_SEPARATORS = "-_."


def normalize_name(name: str) -> str:
    """A project name as PEP 503 compares it: runs of ``-``, ``_`` and ``.`` made one ``-``,
    lower case (no ``re``: start-up time)."""
    parts: list[str] = []
    in_run = False
    for char in name:
        if char in _SEPARATORS:
            if not in_run:
                parts.append("-")
            in_run = True
        else:
            parts.append(char)
            in_run = False
    return "".join(parts).lower()


def dist_info_name(entry: str, suffix: str = DIST_INFO) -> str:
    """The normalized project name of a ``*.dist-info`` directory name (or of a wheel's
    ``*.data`` directory, with that ``suffix``)."""
    return normalize_name(entry[: -len(suffix)].split("-", 1)[0])


DATA = ".data"


class HalfMade:
    """What one look at a site-packages directory found a killed install or uninstall left
    (each list sorted, of normalized distribution names); see :func:`look_for_half_made`."""

    __slots__ = ("data_dirs", "dead", "interrupted")

    def __init__(self) -> None:
        self.data_dirs: list[str] = []
        """Whose stale ``NAME-VERSION.data`` directory was removed."""
        self.dead: list[str] = []
        """Whose dead dist-info (no METADATA, an empty or missing RECORD) was removed."""
        self.interrupted: list[str] = []
        """Whose dist-info an installer did not finish (left as it is)."""

    @property
    def reinstall(self) -> list[str]:
        """Every distribution found: what the next install must install again."""
        return sorted({*self.data_dirs, *self.dead, *self.interrupted})


def look_for_half_made(
    site_packages: str | os.PathLike[str], *, read_records: bool = False
) -> HalfMade:
    """List ``site_packages`` once (on a share, each call is a round trip) and find what a
    killed installer left there, removing what no installer can go on from:

    - a ``NAME-VERSION.data`` directory (an install moves its contents out and removes it;
      uv, killed part-way, leaves one holding a temp file, and then refuses every later
      install of that wheel: "RECORD file doesn't match wheel contents"): removed;
    - a dead ``.dist-info``, with no METADATA and a RECORD that is empty or missing: what
      plain uv leaves where chmod fails (it stops at the first file it copies, an empty
      RECORD), or a uv uninstall stopped part-way (it removes the dist-info's files first),
      which no tool can read (uv then fails on it, and its uninstall leaves it) and which
      lists no file to leave behind: removed;
    - an interrupted install: a dist-info without its INSTALLER file (uv and pip write it
      after every file of the wheel, with the final RECORD). uv takes it for installed
      ("Checked") although files may be missing; ``--reinstall-package`` makes it install
      it again. With ``read_records`` (a sync may have been killed since the last one that
      finished), also one whose RECORD does not list its INSTALLER: uv writes INSTALLER,
      then the final RECORD, and one killed in between leaves the wheel's own RECORD, which
      names files already moved (``NAME.data/...``) and is what uninstall would read.

    A dist-info with its INSTALLER is neither dead nor interrupted (without ``read_records``):
    one lookup each, the common case. Installers write INSTALLER after METADATA and the
    wheel's RECORD, and uninstallers remove it before them (uv and pip sort RECORD, where
    ``INSTALLER`` comes before ``METADATA`` and ``RECORD``), so only a dist-info without it
    needs the second look. Directories and links are told apart by the listing's entry types
    (no lookup where the filesystem gives them); links are never removed."""
    found = HalfMade()
    try:
        with os.scandir(site_packages) as listing:
            entries = [
                (entry.name, entry.is_dir(follow_symlinks=False))
                for entry in listing
                if entry.name.endswith((DIST_INFO, DATA))
            ]
    except OSError:
        return found
    for entry, real_dir in entries:
        path = os.path.join(site_packages, entry)
        if entry.endswith(DATA):
            if real_dir and _removed(path):
                found.data_dirs.append(dist_info_name(entry, DATA))
            continue
        name = dist_info_name(entry)
        try:
            installer: int | None = os.lstat(os.path.join(path, "INSTALLER")).st_mtime_ns
        except OSError:
            installer = None
        if installer is not None:
            if read_records and not _records_installer(path, entry, installer):
                found.interrupted.append(name)
        elif real_dir and _dead_dist_info(path) and _removed(path):
            found.dead.append(name)
        else:  # (a dead one that could not be removed: uv's own error names it next)
            found.interrupted.append(name)
    for names in (found.data_dirs, found.dead, found.interrupted):
        names.sort()
    return found


def _dead_dist_info(path: str) -> bool:
    if os.path.lexists(os.path.join(path, "METADATA")):
        return False
    try:
        return os.path.getsize(os.path.join(path, "RECORD")) == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _removed(path: str) -> bool:
    from anyvenv.fs.remove import remove_tree

    try:
        remove_tree(path)
    except OSError:
        return False  # (uv's own error names it next)
    return True


def _records_installer(dist_info: str, entry: str, installer: int) -> bool:
    """Whether the dist-info's RECORD lists its INSTALLER, as the final RECORD of an install
    does (read as CSV, names compared without case: FAT; an unreadable RECORD counts as
    listing it, as nothing can be concluded). A RECORD modified after INSTALLER is the final
    one without reading it (uv and pip write it last; the wheel's own was put there before):
    on a share, a read of every RECORD is a round trip each."""

    record = os.path.join(dist_info, "RECORD")
    try:
        if os.stat(record).st_mtime_ns > installer:
            return True
        with open(record, "rb") as handle:
            text = handle.read()
    except OSError:
        return True
    wanted = f"{entry}/INSTALLER".casefold()
    return any(path.casefold() == wanted for path in record_paths(text))


def record_paths(record: bytes | None) -> list[str]:
    """The paths a RECORD lists (first CSV column, a path may be quoted), as written: its
    UTF-8 bytes are the names' bytes on disk (uv writes them so, whatever the locale), given
    as this process gives paths (``os.fsdecode``: under Latin-1, ``é`` is ``Ã©`` here)."""
    if not record:
        return []
    import csv
    import io

    text = os.fsdecode(record)
    return [row[0] for row in csv.reader(io.StringIO(text)) if row and row[0]]


def recorded_sizes(record: bytes | None) -> list[tuple[str, int]]:
    """The paths a RECORD lists with a size (third CSV column: the RECORD itself, and files
    an installer writes after it, have none), as :func:`record_paths` gives them."""
    if not record:
        return []
    import csv
    import io

    text = os.fsdecode(record)
    return [
        (row[0], int(row[2]))
        for row in csv.reader(io.StringIO(text))
        if len(row) >= 3 and row[0] and row[2].isdigit()
    ]
