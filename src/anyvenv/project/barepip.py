"""``uv pip`` on an env that no project of anyvenv's stands for (outside a project, or another
env than the project's, named by ``--python``, ``UV_PYTHON``, ``VIRTUAL_ENV`` or found as the
nearest ``.venv``), on a filesystem where uv cannot install in place: chmod fails there (FAT:
ENOSYS, for every file uv copies), or is ignored and files are made without their exec bit
(console scripts that cannot run). As for a project env (:mod:`anyvenv.project.shadow`), uv
installs into the env's shadow on local disk, and the packages are mirrored into the env with
their modes set at creation.

How the env installs is kept in the env's sync state (:mod:`anyvenv.project.state`), so that
the next command probes nothing and runs no python, and ``cache prune`` sees the shadow in use.
A mirror into the env that did not end is known by its journal in the shadow
(:data:`anyvenv.project.shadow.MIRROR_JOURNAL`), as for a project's env.
"""

from __future__ import annotations

import os

from anyvenv.errors import AnyvenvError
from anyvenv.project.envchoice import EnvLocation, Placement
from anyvenv.project.state import SyncState
from anyvenv.record import record, replace

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence


@record
class BareEnv:
    """An env no project stands for, installed into through its shadow."""

    location: EnvLocation
    state: SyncState

    @property
    def project_root(self) -> None:
        """No project: the shadow's owner record names none."""
        return None


@record
class PipOnEnv:
    """What ``uv pip`` is run as: on which env, with which arguments (without the option
    that named the env's python, which the shadow's replaces)."""

    env: str
    args: list[str]


def pip_on_env(args: Sequence[str], environ: Mapping[str, str], cwd: str) -> PipOnEnv | None:
    """The virtual env plain ``uv pip ARGS`` acts on, as uv pip finds it (``--python``/``-p``
    or ``UV_PYTHON`` naming the env or a python in it, else ``VIRTUAL_ENV``, an active conda
    env, the nearest ``.venv``). ``None`` where it acts on something else or on what this
    cannot tell: a system Python (``--system``, ``UV_SYSTEM_PYTHON``), ``--target`` or
    ``--prefix``, a Python asked for by version or name, ``-p`` in a cluster (``-qp``)."""
    from anyvenv.project.pip import env_uv_pip_finds
    from anyvenv.project.uvrules import env_flag, option_value, working_dir

    end = args.index("--") if "--" in args else len(args)
    options, rest = list(args[:end]), list(args[end:])
    if any(arg.partition("=")[0] in ("--system", "--target", "--prefix") for arg in options):
        return None
    named = _python_option(options)
    if named is None:
        return None
    requested, kept = named
    workdir = working_dir(option_value(options, "--directory"), cwd, environ)
    if requested is None:
        if env_flag(environ, "UV_SYSTEM_PYTHON"):
            return None
        requested = environ.get("UV_PYTHON") or None
    if requested is None:
        found = env_uv_pip_finds(environ, cwd, workdir)
    else:
        path = _path_named(requested, workdir)
        found = (
            _env_of(path) if path is not None else _answering_env(requested, environ, cwd, workdir)
        )
    from anyvenv.fs import is_virtual_environment

    if found is None or not os.path.isdir(found) or not is_virtual_environment(found):
        return None
    return PipOnEnv(os.path.realpath(found), [*kept, *rest])


def _answering_env(
    requested: str, environ: Mapping[str, str], cwd: str, workdir: str
) -> str | None:
    """The env a version request (``3.12``, ``python3.12``) names, as uv pip finds it: the
    one it finds with no request (``VIRTUAL_ENV``, the nearest ``.venv``...) where its
    ``pyvenv.cfg`` says a version that answers; ``None`` otherwise (uv looks elsewhere)."""
    from anyvenv.envbuild.config import config_version, read_pyvenv_cfg
    from anyvenv.errors import AnyvenvError
    from anyvenv.interpreter.request import parse_request
    from anyvenv.project.pip import env_uv_pip_finds

    try:
        request = parse_request(requested)
    except AnyvenvError:
        return None
    found = env_uv_pip_finds(environ, cwd, workdir)
    if not request.specifiers or found is None:
        return None
    try:
        version = config_version(read_pyvenv_cfg(found))
    except AnyvenvError:
        return None
    if version is None or len(version) < 3:
        return None
    return found if request.matches_version((version[0], version[1], version[2])) else None


