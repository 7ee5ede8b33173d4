"""Where ``anyvenv venv`` (and ``anyvenv sync``) spend their time on local disk: the pieces
timed side by side (wall and CPU), and a cProfile of one run, for the owners to act on."""

from __future__ import annotations

import cProfile  # noqa: F401  (the profiler the child runs; imported to fail early if absent)
import io
import pstats
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness import Outcome, Series, Status, Step, interleave, run_timed
from outcome import error_line
from peers import Tools

from lab import Lab

INTERPRETER = "anyvenv's interpreter: `python -c pass`"
BARE = "anyvenv's interpreter: `python -S -c pass`"
VERSION = "`anyvenv --version` (CLI, every command's parser)"
IMPORTS = "`python -c 'import anyvenv.envbuild.create'`"
PROBE = "`anyvenv probe DIR`"
VENV = "`anyvenv venv`"
ENV_START = "the new env's python: `-c pass`"
UV = "`uv venv`"
PROFILE_FILTER = r"anyvenv/|subprocess\.py:\d+\((run|communicate|wait)\)|threading\.py:\d+\(join\)"


@dataclass
class Anatomy:
    series: dict[str, Series] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)


def script_interpreter(script: str) -> str:
    """The interpreter of a console script (its ``#!`` line)."""
    with open(script, encoding="utf-8", errors="replace") as stream:
        first = stream.readline()
    return first.removeprefix("#!").strip().split()[0] if first.startswith("#!") else script


def _plain(argv: list[str], tools: Tools) -> Step:
    def step(round_index: int) -> Outcome:
        timed = run_timed(argv, tools.environ)
        if timed.returncode != 0:
            return Outcome(Status.FAILS, timed.seconds, error_line(timed.output))
        return Outcome(Status.WORKS, timed.seconds, cpu=timed.cpu)

    return step


def _creating(lab: Lab, make: Callable[[Path], list[str]], tools: Tools) -> Step:
    def step(round_index: int) -> Outcome:
        parent = lab.target("local", "anatomy")
        try:
            return _plain(make(parent / "env"), tools)(round_index)
        finally:
            shutil.rmtree(parent, ignore_errors=True)

    return step


# `python -m cProfile -o F -m anyvenv` writes nothing: the CLI ends its process with os._exit
# once nothing is left to tear down (anyvenv.__main__.end_process), before cProfile writes F.
# So the child profiles main() (imports included) and writes F itself.
_PROFILED_RUN = """
import cProfile, sys
out, sys.argv = sys.argv[1], ["anyvenv", *sys.argv[2:]]
profiler = cProfile.Profile()
profiler.enable()
from anyvenv.__main__ import main
code = main()
profiler.disable()
profiler.dump_stats(out)
sys.exit(code)
"""


def profile(
    interpreter: str,
    args: list[str],
    environ: Mapping[str, str],
    cwd: Path | None = None,
    top: int = 25,
) -> str:
    """cProfile of ``anyvenv ARGS`` (its main()) in a child: the top entries by cumulative time
    (anyvenv's functions, and waits for child processes and threads)."""
    with tempfile.TemporaryDirectory(prefix="anyvenv-bench-prof-") as scratch:
        out = Path(scratch) / "profile.out"
        argv = [interpreter, "-c", _PROFILED_RUN, str(out), *args]
        timed = run_timed(argv, environ, cwd=cwd)
        if timed.returncode != 0 or not out.is_file():
            return f"(profiling failed: {error_line(timed.output)})"
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.sort_stats("cumulative").print_stats(PROFILE_FILTER, top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    body = [re.sub(r"\S*/(site-packages|lib/python3\.\d+)/", "", line) for line in lines[start:]]
    return "\n".join([total, "", *[line for line in body if line.strip()]])


def bench_anatomy(lab: Lab, tools: Tools, scale: float, log: Callable[[str], None]) -> Anatomy:
    interpreter = script_interpreter(tools.anyvenv)
    base = str(tools.base)
    probe_dir = lab.target("local", "anatomy-probe")
    env_for_start = lab.target("local", "anatomy-start") / "env"
    run_timed([tools.anyvenv, "venv", "-q", "-p", base, str(env_for_start)], tools.environ)
    cases = {
        INTERPRETER: _plain([interpreter, "-c", "pass"], tools),
        BARE: _plain([interpreter, "-S", "-c", "pass"], tools),
        VERSION: _plain([tools.anyvenv, "--version"], tools),
        IMPORTS: _plain([interpreter, "-c", "import anyvenv.envbuild.create"], tools),
        PROBE: _plain([tools.anyvenv, "probe", str(probe_dir)], tools),
        ENV_START: _plain([str(env_for_start / "bin" / "python"), "-c", "pass"], tools),
        VENV: _creating(lab, lambda p: [tools.anyvenv, "venv", "-q", "-p", base, str(p)], tools),
        UV: _creating(lab, lambda p: [tools.uv, "venv", "-q", "-p", base, str(p)], tools),
    }
    rounds = max(4, round(20 * scale))
    log(f"anatomy of anyvenv venv: {len(cases)} pieces x {rounds} rounds, and a profile")
    result = Anatomy(interleave(cases, rounds))
    target = lab.target("local", "anatomy-profile") / "env"
    result.profiles["anyvenv venv"] = profile(
        interpreter, ["venv", "-q", "-p", base, str(target)], tools.environ
    )
    return result
