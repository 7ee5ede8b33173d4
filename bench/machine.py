"""The header of every generated table: when, on what machine, which versions."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from peers import Tools

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Machine:
    date: str
    cpu: str
    cores: int
    kernel: str
    memory_gib: float
    anyvenv: str
    uv: str
    virtualenv: str
    base: str
    load: str

    def header(self) -> str:
        return (
            f"Measured {self.date} on {self.cpu}, {self.cores} cores, "
            f"{self.memory_gib:.0f} GiB RAM, Linux {self.kernel} ({self.load}). "
            f"{self.anyvenv}; {self.uv}; virtualenv {self.virtualenv}; "
            f"base interpreter {self.base}."
        )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def load_average(when: str) -> str:
    """``load average 1.2 at the start``: other work on the machine, which the interleaved
    rounds spread over all compared commands alike."""
    one, _, _ = os.getloadavg()
    return f"load average {one:.1f} {when}"


def anyvenv_source() -> str:
    """What was measured: set by bench/run (a commit, or the working tree), else from git."""
    given = os.environ.get("BENCH_ANYVENV_SOURCE")
    if given:
        return given
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    )
    return f"working tree {done.stdout.strip()}" if done.returncode == 0 else "unknown source"


def describe(tools: Tools) -> Machine:
    version = tools.version_of(tools.anyvenv, "--version")
    base = tools.version_of(str(tools.base), "--version").removeprefix("Python ")
    return Machine(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        kernel=platform.release(),
        memory_gib=_memory_gib(),
        anyvenv=f"{version} ({anyvenv_source()})",
        uv=tools.version_of(tools.uv, "--version"),
        virtualenv=[*tools.version_of(tools.virtualenv, "--version").split(), "?", "?"][1],
        base=f"CPython {base} ({tools.base})",
        load=load_average("at the start"),
    )
