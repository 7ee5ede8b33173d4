"""Running a command in the project env: which env (the pointer followed) and its variables."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run activates its env before anything else is imported
    from collections.abc import Mapping, Sequence

    from anyvenv.interpreter.request import PythonRequest


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


def project_env(
    uv_args: Sequence[str], cwd: str, environ: Mapping[str, str], python: str | None = None
) -> tuple[str, str, str | None]:
    """The env of the project uv would find from ``cwd`` (``--directory``/``--project`` in
    ``uv_args`` move it), as it is, and the path the project declares it at (a pointer there
    followed): for ``anyvenv run --no-sync``. With them, why it does not answer the
    ``--python`` request or the project's requires-python, if it does not: as ``uv run
    --no-sync``, the env is used anyway, with a warning. :class:`EnvironmentBroken` where
    there is none, or its base (pyvenv.cfg's ``home``) is gone."""
    from anyvenv.project.model import discover
    from anyvenv.project.uvrules import project_env_path, start_dir

    project = discover(start_dir(uv_args, cwd, environ))
    declared = project_env_path(project.workspace_root, uv_args, environ, cwd)
    env = existing_env(declared, environ)
    config = _config(env)
    home = config.get("home")
    if home and not os.path.isdir(home):  # (a copied python that needs it runs no more)
        from anyvenv.errors import EnvironmentBroken

        raise EnvironmentBroken(
            f"the base Python of {env} is gone ({home})", "run 'anyvenv sync' to rebuild it"
        )
    version = _version_of(config)
    if version is None:
        return env, declared, None
    shown = ".".join(map(str, version))
    if python is not None:
        from anyvenv.interpreter.request import parse_request

        request = parse_request(python)
        if not _answers(env, config, version, request):
            return env, declared, f"its Python {shown} does not satisfy the request {python}"
    if not project.allows(version):
        why = f"its Python {shown} is outside requires-python {project.requires_python_text}"
        return env, declared, why
    return env, declared, None


def hand_over_to_uv_run(
    env: str, declared: str, environ: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """``environ`` and the options to add for ``uv run --no-sync`` on anyvenv's env. Where
    uv finds it by itself (the env is at the path the project declares), nothing is added.
    Else (an env behind a pointer file, an active env named by one) it is named to uv as the
    active env, ``VIRTUAL_ENV`` with ``--active`` (which uv prefers to any other env): uv sets
    ``VIRTUAL_ENV`` to the env for the command anyway, while a ``UV_PROJECT_ENVIRONMENT``
    would be inherited by the command and send every uv command it runs, in whatever
    project, to this env."""
    from anyvenv.fs.paths import same_place

    if os.path.isdir(declared) and same_place(declared, env):
        return dict(environ), []
    return {**environ, "VIRTUAL_ENV": os.path.abspath(env)}, ["--active"]


def _config(env: str) -> dict[str, str]:
    from anyvenv.envbuild.config import read_pyvenv_cfg
    from anyvenv.errors import EnvironmentBroken

    try:
        return read_pyvenv_cfg(env)
    except EnvironmentBroken:
        return {}


def _version_of(config: dict[str, str]) -> tuple[int, int, int] | None:
    """X.Y.Z from ``version_info`` or ``version``; ``None`` without a micro."""
    from anyvenv.envbuild.config import config_version

    found = config_version(config)
    return (found[0], found[1], found[2]) if found is not None and len(found) == 3 else None


def _answers(
    env: str, config: dict[str, str], version: tuple[int, int, int], request: PythonRequest
) -> bool:
    """Whether the env's python is what ``request`` asks for, as sync judges an env it may
    reuse (:func:`anyvenv.project.health.answers`, from the base pyvenv.cfg names); a path
    to the env itself, or to its own python, answers too."""
    from anyvenv.envbuild.config import config_candidates
    from anyvenv.fs.paths import same_file
    from anyvenv.project.health import answers

    own = os.path.join(env, "bin", "python")
    if request.path is not None:
        named = os.path.expanduser(request.path)
        named = os.path.join(named, "bin", "python3") if os.path.isdir(named) else named
        if os.path.exists(named) and same_file(named, own):
            return True
    threaded = os.path.isdir(os.path.join(env, "lib", f"python{version[0]}.{version[1]}t"))
    named_bases = config_candidates(config, version, threaded)
    base = next((path for path in named_bases if os.path.exists(path)), os.path.realpath(own))
    return answers(request, base, version, threaded)


def activated_environment(env: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``env`` active: its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME unset."""
    result = dict(environ)
    bin_dir = os.path.join(env, "bin")
    path = result.get("PATH", os.defpath)
    result["PATH"] = bin_dir + (os.pathsep + path if path else "")
    result["VIRTUAL_ENV"] = env
    result.pop("PYTHONHOME", None)
    return result
