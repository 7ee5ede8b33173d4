"""ShareLock: mutual exclusion on local disk (flock) and on shares (O_EXCL lock file), and
recovery of locks whose holder is provably gone."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from project_support import (
    PY_MAIN,
    alpha_says_hi,
    anyvenv,
    index_args,
    needs_pythons,
    project_environ,
    write_project,
)

from anyvenv.fs.lock import (
    LockTimeout,
    LockUnavailable,
    ShareLock,
    _create_holder_file,
    current_holder,
    try_env_lock,
    uses_lock_file,
)
from anyvenv.fs.processes import process_start_time
from lab import Lab, LabMount
from support import cli_env, traced_calls
from wheels import greeter_wheel

WORKER = """
import sys, time, os
from pathlib import Path
from anyvenv.fs.lock import ShareLock
lock_path, log, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(rounds):
    with ShareLock(lock_path, timeout=60, poll=0.01):
        with open(log, "a") as f:
            f.write(f"in {os.getpid()}\\n")
        time.sleep(0.02)
        with open(log, "a") as f:
            f.write(f"out {os.getpid()}\\n")
"""


def _run_workers(lock_path: Path, log: Path, workers: int = 3, rounds: int = 4) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(lock_path), str(log), str(rounds)], env=cli_env()
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    return log.read_text().splitlines()


def _assert_never_overlapping(lines: list[str], total: int) -> None:
    assert len(lines) == 2 * total
    for start, end in zip(lines[::2], lines[1::2], strict=True):
        assert start.startswith("in ") and end == "out " + start[3:], lines


@pytest.mark.parametrize("lab_kind", ["local", "sshfs", "faultfs:lock-enolck"])
def test_processes_take_turns(lab_kind: str, target: Path, tmp_path: Path) -> None:
    lock_path = target / "project.lock"
    lines = _run_workers(lock_path, tmp_path / "log")
    _assert_never_overlapping(lines, 3 * 4)
    assert uses_lock_file(target) == (lab_kind != "local")
    assert not lock_path.exists()  # a lock file is removed on release
    assert not Path(f"{lock_path}.flock").exists()  # and so is flock's, by its holder


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like", "exfat"])
def test_an_interrupt_once_the_lock_file_is_there_leaves_none(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or SIGTERM, raised as an exception) arriving just after the lock file appeared
    and before the lock knew it held it: the file goes, or other machines, which cannot prove
    this holder gone, would wait for it. Hard-linked into place (cifs-like) or created and
    written (exFAT, no hard links): the interrupt lands in the step after each."""
    import anyvenv.fs.lock as lock_module

    step = "_unlink_while_open" if lab_kind_links(target) else "_readable_by_all"

    lock_path = target / "env.anyvenv.lock"
    real = getattr(lock_module, step)

    def interrupted(path: str) -> None:
        real(path)
        if lock_path.exists():  # (not while only its temp file is there)
            raise KeyboardInterrupt

    monkeypatch.setattr(lock_module, step, interrupted)
    with pytest.raises(KeyboardInterrupt):
        ShareLock(lock_path).acquire()
    assert not lock_path.exists(), os.listdir(target)
    monkeypatch.undo()
    with ShareLock(lock_path):  # taken at once: no one's holds it
        assert lock_path.exists()


def lab_kind_links(directory: Path) -> bool:
    try:
        (directory / "a").write_text("")
        os.link(directory / "a", directory / "b")
    except OSError:
        return False
    finally:
        for name in ("a", "b"):
            (directory / name).unlink(missing_ok=True)
    return True


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough", "sshfs"])
def test_a_released_lock_leaves_nothing_on_a_fuse_mount(target: Path) -> None:
    """libfuse keeps a file unlinked just after its close as .fuse_hidden for good when the
    unlink races the close's release; a lock's files are unlinked while open, so the
    directory that held them can be removed at once (measured: 1 in 4 left one before)."""
    for attempt in range(30):
        directory = target / f"d{attempt}"
        directory.mkdir()
        with ShareLock(directory / "env.anyvenv.lock"):
            pass
        deadline = time.monotonic() + 5  # the daemon removes a hidden file at its release,
        while os.listdir(directory) and time.monotonic() < deadline:  # a moment after close
            time.sleep(0.01)
        assert os.listdir(directory) == [], attempt  # none kept for good
        directory.rmdir()


def test_a_lock_is_taken_where_link_fails_with_an_io_error(lab: Lab) -> None:
    """rclone answers link() with EIO: not a broken device (files are made there), so the
    lock file is made with O_EXCL instead, excludes a second holder, and goes at release."""
    target = lab.target("faultfs:link-eio")
    lock_path = target / "env.anyvenv.lock"
    with ShareLock(lock_path):
        assert os.path.exists(lock_path)
        with pytest.raises(LockTimeout):
            ShareLock(lock_path, timeout=0.3).acquire()
    assert os.listdir(target) == []
    taken = try_env_lock(target / "env")
    assert taken is not None  # (not "no lock": the env is built under it)
    taken.release()


