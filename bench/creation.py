"""Environment creation: anyvenv venv against uv venv, python -m venv and virtualenv, on local
disk and on lab mounts, all from the same base interpreter."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import Outcome, Series, Step, interleave, run_timed
from outcome import created_outcome
from peers import Creator, Tools, creators

from lab import Lab, LabUnavailable

Log = Callable[[str], None]

# (kind, timed rounds at scale 1): fewer where every file operation is slow
KINDS: tuple[tuple[str, int], ...] = (
    ("local", 20),
    ("faultfs:passthrough", 7),
    ("faultfs:cifs-like", 10),
    ("faultfs:readlink-eacces", 7),
    ("sshfs", 7),
    ("exfat", 7),
    ("fat", 4),
)


@dataclass
class MountResult:
    kind: str
    fstype: str = ""
    unavailable: str | None = None
    series: dict[str, Series] = field(default_factory=dict)


def shortener(lab: Lab, tools: Tools, env: Path) -> dict[str, str]:
    """Long paths in error lines -> short names (longest first)."""
    return {
        str(env): "<env>",
        str(lab.base): "<lab>",
        str(tools.base.parent.parent): "<base>",
    }


def creation_step(lab: Lab, kind: str, make: Creator, tools: Tools, can_execute: bool) -> Step:
    def step(round_index: int) -> Outcome:
        parent = lab.target(kind, "create")
        env = parent / "env"
        try:
            timed = run_timed(make(env), tools.environ)
            return created_outcome(
                timed, env, tools.environ, can_execute, shortener(lab, tools, env)
            )
        finally:
            shutil.rmtree(parent, ignore_errors=True)

    return step


def bench_creation(lab: Lab, tools: Tools, scale: float, log: Log) -> list[MountResult]:
    results = []
    for kind, rounds in KINDS:
        result = MountResult(kind)
        results.append(result)
        try:
            mount = lab.mount(kind)
        except LabUnavailable as exc:
            result.unavailable = exc.reason
            continue
        result.fstype = mount.fstype
        cases = {
            name: creation_step(lab, kind, make, tools, mount.can_execute)
            for name, make in creators(tools).items()
        }
        rounds = max(2, round(rounds * scale))
        log(f"creation on {kind}: {len(cases)} tools x {rounds} rounds")
        result.series = interleave(cases, rounds)
    return results
