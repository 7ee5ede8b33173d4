"""bench/results.png: one panel per benchmark, drawn from the same results as the tables."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import peers
import projectsync
import pyinstall
from harness import Series, Status
from matplotlib import ticker
from report import NOT_AVAILABLE, Results

TOOL_COLORS = {
    peers.ANYVENV: "#d62728",
    peers.UV: "#1f77b4",
    peers.VENV: "#2ca02c",
    peers.VENV_COPIES: "#98df8a",
    peers.VIRTUALENV: "#9467bd",
    peers.VIRTUALENV_COPIES: "#c5b0d5",
}


def _median_ms(series: Series) -> float | None:
    stats = series.stats
    return None if stats is None else stats.median * 1000


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def _creation(ax: Any, results: Results) -> None:
    ax.set_title("Environment creation (median, ms, log scale)")
    mounts = [r for r in results.creation or [] if not r.unavailable]
    if not mounts:
        _note(ax, "not run")
        return
    tools = list(TOOL_COLORS)
    height = 0.8 / len(tools)
    for t_index, tool in enumerate(tools):
        for m_index, result in enumerate(mounts):
            y = m_index + (t_index - len(tools) / 2) * height
            series = result.series.get(tool)
            value = None if series is None else _median_ms(series)
            if series is None or series.status is Status.FAILS or value is None:
                ax.plot([1.3], [y], marker="x", color=TOOL_COLORS[tool], markersize=5)
                continue
            broken = series.status is not Status.WORKS
            ax.barh(
                y,
                value,
                height=height,
                color=TOOL_COLORS[tool],
                hatch="xx" if broken else None,
                edgecolor="black" if broken else None,
                label=tool if m_index == 0 else None,
            )
    ax.set_xscale("log")
    ax.set_xlim(left=1)
    ax.set_yticks(range(len(mounts)), [r.kind for r in mounts], fontsize=8)
    ax.invert_yaxis()
    ax.legend(
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.07),
        ncol=3,
        title="x at the left: the tool fails there; hatched: made, but its python is broken",
        title_fontsize=7,
    )


def _startup(ax: Any, results: Results) -> None:
    ax.set_title("Start-up, `python -c pass` (ms: median, min-max)")
    result = results.startup
    if result is None:
        _note(ax, "not run")
        return
    cases = [c for c in result.cases if c.key in result.series and result.series[c.key].stats]
    labels, medians, low, high, colors = [], [], [], [], []
    for case in cases:
        stats = result.series[case.key].stats
        assert stats is not None
        labels.append(f"{case.label} [{case.where}]")
        medians.append(stats.median * 1000)
        low.append((stats.median - stats.min) * 1000)
        high.append((stats.max - stats.median) * 1000)
        colors.append("#d62728" if case.label.startswith("anyvenv") else "#7f7f7f")
    ax.barh(range(len(cases)), medians, xerr=[low, high], color=colors, capsize=2)
    ax.set_yticks(range(len(cases)), labels, fontsize=7)
    ax.invert_yaxis()


def _sync(ax: Any, results: Results) -> None:
    ax.set_title("anyvenv sync vs uv sync, local disk (median, ms, log-log)")
    result = results.sync
    if result is None or not result.available:
        _note(ax, "not run" if result is None else f"anyvenv sync: {NOT_AVAILABLE}")
        return
    local = [run for run in result.runs if run.kind == "local" and run.series]
    styles = {
        projectsync.UV_FRESH: ("#1f77b4", "-"),
        projectsync.ANY_FRESH: ("#d62728", "-"),
        projectsync.UV_NOOP: ("#1f77b4", ":"),
        projectsync.ANY_NOOP: ("#d62728", ":"),
    }
    for name, (color, line) in styles.items():
        points = [
            (run.packages, stats.median * 1000)
            for run in local
            if name in run.series and (stats := run.series[name].stats) is not None
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", color=color, linestyle=line, label=name)
    ax.set_xlabel("packages")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xticks([run.packages for run in local])
    ax.legend(fontsize=7)


def _install(ax: Any, results: Results) -> None:
    ax.set_title("python install vs tar xzf (median, ms)")
    result = results.install
    if result is None or not result.available or result.note:
        why = (
            "not run"
            if result is None
            else result.note or f"anyvenv python install: {NOT_AVAILABLE}"
        )
        _note(ax, why)
        return
    runs = [run for run in result.runs if run.series]
    width = 0.38
    for offset, (name, color) in enumerate(
        ((pyinstall.ANY, "#d62728"), (pyinstall.TAR, "#7f7f7f"))
    ):
        for index, run in enumerate(runs):
            series = run.series.get(name)
            value = None if series is None else _median_ms(series)
            x = index + (offset - 0.5) * width
            if series is None or series.status is Status.FAILS or value is None:
                ax.plot([x], [0], marker="x", color=color, markersize=8, clip_on=False)
                ax.annotate(
                    "fails",
                    (x, 0),
                    xytext=(0, 8),
                    textcoords="offset points",
                    ha="center",
                    fontsize=7,
                )
                continue
            ax.bar(x, value, width=width, color=color, label=name if index == 0 else None)
    ax.set_xticks(range(len(runs)), [run.kind for run in runs], fontsize=8)
    ax.legend(fontsize=7)


def _footprint(ax: Any, results: Results) -> None:
    ax.set_title("Bytes written per env (KiB, log scale)")
    rows = [r for r in results.footprint or [] if not r.detail]
    if not rows:
        _note(ax, "not run")
        return
    values = [max(r.written, 1) / 1024 for r in rows]
    colors = ["#d62728" if r.label.startswith("anyvenv") else "#7f7f7f" for r in rows]
    ax.barh(range(len(rows)), values, color=colors)
    ax.set_yticks(range(len(rows)), [f"{r.label} [{r.placement}]" for r in rows], fontsize=7)
    ax.set_xscale("log")
    ax.invert_yaxis()


def _goals(ax: Any, results: Results) -> None:
    ax.set_title("Goals (median of pairwise ratios)")
    ax.axis("off")
    lines = []
    for goal in results.goals():
        measured = "-" if goal.measured is None else f"{goal.measured.median:.2f}x"
        verdict = "met" if goal.met else goal.verdict
        lines += textwrap.wrap(goal.what, 62, subsequent_indent="    ")
        lines.append(f"    {measured} (goal {goal.target}): {verdict}")
    ax.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=7, family="monospace")


def write_plot(results: Results, path: Path) -> None:
    figure = plt.figure(figsize=(18, 18))
    grid = figure.add_gridspec(3, 2, width_ratios=(1.2, 1))
    _creation(figure.add_subplot(grid[0, 0]), results)
    _goals(figure.add_subplot(grid[0, 1]), results)
    _startup(figure.add_subplot(grid[1, 0]), results)
    _footprint(figure.add_subplot(grid[1, 1]), results)
    _sync(figure.add_subplot(grid[2, 0]), results)
    _install(figure.add_subplot(grid[2, 1]), results)
    figure.suptitle("\n".join(textwrap.wrap(results.machine.header(), 160)), fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=80)
    plt.close(figure)
