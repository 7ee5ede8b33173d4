"""The goals the benchmark checks, each met or missed by how much (never a test assertion)."""

from __future__ import annotations

from dataclasses import dataclass

import peers
import projectsync
import startup
from creation import MountResult
from harness import Ratio, Series, Status, pair_ratio
from projectsync import SyncResult
from startup import StartupResult


@dataclass(frozen=True)
class Goal:
    what: str
    limit: float
    strict: bool  # "<" rather than "<="
    measured: Ratio | None
    missing: str = ""

    @property
    def target(self) -> str:
        return f"{'<' if self.strict else '≤'} {self.limit:.2f}x"

    @property
    def met(self) -> bool:
        if self.measured is None:
            return False
        value = self.measured.median
        return value < self.limit if self.strict else value <= self.limit

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return f"not measured ({self.missing})"
        if self.met:
            return "met"
        over = (self.measured.median / self.limit - 1) * 100
        return f"missed by {over:.0f}%" if over >= 1 else f"missed by {over:.1f}%"


def _ratio(series: dict[str, Series], a: str, b: str) -> tuple[Ratio | None, str]:
    if a not in series or b not in series:
        return None, "not run"
    for name in (a, b):
        if series[name].status is not Status.WORKS:
            return None, f"{name}: {series[name].status.value}"
    ratio = pair_ratio(series[a], series[b])
    return ratio, "" if ratio is not None else "no paired runs"


def creation_goals(creation: list[MountResult] | None) -> list[Goal]:
    by_kind = {r.kind: r.series for r in creation or []}
    wanted = (
        ("local", peers.UV, 1.5, False, "env creation on local disk: anyvenv venv ÷ uv venv"),
        (
            "local",
            peers.VENV,
            1.0,
            True,
            "env creation on local disk: anyvenv venv ÷ " + peers.VENV,
        ),
        (
            "faultfs:cifs-like",
            peers.VIRTUALENV_COPIES,
            0.25,
            True,
            "env creation on the CIFS-like mount: anyvenv venv ÷ " + peers.VIRTUALENV_COPIES,
        ),
    )
    goals = []
    for kind, peer, limit, strict, what in wanted:
        if kind not in by_kind:
            goals.append(Goal(what, limit, strict, None, "creation not run"))
            continue
        ratio, why = _ratio(by_kind[kind], peers.ANYVENV, peer)
        goals.append(Goal(what, limit, strict, ratio, why))
    return goals


def startup_goals(result: StartupResult | None) -> list[Goal]:
    if result is None:
        return [Goal("start-up within 3% of a symlinked venv", 1.03, False, None, "not run")]
    goals = []
    labels = {case.key: case for case in result.cases}
    for case in result.cases:
        if case.key not in startup.ANYVENV_CASES or case.reference is None:
            continue
        reference = labels[case.reference]
        what = (
            f"start-up: {case.label} ({case.placement or 'not made'}, {case.where}) "
            f"÷ {reference.label} ({reference.where})"
        )
        if case.python is None:
            goals.append(Goal(what, 1.03, False, None, case.detail))
            continue
        ratio, why = _ratio(result.series, case.key, case.reference)
        goals.append(Goal(what, 1.03, False, ratio, why))
    return goals


def sync_goals(result: SyncResult | None) -> list[Goal]:
    if result is None or not result.available:
        why = "not run" if result is None else "anyvenv sync: not available in this version"
        return [Goal("anyvenv sync ÷ uv sync (fresh and no-op)", 1.15, False, None, why)]
    goals = []
    for run in result.runs:
        if run.kind != "local":
            continue
        for mine, theirs in projectsync.PAIRS:
            what = f"{mine} ÷ {theirs}, {run.packages} packages, local disk"
            ratio, why = _ratio(run.series, mine, theirs)
            goals.append(Goal(what, 1.15, False, ratio, why))
    return goals
