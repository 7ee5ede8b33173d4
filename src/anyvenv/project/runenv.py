"""Running a command in the project env: which env (the pointer followed) and its variables."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run activates its env before anything else is imported
    from collections.abc import Mapping, Sequence


def existing_env(declared: str) -> str:
    """The env behind the declared path (a pointer file is followed); it must have a python."""
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.project.envchoice import resolve_env

    env = resolve_env(declared)
    if not os.path.exists(os.path.join(env, "bin", "python")):
        raise EnvironmentBroken(
            f"there is no environment with a python at {env}",
            "run 'anyvenv sync' first (or drop --no-sync)",
        )
    return env


def project_env(uv_args: Sequence[str], cwd: str, environ: Mapping[str, str]) -> str:
    """The env of the project uv would find from ``cwd`` (``--directory``/``--project`` in
    ``uv_args`` move it), as it is: for ``anyvenv run --no-sync``."""
    from anyvenv.project.model import discover
    from anyvenv.project.uvrules import project_env_path, start_dir

    project = discover(start_dir(uv_args, cwd, environ))
    return existing_env(project_env_path(project.workspace_root, uv_args, environ, cwd))


def activated_environment(env: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``env`` active: its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME unset."""
    result = dict(environ)
    bin_dir = os.path.join(env, "bin")
    path = result.get("PATH", os.defpath)
    result["PATH"] = bin_dir + (os.pathsep + path if path else "")
    result["VIRTUAL_ENV"] = env
    result.pop("PYTHONHOME", None)
    return result
