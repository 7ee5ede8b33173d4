"""The executables of installed Pythons in the user's bin dir: ``python3.12`` in
``~/.local/bin``, as ``uv python install`` has made them since uv 0.8.

Each is a symlink to the install's ``bin/python3.X`` where the probe of the bin dir says
symlinks are made and read back; elsewhere (a home on a share) a two-line ``sh`` launcher
that execs it, created executable (a copy of the interpreter would not find its libpython
through ``$ORIGIN``). As uv does with its own:

- ``python3.X`` (``python3.Xt`` free-threaded) for every install; ``python3`` and
  ``python`` too with ``default``;
- a name that is anyvenv's and leads to an older patch of the same Python is taken over; one
  leading to a newer patch is kept; the same install's is made again only when reinstalling,
  and not then where it leads there through another name (uv's minor-version link);
- a name that is not anyvenv's (uv's, the user's) is left alone unless ``force``; a symlink
  leading nowhere is replaced;
- uninstalling removes the names that lead to the installs removed.

A name is anyvenv's when it leads (as a symlink, or through a launcher) to ``bin/`` of a
directory holding anyvenv's install record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from anyvenv.fs import atomic
from anyvenv.interpreter.discovery import parse_managed_name
from anyvenv.pythons.installed import RECORD_NAME, InstalledPython

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

BIN_DIR_ENV = "ANYVENV_PYTHON_BIN_DIR"
LAUNCHER_MARK = "# anyvenv: the executable of an installed Python"
LAUNCHER_LIMIT = 4096


@dataclass
class Executables:
    """What became of an install's names in the bin dir."""

    bin_dir: str
    linked: list[str] = field(default_factory=list)  # made or replaced now
    kept: list[str] = field(default_factory=list)  # anyvenv's, leading to a newer patch
    not_ours: list[str] = field(default_factory=list)  # left alone: --force replaces them
    how: str = ""  # "symlink" or "launcher"
    problem: str = ""  # what kept a name from being made ("" when nothing did)

    def to_json(self) -> dict[str, object]:
        return {
            "bin_dir": self.bin_dir,
            "on_path": on_path(self.bin_dir, os.environ),
            "linked": [os.path.join(self.bin_dir, name) for name in self.linked],
            "kept": self.kept,
            "not_ours": self.not_ours,
            "how": self.how,
            "problem": self.problem or None,
        }


def bin_dir(environ: Mapping[str, str]) -> str:
    """Where anyvenv puts them: ``ANYVENV_PYTHON_BIN_DIR``, else uv's (:func:`uv_bin_dir`)."""
    from anyvenv.userdirs import own_dir

    own = own_dir(BIN_DIR_ENV, environ)
    return own if own is not None else uv_bin_dir(environ)


def uv_bin_dir(environ: Mapping[str, str]) -> str:
    """Where uv puts its ``python3.12`` (``uv python install`` since 0.8): ``UV_PYTHON_BIN_DIR``,
    else ``XDG_BIN_HOME``, else ``XDG_DATA_HOME/../bin``, else ``~/.local/bin`` (the XDG ones
    only when absolute, as uv 0.10 and later)."""
    from anyvenv.userdirs import home_dir

    if environ.get("UV_PYTHON_BIN_DIR"):
        return os.path.abspath(os.path.expanduser(environ["UV_PYTHON_BIN_DIR"]))
    if os.path.isabs(environ.get("XDG_BIN_HOME", "")):
        return environ["XDG_BIN_HOME"]
    if os.path.isabs(environ.get("XDG_DATA_HOME", "")):
        return os.path.normpath(os.path.join(environ["XDG_DATA_HOME"], os.pardir, "bin"))
    return os.path.join(home_dir(environ), ".local", "bin")


def names_for(item: InstalledPython, default: bool) -> list[str]:
    suffix = "t" if item.free_threaded else ""
    major, minor = item.version[0], item.version[1]
    names = [f"python{major}.{minor}{suffix}"]
    if default:
        names += [f"python{major}{suffix}", f"python{suffix}"]
    return names


def _launcher(executable: Path) -> bytes:
    """The script: the executable's path as its bytes on disk (``os.fsencode``), any locale."""
    quoted = b"'" + os.fsencode(executable).replace(b"'", b"'\\''") + b"'"
    return b"#!/bin/sh\n" + LAUNCHER_MARK.encode() + b"\nexec " + quoted + b' "$@"\n'


def _launched(path: str) -> str | None:
    """The executable a launcher of anyvenv's at ``path`` execs; ``None`` for anything else."""
    from anyvenv.fs.atomic import read_small_file

    data = read_small_file(path, LAUNCHER_LIMIT)
    if data is None:
        return None
    lines = os.fsdecode(data).split("\n")
    if len(lines) < 3 or lines[1] != LAUNCHER_MARK or not lines[2].startswith("exec '"):
        return None
    quoted = lines[2][len("exec ") : -len(' "$@"')]
    return quoted[1:-1].replace("'\\''", "'")


