"""``anyvenv python install``: fetch -> verify -> extract -> fix up -> validate -> commit.

The archive is verified (sha256) and every member checked before anything is written to
the install dir. Extraction happens in a staging directory beside the target, under the
install dir's share-safe lock; only a build that runs (right version, its own libpython,
ssl/sqlite3/ctypes importable) is renamed into place. A failure or a crash leaves the old
state: no half-made install, an existing one untouched.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from anyvenv import __version__
from anyvenv.errors import (
    NO_OPTIONS,
    AnyvenvError,
    DirectoryNotWritable,
    NothingExecutableHere,
    OptionWords,
    UsageError,
)
from anyvenv.fs import atomic
from anyvenv.fs.outcome import errno_name, held_tree_fix
from anyvenv.fs.paths import missing_directories, remove_while_empty
from anyvenv.fs.place import DATA_MODE, create_file, sync_directory, sync_filesystem
from anyvenv.fs.probe import probe, probe_path_for
from anyvenv.interpreter.discovery import INSTALL_DIR_ENV
from anyvenv.interpreter.query import LOADED_LIBPYTHONS_CODE
from anyvenv.killpoints import checkpoint
from anyvenv.pythons.archive import ExtractReport, LinkPlan, extract, plan_links, read_tree
from anyvenv.pythons.download import download_cache_dir, fetch_verified
from anyvenv.pythons.fixup import fix_up_install
from anyvenv.pythons.installed import (
    RECORD_NAME,
    InstalledPython,
    has_leftovers,
    install_lock,
    newer_for_uv_link,
    recover_installs,
    refuse_unremovable,
    resolve_install_dir,
)
from anyvenv.pythons.sources import (
    PythonDownload,
    available_downloads,
    download_url,
    select_download,
)

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any

    from anyvenv.pythons.executables import Executables

InstallProgress = Callable[[str, int, "int | None"], None]
"""Called with (stage, done, total): stage "download" counts bytes, "extract" members."""

VALIDATE_TIMEOUT = 300.0
PENDING_MARK = ".anyvenv-pending"
_LEAKY_VARIABLES = ("LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONHOME", "PYTHONPATH")
# Runs in the new build with -I: what it is, where it thinks it lives, what it loaded.
_VALIDATE_SCRIPT = (
    r"""
import importlib.util, json, sys
out = {"version": list(sys.version_info[:3]), "prefix": sys.prefix, "imported": [], "failed": {}}
for name, core in (("ssl", "_ssl"), ("sqlite3", "_sqlite3"), ("ctypes", "_ctypes")):
    if importlib.util.find_spec(core) is None:
        continue
    try:
        __import__(name)
        out["imported"].append(name)
    except Exception as exc:
        out["failed"][name] = "%s: %s" % (type(exc).__name__, exc)
"""
    + LOADED_LIBPYTHONS_CODE
    + r"""
