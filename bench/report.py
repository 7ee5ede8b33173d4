"""Markdown for bench/results.md and the README's Benchmarks section (all generated)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import peers
import projectsync
import pyinstall
import startup
from anatomy import Anatomy
from creation import KINDS, MountResult
from footprint import Footprint
from goals import Goal, creation_goals, startup_goals, sync_goals
from harness import Series, Status, pair_ratio
from machine import Machine
from outcome import errno_label, short_failure
from projectsync import SyncResult
from pyinstall import InstallResult
from startup import StartupResult

NOT_AVAILABLE = "not available in this version"


@dataclass
class Results:
    machine: Machine
    creation: list[MountResult] | None = None
    startup: StartupResult | None = None
    sync: SyncResult | None = None
    install: InstallResult | None = None
    footprint: list[Footprint] | None = None
    anatomy: Anatomy | None = None
    load_at_end: str = ""
    section_seconds: dict[str, float] = field(default_factory=dict)

    def goals(self) -> list[Goal]:
        return [
            *creation_goals(self.creation),
            *startup_goals(self.startup),
            *sync_goals(self.sync),
        ]


def table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 0.1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds * 1000:.1f} ms"


def precise(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


STATS_HEAD = ["runs", "min", "median", "max", "cpu (median)"]


def stats_cells(series: Series, show: Callable[[float], str] = duration) -> list[str]:
    """runs, min, median, max of the wall time, and the median CPU time (user + system)."""
    stats, cpu = series.stats, series.cpu_stats
    if stats is None:
        return ["0", "-", "-", "-", "-"]
    cells = [str(stats.n), show(stats.min), show(stats.median), show(stats.max)]
    return [*cells, "-" if cpu is None else show(cpu.median)]


def status_cell(series: Series) -> str:
    if series.status is Status.WORKS:
        return "works"
    if series.status is Status.FAILS:
        return f"fails: {short_failure(series.detail)}"
    label = errno_label(series.detail)
    return str(series.status.value) + (f" ({label})" if label else "")


def ratio_cell(a: Series, b: Series) -> str:
    if b.status is Status.FAILS or a.status is Status.FAILS:
        return "-"
    ratio = pair_ratio(a, b)
    if ratio is None:
        return "-"
    return f"{ratio.median:.2f}x ({ratio.low:.2f}-{ratio.high:.2f})"


def notes(entries: Iterable[tuple[str, Series]]) -> str:
    lines = [
        f"- {where}: {series.status.value}: `{series.detail}`"
        for where, series in entries
        if series.status is not Status.WORKS and series.detail
    ]
    return ("Errors (first telling line of each):\n\n" + "\n".join(lines)) if lines else ""


# -- sections ---------------------------------------------------------------------------------


def goals_section(results: Results) -> str:
    rows = []
    for goal in results.goals():
        measured = "-" if goal.measured is None else f"{goal.measured.median:.2f}x"
        if goal.measured is not None:
            measured += (
                f" ({goal.measured.low:.2f}-{goal.measured.high:.2f}, {goal.measured.pairs} pairs)"
            )
        rows.append([goal.what, goal.target, measured, goal.verdict])
    return (
        "### Goals\n\nMedian of the ratios of runs made side by side in the same round "
        "(range in brackets). The machine is shared (see the load average): single runs vary "
        "by 2-3x, so read the pairwise ratios rather than absolute times.\n\n"
        + table(["goal", "target", "measured", "verdict"], rows)
    )


def creation_section(creation: list[MountResult], full: bool = True) -> str:
    rows, failed = [], []
    for result in creation:
        if result.unavailable:
            rows.append(
                [result.kind, "(all)", f"mount unavailable: {result.unavailable}"] + [""] * 6
            )
            continue
        mine = result.series.get(peers.ANYVENV)
        for name, series in result.series.items():
            ratio = "" if name == peers.ANYVENV or mine is None else ratio_cell(mine, series)
            rows.append([result.kind, name, status_cell(series), *stats_cells(series), ratio])
            failed.append((f"{name} on {result.kind}", series))
    rounds = ", ".join(f"{kind} {n}" for kind, n in KINDS)
    text = (
        "### Environment creation\n\n"
        "Wall time of the command, from start to exit (cpu: user + system time of it and its "
        "children, not of FUSE servers), base interpreter pyenv CPython 3.11 "
        "(`--enable-shared`). Each round creates one env with every tool, in a rotating order; "
        "one untimed warm-up round first. A tool that fails is shown with its error and not "
        'run again; "broken python": it exits 0 but `<env>/bin/python` does not start, or '
        f"starts outside the env. Timed rounds at scale 1: {rounds}.\n\n"
    )
    head = ["mount", "tool", "result", *STATS_HEAD, "anyvenv ÷ tool (pairwise)"]
    return text + table(head, rows) + ("\n\n" + notes(failed) if full else "")


def startup_section(result: StartupResult) -> str:
    labels = {case.key: case for case in result.cases}
    rows = []
    for case in result.cases:
        series = result.series.get(case.key)
        if case.python is None or series is None:
            rows.append([case.label, case.where, f"not made: {case.detail}"] + [""] * 7)
            continue
        reference = labels.get(case.reference or "")
        vs = (
            ""
            if reference is None or reference.key not in result.series
            else (
                ratio_cell(series, result.series[reference.key])
                + f" vs {reference.label}"
                + ("" if reference.where == case.where else f" ({reference.where})")
            )
        )
        rows.append(
            [
                case.label,
                case.where,
                case.placement,
                *stats_cells(series, precise),
                vs,
            ]
        )
    text = (
        "### Start-up of the created python\n\n"
        "`<python> -c pass`, every interpreter once per round in a rotating order (3 warm-up "
        "rounds). The `$ORIGIN-linked base` is the pyenv build copied to tmpfs with RUNPATH "
        "`$ORIGIN/../lib` and its own libpython (what python-build-standalone builds before "
        "2025-04 need); its venvs live on local disk, so a copied executable must bring "
        "libpython along (a patched RUNPATH, or with `ANYVENV_PATCHELF=` a copied libpython). "
        "Mount rows compare with a symlinked venv on the passthrough FUSE mount (the same FUSE "
        "cost, symlinks working). The base interpreter starts slower than its venvs: it "
        "reads its own site-packages (.pth files of the packages installed into it).\n\n"
    )
    head = ["python", "on", "placement", *STATS_HEAD, "ratio (pairwise)"]
    text += table(head, rows)
    if result.hyperfine:
        by_key = {row.key: row for row in result.hyperfine}
        symlinked = by_key.get(startup.SYMLINKED)
        hrows = []
        for row in result.hyperfine:
            ratio = "" if symlinked is None else f"{row.median / symlinked.median:.3f}x"
            hrows.append(
                [
                    row.key,
                    f"{precise(row.mean)} ± {precise(row.stddev)}",
                    precise(row.median),
                    str(row.runs),
                    ratio,
                ]
            )
        text += (
            "\n\nCross-check with hyperfine (`-N`, 5 warm-up runs; each command's runs back to "
            "back, not interleaved):\n\n"
            + table(["python", "mean ± sd", "median", "runs", "median ÷ symlinked venv"], hrows)
        )
    elif result.hyperfine_note:
        text += f"\n\n{result.hyperfine_note}"
    return text


def sync_section(result: SyncResult, full: bool = True) -> str:
    text = "### `anyvenv sync` vs `uv sync`\n\n"
    if not result.available:
        return text + f"`anyvenv sync`: {NOT_AVAILABLE}."
    text += (
        "Virtual projects depending on N tiny wheels built here (two modules and a console "
        "script each), resolved once with `uv lock`; both tools sync the same lock with "
        "`--frozen`, from the same warm uv cache (uv's default place, `$XDG_CACHE_HOME/uv`), "
        "with `UV_NO_INDEX=1` and `UV_FIND_LINKS`. "
        "fresh: the env (and anyvenv's shadow env) removed before each run; no-op: the env "
        "already in sync.\n\n"
    )
    rows, failed = [], []
    for run in result.runs:
        if run.unavailable:
            rows.append(
                [run.kind, str(run.packages), f"mount unavailable: {run.unavailable}"] + [""] * 7
            )
            continue
        for name, series in run.series.items():
            pair = dict((mine, theirs) for mine, theirs in projectsync.PAIRS)
            ratio = ""
            if name in pair and pair[name] in run.series:
                ratio = ratio_cell(series, run.series[pair[name]])
            rows.append(
                [
                    run.kind,
                    str(run.packages),
                    name,
                    status_cell(series),
                    *stats_cells(series),
                    ratio,
                ]
            )
            failed.append((f"{name}, {run.packages} packages on {run.kind}", series))
    head = ["mount", "packages", "command", "result", *STATS_HEAD, "anyvenv ÷ uv (pairwise)"]
    text += table(head, rows)
    if full:
        text += "\n\n" + notes(failed)
    if full and result.profile:
        text += f"\n\ncProfile of {result.profiled} (anyvenv's functions and waits):\n\n"
        text += "```\n" + result.profile + "\n```"
    return text


def install_section(result: InstallResult, full: bool = True) -> str:
    text = "### `anyvenv python install` vs plain extraction\n\n"
    if not result.available:
        return text + f"`anyvenv python install`: {NOT_AVAILABLE}."
    if result.note:
        return text + f"Not measured: {result.note}."
    text += (
        "The test suite's python-build-standalone look-alike (tests/standalone_build.py: the "
        "pyenv 3.12 interpreter and libpython with RUNPATH `$ORIGIN/../lib`, only the stdlib "
        f"modules its checks import, the archive's kinds of symlinks; {result.archive}), "
        "served from a `file://` mirror (download cache warm: the cached archive is hashed "
        "again). `anyvenv python install` verifies, extracts, fixes up and validates the "
        "build; `tar xzf` only extracts. Both results are then started (`-c pass`).\n\n"
    )
    rows, failed = [], []
    for run in result.runs:
        if run.unavailable:
            rows.append([run.kind, "(all)", f"mount unavailable: {run.unavailable}"] + [""] * 6)
            continue
        mine = run.series.get(pyinstall.ANY)
        for name, series in run.series.items():
            ratio = "" if name == pyinstall.ANY or mine is None else ratio_cell(mine, series)
            rows.append([run.kind, name, status_cell(series), *stats_cells(series), ratio])
            failed.append((f"{name} on {run.kind}", series))
    head = ["mount", "command", "result", *STATS_HEAD, "anyvenv ÷ tar (pairwise)"]
    return text + table(head, rows) + ("\n\n" + notes(failed) if full else "")


def anatomy_section(result: Anatomy) -> str:
    rows = [
        [name, status_cell(series), *stats_cells(series)] for name, series in result.series.items()
    ]
    text = (
        "### Where `anyvenv venv`'s time goes (local disk)\n\n"
        "The pieces of a run, timed side by side in the same rounds: the interpreter anyvenv "
        "runs on, its imports, the probe, the new env's python (the validation step starts it "
        "once), and `uv venv` for scale.\n\n" + table(["piece", "result", *STATS_HEAD], rows)
    )
    for what, profile in result.profiles.items():
        text += f"\n\ncProfile of one `{what}` run (anyvenv's functions and waits):\n\n"
        text += "```\n" + profile + "\n```"
    return text


def kib(size: int) -> str:
    return (
        f"{size / 1024:,.1f} KiB" if size < 10 * 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MiB"
    )


def footprint_section(rows: list[Footprint]) -> str:
    body = [
        [r.label, r.placement or r.detail, str(r.files), kib(r.apparent), kib(r.written)]
        if not r.detail
        else [r.label, r.detail, "", "", ""]
        for r in rows
    ]
    return (
        "### Bytes per strategy\n\n"
        "One env each on local disk. `du --apparent-size -s` counts every name (a hard link to "
        'the base counts its full size); "bytes written" counts regular files whose every '
        "name is inside the env, plus symlink targets (directories not counted).\n\n"
        + table(["env", "placement", "entries", "du --apparent-size", "bytes written"], body)
    )


def body(results: Results, image: str, full: bool = True) -> str:
    """The results; ``full=False`` (the README) leaves out error lines, profiles and the
    anatomy of a run, which bench/results.md has."""
    parts = [results.machine.header(), goals_section(results), f"![benchmark plot]({image})"]
    if results.creation is not None:
        parts.append(creation_section(results.creation, full))
    if results.startup is not None:
        parts.append(startup_section(results.startup))
    if results.sync is not None:
        parts.append(sync_section(results.sync, full))
    if results.install is not None:
        parts.append(install_section(results.install, full))
    if results.footprint is not None:
        parts.append(footprint_section(results.footprint))
    if results.anatomy is not None and full:
        parts.append(anatomy_section(results.anatomy))
    if not full:
        parts.append(
            "Error lines, cProfile output and where `anyvenv venv`'s time goes: "
            "[bench/results.md](bench/results.md)."
        )
    took = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results.section_seconds.items())
    parts.append(f"Generated by `bench/run` (sections: {took}; {results.load_at_end}).")
    return "\n\n".join(part.strip() for part in parts if part.strip()) + "\n"


def results_markdown(results: Results) -> str:
    return "# anyvenv benchmarks\n\n" + body(results, "results.png")


# -- README markers ---------------------------------------------------------------------------


def replace_between(text: str, start: str, end: str, content: str) -> str:
    """``text`` with what lies between the markers replaced (markers appended if missing)."""
    block = f"{start}\n{content.strip()}\n{end}"
    if start in text and end in text and text.index(start) < text.index(end):
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        return head + block + tail
    return text.rstrip("\n") + "\n\n" + block + "\n"


def update_readme(readme: Path, start: str, end: str, content: str) -> None:
    readme.write_text(replace_between(readme.read_text(), start, end, content))
