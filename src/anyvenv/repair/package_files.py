"""What ``anyvenv check`` finds in the files of an environment's packages: files their
RECORD lists that are missing, cut short or of NUL bytes, or links the filesystem will not
read; and, where case is not told apart, names that collide and directories spelled two
ways."""

from __future__ import annotations

import os
from pathlib import Path

from anyvenv.envbuild.layout import site_packages_path
from anyvenv.repair.findings import Code, Finding, warning
from anyvenv.repair.looking import (
    MISSING,
    NUL_CHECK_BYTES,
    STATS_AT_ONCE,
    asks_at_once,
    for_each,
    how_to_look,
)
from anyvenv.repair.reinstall import (
    LOST_AND_REINSTALL,
    UNREADABLE_AND_REINSTALL,
    package_of,
    reinstall_for,
)

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable


def check_package_files(
    env: Path, sites: list[tuple[int, int, bool]], findings: list[Finding]
) -> None:
    """Files a package's RECORD lists that are missing or not the size it recorded: an
    install or copy that stopped part-way (a full disk, a killed copy), or a mount that lost
    what was written (rclone without its cache empties files written again). The package
    imports wrong, or not at all, while its dist-info says it is installed, so a plain sync
    leaves it so. A link the filesystem will not read (uv's symlink mode on sshfs) is
    damaged too: what it names cannot be opened. Scripts in bin/ (their shebangs are
    rewritten when an env moves) and the files of editable installs (rewritten by ``repair``) are not compared; a file two
    packages list may have either's size (the later install's bytes won). On a local disk
    or device, source, bytecode and shared objects of the right size are also read at their
    start (and end): NUL bytes there are what a crash of the machine left (:func:`_nul_filled`)."""
    for major, minor, threaded in sites:
        site = env / site_packages_path((major, minor), threaded)
        listed, scripts = _listed_sizes(env, site)
        if not listed:
            continue
        recorded: dict[str, set[int]] = {}
        for rows in listed.values():
            for path, size in rows:
                recorded.setdefault(path, set()).add(size)
        at_once, read_nul = how_to_look(site)
        on_disk = _sizes_on_disk(recorded, at_once)
        one_file = _one_file_under_two_names(recorded, on_disk)
        spelled = _directories_spelled_otherwise(site, listed, on_disk, one_file)
        one_script = _scripts_under_two_names(scripts)
        owners: dict[str, list[str]] = {}  # a path one file with another -> its packages
        for name, rows in listed.items():
            for path in [*(path for path, _ in rows), *scripts.get(name, ())]:
                if path in one_file or path in one_script:
                    owners.setdefault(path, []).append(package_of(name))
        for name, rows in listed.items():
            paths = [path for path, _ in rows]
            twins = [path for path in paths if path in one_file]
            twins += [path for path in scripts.get(name, ()) if path in one_script]
            if twins:
                findings.append(_names_collide_finding(env, site / name, twins, owners))
            for directory, there, others, files in spelled.get(name, ()):
                findings.append(
                    _directory_spelled_otherwise_finding(
                        env, site / name, directory, there, others, files
                    )
                )
            damaged = [
                path
                for path in paths
                if path in on_disk and on_disk[path] not in recorded[path] and path not in one_file
            ]
            if damaged:
                findings.append(_damaged_finding(env, site / name, damaged, on_disk, recorded))
            zeroed = _zeroed(paths, on_disk, recorded) if read_nul else []
            if zeroed:
                findings.append(_zeroed_finding(env, site / name, zeroed))


def _one_file_under_two_names(
    recorded: dict[str, set[int]], on_disk: dict[str, int | str]
) -> set[str]:
    """The listed paths that differ from another only in case and are one file with it: on a
    filesystem that ignores case (FAT, exFAT, SMB) a package's ``README.py`` and
    ``Readme.py`` land in one file, whose size is one of theirs; no reinstall can help. Told
    by the directory's listing, which holds fewer such names than were written (FUSE gives
    each name its own inode number, so the two do not compare as one file)."""
    by_folded: dict[str, list[str]] = {}
    for path in recorded:
        by_folded.setdefault(path.casefold(), []).append(path)
    found: set[str] = set()
    for paths in by_folded.values():
        there = [path for path in paths if on_disk.get(path, MISSING) != MISSING]
        if len(there) > 1 and _fewer_names_listed(there):
            found.update(there)
    return found


