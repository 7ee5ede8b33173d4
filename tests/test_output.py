"""Printing for the CLI (anyvenv.cli.output): progress drawn only on a terminal, and taken
off the line before an error is printed."""

from __future__ import annotations

import os
import pty
import signal
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


def _on_a_terminal(
    code: str, columns: int = 80, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run ``code`` with stdout and stderr on a pseudo-terminal ``columns`` wide: its exit
    code and output."""
    import fcntl
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    environ = {**os.environ, "TERM": "xterm", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=terminal, stdout=terminal, stderr=terminal, env=environ
    )
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


def test_a_bar_is_cut_to_the_terminal_width() -> None:
    """A line wider than the terminal wraps, and each redraw would leave a line behind."""
    _, shown = _on_a_terminal(DRAW, columns=30)
    drawn = [part for part in shown.split(b"\r") if part.startswith(b"anyvenv mirror")]
    assert drawn and all(len(part.removesuffix(b"\x1b[K")) <= 29 for part in drawn), drawn


def test_no_progress_on_a_dumb_terminal() -> None:
    _, shown = _on_a_terminal(DRAW, env={"TERM": "dumb"})
    assert shown.replace(b"\r\n", b"\n") == b"none\n"


def test_ctrl_c_at_a_question_is_said_on_a_line_of_its_own() -> None:
    code, shown = _on_a_terminal(
        "import os, signal, threading\n"
        "from anyvenv.cli.guard import guarded\n"
        "from anyvenv.cli.output import ask\n"
        "threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "raise SystemExit(guarded(lambda: len(ask('Replace it? [Y/n] '))))\n"
    )
    assert code == 130
    assert shown.endswith(b"Replace it? [Y/n] \r\nanyvenv: interrupted\r\n"), shown


def test_ctrl_c_before_a_command_is_guarded_is_one_line_too() -> None:
    """Ctrl-C while the arguments are read (before the command's own guard)."""
    driver = (
        "import sys\n"
        "import anyvenv.cli.fastpath as fastpath\n"
        "def interrupted(argv):\n"
        "    raise KeyboardInterrupt\n"
        "fastpath.answer = interrupted\n"
        "sys.argv = ['anyvenv', 'sync']\n"
        "from anyvenv.__main__ import entry\n"
        "entry()\n"
    )
    done = subprocess.run([sys.executable, "-c", driver], capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (130, b"anyvenv: interrupted\n")


def test_a_hang_up_with_a_bar_drawn_ends_with_129() -> None:
    """SIGHUP: the terminal is gone, so clearing the bar and the last line fail; the exit
    code is still the hang-up's."""
    controller, terminal = pty.openpty()
    code = (
        "import os, signal\n"
        "from anyvenv.cli.guard import guarded\n"
        "from anyvenv.cli.output import files_progress\n"
        "def work():\n"
        "    files_progress('anyvenv', 'mirror')(1, 10)\n"
        "    print('drawn', flush=True)\n"
        "    signal.pause()\n"
        "raise SystemExit(guarded(work))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm"},
    )
    os.close(terminal)
    assert proc.stdout is not None and proc.stdout.readline() == b"drawn\n"
    os.close(controller)  # the terminal goes away: writes to it fail from now on
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=30) == 129


def test_the_mirror_bar_follows_uvs_no_progress() -> None:
    code = (
        "import os\n"
        "from anyvenv.cli.sync import mirror_progress\n"
        "shown = [mirror_progress([]) is not None, mirror_progress(['--no-progress']) is None,\n"
        "         mirror_progress(['-q']) is None]\n"
        "os.environ['UV_NO_PROGRESS'] = '1'\n"
        "shown.append(mirror_progress([]) is None)\n"
        "print(shown)\n"
    )
    _, shown = _on_a_terminal(code)
    assert shown.strip() == b"[True, True, True, True]"