out["libpython"] = libs
print(json.dumps(out))
"""
)


class InstallBroken(AnyvenvError):
    """The extracted build does not run as it should; nothing was installed."""


@dataclass(frozen=True)
class InstallResult:
    install: InstalledPython
    download: PythonDownload
    url: str
    status: str
    """"installed", "reinstalled" or "already installed"."""
    links: str = ""
    """How the archive's links were made: symlink, hardlink or copy."""
    reason: str = ""
    imported: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    seconds: float = 0.0
    sha256: str | None = None
    """The archive's, as installed (for an install already there: its record's)."""
    executables: Executables | None = None
    """Its names in the bin dir, when they were asked for."""
    old_remains: str = ""
    """What is left of the install it replaced, and why, where it could not all be removed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "name": self.install.name,
            "version": self.install.version_text,
            "free_threaded": self.install.free_threaded,
            "path": str(self.install.path),
            "executable": str(self.install.executable),
            "url": self.url,
            "sha256": self.sha256,
            "links": self.links,
            "reason": self.reason,
            "validated_imports": list(self.imported),
            "skipped_members": list(self.skipped),
            "seconds": round(self.seconds, 3),
            "executables": None if self.executables is None else self.executables.to_json(),
            "old_remains": self.old_remains or None,
        }


@dataclass(frozen=True)
class ValidatedBuild:
    imported: tuple[str, ...]
    libpython: tuple[str, ...]


def _already_installed(installed: InstalledPython, download: PythonDownload) -> InstallResult:
    """What the install there was made from (its record), not what would be downloaded now."""
    record = installed.record()
    return InstallResult(
        installed,
        download,
        str(record.get("downloaded_from", "")),
        "already installed",
        links=str(record.get("links", "")),
        reason=str(record.get("links_reason", "")),
        sha256=record.get("sha256"),
    )


def _satisfying_install(request: str, root: Path) -> InstalledPython | None:
    """The newest install in ``root`` that satisfies ``request`` (``3.12`` is satisfied by
    an installed 3.12.1 though 3.12.2 is out); ``None`` if none does."""
    from anyvenv.interpreter.request import parse_request
    from anyvenv.pythons.installed import installed_pythons, matching

    if parse_request(request).is_any:  # cpython, any: as 3 (matching takes no 'any')
        request = "3"
    try:
        found = matching(request, installed_pythons(root))
    except UsageError:  # a form only the downloads table reads
        return None
    return found[0] if found else None


def check_installable(requests: Iterable[str], pinned_in: str | None = None) -> None:
    """Raise the error :func:`install_python` would for the first request no known build
    matches, before anything is installed; ``pinned_in``: the version file the requests
    came from, which the error then names."""
    from anyvenv.pythons.sources import NoSuchDownload

    downloads = available_downloads()
    for request in requests:
        try:
            select_download(request, downloads)
        except NoSuchDownload as exc:
            if pinned_in is None:
                raise
            raise UsageError(
                f"{pinned_in} pins {request!r}: {exc.message}",
                "pass the versions to install, or change the file",
            ) from exc


def install_python(
    request: str,
    *,
    install_dir: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    reinstall: bool = False,
    progress: InstallProgress | None = None,
    offline: bool = False,
    on_lock_wait: Callable[[str], object] | None = None,
    executables: ExecutableNames | None = None,
    words: OptionWords = NO_OPTIONS,
) -> InstallResult:
    """Install the newest build matching ``request`` into ``install_dir`` (default:
    ``anyvenv_install_dir()``) so that it runs on that filesystem; ``offline``: from the
    download cache or a ``file://`` mirror only; ``on_lock_wait`` is told when another
    install or uninstall holds the install dir; ``executables``: then (also when it was
    already installed) its names in the user's bin dir (:mod:`anyvenv.pythons.executables`);
    ``words``: the caller's front end's, whose options the hints name (``install_dir``,
    ``offline``: ``python install`` has them, a command that downloads a Python for an env
    does not; none by default).

    Raises :class:`~anyvenv.errors.AnyvenvError` subclasses: unknown version, checksum
    mismatch, broken or unsafe archive, nothing executable there, no space left, ...
    """
    result = _install(
        request, install_dir, mirror, reinstall, progress, offline, on_lock_wait, words
    )
    if executables is None:
        return result
    from dataclasses import replace

    from anyvenv.pythons.executables import install_executables

    made = install_executables(
        result.install,
        os.environ,
        default=executables.default,
        force=executables.force,
        reinstall=reinstall,
    )
    return replace(result, executables=made)


@dataclass(frozen=True)
class ExecutableNames:
    """The install's names to make in the bin dir: ``python3.X``, with ``default``
    ``python3`` and ``python`` too; ``force``: over names that are not anyvenv's."""

    default: bool = False
    force: bool = False


