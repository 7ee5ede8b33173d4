"""Printing for the CLI (anyvenv.cli.output): progress drawn only on a terminal, and taken
off the line before an error is printed."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from support import read_until_closed

DRAW = (
    "from anyvenv.cli.output import files_progress\n"
    "tell = files_progress('anyvenv', 'mirror')\n"
    "print('none' if tell is None else 'drawn', flush=True)\n"
    "if tell is not None:\n"
    "    for n in range(1, 4):\n"
    "        tell(n, 3)\n"
)


def _on_a_terminal(code: str) -> tuple[int, bytes]:
    """Run ``code`` with stdout and stderr on a pseudo-terminal: its exit code and output."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = read_until_closed(controller)
    returncode = proc.wait(timeout=60)
    os.close(controller)
    return returncode, shown


def test_files_progress_is_drawn_on_a_terminal_and_cleared_at_the_end() -> None:
    _, shown = _on_a_terminal(DRAW)
    assert shown.startswith(b"drawn")
    assert b"anyvenv mirror   [" in shown and b"3/3 files" in shown
    assert shown.endswith(b"\r\x1b[K")  # the line is cleared when the last file is done


def test_no_progress_where_stderr_is_no_terminal() -> None:
    done = subprocess.run([sys.executable, "-c", DRAW], capture_output=True, timeout=60)
    assert (done.stdout, done.stderr) == (b"none\n", b"")


def test_a_bar_left_drawn_by_failed_work_is_cleared_before_the_error() -> None:
    code, shown = _on_a_terminal(
        "from anyvenv.cli.guard import guarded\n"
        "from anyvenv.cli.output import files_progress\n"
        "from anyvenv.errors import AnyvenvError\n"
        "def work():\n"
        "    tell = files_progress('anyvenv', 'mirror')\n"
        "    tell(3, 10)\n"
        "    raise AnyvenvError('no space left', 'free some')\n"
        "raise SystemExit(guarded(work))\n"
    )
    assert code == 1
    assert b"3/10 files" in shown
    assert shown.endswith(b"\r\x1b[Kanyvenv: error: no space left; free some\r\n"), shown
