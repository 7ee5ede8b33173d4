"""Where a project's environment goes, and what it is named.

The project declares a path (``.venv`` in the workspace root, or ``UV_PROJECT_ENVIRONMENT``
resolved against it). The env lives there unless nothing can be executed on that filesystem;
then it lives in a per-user directory keyed by the declared path and the Python, and the
declared path becomes a pointer file (:mod:`anyvenv.project.pointer`). Where chmod does not
work, the env stays in place but uv installs into a *shadow env* on local disk (per env, in
the user cache) whose packages anyvenv mirrors into it.
"""

from __future__ import annotations

import os

from anyvenv.fs.outcome import OK, REWRITES_WORK
from anyvenv.record import StrChoice, record
from anyvenv.userdirs import cache_home, data_home

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from anyvenv.fs.probe import ProbeResult

ENVS_DIR_ENV = "ANYVENV_ENVS_DIR"
SHADOW_DIR_ENV = "ANYVENV_SHADOW_DIR"


class Placement(str, StrChoice):
    """How the env relates to the declared path; the value is what ``--json`` reports."""

    IN_PLACE = "in-place"  # the env is at the declared path; uv installs into it
    SHADOW = "shadow"  # the env is at the declared path; uv installs into a shadow, mirrored
    ELSEWHERE = "elsewhere"  # the env is in a per-user directory; the declared path points to it


@record
class EnvLocation:
    declared: str  # what the project names (.venv or UV_PROJECT_ENVIRONMENT)
    env: str  # where the env really is
    placement: Placement
    reason: str
    shadow: str | None = None  # the shadow env (SHADOW only)
    rewrites: str = REWRITES_WORK  # ProbeResult.rewrites where the project lives


_SLUG_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def _slug(name: str) -> str:
    """``name`` with every run of other characters made one ``-`` (no ``re``: start-up time)."""
    parts: list[str] = []
    in_run = False
    for char in name:
        if char in _SLUG_KEPT:
            parts.append(char)
        elif not in_run:
            parts.append("-")
        in_run = char not in _SLUG_KEPT
    return "".join(parts).strip("-.")[:40] or "env"


def python_key(version: Sequence[int], free_threaded: bool) -> str:
    return f"cpython-{version[0]}.{version[1]}{'t' if free_threaded else ''}"


def keyed_name(name: str, path: str, python_key: str) -> str:
    """``<name>-<hash>``: the hash covers the real path and the Python (like uv's cache keys).
    (On FUSE FAT the real path keeps the case it was typed in: another spelling of one env
    gets another name. Only an env with no saved state, which names its shadow, is keyed.)"""
    import hashlib

    real = os.path.realpath(path)
    digest = hashlib.sha256(os.fsencode(f"{real}\0{python_key}"))  # (any locale: one name)
    return f"{_slug(name)}-{digest.hexdigest()[:16]}"


def envs_dir(environ: Mapping[str, str]) -> str:
    """Where envs of projects whose filesystem cannot run one live (``ANYVENV_ENVS_DIR``)."""
    from anyvenv.userdirs import own_dir

    return own_dir(ENVS_DIR_ENV, environ) or os.path.join(data_home(environ), "anyvenv", "envs")


def elsewhere_env_path(
    declared: str, project_name: str, python_key: str, environ: Mapping[str, str], why: str
) -> str:
    """The per-user env for a project whose filesystem cannot run one (``why``: a clause).
    Raises :class:`anyvenv.errors.UnfitUserDir` when the per-user directory cannot hold it
    either."""
    directory = fit_envs_dir(environ, why)
    return _unused(directory, keyed_name(project_name, declared, python_key), declared)


def fit_envs_dir(environ: Mapping[str, str], why: str) -> str:
    """:func:`envs_dir`, for the env of a project that cannot hold one (``why``), when it can
    hold that env; else :class:`anyvenv.errors.UnfitUserDir`."""
    directory = envs_dir(environ)
    require_fit_user_dir(directory, ENVS_DIR_ENV, f"the env cannot live in the project ({why})")
    return directory


def shadow_dir(environ: Mapping[str, str]) -> str:
    """Where shadow envs live (``ANYVENV_SHADOW_DIR``, else the user cache)."""
    from anyvenv.userdirs import own_dir

    return own_dir(SHADOW_DIR_ENV, environ) or os.path.join(
        cache_home(environ), "anyvenv", "shadow"
    )


def shadow_env_path(
    env: str, project_name: str, python_key: str, environ: Mapping[str, str], why: str
) -> str:
    """The shadow env on local disk that uv installs into for ``env``, which uv cannot install
    into in place (``why``: a clause). Raises :class:`anyvenv.errors.UnfitUserDir` when the
    shadow directory cannot hold it either."""
    directory = fit_shadow_dir(environ, why)
    return _unused(directory, keyed_name(project_name, env, python_key), env)


def is_own_shadow(path: str, environ: Mapping[str, str]) -> bool:
    """Whether the shadow env at ``path`` is this user's (under :func:`shadow_dir`): not
    another user's or machine's, whose sync saved it in an env's state on the share."""
    from anyvenv.fs.paths import is_below

    return is_below(path, shadow_dir(environ))


def own_shadow(
    saved: str, env: str, name: str, python_key: str, environ: Mapping[str, str], why: str
) -> str:
    """The shadow env ``saved`` in an env's state where it is this user's (under
    :func:`shadow_dir`); else this user's own (:func:`shadow_env_path`): the state, on the
    share, may name another user's or another machine's, or one under an earlier
    ``ANYVENV_SHADOW_DIR``, which is neither used nor removed."""
    if is_own_shadow(saved, environ):
        return saved
    return shadow_env_path(env, name, python_key, environ, why)


