"""A no-op sync, found without reading the project: no TOML parsed, no interpreter run, no uv.

The env's record (:mod:`anyvenv.project.inputs`) lists every pyproject.toml from the start
directory up, so it can be looked up from directory names alone: the env is declared in the
workspace root, which is the nearest directory with a pyproject.toml (the project) or the next
one above (a workspace holding it). A record that holds for this invocation proves the
project, its workspace and its env are what they were then. Import-light, like its helpers.
"""

from __future__ import annotations

import os

from anyvenv.fs import env_lock_path
from anyvenv.project.inputs import Invocation, always_runs_uv, load
from anyvenv.project.uvrules import project_env_path, start_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

PYPROJECT = "pyproject.toml"


class UpToDate:
    """The env of a sync that has nothing to do, and what the last sync into it reported."""

    __slots__ = ("declared", "env", "summary")

    def __init__(self, env: str, summary: dict[str, object], declared: str) -> None:
        self.env = env
        self.summary = summary
        self.declared = declared  # the project's env path: the env, or its pointer file

    def to_json(self, seconds: float) -> dict[str, object]:
        return result_json(
            self.summary,
            action="reused",
            rebuild_reason=None,
            uv_exit_code=0,
            uv_ran=False,
            mirror=None,
            notes=[],
            seconds=seconds,
        )


def result_json(
    summary: dict[str, object],
    *,
    action: str,
    rebuild_reason: str | None,
    uv_exit_code: int,
    uv_ran: bool,
    mirror: dict[str, object] | None,
    notes: list[str],
    seconds: float,
) -> dict[str, object]:
    """``anyvenv sync --json``: the env's summary, then what this sync did."""
    return {
        **summary,
        "action": action,
        "rebuild_reason": rebuild_reason,
        "uv_exit_code": uv_exit_code,
        "uv_ran": uv_ran,
        "mirror": mirror,
        "notes": notes,
        "seconds": round(seconds, 4),
    }


def candidate_roots(start: str) -> list[str]:
    """The nearest directory at or above ``start`` with a pyproject.toml, and the next one."""
    found: list[str] = []
    directory = start
    while len(found) < 2:
        if os.path.isfile(os.path.join(directory, PYPROJECT)):
            found.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return found


def _env_behind(declared: str, environ: Mapping[str, str]) -> str | None:
    """The env at ``declared``: itself, or where a pointer file there points; where that is
    another user's env (kept off a share, per user), this user's own for the project."""
    if os.path.isdir(declared):
        return declared
    if not os.path.isfile(declared):
        return None
    from anyvenv.envbuild.pointerfile import read_pointer
    from anyvenv.errors import AnyvenvError

    try:
        pointed = read_pointer(declared)
    except (AnyvenvError, OSError):
        return None
    from anyvenv.project.pointer import anothers_env

    try:
        if pointed is None or anothers_env(declared, pointed, environ) is None:
            return pointed
        from anyvenv.project.envchoice import envs_dir
        from anyvenv.project.owners import own_env_for

        return own_env_for(declared, envs_dir(environ))  # (another user's: this user's own)
    except (AnyvenvError, OSError):  # (the ordinary way says what is wrong)
        return None


def find_up_to_date(invocation: Invocation) -> UpToDate | None:
    """The env, when nothing this sync would read has changed since the last successful one."""
    if always_runs_uv(invocation.uv_args, invocation.environ):
        return None
    start = start_dir(invocation.uv_args, invocation.cwd, invocation.environ)
    for root in candidate_roots(start):
        declared = project_env_path(root, invocation.uv_args, invocation.environ, invocation.cwd)
        env = _env_behind(declared, invocation.environ)
        record = load(env) if env is not None else None
        if record is not None and record.holds_for(invocation):
            # a sync or venv under way holds the lock (wait for it), or a killed one left
            # its file (clear it): the ordinary way does either
            if os.path.lexists(env_lock_path(declared)):
                return None
            return UpToDate(record.env, record.summary, declared)
    return None
