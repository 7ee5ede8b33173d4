"""anyvenv.spawn: a cheap posix_spawn primitive with captured output (real processes)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import anyvenv.spawn as spawn
from anyvenv.spawn import Child, Finished, SpawnTimeout, run_captured

PY = sys.executable
SRC = str(Path(spawn.__file__).resolve().parents[1])
HEAVY_MODULES = ("subprocess", "signal", "threading", "enum", "re", "contextlib", "typing")


def py(code: str, *, timeout: float | None = 60, env: dict[str, str] | None = None) -> Finished:
    return run_captured([PY, "-c", code], timeout=timeout, env=env)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_output_captured_exactly() -> None:
    data = b"a\x00b\xff\xfe\r\n\x80end"
    code = (
        f"import sys\nsys.stdout.buffer.write({data!r})\nsys.stderr.buffer.write({data[::-1]!r})\n"
    )
    result = py(code)
    assert (result.returncode, result.stdout, result.stderr) == (0, data, data[::-1])


def test_empty_output() -> None:
    result = py("pass")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_exit_status() -> None:
    result = py("import sys; print('bye'); sys.exit(3)")
    assert result.returncode == 3
    assert result.stdout == b"bye\n"


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_killed_by_signal_gives_negative_signal(signum: int) -> None:
    result = py(f"import os; os.kill(os.getpid(), {int(signum)})")
    assert result.returncode == -signum


def test_large_output_on_both_pipes_does_not_deadlock() -> None:
    size = 3 * 1024 * 1024 + 17  # > 1 MiB each, far above the pipe capacity
    code = (
        "import sys\n"
        f"out = bytes(range(256)) * ({size} // 256 + 1)\n"
        f"out = out[:{size}]\n"
        "err = out[::-1]\n"
        "for i in range(0, len(out), 100_000):\n"
        "    sys.stdout.buffer.write(out[i:i + 100_000]); sys.stdout.flush()\n"
        "    sys.stderr.buffer.write(err[i:i + 100_000]); sys.stderr.flush()\n"
    )
    result = py(code, timeout=60)
    expected = (bytes(range(256)) * (size // 256 + 1))[:size]
    assert result.returncode == 0
    assert result.stdout == expected
    assert result.stderr == expected[::-1]


def test_large_output_on_stderr_while_stdout_idle() -> None:
    code = "import sys; sys.stderr.buffer.write(b'e' * 2_000_000); print('done')"
    result = py(code)
    assert result.stderr == b"e" * 2_000_000
    assert result.stdout == b"done\n"


def test_timeout_kills_and_reaps() -> None:
    before = open_fds()
    child = Child([PY, "-c", "import time; print('started', flush=True); time.sleep(60)"])
    start = time.monotonic()
    with pytest.raises(SpawnTimeout) as info:
        child.wait(timeout=0.5)
    elapsed = time.monotonic() - start
    assert 0.4 < elapsed < 10
    assert info.value.timeout == 0.5
    assert info.value.argv[0] == PY
    assert "timed out after 0.5 seconds" in str(info.value)
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(child.pid, os.WNOHANG)
    assert open_fds() == before
    # waiting again reports the kill without raising
    assert child.wait().returncode == -signal.SIGKILL


def test_timeout_while_child_runs_with_its_output_closed() -> None:
    # EOF on both pipes, yet the child keeps running: the timeout still holds.
    child = Child([PY, "-c", "import os, time; os.close(1); os.close(2); time.sleep(60)"])
    start = time.monotonic()
    with pytest.raises(SpawnTimeout):
        child.wait(timeout=0.5)
    assert time.monotonic() - start < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_run_captured_timeout() -> None:
    start = time.monotonic()
    with pytest.raises(SpawnTimeout) as info:
        py("import time; time.sleep(60)", timeout=0.3)
    assert time.monotonic() - start < 10
    assert info.value.args == (info.value.argv, 0.3)


def test_finishes_within_timeout() -> None:
    result = py("print('quick')", timeout=30)
    assert result.stdout == b"quick\n"


def test_kill_is_idempotent() -> None:
    child = Child([PY, "-c", "import time; time.sleep(60)"])
    child.kill()
    child.kill()
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)
    assert child.wait().returncode == -signal.SIGKILL


def test_kill_after_wait_is_harmless() -> None:
    child = Child([PY, "-c", "print('x')"])
    assert child.wait().stdout == b"x\n"
    child.kill()
    assert child.wait().returncode == 0


def test_missing_program_raises_file_not_found(tmp_path: Path) -> None:
    before = open_fds()
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError) as info:
        run_captured([missing, "arg"])
    assert info.value.filename == str(missing)
    assert open_fds() == before


def test_program_not_searched_on_path() -> None:
    with pytest.raises(FileNotFoundError):
        run_captured(["python3", "-c", "pass"])


def test_not_executable_raises_permission_error(tmp_path: Path) -> None:
    before = open_fds()
    program = tmp_path / "script"
    program.write_text("#!/bin/sh\necho hi\n")
    program.chmod(0o644)
    with pytest.raises(PermissionError) as info:
        run_captured([program])
    assert info.value.filename == str(program)
    assert open_fds() == before


def test_garbage_executable_raises_enoexec(tmp_path: Path) -> None:
    before = open_fds()
    program = tmp_path / "garbage"
    program.write_bytes(b"\x00\x01\x02garbage, not a program\xff" * 10)
    program.chmod(0o755)
    with pytest.raises(OSError) as info:
        run_captured([program])
    assert info.value.errno == errno.ENOEXEC
    assert info.value.filename == str(program)
    assert open_fds() == before


def test_empty_args_rejected() -> None:
    with pytest.raises(ValueError):
        Child([])


def test_env_is_passed() -> None:
    code = "import os; print(os.environ.get('ANYVENV_SPAWN_TEST'), 'HOME' in os.environ)"
    result = py(code, env={"ANYVENV_SPAWN_TEST": "hello wörld"})
    assert result.stdout.decode() == "hello wörld False\n"


def test_env_none_inherits_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYVENV_SPAWN_TEST", "inherited")
    result = py("import os; print(os.environ['ANYVENV_SPAWN_TEST'])")
    assert result.stdout == b"inherited\n"


def test_pathlike_args() -> None:
    result = run_captured([Path(PY), "-c", "import sys; print(sys.argv[1:])", Path("a b")])
    assert result.stdout == b"['a b']\n"


def test_stdin_is_dev_null() -> None:
    code = "import os, sys; print(os.readlink('/proc/self/fd/0')); print(sys.stdin.buffer.read())"
    result = py(code)
    assert result.stdout == b"/dev/null\nb''\n"


def test_only_standard_fds_reach_the_child() -> None:
    code = (
        "import os\n"
        "fds = []\n"
        "for fd in range(1024):\n"
        "    try:\n"
        "        os.fstat(fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    fds.append(fd)\n"
        "print(fds, os.readlink('/proc/self/fd/1')[:5], os.readlink('/proc/self/fd/2')[:5])\n"
    )
    held = os.pipe()  # the parent holds other fds, even inheritable ones: none reach the child
    os.set_inheritable(held[0], True)
    os.set_inheritable(held[1], True)
    try:
        result = py(code)
    finally:
        os.close(held[0])
        os.close(held[1])
    assert result.stdout == b"[0, 1, 2] pipe: pipe:\n"


def test_child_listing_proc_self_fd() -> None:
    code = "import os; print(' '.join(sorted(os.listdir('/proc/self/fd'), key=int)))"
    child = Child([PY, "-c", code])
    fds = child.wait(timeout=60).stdout.split()
    # 0, 1, 2 and the directory fd of the listing itself
    assert fds[:3] == [b"0", b"1", b"2"]
    assert len(fds) == 4


def test_parent_with_standard_fds_closed(tmp_path: Path) -> None:
    # os.pipe() then returns fds 0, 1, 2...: the dup2 onto 1 and 2 must not clobber them.
    report = tmp_path / "report"
    code = (
        "import os, sys\n"
        "os.close(0); os.close(1); os.close(2)\n"
        "from anyvenv.spawn import run_captured\n"
        "r = run_captured([sys.executable, '-c', "
        '\'import os, sys; print(os.readlink("/proc/self/fd/0")); sys.stderr.write("err")\'])\n'
        f"open({str(report)!r}, 'w').write(repr(r))\n"
    )
    subprocess.run([PY, "-c", code], env={**os.environ, "PYTHONPATH": SRC}, check=True, timeout=60)
    assert report.read_text() == "Finished(returncode=0, stdout=b'/dev/null\\n', stderr=b'err')"


def test_no_fd_leak_in_parent() -> None:
    before = open_fds()
    for _ in range(5):
        py("print('x')")
    assert open_fds() == before


def test_sigpipe_default_in_child() -> None:
    # Python ignores SIGPIPE, and ignored signals survive exec: the child gets the default.
    assert (spawn._SIGKILL, spawn._SIGPIPE) == (signal.SIGKILL, signal.SIGPIPE)
    if sys.platform == "linux":
        assert signal.SIGXFSZ == spawn._SIGXFSZ
    result = run_captured(["/bin/cat", "/proc/self/status"])
    line = next(x for x in result.stdout.splitlines() if x.startswith(b"SigIgn:"))
    ignored = int(line.split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    assert not ignored & (1 << (signal.SIGXFSZ - 1))


def test_finished_repr() -> None:
    assert repr(Finished(1, b"o", b"e")) == "Finished(returncode=1, stdout=b'o', stderr=b'e')"
    with pytest.raises(AttributeError):
        Finished(0, b"", b"").other = 1  # type: ignore[attr-defined]


def test_import_is_cheap() -> None:
    # (not the dev mode the tests may run in: it makes `import select` load encodings.ascii)
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDEVMODE"}, "PYTHONPATH": SRC}
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import anyvenv.spawn\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    proc = subprocess.run(
        [PY, "-X", "importtime", "-c", code],
        capture_output=True,
        env=env,
        check=True,
        timeout=60,
    )
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.decode().splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "anyvenv.spawn" in imported
    assert not imported & set(HEAVY_MODULES)
    new_modules = set(proc.stdout.decode().split())
    assert "anyvenv.spawn" in new_modules
    assert not new_modules & set(HEAVY_MODULES)
    assert new_modules <= {"__future__", "anyvenv", "anyvenv.spawn", "select", "errno", "time"}


# -- run_inheriting: the child writes where we write --------------------------------------------


def _in_a_parent(tmp_path: Path, code: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``code`` in a Python whose stdout/stderr are files, with anyvenv importable."""
    script = tmp_path / "parent.py"
    script.write_text(code)
    return subprocess.run(
        [PY, str(script)], env={**os.environ, "PYTHONPATH": SRC}, capture_output=True, timeout=60
    )