def _scripts_under_two_names(scripts: dict[str, list[str]]) -> set[str]:
    """As :func:`_one_file_under_two_names`, for the scripts in bin/ the RECORDs list
    (``scripts``: per ``.dist-info``), whose sizes are not compared: ``bin/Tool`` of one
    package and ``bin/tool`` of another are one file where case is not told apart, which
    runs one of them. Looked at only where two are spelled so (one listing of bin/)."""
    by_folded: dict[str, set[str]] = {}
    for listed in scripts.values():
        for path in listed:
            by_folded.setdefault(path.casefold(), set()).add(path)
    found: set[str] = set()
    for spellings in by_folded.values():
        if len(spellings) > 1:
            there = sorted(path for path in spellings if os.path.lexists(path))
            if len(there) > 1 and _fewer_names_listed(there):
                found.update(there)
    return found


def _fewer_names_listed(paths: list[str]) -> bool:
    """Whether ``paths`` (absolute, that differ only in case) are fewer entries than there
    are spellings: the directory where they first differ lists fewer of the names they have
    there (``Readme.py`` and ``README.py`` in one directory; ``Mod/`` and ``mod/``, one
    directory, above two ``__init__.py``)."""
    split = [path.split(os.sep) for path in paths]
    for index, parts in enumerate(zip(*split, strict=False)):
        spellings = set(parts)
        if len(spellings) > 1:
            try:
                names = os.listdir(os.sep.join(split[0][:index]) or os.sep)
            except OSError:
                return False
            return len(spellings.intersection(names)) < len(spellings)
    return False


def _directories_spelled_otherwise(
    site: Path,
    listed: dict[str, list[tuple[str, int]]],
    on_disk: dict[str, int | str],
    one_file: set[str],
) -> dict[str, list[tuple[str, str, list[str], list[str]]]]:
    """Per ``.dist-info`` of ``site``: the directories below ``site`` its RECORD spells in
    another case than the filesystem does, where case is not told apart (FAT, exFAT, SMB):
    ``shared/b.py`` of one package lands in ``Shared/`` made first by another, where
    ``import shared`` finds nothing (the import system minds case). Each as ``(directory as
    recorded, as it is there, the packages that spell it so, the files of this one in it)``,
    relative to ``site``; the first part that differs only. Looked at only where the RECORDs
    spell one directory two ways (none does, mostly: nothing is listed), one listing per
    directory that holds such a part; a spelling whose files are not there (a filesystem
    that tells case apart, which lists both) is not one."""
    prefix = os.fspath(site) + os.sep
    spellings: dict[str, dict[str, set[str]]] = {}  # folded -> spelling -> dist-infos
    for name, rows in listed.items():
        below = {
            os.path.dirname(path[len(prefix) :]) for path, _ in rows if path.startswith(prefix)
        }
        for directory in below:  # (not a data file's, outside site-packages)
            while directory:
                spellings.setdefault(directory.casefold(), {}).setdefault(directory, set()).add(
                    name
                )
                directory = os.path.dirname(directory)
    many = {folded: found for folded, found in spellings.items() if len(found) > 1}
    if not many:
        return {}
    listings: dict[str, list[str] | None] = {}

    def listing(relative: str) -> list[str] | None:
        if relative not in listings:
            try:
                listings[relative] = os.listdir(os.path.join(prefix, relative))
            except OSError:
                listings[relative] = None
        return listings[relative]

    there: dict[str, str | None] = {}  # a spelling -> the directory's spelling on disk

    def as_there(directory: str) -> str | None:
        if directory not in there:
            parent, base = os.path.split(directory)
            if parent.casefold() not in many:
                parent_there: str | None = parent  # (spelled one way: as it is written)
            else:
                parent_there = as_there(parent)
            names = None if parent_there is None else listing(parent_there)
            if names is None:
                there[directory] = None
            elif base in names:
                there[directory] = os.path.join(parent_there or "", base)
            else:
                found = [entry for entry in names if entry.casefold() == base.casefold()]
                there[directory] = os.path.join(parent_there or "", found[0]) if found else None
        return there[directory]

    by_dist: dict[str, list[tuple[str, str, list[str], list[str]]]] = {}
    for found in many.values():
        for directory, names in sorted(found.items()):
            spelled = as_there(directory)
            parent = os.path.dirname(directory)
            parent_there = as_there(parent) if parent.casefold() in many else parent
            if spelled is None or spelled == directory or parent_there != parent:
                continue  # (as written; or a part above it differs already: said there)
            others = sorted(
                package_of(other)
                for other in found.get(spelled, ())
                if other not in names  # (its own other spelling: its twins say it)
            )
            inside = prefix + directory + os.sep
            for name in sorted(names):
                files = [
                    path
                    for path, _ in listed[name]
                    if path.startswith(inside)
                    and on_disk.get(path, MISSING) != MISSING
                    and path not in one_file
                ]
                if files:
                    by_dist.setdefault(name, []).append((directory, spelled, others, files))
    return by_dist


