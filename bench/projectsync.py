"""``anyvenv sync`` against ``uv sync`` on projects of 10, 50 and 200 local wheels: the same
lock (``--frozen``), the same warm uv cache, no index (``--find-links`` from the
environment). "fresh": no env before; "no-op": the env is already in sync."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from anatomy import profile, script_interpreter
from fixtures import (
    build_wheels,
    copy_project,
    lock_project,
    offline_environ,
    package_names,
    write_project,
)
from harness import Outcome, Series, Status, Step, interleave, run_timed
from outcome import error_line, failure
from peers import Tools

from lab import Lab, LabUnavailable

UV_FRESH = "uv sync, fresh"
ANY_FRESH = "anyvenv sync, fresh"
UV_NOOP = "uv sync, no-op"
ANY_NOOP = "anyvenv sync, no-op"
PAIRS = ((ANY_FRESH, UV_FRESH), (ANY_NOOP, UV_NOOP))

PROFILED = ("local", 50)
# (kind, packages, timed rounds at scale 1); 200 packages only on local disk
PLAN: tuple[tuple[str, int, int], ...] = (
    ("local", 10, 12),
    ("local", 50, 10),
    ("local", 200, 6),
    ("faultfs:cifs-like", 10, 4),
    ("faultfs:cifs-like", 50, 3),
)


@dataclass
class SyncRun:
    kind: str
    packages: int
    unavailable: str | None = None
    series: dict[str, Series] = field(default_factory=dict)


@dataclass
class SyncResult:
    available: bool
    runs: list[SyncRun] = field(default_factory=list)
    profile: str = ""
    profiled: str = ""


@dataclass(frozen=True)
class _Project:
    root: Path
    environ: dict[str, str]
    private_dirs: tuple[Path, ...]

    def remove_env(self) -> None:
        venv = self.root / ".venv"
        if venv.is_dir() and not venv.is_symlink():
            shutil.rmtree(venv, ignore_errors=True)
        elif venv.exists() or venv.is_symlink():
            venv.unlink()
        for directory in self.private_dirs:
            shutil.rmtree(directory, ignore_errors=True)


def _project(lab: Lab, kind: str, name: str, locked: Path, environ: dict[str, str]) -> _Project:
    root = copy_project(locked, lab.target(kind, name))
    private = lab.target("local", f"{name}-private")
    shadow, envs = private / "shadow", private / "envs"
    own = {**environ, "ANYVENV_SHADOW_DIR": str(shadow), "ANYVENV_ENVS_DIR": str(envs)}
    return _Project(root, own, (shadow, envs))


def _sync_step(argv: list[str], project: _Project, fresh: bool) -> Step:
    def step(round_index: int) -> Outcome:
        if fresh:
            project.remove_env()
        timed = run_timed(argv, project.environ, cwd=project.root)
        if timed.returncode != 0:
            return failure(timed, {str(project.root): "<project>"})
        return Outcome(Status.WORKS, timed.seconds, cpu=timed.cpu)

    return step


def _one(
    lab: Lab,
    tools: Tools,
    wheels: Path,
    kind: str,
    packages: int,
    rounds: int,
    profiled: Callable[[Path, dict[str, str]], None] | None = None,
) -> SyncRun:
    run = SyncRun(kind, packages)
    try:
        lab.mount(kind)
    except LabUnavailable as exc:
        run.unavailable = exc.reason
        return run
    environ = offline_environ(tools.environ, wheels)
    locked = write_project(lab.target("local", f"lock{packages}"), packages)
    lock_project(tools.uv, locked, tools.base, environ)
    uv_project = _project(lab, kind, "uvproj", locked, environ)
    any_project = _project(lab, kind, "anyproj", locked, environ)
    python = ["-p", str(tools.base)]
    uv = [tools.uv, "sync", "--frozen", "-q", *python]
    anyvenv = [tools.anyvenv, "sync", *python, "--frozen", "-q"]
    cases = {
        UV_FRESH: _sync_step(uv, uv_project, fresh=True),
        ANY_FRESH: _sync_step(anyvenv, any_project, fresh=True),
        UV_NOOP: _sync_step(uv, uv_project, fresh=False),
        ANY_NOOP: _sync_step(anyvenv, any_project, fresh=False),
    }
    run.series = interleave(cases, rounds)
    if profiled is not None and run.series[ANY_NOOP].status is Status.WORKS:
        profiled(any_project.root, any_project.environ)
    for fresh, noop, project in (
        (UV_FRESH, UV_NOOP, uv_project),
        (ANY_FRESH, ANY_NOOP, any_project),
    ):
        problem = _installed_problem(project, packages)
        for name in (fresh, noop):
            if problem and run.series[name].status is Status.WORKS:
                run.series[name].status, run.series[name].detail = Status.BROKEN, problem
        project.remove_env()
    return run


def _installed_problem(project: _Project, packages: int) -> str | None:
    """None if the project's env imports its first and last package, else what went wrong."""
    names = package_names(packages)
    env = project.root / ".venv"
    if env.is_file():  # a pointer file to an env kept elsewhere
        env = Path(env.read_text().strip().splitlines()[0])
    check: list[str | Path] = [env / "bin" / "python", "-c", f"import {names[0]}, {names[-1]}"]
    timed = run_timed(check, project.environ, cwd=project.root)
    if timed.returncode != 0:
        return f"packages not importable: {error_line(timed.output)}"
    return None


def bench_sync(
    lab: Lab, tools: Tools, available: bool, scale: float, log: Callable[[str], None]
) -> SyncResult:
    result = SyncResult(available)
    if not available:
        return result
    wheels = build_wheels(lab.target("local", "wheels"), max(n for _, n, _ in PLAN))
    interpreter = script_interpreter(tools.anyvenv)
    noop = ["sync", "-p", str(tools.base), "--frozen", "-q"]

    def profiled(root: Path, environ: dict[str, str]) -> None:
        result.profile = profile(interpreter, noop, environ, cwd=root)

    for kind, packages, rounds in PLAN:
        rounds = max(2, round(rounds * scale))
        log(f"sync: {packages} packages on {kind}, {rounds} rounds")
        hook = profiled if (kind, packages) == PROFILED else None
        result.runs.append(_one(lab, tools, wheels, kind, packages, rounds, hook))
    result.profiled = f"`anyvenv sync` no-op, {PROFILED[1]} packages, {PROFILED[0]} disk"
    return result