def _install(
    request: str,
    install_dir: str | os.PathLike[str] | None,
    mirror: str | None,
    reinstall: bool,
    progress: InstallProgress | None,
    offline: bool,
    on_lock_wait: Callable[[str], object] | None,
    words: OptionWords,
) -> InstallResult:
    started = time.perf_counter()
    root = resolve_install_dir(install_dir)
    download = select_download(request, available_downloads())
    url = download_url(download, mirror)
    target = root / download.install_name
    installed = InstalledPython(
        download.install_name, target, download.version, download.free_threaded
    )
    if not reinstall:  # as uv: an install that satisfies the request is enough
        already = _satisfying_install(request, root)
        if already is not None:
            installed = already
    if not reinstall and os.path.lexists(installed.executable):
        if has_leftovers(root):  # clear what killed runs left, though nothing is installed
            with install_lock(root, on_lock_wait):
                recover_installs(root)
        return _already_installed(installed, download)
    try:
        where = probe(probe_path_for(root))
    except DirectoryNotWritable as exc:  # (an unwritable home: not a directory they named)
        error = exc.reworded(f"cannot install into {root}: {exc.message}")
        error.hint = f"pick another install dir with {_install_dir_options(words)}"
        raise error from None
    if not where.can_execute:
        raise NothingExecutableHere(
            f"no file can be executed on the filesystem at {where.path} (exec: {where.exec})",
            f"install into another filesystem with {_install_dir_options(words)}",
        )
    plan = plan_links(where)
    with _download_cache() as cache:
        on_bytes = None if progress is None else _stage(progress, "download")
        archive = fetch_verified(
            url, download.sha256, download.filename, cache, on_bytes, offline=offline, words=words
        )
        tree = read_tree(archive)  # every member checked before anything is written
        # (made here: taken away again if nothing is installed)
        made = missing_directories(os.fspath(root))
        try:
            root.mkdir(parents=True, exist_ok=True)
            with install_lock(root, on_lock_wait):
                recover_installs(root)  # this version's leftovers, and any other's
                replacing = os.path.lexists(target)
                if replacing and not reinstall and os.path.lexists(installed.executable):
                    return _already_installed(installed, download)
                if replacing:
                    refuse_unremovable(installed.name, target, "reinstall")
                with atomic.staging_directory(target) as staging_dir:
                    staging = Path(staging_dir)
                    on_members = None if progress is None else _stage(progress, "extract")
                    report = extract(archive, tree, staging, plan, on_members)
                    fix_up_install(staging, target, download.executable_name)
                    if progress is not None:
                        progress("validate", 0, None)
                    validated = validate_build(staging, download)
                    _write_record(staging, download, url, plan, report)
                    checkpoint("python-install:validated")
                    # on disk before the rename: a power cut after it must not leave a
                    # complete-looking install of empty files (nothing else flushes them)
                    sync_filesystem(staging)
                    remains = _commit(staging, target)
                    sync_directory(root)  # the rename that put it in place
                    checkpoint("python-install:committed")
                    newer_for_uv_link(root, installed)
        except BaseException as exc:
            remove_while_empty(made)
            if isinstance(exc, OSError):
                raise _install_error(exc, root, download, words) from exc
            raise
    return InstallResult(
        installed,
        download,
        url,
        "reinstalled" if replacing else "installed",
        links=plan.symlinks.value,
        reason=plan.reason,
        imported=validated.imported,
        skipped=tuple(report.skipped),
        seconds=time.perf_counter() - started,
        sha256=download.sha256,
        old_remains="" if remains is None else remains.message("install"),
    )


def _commit(staging: Path, target: Path) -> atomic.Remains | None:
    """Rename the staged install into place. Where renaming a directory loses its files
    (fusefat) the tree moves file by file: ``bin/`` is hidden until everything else has
    moved, so a crash in between leaves nothing that runs or counts as installed (discovery
    and ``python list`` look for ``bin/python3.X``), and the next install replaces it. A
    reinstall there replaces the old files one by one, ``bin/`` last, so that a crash leaves
    the old interpreter with files of one build or the other of that version, which runs
    (removing the old install first, as before, lost it to a kill). So does a reinstall over
    an install that cannot be renamed (overlayfs's lower layer: a container image's)."""
    if atomic.directory_rename_keeps_contents(staging.parent):
        # (what is left of the old one, if any)
        return atomic.commit(staging, target, by_files=_replace_by_files)
    if target.is_dir():  # a reinstall: the old install keeps running while files are replaced
        _replace_by_files(os.fspath(staging), os.fspath(target))
        return None
    bin_dir = staging / "bin"
    names = sorted(os.listdir(bin_dir))
    for name in names:
        os.rename(bin_dir / name, bin_dir / f".{name}{PENDING_MARK}")
    atomic.commit(staging, target)  # (no old one to leave: a new install)
    for name in names:
        os.rename(target / "bin" / f".{name}{PENDING_MARK}", target / "bin" / name)
    return None


def _replace_by_files(staging: str, target: str) -> None:
    atomic.replace_tree_by_files(staging, target, last=("bin",))


def _stage(progress: InstallProgress, stage: str) -> Callable[[int, int | None], None]:
    return lambda done, total: progress(stage, done, total)


@contextlib.contextmanager
def _download_cache() -> Iterator[Path]:
    """The download cache, or a temporary directory when it cannot be created."""
    cache = download_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        usable = os.access(cache, os.W_OK)
    except OSError:
        usable = False
    if usable:
        yield cache
        return
    from anyvenv.fs.leftovers import scratch_dir

    purpose = "the download (its cache cannot be written either)"
    with scratch_dir(purpose, "anyvenv-download-") as temporary:
        yield Path(temporary)


def _install_dir_options(words: OptionWords) -> str:
    """How the user picks another install dir: the front end's option (``python install
    --install-dir``), if it has one, or the variable every command reads."""
    option = words.option("install_dir")
    return f"{option} or {INSTALL_DIR_ENV}" if option else INSTALL_DIR_ENV