def _directory_spelled_otherwise_finding(
    env: Path, dist_info: Path, directory: str, there: str, others: list[str], files: list[str]
) -> Finding:
    """Files of the package of ``dist_info`` in a directory that is spelled in another case
    there (see :func:`_directories_spelled_otherwise`)."""
    package = package_of(dist_info.name)
    whose = f" ({' and '.join(others)}'s spelling)" if others else ""
    named = _some_named(files, lambda path: _as_recorded(path, env, dist_info))
    return warning(
        Code.PACKAGE_NAMES_COLLIDE,
        f"{package}'s directory {directory}/ is {there}/ on this filesystem{whose}, which "
        f"does not tell case apart: its files there ({named}) are in place, but Python's "
        f"import, which minds case, does not find them as {directory.replace(os.sep, '.')}, "
        "and no reinstall can give the directory both names (put the environment on a "
        "filesystem that tells case apart)",
        dist_info,
        package=package,
        directory=directory,
        there=there,
        files=_below_env(env, files),
    )


def _names_collide_finding(
    env: Path, dist_info: Path, twins: list[str], owners: dict[str, list[str]]
) -> Finding:
    """Files of the package of ``dist_info`` (``twins``) that are one file with another of
    its own, or of another package (``owners``: the packages of each such path), whose name
    differs only in case; each named with the others it is one file with."""
    package = package_of(dist_info.name)
    groups: dict[str, list[str]] = {}  # (its own first, in its RECORD's order)
    for path in twins:
        groups.setdefault(path.casefold(), []).append(path)
    for path in sorted(owners):
        group = groups.get(path.casefold())
        if group is not None and path not in group:
            group.append(path)
    others: list[str] = []
    shown = []
    for paths in groups.values():
        said = []
        for path in paths:
            name = _as_recorded(path, env, dist_info)
            if path in twins:
                said.append(name)
                continue
            whose = [other for other in owners[path] if other != package]
            others.extend(other for other in whose if other not in others)
            said.append(f"{' and '.join(whose)}'s {name}")
        shown.append(" and ".join(said))
    evidence = {"others": "\n".join(others)} if others else {}
    return warning(
        Code.PACKAGE_NAMES_COLLIDE,
        f"{package} has files whose names differ only in case ({'; '.join(shown)}), one file "
        "on this filesystem, which does not tell case apart: it holds one of them, and no "
        "reinstall can place both (put the environment on a filesystem that does)",
        dist_info,
        package=package,
        files=_below_env(env, twins),
        **evidence,
    )


