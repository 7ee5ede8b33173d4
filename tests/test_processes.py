"""Whether a process still runs, as leftovers and lock files need it: a zombie does not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from anyvenv.fs.processes import is_zombie, process_alive, process_start_time


def _wait_for_state(pid: int, zombie: bool) -> None:
    deadline = time.monotonic() + 10
    while is_zombie(pid) is not zombie:
        assert time.monotonic() < deadline, f"pid {pid} never became zombie={zombie}"
        time.sleep(0.01)


def test_a_running_process_is_alive_and_has_a_start_time() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process_alive(child.pid)
        assert not is_zombie(child.pid)
        assert process_start_time(child.pid).isdigit()
        assert int(process_start_time(child.pid)) >= int(process_start_time(os.getpid()))
    finally:
        child.kill()
        child.wait()


def test_a_killed_process_not_yet_reaped_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    child.kill()
    _wait_for_state(child.pid, zombie=True)  # dead, its parent (us) has not waited yet
    os.kill(child.pid, 0)  # what a plain check would take for life
    assert not process_alive(child.pid)
    child.wait()
    assert not process_alive(child.pid)
    assert process_start_time(child.pid) == ""


def test_this_process_is_alive() -> None:
    assert process_alive(os.getpid())
