"""A mount that stops answering (faultfs hang-symlink: symlink() never returns) must not hang
anyvenv: `probe`, `venv` and `sync` there give up after ANYVENV_FS_TIMEOUT with exit code 3
and say the mount is not answering, and the process really ends (a task stuck in a FUSE
request cannot be killed, so the stuck call must not be in one of our own threads)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_report import Tally
from reliability_support import base_python, leftovers

from anyvenv.errors import MountNotAnswering
from anyvenv.fs import bounded
from anyvenv.fs.bounded import call_bounded
from anyvenv.fs.probe import PROBE_DIR_PREFIX, probe
from lab import Lab
from lab.core import HUNG_KIND
from lab.faults import HANG_NAME_PREFIX
from support import cli_env, one_line_error

pytestmark = pytest.mark.usefixtures("hung_watchdog")

BOUND = 2.0
SLACK = 15.0  # start-up and a loaded machine; the point is "returns", not speed


def timed_cli(
    *args: str, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """The CLI with a short bound; waits at most BOUND + SLACK (a hang fails the test)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "anyvenv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(ANYVENV_FS_TIMEOUT=str(BOUND)),
        stdin=subprocess.DEVNULL,
        timeout=BOUND + SLACK,
    )
    return proc, time.monotonic() - started


def assert_not_answering(proc: subprocess.CompletedProcess[str], seconds: float) -> None:
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc)
    assert "is not answering" in line and f"within {BOUND:g}s" in line, line
    assert "ANYVENV_FS_TIMEOUT" in line
    assert BOUND <= seconds < BOUND + SLACK


def test_probe_on_a_hung_mount_gives_up(lab: Lab, reliability: Tally) -> None:
    directory = lab.hung_target()
    proc, seconds = timed_cli("probe", str(directory))
    assert_not_answering(proc, seconds)
    reliability.add("hung mount", "commands that gave up in time", 1)


def test_venv_on_a_hung_mount_gives_up_and_makes_nothing(lab: Lab, reliability: Tally) -> None:
    directory = lab.hung_target()
    (directory / "users-file").write_text("mine")
    proc, seconds = timed_cli("venv", str(directory / "env"), "--python", str(base_python()))
    assert_not_answering(proc, seconds)
    names = sorted(os.listdir(directory))
    assert "env" not in names
    # only the probe's scratch dir, whose maker (the stuck child) still exists
    assert [p.name for p in leftovers(directory, depth=1)] == [
        name for name in names if name.startswith(".anyvenv-probe-")
    ]
    assert (directory / "users-file").read_text() == "mine"
    reliability.add("hung mount", "commands that gave up in time", 1)


def test_sync_on_a_hung_mount_gives_up(lab: Lab, reliability: Tally) -> None:
    project = lab.hung_target()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "hung"\nversion = "0"\nrequires-python = ">=3.10"\n'
    )
    proc, seconds = timed_cli("sync", "--offline", "--python", str(base_python()), cwd=project)
    assert_not_answering(proc, seconds)
    assert not (project / ".venv").exists()
    reliability.add("hung mount", "commands that gave up in time", 1)


def test_venv_writes_what_the_probe_does_not_decide_while_it_hangs_then_removes_it(
    lab: Lab, reliability: Tally
) -> None:
    """The probe begun early in a child hangs there (symlink() never answers): meanwhile the
    command wrote the files that do not depend on its answer (its staging directory, the
    activation scripts), before any answer, and none of them remains once it gives up."""
    directory = lab.hung_target()
    with lab.count_ops(HUNG_KIND) as trace:
        proc, seconds = timed_cli("venv", str(directory / "env"), "--python", str(base_python()))
    assert_not_answering(proc, seconds)
    probing = {op.pid for op in trace.select(name="mkdir") if PROBE_DIR_PREFIX in op.path}
    staged = [op for op in trace.select(name="create") if "staging" in op.path]
    assert any(op.path.endswith("/bin/activate") for op in staged), trace.ops
    assert not {op.pid for op in staged} & probing  # (written by the command itself)
    assert "env" not in os.listdir(directory)
    assert [p.name for p in leftovers(directory, depth=1)] == [
        name for name in os.listdir(directory) if name.startswith(PROBE_DIR_PREFIX)
    ]
    reliability.add("hung mount", "commands that gave up in time", 1)