def _listed_sizes(
    env: Path, site: Path
) -> tuple[dict[str, list[tuple[str, int]]], dict[str, list[str]]]:
    """For each ``.dist-info`` of ``site`` with METADATA and RECORD (one without is
    :func:`check_packages`'s), the files its RECORD gives a size for that are compared; and
    its scripts in bin/ (not compared: their shebangs are rewritten)."""
    from anyvenv.envbuild.dists import recorded_sizes

    try:
        names = sorted(name for name in os.listdir(site) if name.endswith(".dist-info"))
    except OSError:
        return {}, {}
    root = os.fspath(env) + os.sep
    scripts = os.path.join(os.fspath(env), "bin") + os.sep
    listed: dict[str, list[tuple[str, int]]] = {}
    in_bin: dict[str, list[str]] = {}
    records = for_each(_record_of, [site / name for name in names], asks_at_once(site))
    for name, record_bytes in zip(names, records, strict=True):
        if record_bytes is None:
            continue
        rows = []
        for relative, size in recorded_sizes(record_bytes):
            path = os.path.normpath(os.path.join(site, relative))  # (an absolute one: as is)
            if path.startswith(scripts):
                in_bin.setdefault(name, []).append(path)
            elif path.startswith(root) and not _rewritten(path):
                rows.append((path, size))
        listed[name] = rows
    return listed, in_bin


