"""What the last successful sync learned about an env, kept in the env so that a no-op sync
runs no probe and no interpreter: ``<env>/.anyvenv-sync.state`` (marshal format, like the
inputs record: reading it imports nothing).

It is trusted only while the env's vital files (pyvenv.cfg, bin/python, the base interpreter,
the libpython it loaded) have the size and mtime they had then; otherwise the env is checked
again by running its python. What was decided from the env's filesystem (where the env is
placed, and how uv links into it) holds only on the mount it was decided on: the state keeps
that mount's type, mount point and options (:func:`~anyvenv.fs.mounts.mount_basis`), and is
not trusted where they differ (the project seen through an image layer, copied with ``cp -a``,
or mounted again ``noexec``: size and mtime survive all three). Not its device number, which
an overlay changes at every start of a container.
"""

from __future__ import annotations

import marshal
import os

from anyvenv.fs.mounts import mount_basis
from anyvenv.fs.outcome import REWRITES_WORK
from anyvenv.fs.paths import same_entry
from anyvenv.record import as_dict, field, mutable_record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any

STATE_NAME = ".anyvenv-sync.state"
STATE_VERSION = 4  # 1: .anyvenv-sync.json; 2: chmod_fails, not rewrites; 3: no mounts

Fingerprint = dict[str, list[int]]


@mutable_record
class SyncState:
    env: str
    placement: str
    reason: str
    base_executable: str
    version: list[int]
    free_threaded: bool
    site_packages: str  # relative to the env root
    made_by_anyvenv: bool
    fingerprint: Fingerprint
    shadow: str | None = None
    rewrites: str = REWRITES_WORK  # ProbeResult.rewrites where the project lives
    link_mode: str | None = None
    link_reason: str | None = None
    uv_cache_key: list[str] = field(default_factory=list)
    # the cache dir the link mode was decided for, and the mounts it was decided on (the
    # install target's and the cache's: mount_basis of each)
    uv_cache_dir: str | None = None
    link_basis: list[str] = field(default_factory=list)
    env_mount: list[str] = field(default_factory=list)  # mount_basis(env) when placed
    state_version: int = STATE_VERSION

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return (self.version[0], self.version[1], self.version[2])


def link_basis(install_target: str, cache_dir: str | None) -> list[str]:
    """What a link mode decided for uv's cache at ``cache_dir`` and ``install_target``
    rests on: the mounts of both (a bind mount of one disk is another mount: no hard link
    reaches across)."""
    if cache_dir is None:
        return []
    return [*mount_basis(install_target), *mount_basis(cache_dir)]


def fingerprint(paths: list[str]) -> Fingerprint:
    """Size and mtime of each path (followed through links); a missing one is left out."""
    found: Fingerprint = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        found[path] = [st.st_size, st.st_mtime_ns]
    return found


def still_matches(recorded: Fingerprint) -> bool:
    return bool(recorded) and fingerprint(list(recorded)) == recorded


def load(env: str) -> SyncState | None:
    """The state saved in ``env``; ``None`` when there is none, it is of another version, it
    was saved at another path (the env was moved or copied: see :func:`moved_from`), or on
    another mount (see the module's words)."""
    state = _read(env)
    if state is None or state.state_version != STATE_VERSION or not same_entry(state.env, env):
        return None
    if state.env_mount != mount_basis(env):
        return None
    return state


def moved_from(env: str) -> str | None:
    """Where the env was when its state was saved, if that is not ``env`` (the project was
    moved or copied with its env); ``None`` otherwise."""
    state = _read(env)
    return state.env if state is not None and not same_entry(state.env, env) else None


def shadow_named(env: str) -> str | None:
    """The shadow env that the state saved in ``env`` names, whichever release of anyvenv
    saved it (of another version, :func:`load` reads none); ``""`` where it names none, as
    an env synced in place; ``None`` where there is no state of this env to read it from."""
    data = _raw(env)
    saved_at = None if data is None else data.get("env")
    if data is None or not isinstance(saved_at, str):
        return None
    if not same_entry(saved_at, env):
        return None  # (a moved or copied env's: that shadow is the original's)
    shadow = data.get("shadow")
    return shadow if isinstance(shadow, str) else ""


def _read(env: str) -> SyncState | None:
    data = _raw(env)
    try:
        return None if data is None else SyncState(**data)
    except TypeError:  # (fields of another release's)
        return None


def _raw(env: str) -> dict[str, Any] | None:
    """The state file's data as it was saved, by whichever release; ``None`` where there is
    none that can be read."""
    try:
        with open(os.path.join(env, STATE_NAME), "rb") as stream:
            data = marshal.load(stream)
    except (OSError, ValueError, TypeError, EOFError):
        return None
    return data if isinstance(data, dict) else None


def discard(env: str) -> None:
    """Drop the saved state, if any (quietly: it is only a cache)."""
    from anyvenv.fs.atomic import unlink_while_open

    try:
        unlink_while_open(os.path.join(env, STATE_NAME))
    except OSError:
        pass


def save(env: str, state: SyncState) -> None:
    """Write the state (quietly skipped if the env cannot take it: it is only a cache)."""
    from anyvenv.fs.atomic import atomic_write

    try:
        atomic_write(os.path.join(env, STATE_NAME), marshal.dumps(as_dict(state)))
    except OSError:
        pass