def test_run_inheriting_shares_stdio_and_gives_the_exit_code(tmp_path: Path) -> None:
    done = _in_a_parent(
        tmp_path,
        "import sys\n"
        "from anyvenv.spawn import run_inheriting\n"
        "code = run_inheriting([sys.executable, '-c', "
        '\'import sys; print("out"); sys.stderr.write("err"); sys.exit(7)\'])\n'
        "print('child said', code)\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"out\nchild said 7\n"
    assert done.stderr == b"err"


def test_run_inheriting_passes_env(tmp_path: Path) -> None:
    done = _in_a_parent(
        tmp_path,
        "import os, sys\n"
        "from anyvenv.spawn import run_inheriting\n"
        "run_inheriting([sys.executable, '-c', 'import os; print(os.environ[\"MARK\"])'], "
        "env={**os.environ, 'MARK': 'given'})\n",
    )
    assert done.stdout == b"given\n", done.stderr


def test_run_inheriting_closes_inherited_fds_by_default() -> None:
    held = os.pipe()
    os.set_inheritable(held[1], True)
    try:
        # the child fails if it can write to held[1]
        code = f"import os, sys\ntry:\n    os.write({held[1]}, b'x')\nexcept OSError:\n    sys.exit(0)\nsys.exit(1)"
        assert spawn.run_inheriting([PY, "-c", code]) == 0
    finally:
        os.close(held[0])
        os.close(held[1])


def test_run_inheriting_missing_program_raises() -> None:
    with pytest.raises(FileNotFoundError) as info:
        spawn.run_inheriting(["/nonexistent/program"])
    assert info.value.filename == "/nonexistent/program"


def test_an_interrupted_wait_kills_and_reaps_the_child() -> None:
    """A KeyboardInterrupt while waiting (a long-lived host's Ctrl-C, pytest-timeout's signal)
    leaves no zombie and no open pipe behind."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = open_fds()
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        child = Child([PY, "-c", "import time; time.sleep(30)"])
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            child.wait(timeout=20)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)
    assert open_fds() == before


def test_run_inheriting_after_ctrl_c_waits_briefly_then_kills(tmp_path: Path) -> None:
    """A child that ignores SIGINT is killed a moment after Ctrl-C; one that ends is reaped."""
    done = _in_a_parent(
        tmp_path,
        "import os, signal, sys, threading, time\n"
        "from anyvenv.spawn import run_inheriting\n"
        "stubborn = 'import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(30)'\n"
        "threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    run_inheriting([sys.executable, '-c', stubborn])\n"
        "except KeyboardInterrupt:\n"
        "    print(round(time.monotonic() - started, 1))\n"
        "    try:\n"
        "        os.waitpid(-1, os.WNOHANG)\n"
        "        print('left-running')\n"
        "    except ChildProcessError:\n"
        "        print('reaped')\n",
    )
    assert done.returncode == 0, done.stderr
    seconds, state = done.stdout.decode().split()
    assert float(seconds) < 5, "killed after the grace period, not after the child's 30 s"
    assert state == "reaped"


STOPPED_DRIVER = """
import sys
from anyvenv.cli.guard import guarded
from anyvenv.spawn import run_inheriting
child = "echo $$ > " + sys.argv[1] + "; exec sleep 60"
sys.exit(guarded(lambda: run_inheriting(["/bin/sh", "-c", child])))
"""


@pytest.mark.parametrize(
    ("sent", "code", "said"),
    [
        (signal.SIGTERM, 143, "anyvenv: terminated"),
        (signal.SIGINT, 130, "anyvenv: interrupted"),
        (signal.SIGHUP, 129, "anyvenv: hung up"),  # its terminal or SSH session closed
    ],
)
def test_a_signal_to_anyvenv_alone_stops_its_child_first(
    tmp_path: Path, sent: signal.Signals, code: int, said: str
) -> None:
    """``timeout`` or a supervisor signals anyvenv only, not its process group: the child
    (uv) is stopped and reaped before anyvenv ends (and lets its lock go), not orphaned."""
    pid_file = tmp_path / "child.pid"
    driver = subprocess.Popen(
        [PY, "-c", STOPPED_DRIVER, str(pid_file)],
        env={**os.environ, "PYTHONPATH": SRC},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.01)
    child = int(pid_file.read_text())
    driver.send_signal(sent)
    _, stderr = driver.communicate(timeout=30)
    assert driver.returncode == code and said in stderr, stderr
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # stopped and reaped, not left running


SIGNALLED_IN_THE_SPAWN = """
import os, signal, sys
from anyvenv import spawn
from anyvenv.cli.guard import guarded

real_spawn = spawn._spawn

def spawn_then_stopped(*args, **kwargs):
    pid = real_spawn(*args, **kwargs)
    with open(sys.argv[1], "w") as out:
        out.write(str(pid))
    os.kill(os.getpid(), signal.SIGTERM)  # as a supervisor's, before the pid is held
    return pid

spawn._spawn = spawn_then_stopped
sys.exit(guarded(lambda: spawn.run_inheriting(["/bin/sleep", "60"])))
"""


def test_a_signal_while_the_child_is_spawned_still_stops_it(tmp_path: Path) -> None:
    """A stop signal that lands between the child's start and the moment its pid is held
    waits for that moment: the child is stopped too, not left running (holding the
    terminal or a pipe) after anyvenv is gone."""
    pid_file = tmp_path / "child.pid"
    driver = subprocess.run(
        [PY, "-c", SIGNALLED_IN_THE_SPAWN, str(pid_file)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert driver.returncode == 143 and "anyvenv: terminated" in driver.stderr, driver.stderr
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # stopped and reaped, not left running


def test_an_inherited_fd_above_a_lowered_open_files_limit_does_not_stop_a_spawn() -> None:
    """A shell that holds fd 100 and then lowers `ulimit -n` to 64: glibc refuses to close
    an fd at or above the limit in posix_spawn (EBADF, before anything starts); the fd is
    left to the child, and the child starts."""
    src = Path(spawn.__file__).resolve().parent.parent
    script = "from anyvenv.spawn import Child; print(Child(['/bin/true']).wait(10).returncode)"
    done = subprocess.run(
        ["bash", "-c", f'exec 100</dev/null; ulimit -n 64; exec "$0" -c "{script}"', sys.executable],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)},
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "0\n"), done.stderr


def test_what_must_be_over_before_an_exec_is_done_first(tmp_path: Path) -> None:
    """``anyvenv run`` replaces itself with the command: a probe begun early, still removing
    its scratch directory in a child, is waited for first (the command would not wait)."""
    code = (
        "import sys\n"
        "from anyvenv.spawn import before_exec, exec_replacing\n"
        "before_exec(lambda: print('settled', flush=True))\n"
        "exec_replacing('/bin/sh', ['sh', '-c', 'echo replaced'], {})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "settled\nreplaced\n"
