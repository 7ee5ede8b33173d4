"""``uv pip`` against the project env. Where uv installs into a shadow env, a command that
changes packages runs against the shadow and the result is mirrored into the env."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from anyvenv.project import inputs
from anyvenv.project.prepare import undo_created
from anyvenv.project.session import LockedProject, SyncOptions
from anyvenv.project.shadow import ensure_shadow, mirror_into_env, record_stamps, reinstalled
from anyvenv.project.uvcall import (
    MUTATING_PIP_COMMANDS,
    UV_ERROR_EXIT,
    pip_command,
    run_uv,
    uv_environment,
)
from anyvenv.project.uvrules import unclustered

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.project.mirror import MirrorReport


@dataclass
class PipResult:
    env: str
    target: str  # the env uv ran against (the shadow, or the env)
    uv_exit_code: int
    mirror: MirrorReport | None
    notes: list[str] = field(default_factory=list)  # what the user must be told


_TARGET_OPTIONS = ("--python", "--system", "--target", "--prefix")
BUILDING_PIP_COMMANDS = frozenset({"install", "sync", "compile"})  # uv may build sources


def targets_another_env(
    args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    locating: Sequence[str] = (),
) -> bool:
    """Whether ``uv pip ARGS`` would not act on the project env: ``--python``/``-p``,
    ``--system``, ``--target`` or ``--prefix`` name another (or ``UV_SYSTEM_PYTHON``, or
    ``UV_PYTHON`` with a path, as uv pip reads them), or the env uv pip finds itself is
    another (``VIRTUAL_ENV``, else an active conda env, else the nearest ``.venv``: a
    workspace member's own, a ``.venv`` beside a ``UV_PROJECT_ENVIRONMENT``). ``locating``:
    the ``--directory`` and ``--project`` options that move the project. Raises
    :class:`anyvenv.errors.NotAProject` outside a project."""
    for arg in args:
        if arg == "--":
            break
        if arg.partition("=")[0] in _TARGET_OPTIONS or (arg.startswith("-p") and arg != "-"):
            return True
        if unclustered(arg, "p") is not None:  # -qp 3.12
            return True
    from anyvenv.interpreter.request import names_a_path
    from anyvenv.project.uvrules import env_flag

    if env_flag(environ, "UV_SYSTEM_PYTHON") or names_a_path(environ.get("UV_PYTHON", "")):
        return True  # uv pip's --system, or --python with a path: as the options above
    from anyvenv.project.uvrules import option_value, working_dir

    workdir = working_dir(option_value(locating, "--directory"), cwd, environ)
    found = env_uv_pip_finds(environ, cwd, workdir)
    if found is None:
        return False  # none: the project's, made for it (uv pip would stop there)
    from anyvenv.project.model import discover
    from anyvenv.project.pointer import resolve_env
    from anyvenv.project.uvrules import declared_env, start_dir

    project = discover(start_dir(locating, cwd, environ))
    declared = declared_env(project.workspace_root, environ)
    ours = {os.path.realpath(declared), os.path.realpath(resolve_env(declared))}
    return os.path.realpath(found) not in ours


def env_uv_pip_finds(environ: Mapping[str, str], cwd: str, workdir: str) -> str | None:
    """The env ``uv pip`` acts on when no option names one: ``VIRTUAL_ENV``, else an active
    conda env (not conda's base), else the env the working directory ``workdir`` is in or the
    nearest ``.venv`` above it; ``None`` where there is none."""
    active = environ.get("VIRTUAL_ENV")
    conda = environ.get("CONDA_PREFIX")
    if not active and conda and environ.get("CONDA_DEFAULT_ENV") not in ("base", "root"):
        active = conda
    return os.path.join(cwd, active) if active else nearest_env(workdir)


def nearest_env(start: str) -> str | None:
    """The env ``uv pip`` finds from ``start`` with no VIRTUAL_ENV: the one ``start`` is in,
    or the first ``.venv`` at or above it. A ``.venv`` that is a file (anyvenv's pointer to
    the env it stands for) ends the search too: that env is the one meant there."""
    from anyvenv.fs import is_virtual_environment
    from anyvenv.fs.paths import upward

    for directory in upward(os.path.abspath(start)):
        if is_virtual_environment(directory):
            return directory
        dot_venv = os.path.join(directory, ".venv")
        if os.path.lexists(dot_venv):
            return dot_venv
    return None


def run_pip(
    args: Sequence[str], options: SyncOptions, environ: Mapping[str, str] | None = None
) -> PipResult:
    """Run ``uv pip ARGS`` with ``--python`` set to the project env's (made if missing)."""
    from anyvenv.record import replace

    with LockedProject(replace(options, for_pip=True), environ) as session:
        location = session.prepared.location
        mutating = bool(args) and args[0] in MUTATING_PIP_COMMANDS
        if mutating:  # the next sync must run uv to bring the env back to the lock
            inputs.forget(location.env)
        shadow = location.shadow if mutating else None
        if shadow is not None:
            ensure_shadow(session.prepared, keep_all=True)
            if options.on_shadow_note is not None:
                from anyvenv.project.envchoice import shadow_note

                options.on_shadow_note(shadow_note(location))
        target = shadow or location.env
        uv_env = uv_environment(session.environ, target, location.declared)
        if args and args[0] in BUILDING_PIP_COMMANDS:  # (what uv builds, where it is)
            from anyvenv.project.buildshim import named_dirs, project_source_dirs, with_build_shim

            sources = project_source_dirs(session.prepared.project)
            uv_env = with_build_shim(uv_env, [*sources, *named_dirs(args[1:], session.cwd)])
        if mutating:
            uv_env["UV_LINK_MODE"] = session.link_mode(()).mode.value
        command = pip_command(session.uv, args, os.path.join(target, "bin", "python"))
        asked = session.reinstalls(args) if shadow is not None else False
        before = (
            record_stamps(shadow, session.prepared.state)
            if asked is True and shadow is not None
            else None
        )
        code = run_uv(command, uv_env, session.cwd)
        if code == UV_ERROR_EXIT:  # (not a resolution that failed: uv's exit 1)
            session.note_cache_trouble(())
        if code == UV_ERROR_EXIT and session.prepared.action == "created":
            undo_created(session.prepared)  # (a command uv refused: it would have made none)
        report = (
            mirror_into_env(
                session.prepared,
                options.on_mirror_progress,
                reinstalled(asked, shadow, session.prepared.state, before),
                options.on_shadow_note,
                session.compiles_bytecode(args),
            )
            if shadow is not None and code == 0
            else None
        )
    return PipResult(location.env, target, code, report, session.prepared.notes)
