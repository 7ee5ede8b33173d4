"""Compatibility matrix: every lab filesystem and fault mode against each env creator.

    python bench/matrix.py        (bench/run runs it too, sharing its lab)

Writes bench/matrix.md and the README between ``<!-- matrix:start -->`` and
``<!-- matrix:end -->``. A cell is "works", "fails: <errno or first line>", "broken python"
(made, but ``<env>/bin/python -c pass`` fails or runs outside the env) or "no exec" (nothing
can be executed on that filesystem).
"""

from __future__ import annotations

# ruff: noqa: E402  (imports follow the sys.path set-up for tests/lab and bench/)
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for extra in (str(REPO / "tests"), str(HERE)):
    if extra not in sys.path:
        sys.path.insert(0, extra)

from harness import Outcome, Status, run_timed
from machine import Machine
from outcome import created_outcome, errno_label, short_failure
from peers import Tools, matrix_creators

from lab import ALL_KINDS, Lab, LabUnavailable

MATRIX_MD = HERE / "matrix.md"
START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"


@dataclass
class MatrixRow:
    kind: str
    fstype: str = ""
    can_execute: bool = True
    unavailable: str | None = None
    cells: dict[str, Outcome] = field(default_factory=dict)


def build_matrix(lab: Lab, tools: Tools, log: Callable[[str], None]) -> list[MatrixRow]:
    rows = []
    makers = matrix_creators(tools)
    for kind in ALL_KINDS:
        row = MatrixRow(kind)
        rows.append(row)
        try:
            mount = lab.mount(kind)
        except LabUnavailable as exc:
            row.unavailable = exc.reason
            continue
        row.fstype, row.can_execute = mount.fstype, mount.can_execute
        log(f"matrix: {kind}")
        for name, make in makers.items():
            parent = lab.target(kind, "matrix")
            env = parent / "env"
            shorten = {
                str(env): "<env>",
                str(lab.base): "<lab>",
                str(tools.base.parent.parent): "<base>",
            }
            timed = run_timed(make(env), tools.environ)
            row.cells[name] = created_outcome(timed, env, tools.environ, mount.can_execute, shorten)
            shutil.rmtree(parent, ignore_errors=True)
    return rows


def cell(outcome: Outcome, can_execute: bool) -> str:
    if outcome.status is Status.WORKS:
        return "works"
    if outcome.status is Status.NO_EXEC:
        return "no exec"
    if outcome.status is Status.FAILS:
        failed = f"fails: {short_failure(outcome.detail)}"
        return failed if can_execute else f"no exec; {failed}"
    label = errno_label(outcome.detail)
    return "broken python" + (f" ({label})" if label else "")


def matrix_markdown(rows: list[MatrixRow], machine: Machine, full: bool = True) -> str:
    """The matrix; ``full=False`` (the README) points to bench/matrix.md for error lines."""
    tools = next((list(row.cells) for row in rows if row.cells), [])
    head = ["filesystem / fault", "fstype", *tools]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    details = []
    for row in rows:
        if row.unavailable:
            cells = [f"mount unavailable: {row.unavailable}"] + [""] * (len(tools) - 1)
        else:
            cells = [cell(row.cells[tool], row.can_execute) for tool in tools]
            details += [
                f"- {tool} on {row.kind}: {row.cells[tool].status.value}: `{row.cells[tool].detail}`"
                for tool in tools
                if row.cells[tool].status is not Status.WORKS and row.cells[tool].detail
            ]
        lines.append("| " + " | ".join([row.kind, row.fstype, *cells]) + " |")
    intro = (
        f"{machine.header()}\n\n"
        "Every filesystem and fault mode of the test lab (tests/lab: real FUSE mounts, exFAT, NTFS, "
        "FAT32, sshfs to a local sshd, an SMB share of a local Samba through smbnetfs, rclone; "
        "see tests/lab/README.md for what each does), one env per "
        'cell from the same base interpreter. "works": the command exits 0 and '
        '`<env>/bin/python` starts as the env\'s python; "broken python": it exits 0 but that '
        'python does not start (or starts outside the env); "no exec": nothing can be '
        "executed on that filesystem (made, but its python cannot run; or refused); "
        '"fails": the command exits non-zero (errno or first '
        "line of its error). `python -m venv` runs with `--without-pip` (ensurepip takes ~13 s "
        "per env and tests pip, not the env); virtualenv's default seeds pip. An env whose "
        "`bin/python` is a symlink to the base elsewhere runs even where nothing on the mount "
        "can be executed: only its python is checked here, not its scripts."
    )
    text = intro + "\n\n" + "\n".join(lines)
    if details and full:
        text += "\n\nDetails (first telling line of each error):\n\n" + "\n".join(details)
    elif details:
        text += "\n\nThe error line of each failing cell: [bench/matrix.md](bench/matrix.md)."
    return text + "\n"


def write_matrix(rows: list[MatrixRow], machine: Machine, readme: Path | None) -> None:
    from report import update_readme

    MATRIX_MD.write_text("# Compatibility matrix\n\n" + matrix_markdown(rows, machine))
    if readme is not None:
        update_readme(readme, START, END, matrix_markdown(rows, machine, full=False))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    import argparse
    import tempfile

    from machine import describe
    from peers import find_tools

    parser = argparse.ArgumentParser(description="Write bench/matrix.md from the test lab.")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="anyvenv-matrix-"))
    lab = Lab()
    try:
        tools = find_tools(work)
        rows = build_matrix(lab, tools, lambda line: print(f"== {line}", file=sys.stderr))
        write_matrix(rows, describe(tools), None if args.no_readme else REPO / "README.md")
    finally:
        lab.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {MATRIX_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