def test_a_lock_leaves_nothing_where_an_open_file_cannot_be_removed(lab: Lab) -> None:
    """SMB through libsmbclient (smbnetfs, gvfs-smb) refuses to unlink or rename a file that
    is open (EBUSY): the lock's files, removed while held elsewhere, are removed once closed
    here, not left to make the next machine wait for a holder that is gone."""
    target = lab.target("faultfs:busy-while-open")
    for name in ("a", "b"):
        with ShareLock(target / f"{name}.anyvenv.lock"):
            pass
    assert os.listdir(target) == []
    made = subprocess.run(
        [sys.executable, "-m", "anyvenv", "venv", str(target / "env")],
        capture_output=True, text=True, env=cli_env(),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert os.listdir(target) == ["env"]


def test_a_flock_file_left_by_a_killed_holder_is_taken_and_then_removed(tmp_path: Path) -> None:
    """The kernel drops a dead holder's flock; its file stays until the next holder is done."""
    lock_path = tmp_path / "project.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_WAIT, str(lock_path)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    holder.stdout.close()
    left = Path(f"{lock_path}.flock")
    assert left.exists()
    with ShareLock(lock_path, timeout=5):
        assert left.exists()
    assert not left.exists()


HOLD_AND_WAIT = """
import sys, time
from anyvenv.fs.lock import ShareLock
lock = ShareLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_holder(path: Path, **changes: object) -> None:
    data = dict(current_holder().__dict__)
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_lock_of_a_dead_process_is_recovered(target: Path) -> None:
    lock_path = target / "x.lock"
    _write_holder(lock_path, pid=_dead_pid(), started="1")
    started = time.monotonic()
    with ShareLock(lock_path, timeout=10, poll=0.01):
        assert json.loads(lock_path.read_text())["pid"] == os.getpid()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_reused_pid_is_not_the_holder(target: Path) -> None:
    """Our own pid with another start time: the holder died and its pid was reused."""
    lock_path = target / "x.lock"
    _write_holder(lock_path, started=str(int(process_start_time(os.getpid())) - 5))
    with ShareLock(lock_path, timeout=10, poll=0.01):
        pass


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_lock_from_another_host_is_never_stolen(target: Path) -> None:
    lock_path = target / "x.lock"
    _write_holder(lock_path, host="elsewhere#boot", pid=_dead_pid())
    with pytest.raises(LockTimeout, match="elsewhere"):
        ShareLock(lock_path, timeout=0.3, poll=0.02).acquire()
    assert json.loads(lock_path.read_text())["host"] == "elsewhere#boot"


@pytest.mark.parametrize("lab_kind", ["sshfs", "local"])
def test_a_wait_is_told_once_naming_the_holder(target: Path) -> None:
    """A holder that cannot be judged (another host's) makes the taker wait to its timeout:
    after a second it is told, once, whom it waits for; a lock free at once tells nothing."""
    lock_path = target / "x.lock"
    told: list[str] = []
    with ShareLock(lock_path, on_wait=told.append):
        pass
    assert told == []
    _write_holder(lock_path, host="elsewhere#boot", pid=4242)
    with pytest.raises(LockTimeout):
        ShareLock(lock_path, timeout=1.6, poll=0.02, on_wait=told.append).acquire()
    assert len(told) == 1, told
    assert str(lock_path) in told[0] and "pid 4242 on elsewhere (up to" in told[0]


GONE_NOTE = "; if that process is gone for good, remove the file"


@pytest.mark.parametrize("lab_kind", ["local", "sshfs"])
def test_a_wait_for_another_users_lock_says_whose_it_is(lab_kind: str, target: Path) -> None:
    """A team's project: the notice names the user who holds the lock (by name on this
    machine), and no boot id; on local disk also while the flock is what is waited for (it
    said "another process of this machine")."""
    import fcntl

    lock_path = target / "env.anyvenv.lock"
    flock_fd = os.open(f"{lock_path}.flock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(flock_fd, fcntl.LOCK_EX)  # (another open file: it excludes ShareLock's)
        _write_holder(lock_path, uid=65534)  # a live pid (ours) of this machine, nobody's
        told: list[str] = []
        with pytest.raises(LockTimeout) as caught:
            ShareLock(lock_path, timeout=1.6, poll=0.02, on_wait=told.append).acquire()
        whose = f"held by pid {os.getpid()} of nobody on this machine"
        assert caught.value.message == f"{lock_path} is {whose}"
        assert told == [
            f"waiting for {lock_path}, {whose} "
            f"(up to 2 s{'' if lab_kind == 'local' else GONE_NOTE})"
        ], told
    finally:
        os.close(flock_fd)


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_lock_left_before_this_machine_rebooted_is_recovered(target: Path) -> None:
    """Same host name and machine id, another boot id: every process of that boot is gone
    (the pid is our own live one here, to show that it is not what decides)."""
    lock_path = target / "x.lock"
    me = current_holder()
    name = me.host.rpartition("#")[0]
    assert me.machine, "this test needs /etc/machine-id"
    _write_holder(lock_path, host=f"{name}#an-earlier-boot")
    started = time.monotonic()
    with ShareLock(lock_path, timeout=10, poll=0.01):
        assert json.loads(lock_path.read_text())["host"] == me.host
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("lab_kind", ["sshfs"])
@pytest.mark.parametrize(
    "changes",
    [
        {"machine": "another-machine"},  # another machine that has our host name
        {"machine": ""},  # a lock of an older version: no machine id to prove it
    ],
    ids=["other-machine-same-name", "no-machine-id"],
)
def test_a_lock_of_another_boot_is_kept_unless_it_is_provably_this_machine(
    target: Path, changes: dict[str, object]
) -> None:
    lock_path = target / "x.lock"
    name = current_holder().host.rpartition("#")[0]
    _write_holder(lock_path, host=f"{name}#an-earlier-boot", pid=_dead_pid(), **changes)
    with pytest.raises(LockTimeout, match="another boot of this machine, or another machine"):
        ShareLock(lock_path, timeout=0.3, poll=0.02).acquire()
    assert json.loads(lock_path.read_text())["host"] == f"{name}#an-earlier-boot"


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_live_holder_keeps_its_lock(target: Path) -> None:
    lock_path = target / "x.lock"
    with ShareLock(lock_path), pytest.raises(LockTimeout):
        ShareLock(lock_path, timeout=0.3, poll=0.02).acquire()


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_an_empty_lock_file_left_by_a_crash_is_recovered(target: Path) -> None:
    """A holder that died between creating the lock file and writing it left it empty: it was
    never recovered (every sync waited for the full timeout). Now: after a grace period."""
    lock_path = target / "x.lock"
    lock_path.write_bytes(b"")
    with ShareLock(lock_path, timeout=10, poll=0.02, unreadable_grace=0.3):
        assert json.loads(lock_path.read_text())["pid"] == os.getpid()


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_an_empty_lock_file_is_kept_during_the_grace_period(target: Path) -> None:
    lock_path = target / "x.lock"
    lock_path.write_bytes(b"")
    with pytest.raises(LockTimeout):
        ShareLock(lock_path, timeout=0.3, poll=0.02, unreadable_grace=30).acquire()
    assert lock_path.read_bytes() == b""


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_breaker_left_by_a_crash_does_not_block_recovery(target: Path) -> None:
    lock_path = target / "x.lock"
    _write_holder(lock_path, pid=_dead_pid(), started="1")
    (target / "x.lock.break").write_bytes(b"")  # a breaker that died before writing itself
    with ShareLock(lock_path, timeout=10, poll=0.02, unreadable_grace=0.3):
        pass
    assert not (target / "x.lock.break").exists()


def test_a_lock_file_that_cannot_be_written_is_not_left_behind(lab: object) -> None:
    """ENOSPC after the exclusive create used to leave an empty lock file behind."""
    small = lab.small_target(64)  # type: ignore[attr-defined]
    filler = small / "filler"
    with open(filler, "wb") as handle, pytest.raises(OSError) as full:
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    assert full.value.errno == errno.ENOSPC
    path = small / "x.lock"
    with pytest.raises(OSError) as failed:
        _create_holder_file(path, b"x" * 65536)
    assert failed.value.errno == errno.ENOSPC
    assert not path.exists()


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_holder_in_another_pid_namespace_is_never_judged_by_our_pids(target: Path) -> None:
    """A container with our host name: its pid means nothing here (a dead one here may be
    its live holder), so its lock is never taken."""
    lock_path = target / "x.lock"
    _write_holder(lock_path, pid=_dead_pid(), pidns="pid:[1]")
    with pytest.raises(LockTimeout):
        ShareLock(lock_path, timeout=0.3, poll=0.02).acquire()
    assert json.loads(lock_path.read_text())["pidns"] == "pid:[1]"


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_killed_holder_not_yet_reaped_holds_nothing(target: Path) -> None:
    """A zombie passes kill(pid, 0) and keeps its start time; its lock is recovered at once
    (a parent that reaps its children in order waited 600 s for the lock)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock_path = target / "x.lock"
        _write_holder(lock_path, pid=child.pid, started=process_start_time(child.pid))
        child.kill()
        for _ in range(100):  # until the kernel has made it a zombie (it is not reaped)
            if Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1].startswith("Z"):
                break
            time.sleep(0.01)
        started = time.monotonic()
        with ShareLock(lock_path, timeout=10, poll=0.01):
            assert json.loads(lock_path.read_text())["pid"] == os.getpid()
        assert time.monotonic() - started < 5
    finally:
        child.wait()


