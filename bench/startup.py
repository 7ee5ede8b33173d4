"""Start-up of the created python (``-c pass``) against a symlinked venv of the same base and
the base interpreter itself; cross-checked with hyperfine (which runs each command's runs
back to back, so it is reported beside, not instead of, the interleaved numbers)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import Outcome, Series, Status, Step, interleave, run_timed
from outcome import created_outcome, placement_of
from peers import Tools

from lab import Lab, LabUnavailable

BASE = "base interpreter"
SYMLINKED = "symlinked venv (python -m venv)"
ANY_AUTO = "anyvenv venv (auto)"
ANY_HARDLINK = "anyvenv venv --strategy hardlink"
ANY_COPY = "anyvenv venv --strategy copy"
ORIGIN_BASE = "$ORIGIN-linked base interpreter"
ORIGIN_SYMLINKED = "symlinked venv of the $ORIGIN base (uv venv)"
ORIGIN_PATCHED = "anyvenv venv --strategy copy, $ORIGIN base"
ORIGIN_COPYLIB = "anyvenv venv --strategy copy, $ORIGIN base, ANYVENV_PATCHELF="
PASSTHROUGH_SYMLINKED = "symlinked venv (python -m venv)"
CIFS_ANY = "anyvenv venv (auto)"
CIFS_VIRTUALENV = "virtualenv --no-seed --copies"

CIFS = "cifs "
PASSTHROUGH = "passthrough "
HYPERFINE_CASES = (BASE, SYMLINKED, ANY_HARDLINK, ANY_COPY)
ANYVENV_CASES = (ANY_AUTO, ANY_HARDLINK, ANY_COPY, ORIGIN_PATCHED, ORIGIN_COPYLIB, CIFS + CIFS_ANY)


@dataclass(frozen=True)
class StartupCase:
    key: str
    label: str
    where: str
    python: Path | None
    reference: str | None
    placement: str = ""
    detail: str = ""


@dataclass(frozen=True)
class HyperfineRow:
    key: str
    mean: float
    stddev: float
    median: float
    runs: int


@dataclass
class StartupResult:
    cases: list[StartupCase] = field(default_factory=list)
    series: dict[str, Series] = field(default_factory=dict)
    hyperfine: list[HyperfineRow] = field(default_factory=list)
    hyperfine_note: str = ""


class _Builder:
    """Creates the envs to start (untimed) and collects the cases."""

    def __init__(self, lab: Lab, tools: Tools) -> None:
        self.lab, self.tools = lab, tools
        self.cases: list[StartupCase] = []

    def add_env(
        self,
        key: str,
        label: str,
        kind: str,
        argv: Callable[[Path], list[str]],
        reference: str | None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        try:
            mount = self.lab.mount(kind)
        except LabUnavailable as exc:
            self.cases.append(StartupCase(key, label, kind, None, reference, detail=exc.reason))
            return
        env = self.lab.target(kind, "start") / "env"
        environ = {**self.tools.environ, **(extra_env or {})}
        outcome = created_outcome(run_timed(argv(env), environ), env, environ, mount.can_execute)
        if outcome.status is not Status.WORKS:
            detail = f"{outcome.status.value}: {outcome.detail}"
            self.cases.append(StartupCase(key, label, kind, None, reference, detail=detail))
            return
        python = env / "bin" / "python"
        self.cases.append(StartupCase(key, label, kind, python, reference, placement_of(env)))

    def add_interpreter(self, key: str, label: str, python: Path, reference: str | None) -> None:
        self.cases.append(StartupCase(key, label, "local", python, reference, "(no env)"))


def _cases(lab: Lab, tools: Tools, origin_base: Path | None) -> list[StartupCase]:
    t, base = tools, str(tools.base)
    b = _Builder(lab, tools)

    def anyvenv(*options: str, python: str = base) -> Callable[[Path], list[str]]:
        return lambda p: [t.anyvenv, "venv", "-q", *options, "-p", python, str(p)]

    b.add_interpreter(BASE, BASE, tools.base, None)
    b.add_env(
        SYMLINKED, SYMLINKED, "local", lambda p: [base, "-m", "venv", "--without-pip", str(p)], BASE
    )
    b.add_env(ANY_AUTO, ANY_AUTO, "local", anyvenv(), SYMLINKED)
    b.add_env(ANY_HARDLINK, ANY_HARDLINK, "local", anyvenv("--strategy", "hardlink"), SYMLINKED)
    b.add_env(ANY_COPY, ANY_COPY, "local", anyvenv("--strategy", "copy"), SYMLINKED)
    if origin_base is not None:
        origin = str(origin_base)
        b.add_interpreter(ORIGIN_BASE, ORIGIN_BASE, origin_base, None)
        uv_venv = lambda p: [t.uv, "venv", "-q", "-p", origin, str(p)]  # noqa: E731
        b.add_env(ORIGIN_SYMLINKED, ORIGIN_SYMLINKED, "local", uv_venv, ORIGIN_BASE)
        copy = anyvenv("--strategy", "copy", python=origin)
        b.add_env(ORIGIN_PATCHED, ORIGIN_PATCHED, "local", copy, ORIGIN_SYMLINKED)
        no_patchelf = {"ANYVENV_PATCHELF": ""}
        b.add_env(ORIGIN_COPYLIB, ORIGIN_COPYLIB, "local", copy, ORIGIN_SYMLINKED, no_patchelf)
    passthrough = PASSTHROUGH + PASSTHROUGH_SYMLINKED
    b.add_env(
        passthrough,
        PASSTHROUGH_SYMLINKED,
        "faultfs:passthrough",
        lambda p: [base, "-m", "venv", "--without-pip", str(p)],
        SYMLINKED,
    )
    b.add_env(CIFS + CIFS_ANY, CIFS_ANY, "faultfs:cifs-like", anyvenv(), passthrough)
    b.add_env(
        CIFS + CIFS_VIRTUALENV,
        CIFS_VIRTUALENV,
        "faultfs:cifs-like",
        lambda p: [t.virtualenv, "-q", "--no-seed", "--copies", "-p", base, str(p)],
        passthrough,
    )
    return b.cases


def _start_step(python: Path, tools: Tools) -> Step:
    def step(round_index: int) -> Outcome:
        timed = run_timed([python, "-c", "pass"], tools.environ, capture=False)
        if timed.returncode != 0:
            return Outcome(Status.BROKEN, None, f"rc {timed.returncode}")
        return Outcome(Status.WORKS, timed.seconds, cpu=timed.cpu)

    return step


def _hyperfine(cases: list[StartupCase], tools: Tools, runs: int) -> list[HyperfineRow]:
    chosen = [c for c in cases if c.key in HYPERFINE_CASES and c.python is not None]
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None or not chosen:
        return []
    with tempfile.TemporaryDirectory(prefix="anyvenv-bench-hf-") as scratch:
        export = Path(scratch) / "hyperfine.json"
        command = [hyperfine, "-N", "--style", "none", "--warmup", "5", "--runs", str(runs)]
        command += ["--export-json", str(export)]
        for case in chosen:
            command += ["-n", case.key, f"{case.python} -c pass"]
        subprocess.run(command, env=tools.environ, check=True, capture_output=True)
        data = json.loads(export.read_text())
    return [
        HyperfineRow(r["command"], r["mean"], r["stddev"] or 0.0, r["median"], len(r["times"]))
        for r in data["results"]
    ]


def bench_startup(
    lab: Lab, tools: Tools, origin_base: Path | None, scale: float, log: Callable[[str], None]
) -> StartupResult:
    result = StartupResult(_cases(lab, tools, origin_base))
    steps = {c.key: _start_step(c.python, tools) for c in result.cases if c.python is not None}
    rounds = max(5, round(80 * scale))
    log(f"start-up: {len(steps)} interpreters x {rounds} rounds")
    result.series = interleave(steps, rounds, warmup=3)
    runs = max(10, round(60 * scale))
    log(f"start-up: hyperfine cross-check, {runs} runs each")
    try:
        result.hyperfine = _hyperfine(result.cases, tools, runs)
    except (subprocess.CalledProcessError, OSError, KeyError, ValueError) as exc:
        result.hyperfine_note = f"hyperfine failed: {exc}"
    return result
