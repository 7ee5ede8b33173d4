"""anyvenv's benchmarks against uv, venv and virtualenv (not part of the test suite).

    bench/run [--scale F] [--only creation,startup,sync,install,bytes,matrix] [--no-readme]

Mounts the test lab's filesystems (tests/lab), times every compared command in interleaved
rounds, and writes bench/results.md, bench/results.png, bench/matrix.md and the README's
Benchmarks and Compatibility sections. Commands anyvenv does not have yet are reported as
"not available in this version". Timings are never assertions.
"""

from __future__ import annotations

# ruff: noqa: E402  (imports follow the sys.path set-up for tests/lab and bench/)
import argparse
import pickle
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for extra in (str(REPO / "tests"), str(HERE)):
    if extra not in sys.path:
        sys.path.insert(0, extra)

from anatomy import bench_anatomy
from creation import bench_creation
from fixtures import origin_linked_base
from footprint import bench_footprint
from machine import describe, load_average
from matrix import build_matrix, write_matrix
from peers import Tools, anyvenv_has, find_tools
from plot import write_plot
from projectsync import bench_sync
from pyinstall import bench_install
from report import Results, body, goals_section, results_markdown, update_readme
from startup import bench_startup

from lab import Lab

SECTIONS = ("creation", "startup", "sync", "install", "bytes", "anatomy", "matrix")
README = REPO / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
T = TypeVar("T")
LAST_RUN = HERE / "results" / "tmp" / "last-run.pickle"  # git-ignored


def log(line: str) -> None:
    print(f"== {line}", file=sys.stderr, flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _timed(results: Results, name: str, work: Callable[[], T]) -> T:
    start = time.perf_counter()
    try:
        return work()
    finally:
        results.section_seconds[name] = time.perf_counter() - start
        log(f"{name}: {results.section_seconds[name]:.0f} s")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the number of rounds (default 1)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help=f"measure nothing: write the outputs again from the last run ({LAST_RUN})",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def run_sections(
    args: argparse.Namespace, lab: Lab, tools: Tools, origin_base: Path | None
) -> Results:
    results = Results(describe(tools))
    wanted = set(args.sections)
    scale = args.scale
    if "creation" in wanted:
        results.creation = _timed(
            results, "creation", lambda: bench_creation(lab, tools, scale, log)
        )
    if "startup" in wanted:
        results.startup = _timed(
            results, "startup", lambda: bench_startup(lab, tools, origin_base, scale, log)
        )
    if "sync" in wanted:
        available = anyvenv_has(tools, "sync")
        log(f"anyvenv sync: {'available' if available else 'not available in this version'}")
        results.sync = _timed(
            results, "sync", lambda: bench_sync(lab, tools, available, scale, log)
        )
    if "install" in wanted:
        available = anyvenv_has(tools, "python", "install")
        state = "available" if available else "not available in this version"
        log(f"anyvenv python install: {state}")
        results.install = _timed(
            results, "install", lambda: bench_install(lab, tools, available, scale, log)
        )
    if "bytes" in wanted:
        results.footprint = _timed(
            results, "bytes", lambda: bench_footprint(lab, tools, origin_base, log)
        )
    if "anatomy" in wanted:
        results.anatomy = _timed(results, "anatomy", lambda: bench_anatomy(lab, tools, scale, log))
    return results


def write_outputs(results: Results, readme: bool) -> None:
    (HERE / "results.md").write_text(results_markdown(results))
    write_plot(results, HERE / "results.png")
    if readme:
        update_readme(README, START, END, body(results, "bench/results.png", full=False))
    log(f"wrote {HERE / 'results.md'} and {HERE / 'results.png'}")
    print(goals_section(results))


def render_only(readme: bool) -> int:
    with LAST_RUN.open("rb") as stream:
        saved = pickle.load(stream)
    write_outputs(saved["results"], readme)
    if saved["matrix"] is not None:
        write_matrix(saved["matrix"], saved["results"].machine, README if readme else None)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        return render_only(not args.no_readme)
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="anyvenv-bench-"))
    shm = Path(tempfile.mkdtemp(prefix="anyvenv-bench-", dir="/dev/shm"))
    lab = Lab()
    started = time.perf_counter()
    try:
        tools = find_tools(work)
        origin_base = origin_linked_base(shm / "origin", tools.base)
        results = run_sections(args, lab, tools, origin_base)
        rows = None
        if "matrix" in args.sections:
            rows = _timed(results, "matrix", lambda: build_matrix(lab, tools, log))
            write_matrix(rows, results.machine, None if args.no_readme else README)
            log(f"wrote {HERE / 'matrix.md'}")
        results.load_at_end = load_average("at the end")
        LAST_RUN.parent.mkdir(parents=True, exist_ok=True)
        with LAST_RUN.open("wb") as stream:
            pickle.dump({"results": results, "matrix": rows}, stream)
        if set(args.sections) - {"matrix"}:
            write_outputs(results, not args.no_readme)
    finally:
        lab.close()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    log(f"all done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
