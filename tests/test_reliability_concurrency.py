"""Concurrency across machines: two sshfs mounts of one directory (``lab.sshfs_pair``) stand
for two hosts sharing a home. flock is client-local there, so ShareLock uses its O_EXCL lock
file; it must exclude across the mounts, recover a lock whose holder was killed, and never
take a live one. ``anyvenv sync`` started on both at once, round after round, leaves one
working environment and nothing half-made."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from project_support import PY_MAIN, index_args, project_environ, write_project
from reliability_report import Tally
from reliability_support import leftovers

from anyvenv.fs.lock import (
    LockTimeout,
    ShareLock,
    _machine_lock_path,
    _sweep_flock_file,
    read_holder,
    uses_lock_file,
)
from lab import Lab
from support import cli_env

WORKER = r"""
import os, sys, time
from pathlib import Path
from anyvenv.fs.lock import ShareLock
lock_path, log, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(rounds):
    with ShareLock(lock_path, timeout=120, poll=0.01):
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"in {os.getpid()}\n".encode())
        time.sleep(0.005)
        os.write(fd, f"out {os.getpid()}\n".encode())
        os.close(fd)
"""

HOLDER = r"""
import os, sys, time
from pathlib import Path
from anyvenv.fs.lock import ShareLock
lock = ShareLock(Path(sys.argv[1]), timeout=60)
lock.acquire()
print("held", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), 9)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def pair(lab: Lab, cached: bool, name: str) -> tuple[Path, Path]:
    """One fresh directory seen through both mounts of a pair: (through a, through b)."""
    first, second = lab.sshfs_pair(cached=cached)
    directory = first.root / f"{name}-{os.getpid()}-{time.monotonic_ns()}"
    directory.mkdir()
    return directory, second.root / directory.name


def assert_never_overlapping(lines: list[str], total: int) -> None:
    assert len(lines) == 2 * total, len(lines)
    for start, end in zip(lines[::2], lines[1::2], strict=True):
        assert start.startswith("in ") and end == "out " + start[3:], (start, end)


@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_share_lock_excludes_across_two_mounts(
    lab: Lab, tmp_path: Path, cached: bool, reliability: Tally
) -> None:
    a, b = pair(lab, cached, "lock")
    assert uses_lock_file(a) and uses_lock_file(b), "flock is client-local on sshfs"
    log = tmp_path / "log"  # on local disk: the order the holders really ran in
    workers, rounds = 4, 15
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(side / "shared.lock"), str(log), str(rounds)],
            env=cli_env(),
        )
        for side in (a, b, a, b)[:workers]
    ]
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    assert_never_overlapping(log.read_text().splitlines(), workers * rounds)
    assert not (a / "shared.lock").exists()
    reliability.add("concurrency", "lock turns taken across two sshfs mounts", workers * rounds)


@pytest.mark.parametrize("lab_kind", ["local"])
def test_share_lock_excludes_with_flock_on_local_disk(
    target: Path, tmp_path: Path, reliability: Tally
) -> None:
    log = tmp_path / "log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(target / "shared.lock"), str(log), "25"],
            env=cli_env(),
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    assert_never_overlapping(log.read_text().splitlines(), 50)
    reliability.add("concurrency", "lock turns taken on local disk (flock)", 50)


def start_holder(lock: Path, hold: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), hold],
        env=cli_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_a_killed_holders_lock_is_recovered_from_the_other_mount(
    lab: Lab, cached: bool, reliability: Tally
) -> None:
    a, b = pair(lab, cached, "stale")
    holder = start_holder(a / "stale.lock", "die")
    assert holder.wait(timeout=30) == -signal.SIGKILL
    assert (a / "stale.lock").exists(), "the dead holder left its lock file"
    started = time.monotonic()
    with ShareLock(b / "stale.lock", timeout=60, poll=0.05):
        taken = time.monotonic() - started
        holder_now = read_holder(b / "stale.lock")
        assert holder_now is not None and holder_now.pid == os.getpid()
    assert taken < 30
    reliability.add("concurrency", "stale locks recovered across mounts", 1)


@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_a_live_lock_is_never_taken_from_the_other_mount(
    lab: Lab, cached: bool, reliability: Tally
) -> None:
    a, b = pair(lab, cached, "live")
    holder = start_holder(a / "live.lock", "30")
    try:
        before = read_holder(b / "live.lock")
        assert before is not None and before.pid == holder.pid
        for _ in range(2):  # longer than any grace a reader could apply
            with pytest.raises(LockTimeout, match=f"pid {holder.pid}"):
                ShareLock(b / "live.lock", timeout=2, poll=0.05, unreadable_grace=0.1).acquire()
        after = read_holder(a / "live.lock")
        assert after is not None and after.token == before.token, "the lock file is intact"
    finally:
        holder.kill()
        holder.wait()
    reliability.add("concurrency", "live locks left alone", 1)


