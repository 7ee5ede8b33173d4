"""Pytest plugin: what the reliability tests (tests/test_reliability_*.py) tried, counted.

Tests add counts through the ``reliability`` fixture (``reliability.add("venv", "SIGKILL
points", 12)``); the session prints them with the pass/fail counts per module at the end.
With ``ANYVENV_RELIABILITY_README=README.md`` the same table is written into that file,
between the ``<!-- reliability:start -->`` and ``<!-- reliability:end -->`` markers
(``scripts/reliability-counts`` does that).
"""

from __future__ import annotations

import datetime
import os
from collections import defaultdict
from pathlib import Path

import pytest

MODULE_PREFIX = "test_reliability_"
START = "<!-- reliability:start -->"
END = "<!-- reliability:end -->"
README_ENV = "ANYVENV_RELIABILITY_README"


class Tally:
    """Counts per (area, what), summed over the session."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, area: str, what: str, count: int = 1) -> None:
        self.counts[(area, what)] += count

    def lines(self) -> list[str]:
        out = []
        for module in sorted(self.outcomes):
            seen = self.outcomes[module]
            summary = ", ".join(f"{seen[key]} {key}" for key in sorted(seen))
            out.append(f"{module}: {summary}")
        for (area, what), count in sorted(self.counts.items()):
            out.append(f"  {area}: {what}: {count}")
        return out

    def markdown(self) -> str:
        stamp = datetime.date.today().isoformat()
        rows = ["| tests | passed | failed | skipped |", "|---|---|---|---|"]
        for module in sorted(self.outcomes):
            seen = self.outcomes[module]
            rows.append(f"| `{module}` | {seen['passed']} | {seen['failed']} | {seen['skipped']} |")
        rows += ["", "| area | what was tried | count |", "|---|---|---|"]
        rows += [
            f"| {area} | {what} | {count} |" for (area, what), count in sorted(self.counts.items())
        ]
        return f"Counts from the last run ({stamp}, `scripts/reliability-counts`):\n\n" + "\n".join(
            rows
        )


TALLY_KEY = pytest.StashKey[Tally]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY_KEY] = Tally()


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Tally:
    """The session's tally of what the reliability tests tried."""
    return request.config.stash[TALLY_KEY]


def _module_of(nodeid: str) -> str | None:
    name = Path(nodeid.split("::", 1)[0]).stem
    return name if name.startswith(MODULE_PREFIX) else None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    module = _module_of(report.nodeid)
    if module is None:
        return
    tally = _current_tally
    if tally is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        tally.outcomes[module][report.outcome] += 1
    elif report.when == "teardown" and report.outcome == "failed":
        tally.outcomes[module]["failed"] += 1


_current_tally: Tally | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _current_tally
    _current_tally = session.config.stash[TALLY_KEY]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tally = terminalreporter.config.stash.get(TALLY_KEY, None)
    if tally is None or not tally.outcomes:
        return
    terminalreporter.section("reliability")
    for line in tally.lines():
        terminalreporter.write_line(line)
    readme = os.environ.get(README_ENV)
    if readme:
        write_between_markers(Path(readme), tally.markdown())
        terminalreporter.write_line(f"reliability counts written to {readme}")


def write_between_markers(path: Path, block: str) -> None:
    """Replace what lies between the markers (which must exist) with ``block``."""
    text = path.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"{path} has no {START} ... {END} markers")
    path.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")