@pytest.mark.parametrize("lab_kind", ["sshfs", "faultfs:lock-enolck", "fat"])
def test_the_lock_file_appears_whole_and_leaves_no_temp_file(target: Path) -> None:
    """Where hard links work the lock file is linked into place already written (no empty
    file a waiter could take for a crash's); on FAT it is created, then written. Either way
    a second taker is refused and nothing else is left in the directory."""
    from anyvenv.fs.lock import _create_holder_file

    lock_path = target / "x.lock"
    assert _create_holder_file(str(lock_path), b'{"k": 1}')
    assert lock_path.read_bytes() == b'{"k": 1}'
    assert not _create_holder_file(str(lock_path), b'{"k": 2}')
    assert lock_path.read_bytes() == b'{"k": 1}'
    assert sorted(os.listdir(target)) == ["x.lock"]


def test_temp_files_of_killed_takers_and_breakers_are_swept(tmp_path: Path) -> None:
    """A taker or a breaker killed between writing its temp file and linking it leaves
    NAME.anyvenv-tmp-TAG or NAME.break.anyvenv-tmp-TAG: the next taker clears both (the
    breaker's was never matched), and a live process's is kept."""
    from anyvenv.fs.leftovers import TEMP_MARK, this_host

    dead = 2**22 + 12345  # beyond pid_max's default: no such process
    lock_path = tmp_path / "e.anyvenv.lock"
    left = [f"e.anyvenv.lock{TEMP_MARK}{this_host()}-{dead}-aaaaaa",
            f"e.anyvenv.lock.break{TEMP_MARK}{this_host()}-{dead}-bbbbbb"]  # fmt: skip
    alive = f"e.anyvenv.lock.break{TEMP_MARK}{this_host()}-{os.getpid()}-cccccc"
    for name in (*left, alive):
        (tmp_path / name).write_text("{}")
    with ShareLock(lock_path):
        pass
    assert sorted(os.listdir(tmp_path)) == [alive]


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_the_disk_s_host_and_a_client_through_a_share_take_turns(
    lab_mount: LabMount, target: Path, tmp_path: Path
) -> None:
    """A VM's sshfs view of a folder and the host with the disk: the host takes flock (its
    local disk), the VM cannot see a flock and takes the lock file, so the host takes the
    lock file too. Workers on both sides never overlap (37 of 40 turns did)."""
    local_dir = Path(lab_mount.source) / target.name  # the same directory on the local disk
    assert local_dir.is_dir() and not uses_lock_file(local_dir) and uses_lock_file(target)
    log = tmp_path / "log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(where / "project.lock"), str(log), "6"],
            env=cli_env(),
        )
        for where in (local_dir, target, local_dir, target)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    _assert_never_overlapping(log.read_text().splitlines(), 4 * 6)
    assert sorted(os.listdir(local_dir)) == []


NOBODY_TAKER = """
import sys
from anyvenv.fs.lock import LockTimeout, LockUnavailable, env_lock
lock = env_lock(sys.argv[1], timeout=float(sys.argv[2]))
try:
    lock.acquire()
except (LockTimeout, LockUnavailable) as exc:
    print(type(exc).__name__, exc.message)
else:
    print("taken", lock.path)
    lock.release()
"""


