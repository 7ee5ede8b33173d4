"""anyvenv's own caches, which can all be made again: Python downloads, the interpreter and
pyproject.toml lookups, and the build shim (:mod:`anyvenv.project.buildshim`). ``anyvenv cache clean`` clears them. (The envs kept outside
projects are not caches: ``anyvenv cache prune`` judges those one by one.)"""

from __future__ import annotations

import os

from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping

LOOKUP_KINDS = ("interpreters", "toml")  # see userdirs.cache_entry_path
OWN_KINDS = (*LOOKUP_KINDS, "build-shim")  # under $XDG_CACHE_HOME/anyvenv


@record
class Cleared:
    path: str
    files: int
    bytes: int

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "files": self.files, "bytes": self.bytes}


def cache_dirs(environ: Mapping[str, str]) -> list[str]:
    """Where the caches live (each may not exist)."""
    from anyvenv.pythons.download import download_cache_dir
    from anyvenv.userdirs import cache_home

    own = [os.path.join(cache_home(environ), "anyvenv", kind) for kind in OWN_KINDS]
    return [str(download_cache_dir()), *own]


def directories(environ: Mapping[str, str]) -> dict[str, str]:
    """Everything anyvenv keeps, by kind (each may not exist yet)."""
    from anyvenv.interpreter.discovery import anyvenv_install_dir
    from anyvenv.project.envchoice import envs_dir, shadow_dir
    from anyvenv.pythons.download import download_cache_dir
    from anyvenv.userdirs import cache_home

    return {
        "envs": envs_dir(environ),
        "shadow": shadow_dir(environ),
        "pythons": str(anyvenv_install_dir()),
        "python_downloads": str(download_cache_dir()),
        "cache": os.path.join(cache_home(environ), "anyvenv"),
    }


def _measure(path: str) -> tuple[int, int]:
    files = size = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                size += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            files += 1
    return files, size


@record
class NotCleared:
    path: str
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "reason": self.reason}


def clean(environ: Mapping[str, str]) -> tuple[list[Cleared], list[NotCleared], int]:
    """Clear each cache: moved aside in one rename (a reader sees all of it or none), then
    removed; one that cannot be renamed (overlayfs's lower layer: a cache baked into a
    container image) is removed where it is, entry by entry. A cache this user may not
    wholly remove (a directory of another user's in it, an unwritable parent) is left as it
    is and said; what a FUSE mount keeps while open is left for the next clean (a leftover
    of this process). The env locks' flock files that killed runs left in /tmp go too (their
    number is the third item): nothing else removes them."""
    from anyvenv.fs.leftovers import REMOVING_MARK, RETIRED_MARK, remove_aside, sweep_dead
    from anyvenv.fs.lock import sweep_machine_flocks
    from anyvenv.fs.remove import why_unremovable

    cleared: list[Cleared] = []
    kept: list[NotCleared] = []
    for path in cache_dirs(environ):
        parent = os.path.dirname(path)
        for mark in (REMOVING_MARK, RETIRED_MARK):  # (older anyvenvs removed via retired names)
            sweep_dead(parent, mark)
        if os.path.islink(path) or not os.path.isdir(path):
            continue
        why = why_unremovable(path)
        if why is not None:
            kept.append(NotCleared(path, why))
            continue
        files, size = _measure(path)
        try:
            remove_aside(path)
        except OSError as exc:
            inside = f" ({exc.filename})" if exc.filename and exc.filename != path else ""
            kept.append(NotCleared(path, f"it cannot be removed: {exc.strerror or exc}{inside}"))
            continue
        cleared.append(Cleared(path, files, size))
    return cleared, kept, sweep_machine_flocks()