def _record_of(dist_info: Path) -> bytes | None:
    """The bytes of the RECORD of ``dist_info``; ``None`` where it cannot be read, or where
    the ``.dist-info`` has no METADATA (:func:`check_packages` says that)."""
    if not os.path.lexists(dist_info / "METADATA"):
        return None
    try:
        with open(dist_info / "RECORD", "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _rewritten(path: str) -> bool:
    """Files of editable installs, which ``repair`` rewrites for a moved project."""
    name = os.path.basename(path)
    return name.endswith(".pth") or name.startswith("__editable__") or name == "direct_url.json"


def _sizes_on_disk(
    paths: dict[str, set[int]] | list[str], at_once: bool = False
) -> dict[str, int | str]:
    """The size of each of ``paths`` (through links: uv's symlink mode), ``MISSING`` for
    one that is not there, the errno name for a link the filesystem will not read (sshfs:
    EPERM for an absolute target, EACCES where the server refuses readlink: what it names
    cannot be opened); one that cannot be looked at otherwise (EACCES past a directory this
    user may not enter, another user's; EIO) is left out. ``at_once``: where the files are
    on a share (each stat a round trip; the server answers several together), with
    :data:`STATS_AT_ONCE` threads asking (:func:`_sizes_at_once`); the same answer."""
    listed = list(paths)
    if at_once and len(listed) >= _STATS_AT_ONCE_FROM:
        found = _sizes_at_once(listed)
    else:
        found = [_size_on_disk(path) for path in listed]
    return {path: size for path, size in zip(listed, found, strict=True) if size is not None}


_STATS_AT_ONCE_FROM = 16
"""Files from which the threads are worth their start."""


def _size_on_disk(path: str) -> int | str | None:
    """One answer of :func:`_sizes_on_disk` (``None``: left out)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return MISSING
    except PermissionError:
        return _unreadable_link(path)
    except (OSError, ValueError):
        return None


def _sizes_at_once(paths: list[str]) -> list[int | str | None]:
    """:func:`_size_on_disk` of each of ``paths``, in their order, asked by
    :data:`STATS_AT_ONCE` threads (this one among them)."""
    from anyvenv.fs.together import map_together

    return map_together(_size_on_disk, paths, STATS_AT_ONCE)


# Files whose first (and last) bytes are never all NUL: source (python refuses a NUL byte),
# bytecode (a magic number first) and shared objects (an ELF header first).
_CODE_SUFFIXES = (".py", ".pyc", ".so")
_TAIL_CHECKED = (".py", ".pyc")  # (a shared object may end in zeros of padding)


def _zeroed(
    paths: list[str], on_disk: dict[str, int | str], recorded: dict[str, set[int]]
) -> list[str]:
    """The files of ``paths`` of the size their RECORD gives whose bytes are NUL where code
    should be (:func:`_nul_filled`): source, bytecode and shared objects."""
    zeroed = []
    for path in paths:
        size = on_disk.get(path)  # (a str: a link that cannot be read, named as damaged)
        if not isinstance(size, int) or size <= 0 or size not in recorded[path]:
            continue
        if path.endswith(_CODE_SUFFIXES) and _nul_filled(path, size):
            zeroed.append(path)
    return zeroed


def _nul_filled(path: str, size: int) -> bool:
    """Whether the file at ``path`` (``size`` bytes, the size its RECORD gives) holds NUL
    bytes where its contents should be: its first block, or for source and bytecode its
    last, all NUL. What XFS and others leave of a file written shortly before a crash of the
    machine: its size logged, its bytes never written. Two reads at most (a large file is
    not read through); one that cannot be read is not called damaged."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return False
    try:
        first = os.pread(fd, NUL_CHECK_BYTES, 0)
        if first and not first.strip(b"\0"):
            return True
        if size <= NUL_CHECK_BYTES or not path.endswith(_TAIL_CHECKED):
            return False
        last = os.pread(fd, NUL_CHECK_BYTES, size - NUL_CHECK_BYTES)
        return bool(last) and not last.strip(b"\0")
    except OSError:
        return False
    finally:
        os.close(fd)


def _zeroed_finding(env: Path, dist_info: Path, zeroed: list[str]) -> Finding:
    package = package_of(dist_info.name)
    count = len(zeroed)
    named = _some_named(zeroed, lambda path: _as_recorded(path, env, dist_info))
    return warning(
        Code.PACKAGE_FILES_ZEROED,
        f"{count} file{'s' if count > 1 else ''} of {package} {'hold' if count > 1 else 'holds'}"
        f" NUL bytes where {'their' if count > 1 else 'its'} contents should be (the size its "
        f"RECORD gives, not the bytes: a crash of the machine): {named}; reinstall it "
        f"({reinstall_for(env, dist_info)})",
        dist_info,
        package=package,
        files=_below_env(env, zeroed),
    )


def _unreadable_link(path: str) -> str | None:
    """The errno name of the readlink that fails (EACCES, EPERM) where ``path`` is a link
    the filesystem will not read; ``None`` for a file, or a link that reads (whose target
    lies past a directory this user may not enter)."""
    import stat

    from anyvenv.fs.outcome import errno_name

    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            return None  # (a file past a directory this user may not enter: left out)
        os.readlink(path)
    except PermissionError as exc:  # (of the lstat too: a directory on the way is closed)
        return errno_name(exc.errno) if os.path.islink(path) else None
    except (OSError, ValueError):  # (it reads, but not now: left out)
        return None
    return None


_NAMED_AT_MOST = 3


def _some_named(paths: list[str], said: Callable[[str], str]) -> str:
    """The first of ``paths`` as ``said`` says them, and how many more there are."""
    named = ", ".join(said(path) for path in paths[:_NAMED_AT_MOST])
    more = len(paths) - _NAMED_AT_MOST
    return f"{named} and {more} more" if more > 0 else named


def _below_env(env: Path, paths: list[str]) -> str:
    """``paths`` (of files in ``env``) below it, one per line: a finding's ``files``."""
    root = os.fspath(env) + os.sep
    return "\n".join(path[len(root) :] for path in paths)


def _as_recorded(path: str, env: Path, dist_info: Path) -> str:
    """``path`` as a RECORD names it: below site-packages (the dist-info's parent), or
    below the env (a script in bin/)."""
    site = os.fspath(dist_info.parent) + os.sep
    root = os.fspath(env) + os.sep
    return path[len(site) :] if path.startswith(site) else path[len(root) :]


def _damaged_finding(
    env: Path,
    dist_info: Path,
    damaged: list[str],
    on_disk: dict[str, int | str],
    recorded: dict[str, set[int]],
) -> Finding:
    package = package_of(dist_info.name)

    def said(path: str) -> str:
        size = on_disk[path]
        if isinstance(size, str):
            found = f"a link that cannot be read, {size}"
        else:
            found = "missing" if size == MISSING else f"{size} byte{'' if size == 1 else 's'}"
        shown = _as_recorded(path, env, dist_info)
        return f"{shown} ({found}, recorded {max(recorded[path])})"

    count = len(damaged)
    named = _some_named(damaged, said)
    links = any(isinstance(on_disk[path], str) for path in damaged)
    why = UNREADABLE_AND_REINSTALL if links else LOST_AND_REINSTALL
    return warning(
        Code.PACKAGE_FILES_DAMAGED,
        f"{count} file{'s' if count > 1 else ''} of {package} {'are' if count > 1 else 'is'} "
        f"missing or not the size its RECORD gives: {named} "
        f"{why.format(reinstall_for(env, dist_info))}",
        dist_info,
        package=package,
        files=_below_env(env, damaged),
    )
