"""What a site-packages directory says about its distributions, read cheaply (one listing).

Every sync asks whether a killed install left something half-made; that question must not
cost the imports of the mirror (csv, shutil, dataclasses).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable

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


def clear_stale_data_dirs(site_packages: str | os.PathLike[str]) -> list[str]:
    """Remove the ``NAME-VERSION.data`` directories a killed installer left in site-packages
    (an install moves their contents out and removes them; uv, killed part-way, leaves one
    holding a temp file, and then refuses every later install of that wheel: "RECORD file
    doesn't match wheel contents"). Returns the distributions they belonged to."""
    return _clear_directories(site_packages, ".data", lambda path: True)


def clear_dead_dist_infos(site_packages: str | os.PathLike[str]) -> list[str]:
    """Remove the ``.dist-info`` directories an installer left with no METADATA and a RECORD
    that is empty or missing: what plain uv leaves where chmod fails (it stops at the first
    file it copies, an empty RECORD), which no tool can read (uv then fails on it, and its
    uninstall leaves it) and which lists no file to leave behind. Returns their
    distributions."""
    return _clear_directories(site_packages, DIST_INFO, _dead_dist_info)


def _dead_dist_info(path: str) -> bool:
    if os.path.lexists(os.path.join(path, "METADATA")):
        return False
    try:
        return os.path.getsize(os.path.join(path, "RECORD")) == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _clear_directories(
    site_packages: str | os.PathLike[str], suffix: str, dead: Callable[[str], bool]
) -> list[str]:
    """Remove the directories of ``site_packages`` named ``*suffix`` (links not followed)
    that ``dead(path)`` says an installer left; the distributions of those removed."""
    try:
        entries = os.listdir(site_packages)
    except OSError:
        return []
    from anyvenv.fs.remove import remove_tree

    cleared: list[str] = []
    for entry in entries:
        path = os.path.join(site_packages, entry)
        if not entry.endswith(suffix) or os.path.islink(path) or not os.path.isdir(path):
            continue
        if not dead(path):
            continue
        try:
            remove_tree(path)
        except OSError:
            continue  # (uv's own error names it next)
        cleared.append(dist_info_name(entry, suffix))
    return sorted(cleared)


def interrupted_installs(
    site_packages: str | os.PathLike[str], *, read_records: bool = False
) -> list[str]:
    """Distributions an installer was killed in the middle of installing: a dist-info without
    its INSTALLER file (uv and pip write it at the end, with the final RECORD). uv takes
    them for installed ("Checked") although files may be missing; ``--reinstall-package``
    makes it install them again. With ``read_records`` (a sync may have been killed since
    the last one that finished), also one whose RECORD does not list its INSTALLER: uv writes
    INSTALLER, then the final RECORD, and one killed in between leaves the wheel's own RECORD,
    which names files already moved (``NAME.data/...``) and is what uninstall would read."""
    try:
        entries = os.listdir(site_packages)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.endswith(DIST_INFO):
            continue
        dist_info = os.path.join(site_packages, entry)
        if not os.path.lexists(os.path.join(dist_info, "INSTALLER")) or (
            read_records and not _records_installer(dist_info, entry)
        ):
            found.append(dist_info_name(entry))
    return sorted(found)


def _records_installer(dist_info: str, entry: str) -> bool:
    """Whether the dist-info's RECORD lists its INSTALLER, as the final RECORD of an install
    does (read as CSV, names compared without case: FAT; an unreadable RECORD counts as
    listing it, as nothing can be concluded). A RECORD modified after INSTALLER is the final
    one without reading it (uv and pip write it last; the wheel's own was put there before):
    on a share, a read of every RECORD is a round trip each."""

    record = os.path.join(dist_info, "RECORD")
    try:
        installer = os.stat(os.path.join(dist_info, "INSTALLER")).st_mtime_ns
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