HOLD_AS_NOBODY = """
import sys, time
from anyvenv.fs.lock import env_lock
lock = env_lock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _root_waits_while_nobody_holds(held_by_nobody: Path, taken_by_root: Path) -> None:
    """uid 65534 holds the env lock by one path; root's take by the other times out."""
    from anyvenv.fs.lock import env_lock
    from support import as_nobody

    with as_nobody() as (python, env):
        holder = subprocess.Popen(
            [*python, "-c", HOLD_AS_NOBODY, str(held_by_nobody)],
            stdout=subprocess.PIPE, text=True, env=env, cwd="/",
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            with pytest.raises(LockTimeout):
                env_lock(taken_by_root, timeout=0.5).acquire()
        finally:
            holder.kill()
            holder.wait()
            holder.stdout.close()


def _take_as_nobody(env: Path, timeout: float = 0.5) -> str:
    from support import run_python_as_nobody

    proc = run_python_as_nobody("-c", NOBODY_TAKER, str(env), str(timeout))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_lock_held_by_another_user_is_waited_for_and_then_taken(nobody_scratch: Path) -> None:
    shared = nobody_scratch / "shared"  # a project both users may write (a group's share)
    shared.mkdir()
    os.chmod(shared, 0o777)
    env = shared / ".venv"
    from anyvenv.fs.lock import env_lock

    with env_lock(env):  # this user's lock files, 0644: the other may only read them
        said = _take_as_nobody(env)
        assert said.startswith("LockTimeout "), said  # waited, as for any live holder
    assert _take_as_nobody(env) == f"taken {env}.anyvenv.lock"
    # a flock file left by a killed holder of another user is taken, then removed
    (shared / ".venv.anyvenv.lock.flock").write_bytes(b"")
    assert _take_as_nobody(env) == f"taken {env}.anyvenv.lock"
    assert os.listdir(shared) == []


def test_a_user_who_cannot_write_beside_the_env_and_one_who_can_exclude_each_other(
    nobody_scratch: Path,
) -> None:
    """The container case (/app is root's, /app/.venv the user's): the user's lock is the
    machine's flock in /tmp, which root takes too, after its own beside the env; whoever
    comes first, the other waits."""
    from anyvenv.fs.lock import env_lock

    app = nobody_scratch / "app"
    (app / ".venv").mkdir(parents=True)
    os.chown(app / ".venv", 65534, 65534)
    said = _take_as_nobody(app / ".venv")
    assert said == f"taken {app}/.venv.anyvenv.lock", said  # (its path; the lock is in /tmp)
    with env_lock(app / ".venv") as held:  # root may write there: beside the env, and /tmp
        assert held.path == f"{app}/.venv.anyvenv.lock"
        said = _take_as_nobody(app / ".venv")
        assert said.startswith("LockTimeout "), said
    _root_waits_while_nobody_holds(app / ".venv", app / ".venv")  # the user first
    assert os.listdir(app) == [".venv"]
    _remove_machine_flock(app / ".venv")  # (the killed holder's, which root may remove)


def test_a_stale_lock_file_this_user_may_not_remove_does_not_hold_them_off(
    nobody_scratch: Path,
) -> None:
    """A group's project with the sticky bit: the lock file a killed run of another user left
    cannot be removed by this one; its holder is provably gone, so the lock is taken (the
    flocks hold this machine's takers off) instead of waited for until the timeout."""
    shared = nobody_scratch / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    env = shared / ".venv"
    _write_holder(Path(f"{env}.anyvenv.lock"), pid=_dead_pid(), started="1")
    started = time.monotonic()
    said = _take_as_nobody(env, timeout=5)
    assert said == f"taken {env}.anyvenv.lock" and time.monotonic() - started < 4, said
    assert os.listdir(shared) == [".venv.anyvenv.lock"]  # root's, left as it was


HOLD_WITH_UMASK_077 = """
import os, sys, time
os.umask(0o077)
from anyvenv.fs.lock import env_lock
lock = env_lock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("layout", ["shared", "container"])
def test_a_holder_with_a_strict_umask_is_waited_for_not_skipped(
    nobody_scratch: Path, layout: str
) -> None:
    """root holds the lock with umask 077: its lock files are made readable all the same, so
    the other user waits (it was refused at once, or went on with no lock at all)."""
    top = nobody_scratch / layout
    (top / ".venv").mkdir(parents=True)
    if layout == "shared":
        os.chmod(top, 0o777)  # a group's project: both may write beside the env
    else:  # /app is root's, /app/.venv the user's: the user has the /tmp flock alone
        os.chown(top / ".venv", 65534, 65534)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WITH_UMASK_077, str(top / ".venv")],
        stdout=subprocess.PIPE, text=True, env=cli_env(),
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        said = _take_as_nobody(top / ".venv")
        assert said.startswith("LockTimeout "), said
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    said = _take_as_nobody(top / ".venv")  # the killed holder's files are no obstacle
    assert said == f"taken {top}/.venv.anyvenv.lock", said
    _remove_machine_flock(top / ".venv")


def _remove_machine_flock(env: Path) -> None:
    """What a killed holder of another user leaves in /tmp (no one else may remove it)."""
    from anyvenv.fs.lock import _machine_lock_path

    path = _machine_lock_path(str(env))
    assert path is not None
    Path(path + ".flock").unlink(missing_ok=True)


def test_a_stale_breaker_this_user_may_not_remove_does_not_hold_them_off(
    nobody_scratch: Path,
) -> None:
    """A root run killed while breaking a stale lock leaves both files, in a sticky
    directory: stepped over as the stale lock file itself is."""
    shared = nobody_scratch / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    env = shared / ".venv"
    for name in (".venv.anyvenv.lock", ".venv.anyvenv.lock.break"):
        _write_holder(shared / name, pid=_dead_pid(), started="1")
    started = time.monotonic()
    said = _take_as_nobody(env, timeout=5)
    assert said == f"taken {env}.anyvenv.lock" and time.monotonic() - started < 4, said


def test_on_a_read_only_mount_the_machine_flock_is_the_lock(lab: Lab) -> None:
    """A read-only share (the mount says writable; every change fails EROFS, as sshfs with a
    read-only sftp-server): the lock is the machine's flock, and it excludes."""
    from anyvenv.fs.lock import env_lock

    env = lab.readonly_target() / ".venv"
    with env_lock(env), pytest.raises(LockTimeout):
        env_lock(env, timeout=0.3).acquire()
    with env_lock(env):  # and it was let go
        pass


def test_an_env_reached_through_a_read_only_bind_mount_is_one_env(nobody_scratch: Path) -> None:
    """The machine's flock is named by the env's directory itself, not its path: a taker
    through a read-only bind mount of the project (who has that flock alone) and one through
    the project's own path exclude each other."""

    project = nobody_scratch / "project"
    (project / ".venv").mkdir(parents=True)
    view = nobody_scratch / "view"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(project), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        _root_waits_while_nobody_holds(view / ".venv", project / ".venv")  # the view first
        _remove_machine_flock(project / ".venv")
    finally:
        subprocess.run(["umount", str(view)], check=True)


def test_with_no_temp_dir_to_write_the_lock_beside_the_env_is_enough(tmp_path: Path) -> None:
    """A container whose /tmp is read-only and TMPDIR unset: no traceback; venv works where
    the env's directory may be written (there is no machine flock to take)."""
    work = tmp_path / "work"
    work.mkdir()
    read_only = " && ".join(
        f"mount --bind {d} {d} && mount -o remount,bind,ro {d}" for d in ("/tmp", "/var/tmp")
    )
    script = (  # (from /tmp: its working directory is no temp dir either)
        f"{read_only} && mount --bind {work} {work} && mount -o remount,bind,rw {work} && "
        f"cd /tmp && env -u TMPDIR {sys.executable} -m anyvenv venv {work}/.venv -q"
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=cli_env()
    )
    assert proc.returncode == 0, proc.stderr
    assert (work / ".venv" / "pyvenv.cfg").is_file()


def test_an_env_reached_through_a_link_to_it_is_one_env(tmp_path: Path) -> None:
    """``proj/.venv`` a link to the env kept elsewhere: a taker by the link and one by the
    env's own path exclude each other (the locks beside the two paths are two files)."""
    from anyvenv.fs.lock import env_lock

    real = tmp_path / "store" / "venv"
    real.mkdir(parents=True)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / ".venv").symlink_to(real)
    with env_lock(tmp_path / "proj" / ".venv"), pytest.raises(LockTimeout):
        env_lock(real, timeout=0.3).acquire()


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_a_release_removes_only_its_own_lock_file(target: Path) -> None:
    """A holder whose lock file was broken as stale while it ran (a slow share) and taken by
    another: its release leaves the other's file alone."""
    lock_path = target / "x.lock"
    with ShareLock(lock_path, timeout=10, poll=0.01):
        assert lock_path.exists()
        os.unlink(lock_path)
        _write_holder(lock_path, pid=os.getppid())  # another holder's, alive
        theirs = lock_path.read_bytes()
    assert lock_path.read_bytes() == theirs


