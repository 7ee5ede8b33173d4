"""Running a command in the project env: which env (the pointer followed) and its variables."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # a no-op run activates its env before anything else is imported
    from collections.abc import Mapping, Sequence

    from anyvenv.interpreter.request import PythonRequest


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


def project_env(
    uv_args: Sequence[str], cwd: str, environ: Mapping[str, str], python: str | None = None
) -> tuple[str, str, str | None]:
    """The env of the project uv would find from ``cwd`` (``--directory``/``--project`` in
    ``uv_args`` move it), as it is, and the path the project declares it at (a pointer there
    followed): for ``anyvenv run --no-sync``. With them, why it does not answer the
    ``--python`` request or the project's requires-python, if it does not: as ``uv run
    --no-sync``, the env is used anyway, with a warning."""
    from anyvenv.project.model import discover
    from anyvenv.project.uvrules import project_env_path, start_dir

    project = discover(start_dir(uv_args, cwd, environ))
    declared = project_env_path(project.workspace_root, uv_args, environ, cwd)
    env = existing_env(declared)
    version = _env_version(env)
    if version is None:
        return env, declared, None
    shown = ".".join(map(str, version))
    if python is not None:
        from anyvenv.interpreter.request import parse_request

        request = parse_request(python)
        threaded = os.path.isdir(os.path.join(env, "lib", f"python{version[0]}.{version[1]}t"))
        if not _answers(env, version, threaded, request):
            return env, declared, f"its Python {shown} does not satisfy the request {python}"
    if not project.allows(version):
        why = f"its Python {shown} is outside requires-python {project.requires_python_text}"
        return env, declared, why
    return env, declared, None


def environment_for_uv_run(env: str, declared: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for ``uv run --no-sync`` on anyvenv's env. Where uv finds it by itself (the
    env is at the path the project declares), nothing is added: uv hands its environment on
    to the command, and a ``UV_PROJECT_ENVIRONMENT`` there would send every uv command the
    command runs, in whatever project, to this env. Only an env behind a pointer file must be
    named to uv; then the command sees it too."""
    from anyvenv.fs.paths import same_place

    if os.path.isdir(declared) and same_place(declared, env):
        return dict(environ)
    return {**environ, "UV_PROJECT_ENVIRONMENT": os.path.abspath(env)}


def _env_version(env: str) -> tuple[int, int, int] | None:
    from anyvenv.envbuild.config import read_pyvenv_cfg
    from anyvenv.errors import EnvironmentBroken

    try:
        config = read_pyvenv_cfg(env)
    except EnvironmentBroken:
        return None
    text = config.get("version_info") or config.get("version")
    parts = (text or "").split(".")
    if len(parts) < 3 or not all(part.isdecimal() for part in parts[:3]):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _answers(
    env: str, version: tuple[int, int, int], threaded: bool, request: PythonRequest
) -> bool:
    """Whether the env's python is what ``request`` asks for: its version (``threaded``: a
    free-threaded build's), or the interpreter a path or a name names (the env's own python,
    or its base)."""
    if request.path is None and not (request.name is not None and not request.specifiers):
        return request.matches_version(version, threaded)
    import shutil

    named = os.path.expanduser(request.path) if request.path else shutil.which(request.name or "")
    if named is None or not os.path.exists(named):
        return False
    if os.path.isdir(named):
        named = os.path.join(named, "bin", "python3")
    from anyvenv.fs.paths import same_file

    own = os.path.join(env, "bin", "python")
    base = os.path.realpath(own)
    return same_file(named, own) or same_file(named, base) or os.path.realpath(named) == base


def activated_environment(env: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``env`` active: its bin first on PATH, VIRTUAL_ENV set, PYTHONHOME unset."""
    result = dict(environ)
    bin_dir = os.path.join(env, "bin")
    path = result.get("PATH", os.defpath)
    result["PATH"] = bin_dir + (os.pathsep + path if path else "")
    result["VIRTUAL_ENV"] = env
    result.pop("PYTHONHOME", None)
    return result