@pytest.mark.parametrize("command", ["probe", "venv"])
def test_a_directory_whose_very_lookup_hangs_is_given_up_on(
    lab: Lab, reliability: Tally, command: str
) -> None:
    """A mount that answers nothing at all for the directory, not even its ``lstat`` (h46:
    faultfs or sshfs's server stopped): the first look at the path is bounded too, on a
    mount that is not local, so ``probe`` and ``venv`` give up there as well."""
    hung = Path(lab.hung_target(), f"{HANG_NAME_PREFIX}-dir")
    args = (
        [str(hung)] if command == "probe" else [str(hung / "env"), "--python", str(base_python())]
    )
    proc, seconds = timed_cli(command, *args)
    assert_not_answering(proc, seconds)
    reliability.add("hung mount", "commands that gave up in time", 1)


def test_call_bounded_gives_up_in_a_process_that_can_still_exit(lab: Lab) -> None:
    """In-process API: the stuck call is in a child process, so this process is free."""
    directory = lab.hung_target()
    started = time.monotonic()
    with pytest.raises(MountNotAnswering):
        probe(directory, use_cache=False, timeout=1.0)
    assert time.monotonic() - started < 1.0 + SLACK
    assert call_bounded(lambda: sorted(os.listdir(directory))[:0], what="list", where="x") == []


def test_call_bounded_passes_results_and_errors_through(tmp_path: Path) -> None:
    assert (
        call_bounded(lambda: os.stat(tmp_path).st_ino, what="stat", where="x")
        == os.stat(tmp_path).st_ino
    )
    with pytest.raises(FileNotFoundError):
        call_bounded(lambda: os.stat(tmp_path / "missing"), what="stat", where="x")
    with pytest.raises(MountNotAnswering, match="is not answering"):
        call_bounded(lambda: time.sleep(5), what="sleep", where="x", timeout=0.2)


_WITH_STDIO_CLOSED = """
import os, sys
from anyvenv.fs.bounded import call_bounded
from anyvenv.fs.probe import PROBE_DIR_PREFIX, probe
log = open(sys.argv[2], "w", buffering=1)
for fd in (0, 1, 2):
    os.close(fd)
log.write(f"{call_bounded(lambda: 6 * 7, what='a sum', where='here')}\\n")
log.write(f"{probe(sys.argv[1], use_cache=False).symlink_create}\\n")
"""


def test_a_caller_running_with_stdio_closed_still_gets_the_childs_answer(
    lab: Lab, tmp_path: Path
) -> None:
    """A daemon has 0, 1 and 2 closed, so its pipe to the child may be there: the child must
    not put /dev/null over it (the answer went nowhere and every probe off local disk
    failed with "ended without an answer")."""
    directory = lab.target("faultfs:cifs-like")
    log = tmp_path / "log"
    done = subprocess.run(
        [sys.executable, "-c", _WITH_STDIO_CLOSED, str(directory), str(log)],
        env=cli_env(),
        timeout=BOUND + SLACK,
        check=False,
    )
    assert done.returncode == 0, log.read_text()
    assert log.read_text().splitlines() == ["42", "EOPNOTSUPP"]