def test_a_lock_on_a_full_filesystem_says_to_free_space(lab: Lab) -> None:
    """The lock's file cannot be written on a full disk: the fix is room, not a writable
    directory or a planted file (h46: what `anyvenv pip list` said on a full disk)."""
    full = lab.small_target(size_kib=256)
    with pytest.raises(OSError), open(full / "filler", "wb") as filler:
        filler.write(bytes(1 << 20))
    with pytest.raises(LockUnavailable) as refused:
        ShareLock(full / ".venv.anyvenv.lock", timeout=2).acquire()
    assert "ENOSPC" in refused.value.message
    assert refused.value.hint == "free space on that filesystem"


def test_a_lock_whose_path_is_too_long_says_to_use_a_shorter_path(tmp_path: Path) -> None:
    """A lock path longer than a path may be (its name fits): said as too long, with its
    length and the limit, not as a directory that must be writable."""
    deep = tmp_path
    while len(os.fsencode(deep)) < 4096 - 2 * 200:
        deep /= "d" * 200
    deep.mkdir(parents=True)
    lock_path = deep / ("e" * (4100 - len(os.fsencode(deep)) - 1))
    with pytest.raises(LockUnavailable) as refused:
        ShareLock(lock_path, timeout=2).acquire()
    flock = f"{lock_path}.flock"  # (the first file a lock on a local disk makes)
    assert refused.value.one_line() == (
        f"cannot take the lock {flock}: File name too long (ENAMETOOLONG); that path is "
        f"{len(os.fsencode(flock))} bytes, and the limit there is 4096: use a shorter path"
    )
    assert os.listdir(deep) == []


# -- stale machine flock files (sweep_machine_flocks) ------------------------------------------

STALE = "anyvenv-0123456789abcdef.lock.flock"  # a name _machine_lock_path makes, plus .flock

HOLD_MACHINE_LOCK = """
import sys, time
from anyvenv.fs.lock import ShareLock
lock = ShareLock(sys.argv[1], machine_lock=lambda: sys.argv[2])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def _killed_holder_of(directory: Path) -> Path:
    """The machine flock file a holder killed with SIGKILL left in ``directory``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_MACHINE_LOCK, str(directory / "env.anyvenv.lock"),
         str(directory / STALE.removesuffix(".flock"))],
        env=cli_env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    holder.kill()
    holder.wait()
    holder.stdout.close()
    left = directory / STALE
    assert left.is_file()
    return left


def test_a_flock_file_left_by_a_killed_holder_is_swept(tmp_path: Path) -> None:
    from anyvenv.fs.lock import sweep_machine_flocks

    left = _killed_holder_of(tmp_path)
    assert sweep_machine_flocks([str(tmp_path)]) == 1
    assert not left.exists()
    assert sweep_machine_flocks([str(tmp_path)]) == 0