# -- sync on the pair --------------------------------------------------------------------------


def sync_both(
    projects: tuple[Path, Path], environ: dict[str, str], index: Path
) -> list[subprocess.CompletedProcess[str]]:
    """``anyvenv sync`` through each mount, started at the same moment."""
    barrier = threading.Barrier(2)
    results: list[subprocess.CompletedProcess[str]] = [None, None]  # type: ignore[list-item]

    def one(side: int) -> None:
        barrier.wait()
        results[side] = subprocess.run(
            [sys.executable, "-m", "anyvenv", "sync", *index_args(index)],
            cwd=projects[side],
            env=environ,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    threads = [threading.Thread(target=one, args=(side,)) for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def env_works_from(project: Path, expect_gamma: bool) -> None:
    python = project / ".venv" / "bin" / "python"
    code = "import alpha, beta; print(beta.DATA.strip())" + (
        "; import gamma; print(gamma.VALUE)" if expect_gamma else ""
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    hello = subprocess.run([project / ".venv" / "bin" / "alpha-hello"], capture_output=True)
    assert hello.stdout == b"alpha says hi\n", hello.stderr


@pytest.mark.slow
@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
def test_two_hosts_sync_one_project_at_once_round_after_round(
    lab: Lab, tmp_path: Path, index: Path, reliability: Tally
) -> None:
    a, b = pair(lab, False, "sync")
    environ = project_environ(tmp_path / "home")
    write_project(a / "proj")
    projects = (a / "proj", b / "proj")
    rounds = [
        ("create", ["alpha"]),
        ("no-op", ["alpha"]),
        ("add a dependency", ["alpha", "gamma"]),
        ("remove a dependency", ["alpha"]),
        ("env deleted", ["alpha", "gamma"]),
    ]
    for what, dependencies in rounds * 2:
        write_project(a / "proj", dependencies=dependencies)
        if what == "env deleted":
            shutil.rmtree(a / "proj" / ".venv")
        results = sync_both(projects, environ, index)
        for result in results:
            assert result.returncode == 0, f"{what}: {result.stderr}"
            assert "Traceback" not in result.stderr
        for project in projects:
            env_works_from(project, "gamma" in dependencies)
        assert not leftovers(a / "proj", depth=3), f"{what}: {leftovers(a / 'proj', depth=3)}"
        assert not (a / "proj" / ".venv.anyvenv.lock").exists(), f"{what}: lock left behind"
        reliability.add("concurrency", "rounds of two syncs at once on two mounts", 1)


@pytest.mark.slow
@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
def test_a_sync_killed_holding_the_lock_does_not_block_the_other_host(
    lab: Lab, tmp_path: Path, index: Path, reliability: Tally
) -> None:
    a, b = pair(lab, True, "killed-sync")
    environ = project_environ(tmp_path / "home")
    write_project(a / "proj")
    killed = subprocess.run(
        [sys.executable, "-m", "anyvenv", "sync", *index_args(index)],
        cwd=a / "proj",
        env={**environ, "ANYVENV_TEST_KILL_AT": "staging:made"},
        capture_output=True,
        start_new_session=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    lock = a / "proj" / ".venv.anyvenv.lock"
    assert lock.exists(), "the killed sync held the project lock"
    holder = read_holder(lock)
    assert holder is not None and not Path(f"/proc/{holder.pid}").exists()
    # its flock file in /tmp (named by the env's path through a: b's sync takes another) is
    # no one's now; swept, as cache clean does, not left behind by every run
    machine = _machine_lock_path(str(a / "proj" / ".venv"))
    assert machine is not None and _sweep_flock_file(machine + ".flock")
    started = time.monotonic()
    other = subprocess.run(
        [sys.executable, "-m", "anyvenv", "sync", *index_args(index)],
        cwd=b / "proj",
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 0, other.stderr
    assert time.monotonic() - started < 120
    env_works_from(b / "proj", False)
    # seen through b, whose sync cleared them: a's sshfs caches the directory's listing (it
    # showed the killed sync's staging dir and lock file up to its cache timeout, 1 run in 8)
    assert not leftovers(b / "proj", depth=3), leftovers(b / "proj", depth=3)
    reliability.add("concurrency", "stale locks recovered across mounts", 1)