def leads_to(path: str) -> str | None:
    """The executable the bin entry ``path`` leads to, when it is a symlink (followed, and
    made absolute) or a launcher of anyvenv's; ``None`` for anything else."""
    if os.path.islink(path):
        try:
            return os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
        except OSError:
            return None
    return _launched(path)


def install_of(executable: str) -> InstalledPython | None:
    """The install of anyvenv's whose ``bin/`` holds ``executable``, when it is there."""
    install = Path(os.path.dirname(os.path.dirname(os.path.realpath(executable))))
    parsed = parse_managed_name(install.name)
    if parsed is None or not (install / RECORD_NAME).is_file():
        return None
    return InstalledPython(install.name, install, parsed[0], parsed[1])


def install_executables(
    item: InstalledPython,
    environ: Mapping[str, str],
    *,
    default: bool = False,
    force: bool = False,
    reinstall: bool = False,
) -> Executables:
    """Make ``item``'s names in the bin dir (see the module's rules)."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.fs.probe import probe

    result = Executables(bin_dir(environ))
    try:
        os.makedirs(result.bin_dir, exist_ok=True)
        where = probe(result.bin_dir)
    except (OSError, AnyvenvError) as exc:
        result.problem = f"cannot use {result.bin_dir}: {getattr(exc, 'strerror', None) or exc}"
        return result
    if not where.can_execute:
        result.problem = f"no file can be executed in {result.bin_dir} (exec: {where.exec})"
        return result
    result.how = "symlink" if where.symlinks_work else "launcher"
    for name in names_for(item, default):
        path = os.path.join(result.bin_dir, name)
        verdict = _verdict(path, item, default=default, force=force, reinstall=reinstall)
        if verdict == "make":
            try:
                _make(path, item.executable, result.how)
            except OSError as exc:
                result.problem = f"cannot write {path}: {exc.strerror or exc}"
                continue
            result.linked.append(name)
        elif verdict == "kept":
            result.kept.append(name)
        elif verdict == "not ours":
            result.not_ours.append(name)
    return result


def _verdict(
    path: str, item: InstalledPython, *, default: bool, force: bool, reinstall: bool
) -> str:
    """``make``, ``same`` (already leads there), ``kept`` or ``not ours``."""
    if not os.path.lexists(path):
        return "make"
    target = leads_to(path)
    if target is None or not os.path.exists(target):
        # a symlink leading nowhere, or a launcher of ours whose install is gone
        dangling = os.path.islink(path) and not os.path.exists(path)
        return "make" if dangling or target is not None or force else "not ours"
    owner = install_of(target)
    if owner is None:
        return "make" if force else "not ours"
    if owner.path == item.path or os.path.realpath(owner.path) == os.path.realpath(item.path):
        if force or (reinstall and not _through_another_name(path, item)):
            return "make"
        return "same"
    same_kind = owner.version[:2] == item.version[:2] and owner.free_threaded == item.free_threaded
    if default or force or not same_kind or owner.version < item.version:
        return "make"
    return "kept"


def _through_another_name(path: str, item: InstalledPython) -> bool:
    """Whether the symlink ``path`` leads into ``item`` by another name than its directory's
    own (uv's minor-version link, ``cpython-3.12-linux-x86_64-gnu``, which ``uv python
    upgrade`` moves on): a reinstall keeps it, as remaking it would cut that link out."""
    try:
        text = os.readlink(path)
    except OSError:
        return False  # (a launcher of ours: made again)
    home = os.path.dirname(os.path.dirname(os.path.join(os.path.dirname(path), text)))
    return os.path.normpath(home) != os.path.normpath(item.path)


def _make(path: str, executable: Path, how: str) -> None:
    if how == "symlink":
        atomic.replace_with_symlink(path, os.fspath(executable))
    else:
        atomic.atomic_write(path, _launcher(executable), mode=0o755)


def entries_leading_to(
    installs: Iterable[InstalledPython], environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The bin dir's entries of anyvenv's that lead into ``installs`` (path, where it leads),
    read before they are removed."""
    directory = bin_dir(environ)
    homes = {os.path.realpath(item.path) for item in installs}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found: list[tuple[str, str]] = []
    for name in names:
        if not name.startswith("python"):
            continue
        path = os.path.join(directory, name)
        target = leads_to(path)
        owner = None if target is None else install_of(target)
        if target is not None and owner is not None and os.fspath(owner.path) in homes:
            found.append((path, target))  # (owner.path is real: install_of resolved it)
    return found


def remove_entries(entries: Iterable[tuple[str, str]]) -> list[str]:
    """Remove the entries :func:`entries_leading_to` found that still lead where they did;
    the names removed."""
    removed: list[str] = []
    for path, target in entries:
        if leads_to(path) != target:
            continue  # (made again meanwhile)
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(os.path.basename(path))
    return removed


def on_path(directory: str, environ: Mapping[str, str]) -> bool:
    for entry in environ.get("PATH", "").split(os.pathsep):
        if not entry:
            continue
        try:
            if os.path.samefile(os.path.expanduser(entry), directory):
                return True
        except OSError:
            continue
    return False