def test_a_held_flock_file_is_kept(tmp_path: Path) -> None:
    """Held through another open of it (another open file description, as another process's
    would be): it stays, and its holder still holds it, by that name."""
    import fcntl

    from anyvenv.fs.lock import _still_named, sweep_machine_flocks

    held = tmp_path / STALE
    fd = os.open(held, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert sweep_machine_flocks([str(tmp_path)]) == 0
        assert _still_named(fd, str(held))
    finally:
        os.close(fd)
    assert sweep_machine_flocks([str(tmp_path)]) == 1  # let go without removing it: stale


def test_only_files_named_exactly_as_machine_flocks_are_swept_and_links_never_followed(
    tmp_path: Path,
) -> None:
    from anyvenv.fs.lock import sweep_machine_flocks

    target = tmp_path / "target"
    target.mkdir()
    precious = target / "anyvenv-fedcba9876543210.lock.flock"  # (swept, were it listed)
    precious.write_bytes(b"")
    keep = [
        "anyvenv-0123456789ABCDEF.lock.flock",  # not a name anyvenv makes
        "anyvenv-0123456789abcde.lock.flock",
        "anyvenv-0123456789abcdef0.lock.flock",  # a hex digit too many
        "myfiles-0123456789abcdef.lock.flock",  # another program's, of the same shape
        "anyvenv-0123456789abcdef.lock",  # the lock file itself, never made in /tmp
        "anyvenv-0123456789abcdef.lock.flock.bak",
        "uv-0123456789abcdef.lock",
    ]
    swept = tmp_path / "swept"
    swept.mkdir()
    for name in keep:
        (swept / name).write_bytes(b"")
    (swept / STALE).symlink_to(precious)
    directory = "anyvenv-1111111111111111.lock.flock"
    (swept / directory).mkdir()
    assert sweep_machine_flocks([str(swept), str(tmp_path / "missing")]) == 0
    assert sorted(os.listdir(swept)) == sorted([*keep, STALE, directory])
    assert precious.is_file()


def test_a_file_replaced_between_its_check_and_its_open_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep judged a stale regular file (lstat); before its open, the name was given to
    something else (here a FIFO): what it opened is not what it judged, and it stays."""
    import types

    import anyvenv.fs.lock as lock_module

    stale = tmp_path / STALE
    stale.write_bytes(b"")
    swapped: list[str] = []

    def open_after_a_swap(path: str, flags: int, *args: int) -> int:
        if path == str(stale) and not swapped:
            swapped.append(path)
            os.mkfifo(tmp_path / "fifo")  # (made while the file is there: another inode)
            os.rename(tmp_path / "fifo", path)
        return os.open(path, flags, *args)

    class SwappingOs(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

    fake = SwappingOs("os")
    setattr(fake, "open", open_after_a_swap)  # noqa: B010
    monkeypatch.setattr(lock_module, "os", fake)
    assert lock_module.sweep_machine_flocks([str(tmp_path)]) == 0
    assert swapped == [str(stale)]
    assert stale.is_fifo()


@pytest.mark.parametrize(
    ("tmpdir", "listed"),
    [
        ("/tmp/", ["/tmp"]),  # /tmp itself: not listed twice
        ("/tmp//", ["/tmp"]),
        ("tmp", ["/tmp"]),  # relative: not a place every run would meet
        ("", ["/tmp"]),
        ("/var/tmp", ["/tmp", "/var/tmp"]),
    ],
)
def test_the_machine_lock_directories_are_tmp_then_an_absolute_tmpdir(
    tmpdir: str, listed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from anyvenv.fs.lock import _machine_lock_dirs

    monkeypatch.setenv("TMPDIR", tmpdir)
    assert _machine_lock_dirs() == listed


SWEEP_AS_NOBODY = """
import sys
from anyvenv.fs.lock import sweep_machine_flocks
print(sweep_machine_flocks([sys.argv[1]]))
"""


def test_a_user_sweeps_only_their_own_and_root_every_ones(nobody_scratch: Path) -> None:
    """In a directory where both may remove files, another user's stays; root's sweep
    removes any user's."""
    from anyvenv.fs.lock import sweep_machine_flocks
    from support import run_python_as_nobody

    shared = nobody_scratch / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    roots = shared / STALE
    roots.write_bytes(b"")
    nobodys = shared / "anyvenv-00000000000000ff.lock.flock"
    nobodys.write_bytes(b"")
    os.chown(nobodys, 65534, 65534)
    proc = run_python_as_nobody("-c", SWEEP_AS_NOBODY, str(shared))
    assert (proc.returncode, proc.stdout) == (0, "1\n"), proc.stderr
    assert os.listdir(shared) == [STALE]
    os.chown(roots, 65534, 65534)
    assert sweep_machine_flocks([str(shared)]) == 1
    assert os.listdir(shared) == []


def _assert_held_by_name_and_exclusively(lock: ShareLock, flock_path: Path) -> None:
    import fcntl

    from anyvenv.fs.lock import _still_named

    assert lock._machine_fd is not None and _still_named(lock._machine_fd, str(flock_path))
    other = os.open(flock_path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(other)


def test_a_taker_that_opened_the_file_before_a_sweep_removed_it_opens_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep comes between the taker's open of the stale file and its flock: the taker
    gets the flock of a removed file, sees that, and takes the one its path names."""
    import anyvenv.fs.lock as lock_module

    stale = _killed_holder_of(tmp_path)
    opened = lock_module._open_flock_file
    swept: list[int] = []

    def open_then_sweep(path: str) -> int:
        fd = opened(path)
        if path == str(stale) and not swept:
            swept.append(lock_module.sweep_machine_flocks([str(tmp_path)]))
        return fd

    monkeypatch.setattr(lock_module, "_open_flock_file", open_then_sweep)
    lock = ShareLock(
        tmp_path / "env.anyvenv.lock", timeout=10, poll=0.01,
        machine_lock=lambda: str(stale).removesuffix(".flock"),
    )  # fmt: skip
    with lock:
        assert swept == [1]
        _assert_held_by_name_and_exclusively(lock, stale)
    assert not stale.exists()


def test_a_taker_waiting_while_a_sweep_holds_the_file_takes_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep holds the stale file's flock (it has checked nothing yet) when a taker opens
    that file and is refused; the sweep removes it and lets go; the taker, once it has the
    flock of the removed file, opens its path again and holds the new file."""
    import threading

    import anyvenv.fs.lock as lock_module

    stale = _killed_holder_of(tmp_path)
    lock = ShareLock(
        tmp_path / "env.anyvenv.lock", timeout=10, poll=0.01,
        machine_lock=lambda: str(stale).removesuffix(".flock"),
    )  # fmt: skip
    refused = threading.Event()

    def told_of_a_wait(who: object, of_file: bool = False) -> None:
        if not of_file:  # (the taker's wait at the flock)
            refused.set()

    monkeypatch.setattr(lock, "_tell_wait", told_of_a_wait)
    taker = threading.Thread(target=lock.acquire)
    still_named = lock_module._still_named
    calls: list[str] = []

    def taker_comes_first(fd: int, path: str) -> bool:
        calls.append(path)
        if len(calls) == 1:  # the sweep's: it holds the flock; the taker opens, is refused
            taker.start()
            assert refused.wait(10)
        return still_named(fd, path)

    monkeypatch.setattr(lock_module, "_still_named", taker_comes_first)
    assert lock_module.sweep_machine_flocks([str(tmp_path)]) == 1
    taker.join(10)
    assert not taker.is_alive()
    try:
        assert calls.count(str(stale)) >= 3  # the sweep's; the taker's on the old; the new
        _assert_held_by_name_and_exclusively(lock, stale)
    finally:
        lock.release()
    assert not stale.exists()


def test_a_sweep_that_opened_a_file_let_go_since_leaves_the_next_holder_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the sweep's open and its flock, the holder lets go (removing the file) and the
    next taker makes the path anew and holds it: the sweep gets the flock of the removed file
    and must not remove the path, which names the new holder's."""
    import fcntl
    import types

    import anyvenv.fs.lock as lock_module

    flock_path = tmp_path / STALE

    def held_lock() -> ShareLock:
        lock = ShareLock(
            tmp_path / "env.anyvenv.lock", timeout=10, poll=0.01,
            machine_lock=lambda: str(flock_path).removesuffix(".flock"),
        )  # fmt: skip
        lock.acquire()
        return lock

    first = held_lock()
    taken: list[ShareLock] = []

    def flock(fd: int, operation: int) -> None:
        if not taken:  # the sweep's flock (the first one from here): before it, a turn
            taken.append(first)
            first.release()
            taken.append(held_lock())
        fcntl.flock(fd, operation)

    fake = types.SimpleNamespace(flock=flock, LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB,
                                 LOCK_UN=fcntl.LOCK_UN)  # fmt: skip
    monkeypatch.setattr(lock_module, "fcntl", fake)
    assert lock_module.sweep_machine_flocks([str(tmp_path)]) == 0
    try:
        _assert_held_by_name_and_exclusively(taken[1], flock_path)
    finally:
        taken[1].release()


# -- an env named with up to the 255 bytes a name may have ------------------------------------


def test_every_name_the_lock_of_an_env_makes_fits_whatever_the_env_s_name() -> None:
    """The lock file, its flock file, its breaker and their temp files (HOST-PID-RAND at its
    longest) of an env named with up to 255 bytes each fit in 255 bytes. A name that leaves
    room keeps the lock name it always had (envs made before keep their locks); a longer one
    is cut to its start and a checksum of the whole: the same each time, and apart from
    another long name's that starts alike."""
    from anyvenv.fs import LONGEST_LOCK_STEM, env_lock_path
    from anyvenv.fs.leftovers import LONGEST_TAG, TEMP_MARK, leftover_tag

    assert len(leftover_tag()) <= LONGEST_TAG
    for name in ("e" * 255, "\u00e9" * 127, "e" * 178, "e" * LONGEST_LOCK_STEM, ".venv"):
        lock = os.path.basename(env_lock_path(f"/d/{name}"))
        for made in (lock, f"{lock}.flock", f"{lock}.break{TEMP_MARK}{'h' * LONGEST_TAG}"):
            assert len(os.fsencode(made)) <= 255, (len(name), made)
    fits = "e" * LONGEST_LOCK_STEM
    assert env_lock_path(f"/d/{fits}") == f"/d/{fits}.anyvenv.lock"
    assert env_lock_path("/d/.venv") == "/d/.venv.anyvenv.lock"
    cut = env_lock_path(f"/d/{fits}x")
    assert cut == env_lock_path(f"/d/{fits}x") != env_lock_path(f"/d/{fits}y")
    assert cut.startswith(f"/d/{'e' * 168}~") and cut.endswith(".anyvenv.lock")


ENV_LOCK_WORKER = """
import sys, time
from anyvenv.fs.lock import env_lock
env, log, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(rounds):
    with env_lock(env, timeout=60):
        with open(log, "a") as f:
            f.write(f"in {sys.argv[4]}\\n")
        time.sleep(0.05)
        with open(log, "a") as f:
            f.write(f"out {sys.argv[4]}\\n")
"""


@pytest.mark.parametrize("lab_kind", ["local", "fat"])
def test_two_processes_take_turns_at_the_lock_of_an_env_named_with_250_bytes(
    target: Path, tmp_path: Path
) -> None:
    """Its lock's names fit (fusefat refuses a longer name with EPERM, a local disk with
    ENAMETOOLONG): two processes exclude each other, venv and repair take it (not go on
    without it), and nothing is left."""
    env = target / ("e" * 250)
    taken = try_env_lock(env)
    assert taken is not None
    taken.release()
    log = tmp_path / "log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ENV_LOCK_WORKER, str(env), str(log), "3", str(worker)],
            env=cli_env(),
        )
        for worker in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    _assert_never_overlapping(log.read_text().splitlines(), 2 * 3)
    assert os.listdir(target) == []


@needs_pythons
@pytest.mark.parametrize("lab_kind", ["local", "fat"])
def test_an_env_named_with_250_bytes_is_made_installed_into_and_synced(
    target: Path, index: Path, tmp_path: Path
) -> None:
    """venv, pip install and sync of an env whose name leaves no room for the lock's suffixes
    (uv works there): each takes the env's lock and leaves nothing but the env."""
    environ = project_environ(tmp_path / "home")
    env = target / ("e" * 250)
    made = anyvenv("venv", str(env), "--python", str(PY_MAIN), cwd=target, env=environ)
    assert made.returncode == 0, made.stderr
    wheel = greeter_wheel(tmp_path)
    installed = anyvenv("pip", "install", "--python", str(env), str(wheel), cwd=target, env=environ)
    assert installed.returncode == 0, installed.stderr
    project = write_project(target / "demo")
    synced_env = {**environ, "UV_PROJECT_ENVIRONMENT": str(target / ("s" * 250))}
    synced = anyvenv("sync", *index_args(index), cwd=project, env=synced_env)
    assert synced.returncode == 0, synced.stderr
    alpha_says_hi(project, synced_env)
    assert sorted(os.listdir(target)) == ["demo", "e" * 250, "s" * 250]
    assert sorted(os.listdir(project)) == [".python-version", "pyproject.toml", "uv.lock"]


def test_another_users_flock_file_this_user_cannot_open_is_said_as_theirs(
    nobody_scratch: Path,
) -> None:
    """A lock's flock file another user left 0600 (killed before its mode was set, or planted)
    in a directory this user may not write: not "the directory must be writable" (/tmp is),
    but whose the file is, and who may remove it."""
    from support import run_python_as_nobody

    flock = nobody_scratch / "x.lock.flock"
    flock.write_bytes(b"")
    os.chmod(flock, 0o600)
    code = (
        "import sys\n"
        "from anyvenv.fs.lock import ShareLock\n"
        "try:\n"
        "    ShareLock(sys.argv[1], timeout=1).acquire()\n"
        "except Exception as exc:\n"
        "    print(exc.one_line())\n"
    )
    proc = run_python_as_nobody("-c", code, str(nobody_scratch / "x.lock"))
    assert proc.stdout == (
        f"cannot take the lock {flock}: Permission denied (EACCES); it is not yours to open "
        "(owned by root, mode 0600): its owner or root may remove it\n"
    ), proc.stderr


def test_a_lock_name_longer_than_its_filesystem_takes_says_to_shorten_the_name(
    tmp_path: Path,
) -> None:
    """ENAMETOOLONG of a lock's own name (eCryptfs takes 143 bytes, where the cut keeps 177):
    the fix is a shorter name, with its length and the filesystem's limit, not a shorter
    path."""
    import errno

    from anyvenv.fs.lock import _lock_fix

    where = str(tmp_path / ("n" * 300))
    error = OSError(errno.ENAMETOOLONG, "File name too long", where)
    assert _lock_fix(error, where) == (
        "its name is 300 bytes, and the filesystem takes 255: use a shorter name"
    )


def test_a_holder_is_described_by_its_host_without_the_boot_id() -> None:
    """This machine's lock says so; another boot of a host of this name is told apart from
    this one; an older release's lock, which names no boot, is named by its host alone."""
    from anyvenv.fs.lock import Holder

    me = current_holder()
    name = me.host.rpartition("#")[0]
    assert Holder(me.host, 42, "", "t").describe() == "pid 42 on this machine"
    assert Holder(f"{name}#another-boot", 42, "", "t").describe() == (
        f"pid 42 on {name} (another boot of this machine, or another machine of that name)"
    )
    assert Holder(name, 42, "", "t").describe() == f"pid 42 on {name}"
    assert Holder("elsewhere#b", 42, "", "t", uid=os.getuid() + 1).describe() == (
        f"pid 42 of uid {os.getuid() + 1} on elsewhere"
    )


def _boot_time() -> int:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    raise AssertionError("no btime in /proc/stat")


@needs_pythons
def test_an_empty_lock_file_from_before_this_boot_is_taken_at_once(
    index: Path, tmp_path: Path
) -> None:
    """A crash kept the lock file's name, not its bytes: a sync after the reboot waited the
    whole grace period (30 s) for "another process". No process of this boot made it: taken
    at once."""
    environ = project_environ(tmp_path / "home")
    project = write_project(tmp_path / "demo")
    assert anyvenv("sync", *index_args(index), cwd=project, env=environ).returncode == 0
    lock_path = project / ".venv.anyvenv.lock"
    lock_path.write_bytes(b"")
    before_boot = _boot_time() - 3600
    os.utime(lock_path, (before_boot, before_boot))
    started = time.monotonic()
    synced = anyvenv("sync", *index_args(index), cwd=project, env=environ)
    assert synced.returncode == 0, synced.stderr
    assert time.monotonic() - started < 10, synced.stderr
    assert not lock_path.exists()
    alpha_says_hi(project, environ)


def test_an_empty_lock_file_of_this_boot_keeps_its_grace_period_on_local_disk(
    tmp_path: Path,
) -> None:
    """One made since the boot may be being written right now: it is not taken at once."""
    lock_path = tmp_path / "x.lock"
    lock_path.write_bytes(b"")
    with pytest.raises(LockTimeout):
        ShareLock(lock_path, timeout=0.3, poll=0.02, unreadable_grace=30).acquire()
    assert lock_path.read_bytes() == b""


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_an_empty_lock_file_on_a_share_keeps_its_grace_period_whatever_its_time(
    target: Path,
) -> None:
    """On a share the server's clock stamps it, and another machine may be writing it: its
    time says nothing about this boot's processes."""
    lock_path = target / "x.lock"
    lock_path.write_bytes(b"")
    before_boot = _boot_time() - 3600
    os.utime(lock_path, (before_boot, before_boot))
    with pytest.raises(LockTimeout):
        ShareLock(lock_path, timeout=0.3, poll=0.02, unreadable_grace=30).acquire()
    assert lock_path.read_bytes() == b""


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like", "exfat"])
def test_the_holder_file_is_on_disk_before_it_is_linked_into_place_on_a_share(
    lab_kind: str, target: Path
) -> None:
    """On a share, fsync of the holder's temp file before the link (strace: the order of the
    calls), or, where hard links fail (exFAT), of the lock file once written. Beside a local
    flock, none: a lock file a crash emptied there is stale at once (it predates the boot),
    and every venv and sync would pay for it."""
    lock = target / "x.lock"
    code = "import sys; from anyvenv.fs.lock import ShareLock\n"
    code += "with ShareLock(sys.argv[1], timeout=5): pass\n"
    calls = traced_calls([sys.executable, "-c", code, str(lock)], "fsync,link")
    linked = next(i for i, call in enumerate(calls) if call.startswith("link("))
    synced = [call for call in calls[:linked] if call.startswith("fsync(") and "x.lock" in call]
    assert len(synced) == (0 if lab_kind == "local" else 1), calls
    if lab_kind == "exfat":  # (the link failed: the lock file made, written, then synced)
        assert calls[linked].endswith("EPERM (Operation not permitted)"), calls
        assert any(call.startswith("fsync(") and f"<{lock}>" in call for call in calls), calls
