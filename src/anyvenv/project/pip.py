"""``uv pip`` against the project env. Where uv installs into a shadow env, a command that
changes packages runs against the shadow and the result is mirrored into the env."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from anyvenv.project.linkmode import forced_link_mode
from anyvenv.project.mirror import MirrorReport, mirror
from anyvenv.project.sync import (
    SyncOptions,
    decide_link_mode,
    ensure_shadow,
    locate,
    prepare,
    project_lock,
    tree_of,
)
from anyvenv.project.uvcall import (
    MUTATING_PIP_COMMANDS,
    find_uv,
    pip_command,
    run_uv,
    uv_environment,
)


@dataclass
class PipResult:
    env: Path
    target: Path  # the env uv ran against (the shadow, or the env)
    uv_exit_code: int
    mirror: MirrorReport | None


def run_pip(
    args: Sequence[str], options: SyncOptions, environ: Mapping[str, str] | None = None
) -> PipResult:
    """Run ``uv pip ARGS`` with ``--python`` set to the project env's (made if missing)."""
    env_vars: Mapping[str, str] = os.environ if environ is None else environ
    cwd = options.cwd or Path.cwd()
    forced = forced_link_mode(options.link_mode, env_vars)
    project, choice, declared = locate(options, env_vars)
    uv = find_uv()
    with project_lock(declared):
        prepared = prepare(project, choice, declared, env_vars)
        location = prepared.location
        mutating = bool(args) and args[0] in MUTATING_PIP_COMMANDS
        shadow = location.shadow if mutating else None
        if shadow is not None:
            ensure_shadow(prepared)
        target = shadow or location.env
        uv_env = uv_environment(env_vars, target, declared)
        if mutating:
            link = decide_link_mode(prepared, forced, uv, (), env_vars, cwd)
            uv_env["UV_LINK_MODE"] = link.mode.value
        code = run_uv(pip_command(uv, args, target / "bin" / "python"), uv_env, cwd)
        report = None
        if shadow is not None and code == 0:
            report = mirror(tree_of(shadow, prepared.state), tree_of(location.env, prepared.state))
    return PipResult(location.env, target, code, report)