def _path_named(requested: str, workdir: str) -> str | None:
    """The path a ``--python`` value names, as uv reads it: one with a ``/`` or a leading
    ``.``, else a directory or file of that name in the working directory, unless the value
    reads as a version (``3.12``, ``python3.12``); ``None`` for a version or a name."""
    from anyvenv.errors import AnyvenvError
    from anyvenv.interpreter.request import names_a_path, parse_request

    if names_a_path(requested):
        return os.path.join(workdir, os.path.expanduser(requested))
    try:
        request = parse_request(requested)
    except AnyvenvError:
        return None
    named = os.path.join(workdir, requested)
    if request.name is None or request.specifiers or not os.path.exists(named):
        return None
    return named


def _python_option(options: list[str]) -> tuple[str | None, list[str]] | None:
    """The ``--python``/``-p`` value among ``options`` (``None``: not given) and the options
    without it; ``None`` where ``-p`` is clustered with other flags (``-qp X``) or given
    twice (uv refuses that: plain uv pip says so)."""
    from anyvenv.project.uvrules import unclustered

    values: list[str] = []
    kept: list[str] = []
    index = 0
    while index < len(options):
        arg = options[index]
        if arg in ("--python", "-p"):
            if index + 1 == len(options):
                return None  # (uv says what is missing)
            values.append(options[index + 1])
            index += 2
            continue
        if arg.startswith("--python="):
            values.append(arg[len("--python=") :])
        elif arg.startswith("-p") and not arg.startswith("--"):
            values.append(arg[2:].removeprefix("="))
        elif unclustered(arg, "p") is not None:
            return None
        else:
            kept.append(arg)
        index += 1
    if len(values) > 1:
        return None
    return (values[0] if values else None), kept


def _env_of(path: str) -> str | None:
    """The env a ``--python`` path names: the env directory itself, or the env of a python
    in its ``bin`` (an executable file named ``python...``)."""
    if os.path.isdir(path):
        return path
    bin_dir, name = os.path.split(os.path.abspath(path))
    if os.path.basename(bin_dir) != "bin" or not name.startswith("python"):
        return None
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return None  # (uv says what it is)
    return os.path.dirname(bin_dir)


def run_bare_pip(
    target: PipOnEnv,
    environ: Mapping[str, str],
    cwd: str,
    progress: Callable[[int, int], object] | None = None,
    on_note: Callable[[str], object] | None = None,
) -> int | None:
    """Run ``uv pip`` (a command that changes packages) on ``target.env`` through its shadow
    where uv cannot install there in place, and return uv's exit code; ``None`` where uv can
    (nothing was done). ``on_note`` is told, before uv runs, where uv installs and why (uv
    names the shadow env). An env there that does not run (its base gone) is an
    :class:`AnyvenvError`."""
    from anyvenv.fs.lock import env_lock
    from anyvenv.uvbinary import find_uv

    with env_lock(target.env):
        bare = _shadowed(target.env, environ)
        if bare is None:
            return None
        if on_note is not None:
            from anyvenv.project.envchoice import shadow_note

            on_note(shadow_note(bare.location))
        return _install_through_shadow(
            bare, target.args, find_uv(), environ, cwd, progress, on_note
        )


def _shadowed(env: str, environ: Mapping[str, str]) -> BareEnv | None:
    """``env`` with its shadow, where uv cannot install into it in place; ``None`` where it
    can. From the env's saved state where it still holds, else measured (no probe on a local
    disk's own filesystems)."""
    from anyvenv.project import state as state_store
    from anyvenv.project.health import inspect_env, state_vouches

    saved = state_store.load(env)
    if saved is not None and state_vouches(saved, env):
        if saved.placement != Placement.SHADOW.value or not saved.shadow:
            return None
        from anyvenv.project.envchoice import own_shadow, python_key

        key = python_key(saved.version, saved.free_threaded)
        shadow = own_shadow(saved.shadow, env, _env_name(env), key, environ, saved.reason)
        location = EnvLocation(env, env, Placement.SHADOW, saved.reason, shadow, saved.rewrites)
        return BareEnv(location, replace(saved, shadow=shadow))
    fault = _install_fault(env)
    if fault is None:
        return None
    facts, why = inspect_env(env, None, strict=False, instead="or use an env of your own")
    if facts is not None and not os.path.exists(facts.base_executable):
        why = f"its base interpreter {facts.base_executable} is gone"
        facts = None
    if facts is None:  # (uv pip would fail there, on the env's filesystem: say why here)
        raise _BrokenBareEnv(env, why or "it is not a virtual environment", fault[0])
    from anyvenv.project.envchoice import python_key, shadow_env_path
    from anyvenv.project.prepare import new_state

    why, rewrites = fault
    key = python_key(facts.version, facts.free_threaded)
    shadow = shadow_env_path(env, _env_name(env), key, environ, why)
    location = EnvLocation(env, env, Placement.SHADOW, why, shadow, rewrites)
    return BareEnv(location, new_state(location, facts))


