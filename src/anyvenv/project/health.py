"""Is a project's env usable as it is? From the state the last sync left (no process run),
else by running its python once; and does its Python answer the request?"""

from __future__ import annotations

import os

from anyvenv.envbuild.config import (
    MADE_BY_KEY,
    read_pyvenv_cfg,
)
from anyvenv.errors import AnyvenvError, EnvironmentBroken
from anyvenv.fs import CFG_NAME, is_virtual_environment
from anyvenv.fs.outcome import errno_name
from anyvenv.fs.paths import is_below
from anyvenv.interpreter.request import PythonRequest
from anyvenv.project import state as state_store
from anyvenv.project.state import SyncState
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from anyvenv.interpreter.query import InterpreterInfo


@record
class EnvFacts:
    base_executable: str
    version: tuple[int, int, int]
    free_threaded: bool
    site_packages: str
    made_by_anyvenv: bool
    fingerprint: state_store.Fingerprint


def vital_files(env: str, base_executable: str) -> list[str]:
    """The files whose change means the env must be checked again."""
    from anyvenv.interpreter.linkage import libpython_linkage

    python = os.path.join(env, "bin", "python")
    files = [os.path.join(env, CFG_NAME), python, base_executable]
    library = libpython_linkage(python).library
    if library:
        files.append(library)
    return files


def state_vouches(saved: state_store.SyncState, env: str) -> bool:
    """Whether ``saved`` still tells what the env at ``env`` is: its vital files as they were,
    and the env's own pyvenv.cfg and python among them (a state an earlier release saved
    over an env that had lost its python left it out, and would be trusted for good)."""
    recorded = saved.fingerprint
    for name in (CFG_NAME, os.path.join("bin", "python")):
        if not any(os.path.join(root, name) in recorded for root in (saved.env, env)):
            return False
    return state_store.still_matches(recorded)


def made_by_anyvenv(env: str) -> bool:
    try:
        return MADE_BY_KEY in read_pyvenv_cfg(env)
    except EnvironmentBroken:
        return False


def state_fields_of(facts: EnvFacts) -> dict[str, Any]:
    """The fields of a :class:`SyncState` that ``facts`` give (the inverse of
    :func:`facts_of_state`)."""
    return {
        "base_executable": facts.base_executable,
        "version": list(facts.version),
        "free_threaded": facts.free_threaded,
        "site_packages": facts.site_packages,
        "made_by_anyvenv": facts.made_by_anyvenv,
        "fingerprint": facts.fingerprint,
    }


def facts_of_state(saved: SyncState) -> EnvFacts:
    return EnvFacts(
        saved.base_executable,
        saved.version_tuple,
        saved.free_threaded,
        saved.site_packages,
        saved.made_by_anyvenv,
        saved.fingerprint,
    )


# what a project's user may do instead of waiting to be let in to another's base
OWN_ENV_INSTEAD = "or set UV_PROJECT_ENVIRONMENT to an env of your own"


def inspect_env(
    env: str, saved: SyncState | None, strict: bool = True, instead: str = OWN_ENV_INSTEAD
) -> tuple[EnvFacts | None, str | None]:
    """(facts, None) for an env that runs; (None, why) for a broken one; (None, None) if absent
    or an empty directory (a volume mounted there, waiting for its env). ``strict``: an env
    whose base changed under it (see :func:`base_changed`) is broken too. An env that does
    not run for this user because its base lies past a directory they may not enter is not
    broken but out of their reach: :class:`BaseOutOfReach` (``instead``: what else they may
    do, after asking to be let in), as uv refuses it; it is left as it is."""
    if not os.path.lexists(env):
        return None, None
    try:
        if os.path.isdir(env) and not os.path.islink(env) and not os.listdir(env):
            return None, None
    except PermissionError:  # another user's, made with umask 077: said as check says it
        from pathlib import Path

        from anyvenv.repair.envstate import refuse_unreadable

        refuse_unreadable(Path(env))
        raise
    if not is_virtual_environment(env):
        return None, f"{env} has no {CFG_NAME}"
    if saved is not None and state_vouches(saved, env):
        return facts_of_state(saved), None
    try:  # what check calls broken and repair will not mend: no base named
        cfg = read_pyvenv_cfg(env)
    except EnvironmentBroken as exc:
        return None, exc.message
    if not cfg.get("home"):
        return None, f"its {CFG_NAME} names no home (base interpreter)"
    from anyvenv.envbuild.config import made_on_windows

    windows = made_on_windows(env, cfg)
    if windows is not None:
        return None, f"it was made on Windows ({windows}): its python cannot run here"
    facts, broken = _run_env(env, strict)
    if broken is not None:
        _refuse_out_of_reach(env, instead)
    return facts, broken


def _refuse_out_of_reach(env: str, instead: str) -> None:
    """:class:`BaseOutOfReach` where the base of ``env``, which does not run for this user,
    lies past a directory they may not enter (it may well be there: not gone)."""
    from anyvenv.errors import BaseOutOfReach
    from anyvenv.repair.envstate import base_out_of_reach

    out = base_out_of_reach(env)
    if out is not None:
        raise BaseOutOfReach(
            f"the environment {env} cannot be used by you, and is left as it is: {out.reason()}",
            f"{out.let_in()}, {instead}",
        )


