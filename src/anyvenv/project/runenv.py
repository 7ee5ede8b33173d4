"""Running a command in the project env: which env (the pointer followed) and its variables."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run activates its env before anything else is imported
    from collections.abc import Mapping, Sequence


def existing_env(declared: str, environ: Mapping[str, str]) -> str:
    """The env behind the declared path (a pointer file is followed; one naming another
    user's env stands for this user's own); it must have a python."""
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.project.pointer import resolve_for_user

    env = resolve_for_user(declared, environ).env  # (a copied project's pointer: not followed)
    if env is None:  # (the pointer names another user's env, and this user has none yet)
        raise EnvironmentBroken(
            f"you have no environment of your own for {declared}",
            "run 'anyvenv sync' first (or drop --no-sync)",
        )
    if not os.path.exists(os.path.join(env, "bin", "python")):
        raise EnvironmentBroken(
            f"there is no environment with a python at {env}",
            "run 'anyvenv sync' first (or drop --no-sync)",
        )
    return env


def project_has_env(uv_args: Sequence[str], cwd: str, environ: Mapping[str, str]) -> bool:
    """Whether the project uv would find from ``cwd`` has an env where it declares one (a
    pointer file followed; a copied project's raises :class:`CopiedPointer`), running or not:
    a directory with a pyvenv.cfg, as every tool makes one. A pointer naming an env that is
    not there (another machine's, on a share) is a :class:`UsageError` saying so: plain uv
    pip would read the base interpreter's packages instead."""
    from anyvenv.fs import is_virtual_environment
    from anyvenv.project.model import discover
    from anyvenv.project.pointer import resolve_existing_env
    from anyvenv.project.uvrules import project_env_path, start_dir

    project = discover(start_dir(uv_args, cwd, environ))
    declared = project_env_path(project.workspace_root, uv_args, environ, cwd)
    return is_virtual_environment(resolve_existing_env(declared, environ)[0])


def project_env(uv_args: Sequence[str], cwd: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """The env of the project uv would find from ``cwd`` (``--directory``/``--project`` in
    ``uv_args`` move it), as it is, and the path the project declares it at (a pointer there
    followed): for ``anyvenv run --no-sync``, which hands it to ``uv run --no-sync`` (that
    warns of an env that is not the Python asked for, and uses it all the same).
    :class:`EnvironmentBroken` where there is none, or its base (pyvenv.cfg's ``home``) is
    gone."""
    from anyvenv.project.model import discover
    from anyvenv.project.uvrules import project_env_path, start_dir

    project = discover(start_dir(uv_args, cwd, environ))
    declared = project_env_path(project.workspace_root, uv_args, environ, cwd)
    env = existing_env(declared, environ)
    home = _config(env).get("home")
    if home and not os.path.isdir(home):  # (a copied python that needs it runs no more)
        from anyvenv.errors import EnvironmentBroken

        raise EnvironmentBroken(
            f"the base Python of {env} is gone ({home})", "run 'anyvenv sync' to rebuild it"
        )
    return env, declared


def hand_over_to_uv_run(
    env: str, declared: str, environ: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """``environ`` (without ``PYTHONHOME``, as for a command anyvenv runs in the env itself)
    and the options to add for ``uv run --no-sync`` on anyvenv's env. Where
    uv finds it by itself (the env is at the path the project declares), nothing is added.
    Else (an env behind a pointer file, an active env named by one) it is named to uv as the
    active env, ``VIRTUAL_ENV`` with ``--active`` (which uv prefers to any other env): uv sets
    ``VIRTUAL_ENV`` to the env for the command anyway, while a ``UV_PROJECT_ENVIRONMENT``
    would be inherited by the command and send every uv command it runs, in whatever
    project, to this env."""
    from anyvenv.fs.paths import same_place

    # (PYTHONHOME: set for the python anyvenv runs on, not the env's; uv passes it on)
    cleaned = {name: value for name, value in environ.items() if name != "PYTHONHOME"}
    if os.path.isdir(declared) and same_place(declared, env):
        return cleaned, []
    return {**cleaned, "VIRTUAL_ENV": os.path.abspath(env)}, ["--active"]


def _config(env: str) -> dict[str, str]:
    from anyvenv.envbuild.config import read_pyvenv_cfg
    from anyvenv.errors import EnvironmentBroken

    try:
        return read_pyvenv_cfg(env)
    except EnvironmentBroken:
        return {}


def activated_environment(env: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``env`` active: its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME unset."""
    result = dict(environ)
    bin_dir = os.path.join(env, "bin")
    path = result.get("PATH", os.defpath)
    result["PATH"] = bin_dir + (os.pathsep + path if path else "")
    result["VIRTUAL_ENV"] = env
    result.pop("PYTHONHOME", None)
    return result