class _BrokenBareEnv(AnyvenvError):
    def __init__(self, env: str, why: str, fault: str) -> None:
        super().__init__(
            f"the env {env} does not work ({why}); uv installs into it through a shadow env "
            f"made from its base, as {fault}",
            f"'anyvenv repair {env}' mends it, keeping its packages",
        )


def _install_fault(env: str) -> tuple[str, str] | None:
    """Why uv cannot install into ``env`` in place, and what ``ProbeResult.rewrites`` says
    there; ``None`` where it can."""
    from anyvenv.errors import UsageError
    from anyvenv.fs.mounts import mount_of, read_mounts
    from anyvenv.fs.probe import probe
    from anyvenv.project.envchoice import fault_of

    mount = mount_of(env, read_mounts())
    if mount is not None and mount.is_local:
        return None
    try:
        result = probe(env)
    except (OSError, UsageError):  # (not writable: uv says so itself)
        return None
    fault = fault_of(result)
    if fault is None or not result.can_execute:
        return None
    return fault, result.rewrites


def _env_name(env: str) -> str:
    """What the shadow is named after: the env's directory name, or its parent's for a
    ``.venv`` or ``venv``."""
    name = os.path.basename(env)
    return os.path.basename(os.path.dirname(env)) if name in (".venv", "venv") else name


def _install_through_shadow(
    bare: BareEnv,
    args: list[str],
    uv: str,
    environ: Mapping[str, str],
    cwd: str,
    progress: Callable[[int, int], object] | None,
    on_note: Callable[[str], object] | None,
) -> int:
    """uv pip into the shadow, then its packages mirrored into the env."""
    from anyvenv.project.buildshim import named_dirs, with_build_shim
    from anyvenv.project.prepare import save_state
    from anyvenv.project.shadow import ensure_shadow, mirror_into_env, record_stamps, reinstalled
    from anyvenv.project.uvcall import pip_command, run_uv, uv_environment
    from anyvenv.project.uvsettings import compiles_bytecode, reinstalls

    env, shadow = bare.location.env, bare.location.shadow
    assert shadow is not None
    ensure_shadow(bare)  # (the env is whole, unless a journal says otherwise)
    uv_env = with_build_shim(uv_environment(environ, shadow, env), named_dirs(args[1:], cwd))
    uv_env["UV_LINK_MODE"] = _link_mode(bare.state, shadow, args, uv, environ, cwd)
    save_state(bare)  # (before the copy: a prune meanwhile sees the shadow in use)
    asked = reinstalls(cwd, args, environ, cwd, for_pip=True)
    before = record_stamps(shadow, bare.state) if asked is True else None
    code = run_uv(pip_command(uv, args, os.path.join(shadow, "bin", "python")), uv_env, cwd)
    if code == 0:
        mirror_into_env(
            bare,
            progress,
            reinstalled(asked, shadow, bare.state, before),
            on_note,
            compiles_bytecode(cwd, args, environ, cwd, for_pip=True),
        )
    return code


def _link_mode(
    saved: SyncState,
    shadow: str,
    args: list[str],
    uv: str,
    environ: Mapping[str, str],
    cwd: str,
) -> str:
    from anyvenv.project.linkmode import decide_link_mode, forced_link_mode
    from anyvenv.project.uvcache import uv_cache_dir
    from anyvenv.project.uvrules import option_value
    from anyvenv.project.uvsettings import configured_link_mode

    forced = forced_link_mode(option_value(args, "--link-mode"), environ) or configured_link_mode(
        cwd, args, environ, cwd, for_pip=True
    )
    choice = decide_link_mode(
        saved, shadow, forced, args, environ, cwd, lambda: uv_cache_dir(uv, args, environ, cwd)
    )
    return choice.mode.value