def _run_env(env: str, strict: bool) -> tuple[EnvFacts | None, str | None]:
    """:func:`inspect_env` of an env whose pyvenv.cfg names its base: by running its python."""
    from anyvenv.interpreter.query import query_interpreter

    python = os.path.join(env, "bin", "python")
    dangling = _dangling_link(python)
    if dangling is not None:  # (as uv says it: not "No such file" of a file that is there)
        return None, f"its python links to {dangling}, which does not exist (its base is gone)"
    try:
        running = info = query_interpreter(python, use_cache=False)
        if is_below(info.executable, env):  # before 3.11, -S leaves venvs unresolved
            info = query_interpreter(base_executable_of(env, info))
        changed = base_changed(env, running, info.executable) if strict else None
        if changed is not None:
            return None, changed
        return facts_of_info(env, info), None
    except AnyvenvError as exc:
        return None, f"its python does not run ({exc.message})"
    except OSError as exc:  # e.g. a link that cannot be read back (EACCES, EPERM)
        return None, f"its python cannot be reached ({errno_name(exc.errno)}: {exc.filename})"


def _dangling_link(path: str) -> str | None:
    """Where the link at ``path`` leads (its last link's target, absolute) when that is not
    there; ``None`` for a path that is not a link, or one that leads to a file."""
    try:
        if not os.path.islink(path) or os.path.exists(path):
            return None
        hops = 0
        while os.path.islink(path) and hops < 40:
            path = os.path.join(os.path.dirname(path), os.readlink(path))
            hops += 1
    except OSError:  # (a link that cannot be read back: said where the query fails)
        return None
    return os.path.normpath(path)


def base_changed(env: str, running: InterpreterInfo, base: str) -> str | None:
    """Why an env whose python runs no longer answers for its base, which was upgraded or
    removed under it: its pyvenv.cfg names another patch release than the one that runs (uv
    then replaces the env), or its python is a copy (or hard link) of another release than
    the base now is, or of a base that is gone (its extension modules, the base's, may not
    load). ``None`` when it still answers."""
    from anyvenv.envbuild.config import config_version

    said = config_version(read_pyvenv_cfg(env))
    if said is not None and len(said) == 3 and said != running.version:
        return (
            f"its pyvenv.cfg says Python {version_text(said)}, but its python is "
            f"{running.version_text}: its base interpreter changed since it was made"
        )
    if os.path.islink(os.path.join(env, "bin", "python")):
        return None  # (the base itself runs)
    if not os.path.exists(base):
        return f"its python is a copy of a base interpreter that is gone ({base})"
    from anyvenv.interpreter.query import query_interpreter

    try:
        now = query_interpreter(base).version
    except AnyvenvError as exc:
        return f"its base interpreter {base} does not run ({exc.message})"
    if now != running.version:
        return (
            f"its python is a copy of Python {running.version_text}, but its base "
            f"{base} is now {version_text(now)}"
        )
    return None


def base_executable_of(env: str, info: InterpreterInfo) -> str:
    """The base interpreter an env names in pyvenv.cfg (``base-executable``, ``executable``,
    else in ``home``), read as repair reads it: the first of them that exists."""
    from anyvenv.envbuild.config import config_candidates

    candidates = config_candidates(read_pyvenv_cfg(env), info.version, info.free_threaded)
    existing = [path for path in candidates if os.path.exists(path)]
    return (existing or candidates or [os.path.join(env, "bin", "python")])[0]


def facts_of_info(env: str, info: InterpreterInfo) -> EnvFacts:
    return EnvFacts(
        base_executable=info.executable,
        version=info.version,
        free_threaded=info.free_threaded,
        site_packages=info.relative_path(info.purelib),
        made_by_anyvenv=made_by_anyvenv(env),
        fingerprint=state_store.fingerprint(vital_files(env, info.executable)),
    )


def satisfies(request: PythonRequest, facts: EnvFacts) -> bool:
    """Whether an env whose base is ``facts`` answers ``request`` (as uv would reuse it)."""
    return answers(request, facts.base_executable, facts.version, facts.free_threaded)


def answers(
    request: PythonRequest,
    base_executable: str,
    version: tuple[int, int, int],
    free_threaded: bool,
) -> bool:
    """Whether an env made from ``base_executable`` (that ``version``, free-threaded or not)
    answers ``request``: the interpreter a path or a name names, else the version."""
    if request.path is not None:
        return os.path.realpath(os.path.expanduser(request.path)) == os.path.realpath(
            base_executable
        )
    if request.name is not None:
        import shutil

        found = shutil.which(request.name)
        if found and os.path.realpath(found) == os.path.realpath(base_executable):
            return True
        if request.specifiers:
            return request.matches_version(version, free_threaded)
        if found is None:
            return False
        from anyvenv.interpreter.query import query_interpreter

        try:
            return query_interpreter(found).executable == base_executable
        except AnyvenvError:
            return False
    return request.matches_version(version, free_threaded)


def version_text(version: Sequence[int]) -> str:
    return ".".join(map(str, version))