def fit_shadow_dir(environ: Mapping[str, str], why: str) -> str:
    """:func:`shadow_dir`, for the shadow of an env that uv cannot install into (``why``), when
    it can hold that shadow; else :class:`anyvenv.errors.UnfitUserDir`."""
    directory = shadow_dir(environ)
    why = why.removesuffix(f": {SHADOW_MEANS}")  # (a saved reason says what a shadow is for)
    require_fit_user_dir(directory, SHADOW_DIR_ENV, f"uv cannot install into the env ({why})")
    return directory


def _unused(directory: str, name: str, declared: str) -> str:
    """``directory/name``, else ``name-2``, ``name-3``...: the first that serves no other
    project still using it. (A project renamed away keeps the env keyed by its old path; a
    new project at that path must not take it over.)"""
    from anyvenv.project.owners import serves_another

    path, number = os.path.join(directory, name), 2
    while serves_another(path, declared):
        path, number = os.path.join(directory, f"{name}-{number}"), number + 1
    return path


def probed_at(directory: str) -> ProbeResult | None:
    """The probe of the filesystem of ``directory``; ``None`` where it cannot be probed (not
    writable, or a call of the probe failed there: whatever must write there says so itself,
    and uv can write nothing there either)."""
    from anyvenv.errors import AnyvenvError, MountNotAnswering
    from anyvenv.fs.probe import probe

    try:
        return probe(directory)
    except MountNotAnswering:
        raise  # (a hung mount holds uv too: said as it is)
    except (OSError, AnyvenvError):
        return None


def rewrites_at(directory: str) -> str:
    """``ProbeResult.rewrites`` for the filesystem of ``directory`` (``REWRITES_WORK`` where
    it cannot be probed)."""
    found = probed_at(directory)
    return REWRITES_WORK if found is None else found.rewrites


def rewrites_work_at(directory: str) -> bool:
    """Whether uv can write and replace files on the filesystem of ``directory``."""
    return rewrites_at(directory) == REWRITES_WORK


SHADOW_MEANS = (
    "uv installs into a shadow env where its writes work and anyvenv copies the packages in with "
    "their modes set at creation"
)


def shadow_note(location: EnvLocation) -> str:
    """The line that says where uv installs for an env with a shadow, and why (uv's own
    output names the shadow env, not the env)."""
    why = location.reason.removesuffix(f": {SHADOW_MEANS}")
    return f"uv installs into {location.env} through its shadow env {location.shadow}: {why}"


def placement_for(result: ProbeResult) -> tuple[Placement, str]:
    """Decide from the probe of the env's filesystem."""
    fault = fault_of(result)
    if fault is None:
        if result.chmod_ignored_harmlessly:
            return (
                Placement.IN_PLACE,
                f"chmod is ignored on {_where(result)}, but every file there is executable: "
                "uv installs in place",
            )
        return Placement.IN_PLACE, f"files can be executed and chmod works on {_where(result)}"
    if not result.can_execute or not result.keeps_reopened_writes:
        return Placement.ELSEWHERE, fault
    return Placement.SHADOW, f"{fault}: {SHADOW_MEANS}"


def fault_of(result: ProbeResult) -> str | None:
    """What keeps an env on the filesystem ``result`` measured from being made and installed
    into in place, as a clause (``"chmod fails (ENOSYS) on vfat at /mnt"``); ``None`` when
    nothing does."""
    if not result.can_execute:
        noexec = ", mounted noexec" if "noexec" in result.mount_options else ""
        return f"no file can be executed on {_where(result)} (exec: {result.exec}{noexec})"
    if not result.keeps_reopened_writes:  # (uv writes each file it installs so: they'd be empty)
        return (
            f"a file reopened for writing loses its writes on {_where(result)} "
            f"(reopen_write: {result.reopen_write})"
        )
    if result.rename_open != OK:  # (uv renames each file it writes while holding it open)
        return f"a file held open cannot be renamed on {_where(result)} ({result.rename_open})"
    if result.chmod_works or result.chmod_ignored_harmlessly:
        return None
    how = "is ignored" if result.chmod == "no" else f"fails ({result.chmod})"
    return f"chmod {how} on {_where(result)}"


def _where(result: ProbeResult) -> str:
    return f"{result.fstype or 'the filesystem'} at {result.mount_point or result.path}"


def user_dir_fault(directory: str) -> str | None:
    """What keeps ``directory``, one of anyvenv's per-user directories for envs, from holding
    an env that uv installs into in place (:func:`fault_of`), or may not be written; ``None``
    when nothing does, or it cannot be probed. Where a home directory is on a share, these
    directories are on that share too."""
    from anyvenv.errors import DirectoryNotWritable, UsageError
    from anyvenv.fs.probe import probe, probe_path_for

    try:  # (its nearest existing parent, a home directory maybe: left with its times)
        return fault_of(probe(probe_path_for(directory), keep_times=True))
    except DirectoryNotWritable as exc:
        return exc.message
    except (OSError, UsageError):
        return None


def require_fit_user_dir(directory: str, variable: str, need: str) -> None:
    """Raise :class:`UnfitUserDir` when ``directory`` (named by ``variable``) cannot hold the
    env that ``need`` says must go there (``"the project cannot hold its env (...)"``)."""
    fault = user_dir_fault(directory)
    if fault is not None:
        from anyvenv.errors import UnfitUserDir

        raise UnfitUserDir(
            f"{need}, and {directory} cannot hold it either: {fault}",
            f"set {variable} to a directory of yours on a local disk",
        )
