"""Interleaved timing: every round runs each compared case once, in a rotating order, so
drift (other load on the machine, cache warming, thermal) hits all cases alike.

A case is a function ``step(round) -> Outcome`` that prepares, runs the timed command and
cleans up; only the command itself is inside ``time.perf_counter``. Ratios between two cases
are taken round by round (the two runs of one round ran seconds apart) and summarized by
their median.
"""

from __future__ import annotations

import enum
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class Status(enum.Enum):
    WORKS = "works"
    FAILS = "fails"
    BROKEN = "broken python"
    NO_EXEC = "no exec"
    UNAVAILABLE = "not available"


@dataclass(frozen=True)
class Outcome:
    status: Status
    seconds: float | None = None
    detail: str = ""
    cpu: float | None = None  # user + system seconds of the process and its waited children


Step = Callable[[int], Outcome]


@dataclass(frozen=True)
class Stats:
    n: int
    min: float
    median: float
    max: float


@dataclass
class Series:
    """All outcomes of one case, by round (warm-up rounds are not kept)."""

    name: str
    times: dict[int, float] = field(default_factory=dict)
    cpu: dict[int, float] = field(default_factory=dict)
    status: Status = Status.WORKS
    detail: str = ""

    def record(self, round_index: int, outcome: Outcome) -> None:
        if outcome.status is not Status.WORKS and self.status is Status.WORKS:
            self.status, self.detail = outcome.status, outcome.detail
        if round_index >= 0 and outcome.seconds is not None and outcome.status is not Status.FAILS:
            self.times[round_index] = outcome.seconds
            if outcome.cpu is not None:
                self.cpu[round_index] = outcome.cpu

    @property
    def stats(self) -> Stats | None:
        return stats_of(self.times.values())

    @property
    def cpu_stats(self) -> Stats | None:
        return stats_of(self.cpu.values())


def stats_of(samples: Iterable[float]) -> Stats | None:
    values = sorted(samples)
    if not values:
        return None
    return Stats(len(values), values[0], statistics.median(values), values[-1])


@dataclass(frozen=True)
class Ratio:
    """``a / b`` over the rounds where both ran: median, min, max, number of pairs."""

    median: float
    low: float
    high: float
    pairs: int


def pair_ratio(a: Series, b: Series) -> Ratio | None:
    rounds = sorted(set(a.times) & set(b.times))
    ratios = [a.times[r] / b.times[r] for r in rounds if b.times[r] > 0]
    if not ratios:
        return None
    return Ratio(statistics.median(ratios), min(ratios), max(ratios), len(ratios))


def interleave(cases: Mapping[str, Step], rounds: int, warmup: int = 1) -> dict[str, Series]:
    """Run ``warmup`` untimed rounds, then ``rounds`` timed ones, each case once per round in
    an order rotated by one every round. A case that fails is not run again."""
    names = list(cases)
    series = {name: Series(name) for name in names}
    for round_index in range(-warmup, rounds):
        shift = round_index % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            if series[name].status is Status.FAILS:
                continue
            series[name].record(round_index, cases[name](round_index))
    return series


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int
    output: str
    cpu: float | None = None


def run_timed(
    argv: Sequence[str | Path],
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 600.0,
    capture: bool = True,
) -> Timed:
    """Run ``argv`` once; the time covers process start to exit, nothing else."""
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if capture else subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Timed(time.perf_counter() - start, -1, f"timed out after {timeout:.0f}s")
    except OSError as exc:
        return Timed(time.perf_counter() - start, -1, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = done.stdout.decode(errors="replace") if capture and done.stdout else ""
    return Timed(seconds, done.returncode, text, cpu)
