"""``anyvenv python install`` of a locally built python-build-standalone look-alike (the test
suite's archive builder, served from a ``file://`` mirror) against plain ``tar xzf``."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import Outcome, Series, Status, Step, interleave, run_timed
from outcome import error_line, failure, timed_outcome
from peers import Tools

from lab import Lab, LabUnavailable

ANY = "anyvenv python install"
TAR = "tar xzf (plain extraction)"
PLAN: tuple[tuple[str, int], ...] = (("local", 8), ("faultfs:cifs-like", 4), ("exfat", 4))


@dataclass
class InstallRun:
    kind: str
    unavailable: str | None = None
    series: dict[str, Series] = field(default_factory=dict)


@dataclass
class InstallResult:
    available: bool
    note: str = ""
    archive: str = ""
    runs: list[InstallRun] = field(default_factory=list)


def _runs(python: Path, environ: dict[str, str]) -> Outcome:
    """Does the installed interpreter start (``-c pass``)?"""
    timed = run_timed([python, "-c", "pass"], environ)
    if timed.returncode != 0:
        return Outcome(Status.BROKEN, None, error_line(timed.output))
    return Outcome(Status.WORKS)


def _install_step(lab: Lab, kind: str, tools: Tools, environ: dict[str, str], version: str) -> Step:
    def step(round_index: int) -> Outcome:
        target = lab.target(kind, "pyinstall")
        try:
            argv = [tools.anyvenv, "python", "install", version, "--install-dir", str(target)]
            timed = run_timed([*argv, "--json"], environ)
            if timed.returncode != 0:
                return failure(timed, {str(target): "<dir>"})
            [report] = json.loads(timed.output[timed.output.index("[") :])  # one per version
            executable = Path(report["executable"])
            checked = _runs(executable, environ)
            return timed_outcome(timed, checked)
        finally:
            shutil.rmtree(target, ignore_errors=True)

    return step


def _tar_step(lab: Lab, kind: str, archive: Path, executable: str, environ: dict[str, str]) -> Step:
    def step(round_index: int) -> Outcome:
        target = lab.target(kind, "untar")
        try:
            timed = run_timed(["tar", "xzf", archive, "-C", target], environ)
            if timed.returncode != 0:
                return failure(timed, {str(target): "<dir>"})
            checked = _runs(target / "python" / "bin" / executable, environ)
            return timed_outcome(timed, checked)
        finally:
            shutil.rmtree(target, ignore_errors=True)

    return step


def bench_install(
    lab: Lab, tools: Tools, available: bool, scale: float, log: Callable[[str], None]
) -> InstallResult:
    result = InstallResult(available)
    if not available:
        return result
    try:
        import standalone_build
    except ImportError as exc:
        result.note = f"the test-archive builder (tests/standalone_build.py) is missing: {exc}"
        return result
    work = lab.target("local", "standalone")
    built = standalone_build.build_standalone(work)
    if built is None:
        result.note = "no --enable-shared CPython or no patchelf to build the test archive from"
        return result
    with tarfile.open(built.path) as tar:
        members = len(tar.getmembers())
    size = built.path.stat().st_size
    result.archive = f"{built.path.name}: {size / 1e6:.1f} MB, {members} members"
    environ = {
        **tools.environ,
        # explicit installs allowed (the peers' "never" is for envs, which download nothing:
        # anyvenv honours it, as uv python install does, since 898cd1b)
        "UV_PYTHON_DOWNLOADS": "manual",
        "ANYVENV_PYTHON_DOWNLOADS_JSON": str(built.downloads_json),
        "ANYVENV_PYTHON_INSTALL_MIRROR": built.mirror,
        "ANYVENV_CACHE_DIR": str(work / "anyvenv-cache"),
        "XDG_CACHE_HOME": str(work / "xdg-cache"),
    }
    for kind, rounds in PLAN:
        run = InstallRun(kind)
        result.runs.append(run)
        try:
            lab.mount(kind)
        except LabUnavailable as exc:
            run.unavailable = exc.reason
            continue
        rounds = max(2, round(rounds * scale))
        log(f"python install on {kind}: {rounds} rounds")
        cases = {
            ANY: _install_step(lab, kind, tools, environ, built.version_text),
            TAR: _tar_step(lab, kind, built.path, built.executable_name, environ),
        }
        run.series = interleave(cases, rounds)
    return result