def _install_error(
    exc: OSError, root: Path, download: PythonDownload, words: OptionWords
) -> AnyvenvError:
    where = exc.filename or root
    if exc.filename and atomic.name_refused(os.fspath(exc.filename), exc):
        return atomic.name_refusal(os.fspath(exc.filename), exc)  # (FAT: no café)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        full = "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
        elsewhere = words.option("install_dir") or f"install dir ({INSTALL_DIR_ENV})"
        return AnyvenvError(
            f"{full} at {root} while installing {download.install_name}",
            f"free space or pick another {elsewhere}; nothing was installed",
        )
    old = os.fspath(root / download.install_name)
    held = held_tree_fix(exc, old, f"the installed {download.install_name}")
    if held is not None:  # (SMB: a directory whose python runs is not renamed: EACCES)
        return AnyvenvError(
            f"cannot replace {old} ({errno_name(exc.errno)}) while installing "
            f"{download.install_name}",
            f"{held}; nothing was installed",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return AnyvenvError(
            f"cannot write {where} ({errno_name(exc.errno)}) while installing "
            f"{download.install_name}",
            f"pick an install dir you can write to ({_install_dir_options(words)}); "
            "nothing was installed",
        )
    return AnyvenvError(
        f"installing {download.install_name} into {root} failed at {where}: "
        f"{exc.strerror or exc} ({errno_name(exc.errno)})",
        "nothing was installed; run 'anyvenv probe' on that directory to see what it allows",
    )


def _child_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in _LEAKY_VARIABLES}


def validate_build(root: Path, download: PythonDownload) -> ValidatedBuild:
    """Run the build at ``root`` (through ``bin/python3``, the name users run) and check its
    version, its prefix, its imports and that the libpython it loads is its own."""
    bin_dir = root / "bin"
    alias = bin_dir / f"python{download.version[0]}"
    exe = (
        alias
        if os.path.lexists(alias) and not download.free_threaded
        else bin_dir / download.executable_name
    )
    try:
        proc = subprocess.run(
            [os.fspath(exe), "-I", "-B", "-c", _VALIDATE_SCRIPT],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=_child_environment(),
            timeout=VALIDATE_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise InstallBroken(
            f"the new Python {download.version_text} did not answer within {VALIDATE_TIMEOUT:.0f}s",
            "the filesystem may be too slow or hung; nothing was installed",
        ) from exc
    except OSError as exc:
        raise InstallBroken(
            f"the new Python cannot be started: {exc.strerror} ({errno_name(exc.errno)})",
            "nothing was installed; run 'anyvenv probe' on the install dir",
        ) from exc
    if proc.returncode != 0:
        from anyvenv.interpreter.query import failure_line

        why = failure_line(proc.stderr.decode(errors="replace"), proc.returncode)
        raise InstallBroken(f"the new Python does not run: {why}", "nothing was installed")
    try:
        facts = json.loads(proc.stdout)
    except ValueError as exc:
        raise InstallBroken(
            "the new Python did not answer its start-up check", "nothing was installed"
        ) from exc
    _check_facts(facts, root, download)
    return ValidatedBuild(tuple(facts["imported"]), tuple(facts["libpython"]))


def _inside(path: str, root: Path) -> bool:
    real_root = os.path.realpath(root)
    return os.path.realpath(path).startswith(real_root + os.sep)


def _check_facts(facts: dict[str, Any], root: Path, download: PythonDownload) -> None:
    version = tuple(facts["version"])
    if version != download.version:
        raise InstallBroken(
            f"the new Python says it is {'.'.join(map(str, version))}, "
            f"the metadata says {download.version_text}",
            "the archive does not match its metadata; nothing was installed",
        )
    if os.path.realpath(facts["prefix"]) != os.path.realpath(root):
        raise InstallBroken(
            f"the new Python puts its prefix at {facts['prefix']}, not where it lies",
            "the build is not relocatable; nothing was installed",
        )
    if facts["failed"]:
        name, why = next(iter(facts["failed"].items()))
        raise InstallBroken(f"the new Python cannot import {name}: {why}", "nothing was installed")
    foreign = [lib for lib in facts["libpython"] if not _inside(lib, root)]
    if foreign:
        raise InstallBroken(
            f"the new Python loaded {foreign[0]} instead of its own libpython",
            "its RUNPATH does not lead to its lib/; nothing was installed",
        )


def _write_record(
    staging: Path, download: PythonDownload, url: str, plan: LinkPlan, report: ExtractReport
) -> None:
    record = {
        "source_url": download.url,
        "downloaded_from": url,
        "sha256": download.sha256,
        "release": download.release,
        "links": plan.symlinks.value,
        "links_reason": plan.reason,
        "skipped_members": report.skipped,
        "installed_by": f"anyvenv {__version__}",
        "installed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    create_file(staging / RECORD_NAME, json.dumps(record, indent=2).encode() + b"\n", DATA_MODE)
