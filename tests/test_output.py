"""Printing for the CLI (anyvenv.cli.output): progress drawn only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def _draw(on_terminal: bool) -> bytes:
    code = (
        "from anyvenv.cli.output import files_progress\n"
        "tell = files_progress('anyvenv', 'mirror')\n"
        "print('none' if tell is None else 'drawn', flush=True)\n"
        "if tell is not None:\n"
        "    for n in range(1, 4):\n"
        "        tell(n, 3)\n"
    )
    if not on_terminal:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
        return done.stdout + done.stderr
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(controller)
    return b"".join(chunks)


def test_files_progress_is_drawn_on_a_terminal_and_cleared_at_the_end() -> None:
    shown = _draw(on_terminal=True)
    assert shown.startswith(b"drawn")
    assert b"anyvenv mirror   [" in shown and b"3/3 files" in shown
    assert shown.endswith(b"\r\x1b[K")  # the line is cleared when the last file is done


def test_no_progress_where_stderr_is_no_terminal() -> None:
    assert _draw(on_terminal=False) == b"none\n"
