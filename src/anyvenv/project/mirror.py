"""Mirror the installed distributions of one env into another, per ``*.dist-info``.

Where chmod does not work on the env's filesystem, uv cannot install there (on FAT its copy of
every file fails with ENOSYS; where chmod is ignored, console scripts lose their exec bit). uv
installs into a shadow env on local disk instead, and this module brings the result over:

- a distribution whose dist-info directory name and RECORD are the same on both sides is left
  alone (a no-op sync reads the RECORDs and copies nothing);
- a new or changed one has every file of its RECORD (and its dist-info directory) copied, with
  the mode set when the file is created, and console-script shebangs rewritten from the source
  env's python to the destination's; files of the old RECORD that the new one lacks are removed;
- one the source no longer has is removed by the destination's own RECORD.

RECORD is written last, so an interrupted mirror is redone by the next one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from anyvenv.envbuild.dists import dist_info_name, record_paths
from anyvenv.envbuild.shebang import HEAD_BYTES, parse_shebang, retarget_shebang, rewritten
from anyvenv.errors import AnyvenvError
from anyvenv.fs import is_virtual_environment
from anyvenv.fs.atomic import (
    name_refused,
    name_taken_wrongly,
    path_too_long,
    too_long_path_clause,
)
from anyvenv.fs.place import copy_file, create_file
from anyvenv.killpoints import checkpoint

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Collection


@dataclass(frozen=True)
class EnvTree:
    """An env as the mirror sees it: its root and its site-packages directory."""

    root: Path
    site_packages: Path

    @classmethod
    def of(cls, root: str | os.PathLike[str], site_relative: str) -> EnvTree:
        return cls(Path(root), Path(root, site_relative))


@dataclass(frozen=True)
class Distribution:
    name: str  # normalized project name
    dist_info: str  # the directory name, e.g. beta-1.0.dist-info
    record: bytes | None  # RECORD's bytes (None if missing)


@dataclass
class MirrorReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    files_written: int = 0
    files_removed: int = 0
    # distributions of the destination an install left half-made (no RECORD) that the
    # source lacks and no journal names: their files cannot be told, so they are left
    half_made: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "files_written": self.files_written,
            "files_removed": self.files_removed,
            "half_made": self.half_made,
        }


def distributions(site_packages: Path) -> dict[str, Distribution]:
    """The distributions installed in ``site_packages``, by normalized name."""
    found: dict[str, Distribution] = {}
    try:
        entries = sorted(os.listdir(site_packages))
    except FileNotFoundError:
        return found
    for entry in entries:
        if not entry.endswith(".dist-info"):
            continue
        name = dist_info_name(entry)
        try:
            record: bytes | None = (site_packages / entry / "RECORD").read_bytes()
        except OSError:
            record = None
        found[name] = Distribution(name, entry, record)
    return found


def dist_info_dirs(tree: EnvTree) -> set[str]:
    """The names of the ``*.dist-info`` directories of ``tree`` (one listing: no RECORD is
    read), to tell cheaply whether two envs hold other distributions."""
    try:
        return {entry for entry in os.listdir(tree.site_packages) if entry.endswith(".dist-info")}
    except FileNotFoundError:
        return set()


def _env_relative(tree: EnvTree, listed: str) -> str | None:
    """A RECORD path as a path relative to the env root; ``None`` if it leaves the env."""
    full = os.path.normpath(os.path.join(tree.site_packages, listed))
    relative = os.path.relpath(full, tree.root)
    return relative if _below_root(relative) else None


def _below_root(relative: str) -> bool:
    """Whether ``relative``, a path read from the env, names something below the env's root
    (not the root, not above it, not absolute)."""
    normal = os.path.normpath(relative)
    return not (os.path.isabs(normal) or normal in (".", "..") or normal.startswith(".." + os.sep))


def _dist_info_files(tree: EnvTree, dist_info: str) -> list[str]:
    base = tree.site_packages / dist_info
    found: list[str] = []
    for directory, _dirs, files in os.walk(base):
        for name in files:
            found.append(os.path.relpath(os.path.join(directory, name), tree.root))
    return found


def files_of(tree: EnvTree, dist: Distribution) -> list[str]:
    """Every file of ``dist`` relative to the env root, RECORD last."""
    record_rel = os.path.relpath(tree.site_packages / dist.dist_info / "RECORD", tree.root)
    unique = dict.fromkeys(_recorded(tree, dist) + _dist_info_files(tree, dist.dist_info))
    unique.pop(record_rel, None)
    ordered = list(unique)
    if dist.record is not None:
        ordered.append(record_rel)
    return ordered


# -- placing and removing files ----------------------------------------------------------------


def _temp_beside(path: Path) -> Path:
    """Named as atomic_write names its temp files, so those of killed runs are cleared."""
    from anyvenv.fs.leftovers import TEMP_MARK, leftover_tag

    return path.with_name(f".{path.name}{TEMP_MARK}{leftover_tag()}")


class _Placing:
    """The writes of one mirror into ``dest``: each directory is made (or found there) once,
    one that this mirror made holds only what it wrote (its files are created without a look
    first), and the dead temp files of a directory are swept once. On a FUSE or network mount
    every ``mkdir`` and ``lstat`` is a round trip (fusefat's a directory scan): per file,
    they cost more than the copies."""

    def __init__(self, source: EnvTree, dest: EnvTree) -> None:
        import threading

        self.source, self.dest = source, dest
        self._there: set[Path] = set()  # (a directory in it is in _made first, if made)
        self._made: set[Path] = set()
        self._swept: set[Path] = set()
        self._sweeping = threading.Lock()  # (install runs in several threads at once)
        from anyvenv.fs.mounts import mount_of

        mount = mount_of(dest.root)  # (smbnetfs: some names are made wrongly, not refused)
        self._checks_names = mount is not None and mount.takes_names_wrongly

    def _directory(self, directory: Path) -> None:
        if directory in self._there or directory in (self.dest.root, directory.parent):
            return
        self._directory(directory.parent)
        try:
            os.mkdir(directory)
            self._made.add(directory)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
        self._there.add(directory)

    def may_ask(self, relative: str) -> bool:
        """Whether ``dest`` may be asked for ``relative`` at all: not where its filesystem
        would take one of its names wrongly (see
        :data:`~anyvenv.fs.mounts.NAME_MANGLING_FSTYPES`: smbnetfs then fails every call for
        some seconds), which is refused before the share is asked."""
        return not (self._checks_names and any(map(name_taken_wrongly, relative.split(os.sep))))

    def install(self, relative: str) -> bool:
        """Copy one file over with its mode set at creation; scripts in bin/ get the new
        shebang. ``False`` (nothing done) where the source lacks the file its RECORD lists
        (removed by hand, or an uninstall stopped half-way there): the copy lacks it too."""
        src = self.source.root / relative
        dst = self.dest.root / relative
        try:
            mode = os.stat(src).st_mode & 0o777
        except FileNotFoundError:
            return False
        if not self.may_ask(relative):
            raise OSError(errno.EINVAL, "a name this share would take wrongly", os.fspath(dst))
        self._directory(dst.parent)
        data: bytes | None = None
        if relative.startswith("bin" + os.sep):
            with open(src, "rb") as handle:
                data = _for_dest(handle.read(), self.source.root, self.dest.root)
            if data is not None:
                mode |= (mode & 0o444) >> 2  # a package's python script: runnable, wherever from
        if dst.parent in self._made or not os.path.lexists(dst):
            try:
                _write(src, dst, data, mode)
                return True
            except FileExistsError:  # (listed by two distributions: the later one's)
                pass
        with self._sweeping:
            first = dst.parent not in self._swept
            self._swept.add(dst.parent)
        if first:  # (the temp files of this run are not swept: their maker is alive)
            from anyvenv.fs.leftovers import TEMP_MARK, sweep_dead

            sweep_dead(dst.parent, TEMP_MARK)  # (a killed run's, beside the files it rewrote)
        target = _temp_beside(dst)
        _write(src, target, data, mode)
        try:
            os.replace(target, dst)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise
        if dst.suffix == ".py":  # (its old bytecode may pass for the new: same size, second)
            _drop_bytecode(dst)
        return True


def _bytecode_names(stem: str, names: list[str]) -> list[str]:
    """The ``.pyc`` files of module ``stem`` among a ``__pycache__``'s ``names``."""
    return [name for name in names if name.startswith(stem + ".") and name.endswith(".pyc")]


def _drop_bytecode(source: Path) -> None:
    """Remove the bytecode of the module ``source``, replaced: Python takes a ``.pyc`` whose
    recorded size and modification second match the source's for it, and a new version of
    the same size placed within the second of the old one's compiling would run as the old."""
    cache = source.parent / "__pycache__"
    with contextlib.suppress(OSError):
        for name in _bytecode_names(source.stem, os.listdir(cache)):
            os.unlink(cache / name)


def _write(src: Path, target: Path, data: bytes | None, mode: int) -> None:
    """Create ``target`` (not there) with ``data``, else with the bytes of ``src``."""
    if data is not None:
        create_file(target, data, mode)
    else:
        copy_file(src, target, mode)


def _for_dest(data: bytes, source_root: Path, dest_root: Path) -> bytes | None:
    """A script of ``bin/`` run by ``dest_root``'s python: one that names ``source_root``'s,
    or the python of an env that is not there any more or is another env (a script written
    where the env was before it was moved or copied). ``None``: a script of another
    interpreter (``/bin/sh``, a base python that is there), or none at all."""
    moved = retarget_shebang(data, source_root, dest_root)
    if moved is not None:
        return moved
    shebang = parse_shebang(data[:HEAD_BYTES])
    if shebang is None:
        return None
    folder, name = os.path.split(shebang.interpreter)
    env_root = os.path.dirname(folder)
    if not name.startswith("python") or os.path.basename(folder) != "bin":
        return None
    if env_root == os.fspath(dest_root):
        return None
    if os.path.exists(shebang.interpreter) and not is_virtual_environment(env_root):
        return None  # (a base interpreter that is there: the script means it)
    return rewritten(data, shebang, os.path.join(os.fspath(dest_root), "bin", name))


def _remove_file(
    dest: EnvTree, relative: str, touched: set[Path], caches: dict[Path, list[str]]
) -> bool:
    """Remove one file of ``dest`` and its bytecode; ``caches``: the ``__pycache__`` listings
    read so far (each listed once, not once per module removed)."""
    path = dest.root / relative
    touched.add(path.parent)  # (gone already: its directory may still be left, emptied)
    try:
        os.unlink(path)
        checkpoint("unlink:" + path.name)
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        return False
    if path.suffix == ".py":
        cache = path.parent / "__pycache__"
        with contextlib.suppress(OSError):
            names = caches.get(cache)
            if names is None:
                names = caches[cache] = os.listdir(cache)
            for entry in _bytecode_names(path.stem, names):
                os.unlink(cache / entry)
                names.remove(entry)
            touched.add(cache)
    return True


def _prune(dest: EnvTree, directories: set[Path]) -> None:
    """Remove directories emptied by removals (and their leftover __pycache__), deepest
    first, then each parent they leave empty."""
    import errno
    import heapq

    stops = {dest.root, dest.site_packages, dest.root / "bin"}
    pending = [(-len(p.parts), str(p), p) for p in directories]
    heapq.heapify(pending)
    seen: set[Path] = set()
    while pending:
        directory = heapq.heappop(pending)[2]
        if directory in seen or directory in stops or dest.root not in directory.parents:
            continue
        seen.add(directory)
        try:
            os.rmdir(directory)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not _only_stale_bytecode(
                directory
            ):
                continue
            shutil.rmtree(directory / "__pycache__", ignore_errors=True)
            try:
                os.rmdir(directory)
            except OSError:
                continue
        parent = directory.parent
        heapq.heappush(pending, (-len(parent.parts), str(parent), parent))


def _only_stale_bytecode(directory: Path) -> bool:
    """Whether ``directory`` holds only a ``__pycache__`` with no source left beside it."""
    try:
        if os.listdir(directory) != ["__pycache__"]:
            return False
        return not any(name.endswith(".py") for name in os.listdir(directory / "__pycache__"))
    except OSError:
        return False


def _remove_dist_info(dest: EnvTree, dist: Distribution) -> None:
    shutil.rmtree(dest.site_packages / dist.dist_info, ignore_errors=True)


# -- the mirror --------------------------------------------------------------------------------


def mirror(
    source: EnvTree,
    dest: EnvTree,
    progress: Callable[[int, int], object] | None = None,
    *,
    again: Collection[str] | bool = (),
    keep: Collection[str] = (),
    journal: Path | None = None,
    complete_only: bool = False,
) -> MirrorReport:
    """Make ``dest``'s distributions those of ``source``; returns what changed.
    ``progress(done, total)`` is told of the files written (a big env on a slow share takes
    a while). ``again``: distributions copied even where nothing changed (``True``: all of
    them), as uv's ``--reinstall`` puts back what was lost. ``keep``: distributions of
    ``dest`` never removed (the seed packages ``uv sync`` keeps in an env it did not make).
    ``journal``: a file that holds, while the mirror runs, the files it places per
    distribution (before their RECORD is there to say so); one left by a mirror that did not
    end names files of distributions it left half-made, which this one copies again or
    removes. It is removed when the mirror ends (also when packages were refused).
    ``complete_only``: the distributions of ``source`` that an install left half-made are
    neither copied nor removed from ``dest`` (an env's, taken into its shadow). One of
    ``dest`` that ``source`` lacks, has no RECORD and no journal names is left as it is and
    named in the report's ``half_made``.

    Every removal comes before any write, and no file a new RECORD lists is removed: a module
    that moves from one distribution to another in one upgrade is kept, whichever order the
    two come in. The directories the removals emptied go before any write too: on a
    case-insensitive filesystem (FAT, exFAT) a package directory renamed only by case
    (``Caser/`` to ``caser/``) would otherwise keep its old name; there, a file that a
    distribution left as it is lists in another case is not removed either, and that
    distribution is copied again (the one file may hold the other's bytes). A file that cannot be
    removed stops the mirror with an :class:`AnyvenvError` naming it, and so does one that
    cannot be written for another reason than its name (no space left, an I/O error): the
    journal lets the next mirror finish. A distribution one of whose names the filesystem
    refuses is taken back out of ``dest`` (not the files other distributions list), the
    others are still placed, and :class:`NotPlaced` names it after. An interrupted mirror
    leaves the distributions not yet complete without their RECORD (written last): the
    next mirror copies them again. Where a file held open cannot be replaced or removed (SMB
    through libsmbclient), one it would replace or remove that a program of this host holds
    stops it before it changes anything (:func:`_refuse_files_in_use`)."""
    report = MirrorReport()
    wanted = distributions(source.site_packages)
    present = distributions(dest.site_packages)
    if complete_only:
        half_made = {name for name, dist in wanted.items() if not _complete(source, dist)}
        wanted = {name: dist for name, dist in wanted.items() if name not in half_made}
        keep = {*keep, *half_made}
    lost_exec = _scripts_without_exec(source, dest)
    earlier = read_journal(journal) if journal is not None else {}
    if earlier:  # a mirror that did not end: the temp files its kill left where it wrote
        _sweep_temps(dest, earlier)
    changed = [
        name
        for name in sorted(wanted)
        if present.get(name) != wanted[name]
        or again is True
        or name in (again or ())
        or name in earlier
        or (lost_exec and not lost_exec.isdisjoint(files_of(dest, present[name])))
    ]
    new_files = {name: files_of(source, wanted[name]) for name in changed}
    claimed = {relative for files in new_files.values() for relative in files}
    gone = sorted(set(present) - set(wanted) - set(keep))
    # one with no RECORD, which no journal names (its shadow was made again since): which
    # files are its cannot be told; removing its dist-info alone would hide what is left
    report.half_made = [
        name for name in gone if present[name].record is None and name not in earlier
    ]
    gone = [name for name in gone if name not in report.half_made]
    orphaned = sorted(set(earlier) - set(wanted) - set(present))  # (no dist-info made yet)
    staying = set(present) - set(changed) - set(gone)
    old_files = {
        name: [*(files_of(dest, present[name]) if name in present else ()), *earlier.get(name, ())]
        for name in [*gone, *changed, *orphaned]
    }
    # where case does not tell names apart (FAT, exFAT, SMB), Util.py of one is util.py of
    # another: the files of the distributions left as they are are claimed too, whatever
    # their case (those of the new RECORDs are written again after the removals); one such
    # file holds the bytes of whichever was written last, so a distribution left as it is
    # that shares one with a distribution changed or gone is copied again too
    fold = _case_insensitive(dest.site_packages)
    if fold:
        for name in _sharing_in_case(dest, present, staying & set(wanted), old_files, claimed):
            changed.append(name)
            staying.discard(name)
            new_files[name] = files_of(source, wanted[name])
            claimed.update(new_files[name])
            old_files[name] = files_of(dest, present[name])
        changed.sort()
    kept = {path.casefold() for path in _listed(dest, present, staying)} if fold else set()
    # (where something of dest goes or is written over: never in a sync that changes nothing)
    if any(old_files.values()) and _open_files_stay(dest):
        _refuse_files_in_use(dest, new_files, old_files, _listed(dest, present, staying), kept)
    token = ""  # (the journal's, which its done list names)
    if journal is not None and (changed or gone or earlier):
        removing = {name: files_of(dest, present[name]) for name in gone}
        token = write_journal(journal, earlier, {**new_files, **removing})
    touched: set[Path] = set()
    caches: dict[Path, list[str]] = {}
    placing = _Placing(source, dest)

    try:
        for name in gone:
            files = old_files[name]
            report.files_removed += _remove_unclaimed(dest, files, claimed, touched, caches, kept)
            _remove_dist_info(dest, present[name])
            report.removed.append(name)
        for name in [*changed, *orphaned]:
            files = old_files[name]
            report.files_removed += _remove_unclaimed(dest, files, claimed, touched, caches, kept)
            old_dist = present.get(name)
            if old_dist is not None and old_dist.dist_info != wanted[name].dist_info:
                _remove_dist_info(dest, old_dist)
        _prune(dest, touched)
        touched.clear()
        total = sum(len(files) for files in new_files.values())
        refused: dict[str, AnyvenvError] = {}

        def written() -> None:
            report.files_written += 1
            if progress is not None:
                progress(report.files_written, total)

        def finished(name: str, refusal: AnyvenvError | None) -> None:
            if refusal is None:
                (report.updated if name in present else report.added).append(name)
                if journal is not None and token:  # (its RECORD is there: not copied again)
                    _mark_done(journal, token, name)
                return
            refused[name] = refusal
            others = {f for other, files in new_files.items() if other != name for f in files}
            owned = others | _listed(dest, present, staying)
            asked = [relative for relative in new_files[name] if placing.may_ask(relative)]
            _take_back(dest, asked, wanted[name], touched, caches, owned, fold)

        place = _place_in_parallel if _worth_copies_at_once(dest, total) else _place_in_turn
        place(placing, {name: new_files[name] for name in changed}, written, finished)
        report.added.sort()  # (in the order they were done: several at once)
        report.updated.sort()
    finally:
        _prune(dest, touched)
    if journal is not None:  # (a done list a kill leaves alone is cleared by the next journal)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(journal)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_done_list(journal))
    if refused:
        raise NotPlaced(refused, report)
    return report


def _refuse_files_in_use(
    dest: EnvTree,
    new_files: dict[str, list[str]],
    old_files: dict[str, list[str]],
    staying_files: set[str],
    kept: set[str],
) -> None:
    """Stop the mirror before it changes anything where a program of this host holds open
    (runs, maps) a file of ``dest`` that it would replace or remove, on a filesystem that
    cannot replace or remove a file in use (:func:`_open_files_stay`; SMB through
    libsmbclient: EBUSY). Stopped there half-way, the env would hold a package of two
    versions (its new modules beside the old extension a running python maps) and lack the
    rest. ``old_files``: of each distribution changed or removed, the files ``dest`` has of
    it; ``staying_files``: those of the others; ``kept``: files not removed, case-folded
    (see :func:`mirror`)."""
    claimed = {path for files in new_files.values() for path in files}
    existing = staying_files.union(*old_files.values())
    at_stake: dict[str, str] = {}  # file -> the distribution it is placed or removed for
    for name, files in new_files.items():
        at_stake.update((path, name) for path in files if path in existing)
    for name, files in old_files.items():
        for path in files:
            if path not in claimed and not (kept and path.casefold() in kept):
                at_stake.setdefault(path, name)
    if not at_stake:
        return
    from anyvenv.fs.processes import holders_by_path

    root = os.path.realpath(dest.root)  # (the files below: made by installers, no links)
    whose = {os.path.join(root, path): name for path, name in at_stake.items()}
    held = holders_by_path(whose, resolved=True)
    if not held:
        return
    from anyvenv.fs.outcome import in_use_fix

    holders = sorted({holder for found in held.values() for holder in found})
    names = sorted({whose[path] for path in held})
    raise AnyvenvError(
        f"cannot replace or remove {', '.join(names)} in {dest.root}: nothing was changed",
        in_use_fix(holders, "the environment's packages"),
    )


def _open_files_stay(dest: EnvTree) -> bool:
    """Whether a file held open cannot be replaced or removed on the filesystem of ``dest``
    (:func:`~anyvenv.fs.probe.files_in_use_stay`)."""
    from anyvenv.fs.probe import files_in_use_stay

    return files_in_use_stay(dest.root)


_PARALLEL_FROM = 32
"""Files to place from which a mirror copies several at once (a thread pool costs more than
it saves for a few)."""
_COPIES_AT_ONCE = 8
"""Files placed at once: on a share each copy waits on the server (``create``, ``write``,
``release`` are round trips), not on a core. Twice as fast as one at a time on sshfs and a
FUSE mount with 20 ms per operation."""
_IN_FLIGHT = 2 * _COPIES_AT_ONCE
"""Files given to the threads at a time (the others wait their turn in this thread)."""


def _worth_copies_at_once(dest: EnvTree, total: int) -> bool:
    """Whether placing ``total`` files in ``dest`` goes faster several at once: on a share
    (each call waits on the server) with enough of them. Not on local disk or a local
    device, where the threads only cost (5x on tmpfs, 2-3x on exfat-fuse and ntfs-3g)."""
    if total < _PARALLEL_FROM:
        return False
    from anyvenv.fs.mounts import mount_of

    mount = mount_of(dest.root)
    return mount is not None and mount.answers_from_afar


def _refusal_of(placing: _Placing, relative: str, placed: bool | OSError) -> AnyvenvError | None:
    """What one file's :meth:`_Placing.install` came to (``placed``: its result, or the
    error it raised): ``None`` where it went well; the error for a name the filesystem
    refuses (its distribution is taken back); any other error is raised (EIO, ENOSPC: the
    mirror stops, the journal lets the next one finish)."""
    if not isinstance(placed, OSError):
        return None
    path = str(placing.dest.root / relative)
    if not name_refused(path, placed):
        raise _not_placed(placed, path) from placed
    if path_too_long(path, placed):
        return PathTooLong(f"cannot place {path}: {too_long_path_clause(path)}")
    return _not_placed(placed, path)


def _install(placing: _Placing, relative: str) -> bool | OSError:
    try:
        return placing.install(relative)
    except OSError as exc:
        return exc


def _place_in_turn(
    placing: _Placing,
    files_by_dist: dict[str, list[str]],
    written: Callable[[], object],
    finished: Callable[[str, AnyvenvError | None], object],
) -> None:
    """Place the files of each distribution, one after another, in their order (RECORD
    last); ``written()`` after each file written; ``finished(name, refusal)`` after each
    distribution, with the refusal that stopped it (or ``None``)."""
    for name, files in files_by_dist.items():
        refusal = None
        for relative in files:
            placed = _install(placing, relative)
            refusal = _refusal_of(placing, relative, placed)
            if refusal is not None:
                break
            if placed is True:
                written()
        finished(name, refusal)


def _place_in_parallel(
    placing: _Placing,
    files_by_dist: dict[str, list[str]],
    written: Callable[[], object],
    finished: Callable[[str, AnyvenvError | None], object],
) -> None:
    """As :func:`_place_in_turn`, with several files placed at once (at most
    :data:`_IN_FLIGHT` given to the threads at a time: each one done is met once, whatever
    the size of the env). The last file of a distribution (its RECORD) is placed only once
    all its others are, so a kill still leaves those not complete without it. A refused name
    stops the files of its distribution not yet begun; ``finished`` is told once those under
    way are done. Any other failure stops them all and is raised once those under way are
    done. ``written`` and ``finished`` are called in this thread."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    results: queue.SimpleQueue[tuple[str, str, bool | BaseException]] = queue.SimpleQueue()

    def place(name: str, relative: str) -> None:
        try:
            outcome: bool | BaseException = _install(placing, relative)
        except BaseException as exc:  # (not an OSError: raised below, in this thread)
            outcome = exc
        results.put((name, relative, outcome))

    left = {name: max(len(files) - 1, 0) for name, files in files_by_dist.items()}
    refusals: dict[str, AnyvenvError] = {}

    def settle(name: str) -> None:  # (its other files are done: its RECORD, then its word)
        refusal = refusals.get(name)
        if refusal is None and files_by_dist[name]:
            last = files_by_dist[name][-1]
            placed = _install(placing, last)
            refusal = _refusal_of(placing, last, placed)
            if placed is True:
                written()
        finished(name, refusal)

    waiting = ((name, path) for name, files in files_by_dist.items() for path in files[:-1])
    pool = ThreadPoolExecutor(_COPIES_AT_ONCE, thread_name_prefix="anyvenv-mirror")
    try:
        for name in [name for name, count in left.items() if count == 0]:
            settle(name)
        failure: BaseException | None = None
        in_flight = 0
        while True:
            while failure is None and in_flight < _IN_FLIGHT:
                item = next(waiting, None)
                if item is None:
                    break
                if item[0] in refusals:  # (refused: the rest of it is not begun)
                    left[item[0]] -= 1
                    if not left[item[0]]:
                        settle(item[0])
                    continue
                pool.submit(place, *item)
                in_flight += 1
            if not in_flight:
                break
            name, relative, outcome = results.get()
            in_flight -= 1
            left[name] -= 1
            if failure is not None:
                continue  # (the copies under way end before it is raised)
            if isinstance(outcome, BaseException) and not isinstance(outcome, OSError):
                failure = outcome
                continue
            try:
                refusal = _refusal_of(placing, relative, outcome)
            except AnyvenvError as exc:
                failure = exc
                continue
            if refusal is not None:
                refusals.setdefault(name, refusal)
            elif outcome is True:
                written()
            if not left[name]:
                settle(name)
        if failure is not None:
            raise failure
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _sweep_temps(dest: EnvTree, placing: dict[str, list[str]]) -> None:
    """Remove the temp files of dead runs in the directories of ``placing``'s files (a file
    rewritten is written beside it under a temp name first, then renamed over it)."""
    from anyvenv.fs.leftovers import TEMP_MARK, sweep_dead

    directories = {os.path.dirname(path) for files in placing.values() for path in files}
    for directory in sorted(directories):
        sweep_dead(dest.root / directory, TEMP_MARK)


def _done_list(journal: Path) -> Path:
    """Beside the journal: the distributions that mirror has placed whole, ``TOKEN NAME`` a
    line (the token is the journal's: a list another journal's mirror left, an earlier
    release's that knew no token, says nothing of this one), which a mirror after a kill does
    not copy again (a big env killed late in its copy is not copied all over)."""
    return journal.with_name(journal.name + ".done")


def _mark_done(journal: Path, token: str, name: str) -> None:
    with open(_done_list(journal), "a", encoding="utf-8") as done:
        done.write(f"{token} {name}\n")


_TOKEN_KEY = ""  # the journal's entry that holds its token (no distribution's name)


def read_journal(journal: Path) -> dict[str, list[str]]:
    """The files a mirror that did not end was placing, per distribution it did not finish
    (see :func:`mirror`); empty where there is no journal, or one that cannot be read. A path
    that leads out of the env is left out: the journal is in a directory others may write to
    (a group's env, a shadow made under umask 000), and its paths are removed."""
    import marshal

    try:
        data = marshal.loads(journal.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    token = data.get(_TOKEN_KEY)
    done: set[str] = set()
    if isinstance(token, str) and token:
        try:
            lines = _done_list(journal).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        done = {line[len(token) + 1 :] for line in lines if line.startswith(token + " ")}
    return {
        name: [path for path in files if isinstance(path, str) and _below_root(path)]
        for name, files in data.items()
        if isinstance(name, str) and isinstance(files, list) and name not in done
    }


def write_journal(
    journal: Path, earlier: dict[str, list[str]], placing: dict[str, list[str]]
) -> str:
    """Write the journal: the files of ``earlier`` and those being placed, per distribution;
    returns its token (see :func:`_done_list`)."""
    import marshal

    from anyvenv.fs.atomic import atomic_write

    token = os.urandom(8).hex()
    entries: dict[str, object] = {_TOKEN_KEY: token}  # (a str: an earlier release skips it)
    entries.update((name, list(files)) for name, files in earlier.items())
    for name, files in placing.items():
        entries[name] = list(dict.fromkeys([*earlier.get(name, ()), *files]))
    # (an earlier mirror's list of what it finished goes: this one may place those
    # distributions again, and they are not done until it says so)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_done_list(journal))
    atomic_write(journal, marshal.dumps(entries))
    return token


class PathTooLong(AnyvenvError):
    """A file of a distribution the mirror could not place because its path is longer than a
    path may be (its name fits)."""


class NotPlaced(AnyvenvError):
    """Distributions the mirror could not place (each taken back out of the env), by name,
    with the error of the file that was refused; ``report``: what was placed."""

    def __init__(self, refused: dict[str, AnyvenvError], report: MirrorReport) -> None:
        first = next(iter(refused.values()))
        names = ", ".join(sorted(refused))
        if isinstance(first, PathTooLong):
            why = "the path of a file of it is too long there"
            fix = "use a shorter path for the environment"
        else:
            why = "the filesystem refuses the name of a file of it"
            fix = "put the environment on a filesystem that can hold that name"
        super().__init__(
            f"{names} could not be installed: {first.message}",
            f"{why}; the other packages were installed: leave out {names}, or {fix}",
        )
        self.refused = refused
        self.report = report


def _case_insensitive(directory: Path) -> bool:
    """Whether the filesystem of ``directory`` finds names whatever their case (FAT, exFAT):
    its name with the case of each letter swapped names it too."""
    swapped = directory.with_name(directory.name.swapcase())
    if swapped.name == directory.name:
        return False
    try:
        return os.path.isdir(swapped) and swapped.name not in os.listdir(directory.parent)
    except OSError:
        return False


def _sharing_in_case(
    dest: EnvTree,
    present: dict[str, Distribution],
    candidates: Collection[str],
    old_files: dict[str, list[str]],
    claimed: set[str],
) -> list[str]:
    """The distributions of ``candidates`` (left as they are) that list a file another
    distribution that goes or changes (``old_files``: its files in ``dest``) lists in
    another case, and no new RECORD lists (``claimed``), in name order. Where case is not
    told apart they are one file, which the mirror keeps (it is theirs too) but which may
    hold the other's bytes (``mod/__init__.py`` of a package gone, written over
    ``Mod/__init__.py``; ``bin/tool`` over ``bin/Tool``): they are copied again."""
    old = {path for files in old_files.values() for path in files}
    freed = {path.casefold() for path in old} - {path.casefold() for path in claimed}
    if not freed:
        return []
    return sorted(
        name
        for name in candidates
        if any(
            path not in old and path.casefold() in freed for path in _recorded(dest, present[name])
        )
    )


def _recorded(tree: EnvTree, dist: Distribution) -> list[str]:
    """The files ``dist``'s RECORD lists, relative to the env root (none that leave it)."""
    listed = [_env_relative(tree, path) for path in record_paths(dist.record)]
    return [path for path in listed if path is not None]


def _listed(tree: EnvTree, present: dict[str, Distribution], names: Collection[str]) -> set[str]:
    """The files the RECORDs of ``names`` list, relative to the env root."""
    return {path for name in names for path in _recorded(tree, present[name])}


def _take_back(
    dest: EnvTree,
    files: list[str],
    dist: Distribution,
    touched: set[Path],
    caches: dict[Path, list[str]],
    owned: set[str],
    fold: bool,
) -> None:
    """Remove the files of ``dist`` (what was written of them, and those of its old version
    not yet rewritten) and its dist-info directory: nothing half-made of it stays. The files
    another distribution lists (``owned``; compared case-folded with ``fold``), such as a
    shared namespace ``__init__.py``, stay."""
    if fold:
        owned = {path.casefold() for path in owned}
    for relative in files:
        touched.add((dest.root / relative).parent)  # (made for it, though nothing was written)
        if (relative.casefold() if fold else relative) in owned:
            continue
        with contextlib.suppress(OSError):
            _remove_file(dest, relative, touched, caches)
    _remove_dist_info(dest, dist)


def remove_distributions(tree: EnvTree, names: Collection[str]) -> None:
    """Remove the distributions ``names`` from ``tree`` by their RECORD (a shadow env made to
    match an env that could not take them)."""
    present = distributions(tree.site_packages)
    owned = _listed(tree, present, set(present) - set(names))  # (shared files stay)
    touched: set[Path] = set()
    caches: dict[Path, list[str]] = {}
    try:
        for name in names:
            if name in present:
                _remove_unclaimed(tree, files_of(tree, present[name]), owned, touched, caches)
                _remove_dist_info(tree, present[name])
    finally:
        _prune(tree, touched)


def adopt_added(source: EnvTree, dest: EnvTree, skip: Collection[str] = ()) -> list[str]:
    """Copy into ``dest`` the distributions of ``source`` whose project ``dest`` lacks
    entirely and that are complete (a RECORD that lists files, written last by the mirror
    and by installers, and a METADATA: plain uv where chmod fails leaves an empty RECORD
    and no more), file by file as they are; nothing of ``dest`` is removed or replaced.
    Returns their names. For a shadow env that must not take the env's other differences (an
    env a killed mirror left half-made), but must see a package installed into the env by
    hand. ``skip``: projects not taken (those a killed mirror was placing or removing)."""
    have = distributions(dest.site_packages)
    placing = _Placing(source, dest)
    added: list[str] = []
    for name, dist in sorted(distributions(source.site_packages).items()):
        if name in have or name in skip or not _complete(source, dist):
            continue
        for relative in files_of(source, dist):
            try:
                placing.install(relative)  # (one removed by hand: not copied)
            except OSError as exc:
                raise _not_placed(exc, str(dest.root / relative)) from exc
        added.append(name)
    return added


def _complete(tree: EnvTree, dist: Distribution) -> bool:
    """A RECORD that lists files (written last by the mirror and by installers) and a
    METADATA: not an install that stopped half-way."""
    return bool(dist.record) and os.path.isfile(tree.site_packages / dist.dist_info / "METADATA")


def _scripts_without_exec(source: EnvTree, dest: EnvTree) -> set[str]:
    """The scripts in ``dest``'s bin/ (relative to its root) that lack the exec bits their
    copy in ``source`` has: written there by a tool that could not set them (plain uv where
    chmod is ignored). Their packages are copied again, though their RECORD is the same."""
    lost: set[str] = set()
    try:
        entries = list(os.scandir(dest.root / "bin"))
    except OSError:
        return lost
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat().st_mode & 0o111:
                continue
            if os.stat(source.root / "bin" / entry.name).st_mode & 0o111:
                lost.add(os.path.join("bin", entry.name))
        except OSError:
            continue
    return lost


def _remove_unclaimed(
    dest: EnvTree,
    files: list[str],
    claimed: set[str],
    touched: set[Path],
    caches: dict[Path, list[str]],
    kept_folded: Collection[str] = (),
) -> int:
    """Remove the ``files`` (of a distribution, relative to ``dest``'s root) that are
    neither ``claimed`` nor, case-folded, in ``kept_folded``."""
    removed = 0
    for relative in files:
        if relative in claimed or (kept_folded and relative.casefold() in kept_folded):
            continue
        try:
            removed += _remove_file(dest, relative, touched, caches)
        except OSError as exc:
            raise _not_placed(exc, str(dest.root / relative), "remove") from exc
    return removed


def _not_placed(error: OSError, path: str, doing: str = "place") -> AnyvenvError:
    import errno

    from anyvenv.fs.outcome import errno_name, in_use_fix, write_error_fix

    why = write_error_fix(
        error.errno,
        "the filesystem refused that file (no space left, no permission, an I/O error)",
    )
    if error.errno == errno.EBUSY:  # (held by a program of this host: named)
        from anyvenv.fs.processes import holders_of

        holders = holders_of([path])
        if holders:
            why = in_use_fix(holders, "the environment's packages")
    return AnyvenvError(
        f"cannot {doing} {path}: {error.strerror or error} ({errno_name(error.errno)})",
        f"{why}; what is not yet complete is placed again by the next command (sync, run or "
        "pip), or put the environment on another filesystem",
    )


def compile_bytecode(tree: EnvTree) -> None:
    """Compile ``tree``'s site-packages to bytecode with its own python, as uv's
    ``--compile-bytecode`` does where it installs (the shadow's ``.pyc`` files, which RECORD
    does not list, would not match the sources' times here). Files already compiled are
    left as they are; as with uv, a file that does not compile (a package's Python 2 test
    data) is passed over, and uv's ``PYC_INVALIDATION_MODE`` is followed."""
    from anyvenv.interpreter.query import failure_line
    from anyvenv.spawn import run_captured

    python = tree.root / "bin" / "python"
    mode = os.environ.get("PYC_INVALIDATION_MODE", "").lower().replace("_", "-")
    chosen = ["--invalidation-mode", mode] if mode else []
    done = run_captured(
        [python, "-I", "-m", "compileall", "-qq", "-j", "0", *chosen, str(tree.site_packages)]
    )
    if done.returncode not in (0, 1):  # (1: some file did not compile)
        why = failure_line(done.stderr.decode(errors="replace"), done.returncode)
        raise AnyvenvError(
            f"the environment's packages could not be compiled to bytecode: {why}",
            "run the sync again without --compile-bytecode",
        )