def _zombie_children() -> list[int]:
    """This process's children that have ended and were not reaped."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(int(entry))
    return found


def test_each_beat_gives_a_bounded_call_its_bound_again(tmp_path: Path) -> None:
    """A call that says it is alive after each step is bounded per step: eight steps of
    0.15 s pass a bound of 0.4 s; one that stops beating is given up on a bound after its
    last beat; a beat or answer written while the caller did other work still counts."""

    def steps() -> int:
        for _ in range(8):
            time.sleep(0.15)
            bounded.beat()
        return 8

    assert call_bounded(steps, what="steps", where="x", timeout=0.4) == 8

    def then_stuck() -> None:
        bounded.beat()
        time.sleep(30)

    began = time.monotonic()
    with pytest.raises(MountNotAnswering):
        call_bounded(then_stuck, what="stuck", where="x", timeout=0.4)
    assert time.monotonic() - began < 2.0
    early = bounded.start_bounded(lambda: ".42", what="answer", where="x", timeout=0.3)
    time.sleep(0.8)  # (the caller busy past the bound: the answer is there to be read)
    assert early.result() == ".42"
    bounded.beat()  # (outside a bounded call's child: nothing)


def test_a_bounded_call_that_cannot_fork_says_why_and_leaks_no_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """fork refused (EAGAIN: the user's process limit): one error naming the limit, the
    pipe made for the child closed again."""
    import errno

    from anyvenv.errors import ProcessLimit

    def refused() -> int:
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    before = sorted(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", refused)
    with pytest.raises(ProcessLimit, match=r"\(EAGAIN\)") as raised:
        call_bounded(lambda: 7, what="probe", where="/x")
    monkeypatch.undo()
    assert "ulimit -u" in str(raised.value.hint)
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_killed_stuck_child_is_reaped_by_a_later_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a process that lives on (a library's host), the child given up on and killed is
    not left a zombie: the next bounded call reaps it once it has ended."""
    monkeypatch.setattr(bounded, "_unreaped", [])  # (not those still stuck on the hung mount)
    with pytest.raises(MountNotAnswering):
        call_bounded(lambda: time.sleep(30), what="sleep", where="x", timeout=0.2)
    killed = list(bounded._unreaped)  # (none if reaped at once; other tests' children: not ours)
    deadline = time.monotonic() + 10  # SIGKILLed: ended in a moment (longer on a busy machine)
    while not set(killed) <= set(_zombie_children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert call_bounded(lambda: 7, what="seven", where="x") == 7
    assert not set(killed) & set(_zombie_children()) and bounded._unreaped == []


def test_a_stuck_child_still_running_is_reaped_once_it_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One that has not ended at the next call (stuck in the kernel: here a kill that does
    nothing) is kept in mind, and reaped by a call after it ends; none is left behind."""
    monkeypatch.setattr(bounded, "_unreaped", [])  # (not those still stuck on the hung mount)
    monkeypatch.setattr(bounded, "_SIGKILL", 0)  # (signal 0: the child goes on sleeping)
    before = set(_zombie_children())
    with pytest.raises(MountNotAnswering):
        call_bounded(lambda: time.sleep(1.0), what="sleep", where="x", timeout=0.2)
    assert len(bounded._unreaped) == 1
    assert call_bounded(lambda: 7, what="seven", where="x") == 7
    assert len(bounded._unreaped) == 1  # (still running: not waited for)
    time.sleep(1.2)
    assert call_bounded(lambda: 8, what="eight", where="x") == 8
    assert set(_zombie_children()) <= before and bounded._unreaped == []


def _ended_by_sigkill(pid: int, within: float) -> bool:
    """Whether the child ``pid`` ended by SIGKILL within ``within`` seconds (reaped here; or
    already, by the kill itself, when it is not in bounded's list of those left to reap)."""
    import signal

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            ended, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return pid not in bounded._unreaped
        if ended:
            return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        time.sleep(0.02)
    return False


def test_a_started_call_that_never_steps_is_killed_when_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """wait_alive past the bound with no beat nor answer (a started probe stuck on a hung
    mount): MountNotAnswering, and the child is killed, not left to run on."""
    monkeypatch.setattr(bounded, "_unreaped", [])
    call = bounded.start_bounded(lambda: time.sleep(20), what="sleep", where="x", timeout=0.3)
    try:
        with pytest.raises(MountNotAnswering):
            call.wait_alive()
        assert _ended_by_sigkill(call.pid, 10.0)
    finally:
        _kill_and_reap(call.pid)


def _kill_and_reap(pid: int) -> None:
    """The test's child ended whatever happened (gone already: nothing to do)."""
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass


def test_finishing_after_the_answer_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A call that answered, then hangs in the work it left for after its answer (a probe's
    clean-up on a mount that stopped answering since): finish() gives up within the bound
    and kills the child; the command is not held at its exit."""
    monkeypatch.setattr(bounded, "_unreaped", [])

    def answer_then_hang() -> int:
        bounded.after_answer(lambda: time.sleep(20))
        return 5

    call = bounded.start_bounded(
        answer_then_hang, what="probe", where="x", timeout=0.5, finishing=True
    )
    try:
        assert call.result() == 5
        began = time.monotonic()
        call.finish()
        assert time.monotonic() - began < 0.5 + 4.0
        assert _ended_by_sigkill(call.pid, 10.0)
    finally:
        _kill_and_reap(call.pid)
