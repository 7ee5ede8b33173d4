"""The lab itself: each mount really behaves as its ``expect`` table claims (raw os calls)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import lab
from lab import ALL_KINDS, PROBE_KEYS, Lab, LabMount, LabUnavailable, probe_all
from lab.core import reap_stale_labs
from lab.expect import EXPECT, FSTYPE
from lab.faults import MODES, NOBODY_ID, SPECIAL_MODES
from lab.mounts import abort_fuse_connection, mount_entry

pytestmark = pytest.mark.timeout(300)


def _create(path: Path, data: bytes = b"x", mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# -- the tables ------------------------------------------------------------
def test_every_kind_has_a_complete_expect_table() -> None:
    assert set(EXPECT) == set(ALL_KINDS)
    for kind, table in EXPECT.items():
        assert set(table) <= set(PROBE_KEYS), kind
        assert set(table.values()) <= {"ok", "no"} | set(errno.errorcode.values()) | {
            "EOPNOTSUPP"
        }, kind


def test_every_fault_mode_but_the_special_ones_is_a_kind() -> None:
    assert {f"faultfs:{mode}" for mode in MODES} - set(ALL_KINDS) == {
        f"faultfs:{mode}" for mode in SPECIAL_MODES
    }
    assert set(MODES) >= SPECIAL_MODES and "passthrough" not in SPECIAL_MODES
    assert "local" in ALL_KINDS


LINKS_OK = dict.fromkeys(
    ("symlink_create", "symlink_relative", "symlink_dotdot", "symlink_absolute", "hardlink"), "ok"
)
LINK_FAULTS = {  # special modes, measured by the lab's own probe, not anyvenv's
    "faultfs:absolute-symlink-eperm": {"symlink_absolute": "EPERM"},
    "faultfs:absolute-readlink-rewritten": {"symlink_absolute": "no"},
    "faultfs:link-copies": {"hardlink": "no"},
    "faultfs:link-eio": {"hardlink": "EIO"},
}


@pytest.mark.parametrize("kind", sorted(LINK_FAULTS))
def test_special_modes_that_break_one_kind_of_link(lab: Lab, kind: str) -> None:
    measured = probe_all(lab.target(kind), lab.outside_file())
    expected = {**LINKS_OK, **LINK_FAULTS[kind]}
    assert {key: measured[key] for key in expected} == expected


# -- every kind ------------------------------------------------------------
@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_mount_behaves_as_expected(lab: Lab, lab_mount: LabMount, target: Path) -> None:
    measured = probe_all(target, lab.outside_file())
    claimed = {key: measured[key] for key in lab_mount.expect}
    assert claimed == lab_mount.expect


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_mount_shows_its_fstype(lab_kind: str, lab_mount: LabMount) -> None:
    entry = mount_entry(lab_mount.root)
    if lab_kind == "local":
        assert entry is None  # a plain directory
        return
    assert entry is not None
    assert entry[0] == lab_mount.fstype == FSTYPE[lab_kind]
    if lab_kind.startswith("faultfs:"):
        assert entry[1] == "faultfs-" + lab_kind.removeprefix("faultfs:")


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_can_execute_matches_exec_probe(lab_mount: LabMount) -> None:
    assert lab_mount.can_execute == (lab_mount.expect["exec"] == "ok")


def test_lab_target_gives_a_fresh_empty_directory(lab_target: Path) -> None:
    assert lab_target.is_dir()
    assert list(lab_target.iterdir()) == []
    (lab_target / "file").write_text("x")
    assert (lab_target / "file").read_text() == "x"


def test_rclone_without_its_cache_empties_a_file_written_through_a_second_open(lab: Lab) -> None:
    """--vfs-cache-mode off: the first descriptor, closed last, is uploaded last (empty); an
    existing file opened for writing fails at its close (EPERM: the lab's lock checks)."""
    target = lab.special_target("rclone-off")
    assert mount_entry(lab.mount_special("rclone-off").root) == (
        "fuse.rclone",
        lab.mount_special("rclone-off").source,
    )
    measured = probe_all(target, lab.outside_file())
    assert (measured["reopen_write"], measured["flock"], measured["fcntl_lock"]) == (
        "no",
        "EPERM",
        "EPERM",
    )


# -- faultfs specifics -----------------------------------------------------
@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces"])
def test_readlink_eacces_shows_links_owned_by_nobody(target: Path) -> None:
    _create(target / "file")
    os.symlink("file", target / "link")
    info = os.lstat(target / "link")
    assert stat.S_ISLNK(info.st_mode)
    assert (info.st_uid, info.st_gid) == (NOBODY_ID, NOBODY_ID)
    with pytest.raises(PermissionError):
        os.stat(target / "link")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_chmod_ignored_keeps_the_mode_of_creation(target: Path) -> None:
    _create(target / "executable", mode=0o755)
    _create(target / "plain", mode=0o644)
    os.chmod(target / "executable", 0o600)
    os.chmod(target / "plain", 0o755)
    assert stat.S_IMODE(os.stat(target / "executable").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(target / "plain").st_mode) == 0o644


@pytest.mark.parametrize(
    ("lab_kind", "mode"), [("faultfs:mode-0755", 0o755), ("faultfs:mode-0644", 0o644)]
)
def test_fixed_modes_whatever_the_file_was_created_with(target: Path, mode: int) -> None:
    for created in (0o600, 0o644, 0o755):
        path = target / f"f{created:o}"
        _create(path, mode=created)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
        os.chmod(path, 0o700)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode


def test_noexec_target_refuses_execve(lab: Lab) -> None:
    script = lab.noexec_or_0644_target() / "script"
    _create(script, b"#!/bin/sh\nexit 0\n", mode=0o755)
    assert not os.access(script, os.X_OK)
    with pytest.raises(PermissionError):
        subprocess.run([str(script)], check=False)


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_faultfs_moves_large_files_intact(target: Path) -> None:
    data = os.urandom(8 * 1024 * 1024 + 123)
    (target / "big").write_bytes(data)
    assert hashlib.sha256((target / "big").read_bytes()).digest() == hashlib.sha256(data).digest()
    with open(target / "big", "r+b") as stream:
        stream.seek(5_000_000)
        stream.write(b"patched")
        stream.truncate(6_000_000)
    expected = data[:5_000_000] + b"patched" + data[5_000_007:6_000_000]
    assert (target / "big").read_bytes() == expected


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_faultfs_times_and_open_unlinked_files(target: Path) -> None:
    path = target / "file"
    _create(path)
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    assert os.stat(path).st_mtime_ns == 2_000_000_000
    os.utime(path)  # UTIME_NOW
    assert os.stat(path).st_mtime > 1_000_000_000
    with open(path, "rb") as stream:
        os.unlink(path)
        assert stream.read() == b"x"
        assert os.fstat(stream.fileno()).st_size == 1


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_faultfs_lists_directories_with_dot_entries(target: Path) -> None:
    (target / "sub").mkdir()
    _create(target / "file")
    os.symlink("file", target / "link")
    kinds = {entry.name: entry for entry in os.scandir(target)}
    assert sorted(kinds) == ["file", "link", "sub"]
    assert kinds["sub"].is_dir() and kinds["link"].is_symlink() and kinds["file"].is_file()
    listing = subprocess.run(["ls", "-a", str(target)], capture_output=True, text=True, check=True)
    assert listing.stdout.split() == [".", "..", "file", "link", "sub"]


def test_readonly_target_refuses_every_change(lab: Lab) -> None:
    directory = lab.readonly_target(lambda backing: (backing / "given").write_text("content"))
    assert (directory / "given").read_text() == "content"
    attempts: list[Callable[[], object]] = [
        lambda: (directory / "new").write_text("x"),
        lambda: (directory / "given").write_text("x"),
        lambda: (directory / "dir").mkdir(),
        lambda: os.unlink(directory / "given"),
        lambda: os.rename(directory / "given", directory / "renamed"),
        lambda: os.chmod(directory / "given", 0o600),
        lambda: os.symlink("given", directory / "link"),
    ]
    for attempt in attempts:
        with pytest.raises(OSError) as caught:
            attempt()
        assert caught.value.errno == errno.EROFS
    assert sorted(os.listdir(directory)) == ["given"]


_HANGING_SYMLINK = """
import os, sys
print("started", flush=True)
os.symlink("anything", sys.argv[1])
print("answered", flush=True)
"""


def test_hung_target_never_answers_symlink_until_unmounted(lab: Lab) -> None:
    directory = lab.hung_target()
    (directory / "file").write_text("other calls answer")
    assert (directory / "file").read_text() == "other calls answer"
    (directory / "sub").mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", _HANGING_SYMLINK, str(directory / "sub" / "link")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "started\n"
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=2)
    # the kernel holds "sub" locked while its symlink() is pending: list only its parent
    assert sorted(os.listdir(directory)) == ["file", "sub"]
    # the child is stuck in the kernel until the lab unmounts the mount at the end


def test_eio_target_fails_writes_once_the_budget_is_spent(lab: Lab) -> None:
    directory, set_budget = lab.eio_target()
    set_budget(2)
    (directory / "one").write_bytes(b"1")
    (directory / "two").write_bytes(b"2")
    with pytest.raises(OSError) as caught:
        (directory / "three").write_bytes(b"3")
    assert caught.value.errno == errno.EIO
    assert (directory / "two").read_bytes() == b"2"
    set_budget(None)
    (directory / "three").write_bytes(b"3")
    assert (directory / "three").read_bytes() == b"3"


def test_abort_ends_a_hung_mount(lab: Lab) -> None:
    private = Lab()
    try:
        directory = private.hung_target()
        child = subprocess.Popen(
            [sys.executable, "-c", _HANGING_SYMLINK, str(directory / "l")],
            stdout=subprocess.DEVNULL,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=1)
        mountpoint = private.mount("faultfs:hang-symlink").root
        assert abort_fuse_connection(mountpoint)
        assert child.wait(timeout=30) != 0  # the pending symlink fails: not connected
    finally:
        private.close()
    assert mount_entry(mountpoint) is None


def test_the_hung_watchdog_frees_a_stuck_test_and_a_new_mount_follows(lab: Lab) -> None:
    private = Lab()
    try:
        with private.hung_watchdog(1.0) as fired:
            directory = private.hung_target()
            child = subprocess.Popen(
                [sys.executable, "-c", _HANGING_SYMLINK, str(directory / "l")],
                stdout=subprocess.DEVNULL,
            )
            assert child.wait(timeout=30) != 0  # freed by the abort: not connected
            assert fired.is_set()
        assert "aborted after a test hung for 1s" in private.status()["faultfs:hang-symlink"]
        with private.hung_watchdog(60.0) as quiet:  # a test that ends in time: no abort
            again = private.hung_target()
            (again / "file").write_text("answers")
        assert not quiet.is_set() and (again / "file").read_text() == "answers"
        status = private.status()["faultfs:hang-symlink"]
        assert status.startswith("mounted") and "again after the first was aborted" in status
    finally:
        private.close()


def test_a_hung_mount_is_renewed_before_hung_calls_take_all_its_threads(lab: Lab) -> None:
    """Each call that hangs keeps one of the FUSE server's threads for good (libfuse runs
    at most 10): the hung mount hands out a few targets, then a new one is mounted (the
    calls hanging on the old one fail then), so the calls earlier tests left hanging cannot
    leave a later test's calls unanswered."""
    from lab.core import HUNG_TARGETS_PER_MOUNT

    private = Lab()
    children: list[subprocess.Popen[bytes]] = []
    try:
        for number in range(2 * HUNG_TARGETS_PER_MOUNT + 1):  # (three mounts)
            directory = private.hung_target()
            for link in range(4):  # (as many hanging calls as a test may leave)
                (directory / f"d{link}").mkdir()  # (a pending symlink locks its directory)
                children.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _HANGING_SYMLINK, str(directory / f"d{link}/l")],
                        stdout=subprocess.DEVNULL,
                    )
                )
            time.sleep(0.3)
            # (in a child: once the server's threads are all taken, it hangs for good)
            write = "import sys; open(sys.argv[1], 'w').write('answers')"
            subprocess.run([sys.executable, "-c", write, directory / "file"], timeout=20)
            assert (directory / "file").read_text() == "answers", number
        renewed = children[: 4 * 2 * HUNG_TARGETS_PER_MOUNT]
        assert all(child.wait(timeout=30) != 0 for child in renewed)  # (their mounts went)
        assert all(child.poll() is None for child in children[len(renewed) :])
        status = private.status()["faultfs:hang-symlink"]
        assert "again after the first was renewed" in status
    finally:
        private.close()
        for child in children:
            assert child.wait(timeout=30) != 0  # freed when its mount went


def test_small_target_fills_up(lab: Lab) -> None:
    directory = lab.small_target(size_kib=1024)
    with pytest.raises(OSError) as caught, open(directory / "big", "wb") as stream:
        for _ in range(64):
            stream.write(b"\0" * 65536)
            stream.flush()
    assert caught.value.errno == errno.ENOSPC


@pytest.mark.parametrize(
    ("redirect_dir", "fuse"),
    [(False, False), (True, False), (False, True)],
    ids=["overlay", "overlay-redirect-dir", "fuse-overlayfs"],
)
def test_overlay_target_holds_its_lower_layer_whose_directories_rename_only_with_redirect_dir(
    lab: Lab, redirect_dir: bool, fuse: bool
) -> None:
    """What ``populate`` made is there, from the lower layer; renaming a directory of it
    fails with EXDEV (unless redirect_dir is on), one made since and a file rename."""
    seen: list[Path] = []

    def populate(directory: Path) -> None:
        seen.append(directory)
        (directory / "lower").mkdir()
        (directory / "lower" / "file").write_text("from the image")

    target = lab.overlay_target(populate, redirect_dir=redirect_dir, fuse=fuse)
    assert seen == [target]
    assert mount_entry(target.parent) is not None
    assert (target / "lower" / "file").read_text() == "from the image"
    (target / "upper").mkdir()
    os.rename(target / "upper", target / "upper2")
    os.rename(target / "lower" / "file", target / "lower" / "file2")
    if redirect_dir:
        os.rename(target / "lower", target / "lower2")
    else:
        with pytest.raises(OSError) as renamed:
            os.rename(target / "lower", target / "lower2")
        assert renamed.value.errno == errno.EXDEV


# -- sshfs -----------------------------------------------------------------
@pytest.mark.parametrize("cached", [True, False])
def test_sshfs_pair_shares_one_directory(lab: Lab, cached: bool) -> None:
    first, second = lab.sshfs_pair(cached=cached)
    assert first.root != second.root and first.source == second.source
    assert first.fstype == second.fstype == "fuse.sshfs"
    name = f"shared-{os.getpid()}"
    (first.root / name).write_text("from a")
    assert (second.root / name).read_text() == "from a"
    os.unlink(second.root / name)
    if not cached:  # with caches the first side may still see the name for a while
        assert not (first.root / name).exists()


def test_uncached_sshfs_pair_sees_changes_at_once(lab: Lab) -> None:
    first, second = lab.sshfs_pair(cached=False)
    name = f"changing-{os.getpid()}"
    (first.root / name).write_text("one")
    assert (second.root / name).read_text() == "one"
    assert os.listdir(second.root).count(name) == 1
    (first.root / name).write_text("two!")
    assert os.stat(second.root / name).st_size == 4
    assert (second.root / name).read_text() == "two!"
    os.unlink(first.root / name)
    assert name not in os.listdir(second.root)


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_sshfs_can_make_links_it_cannot_read(target: Path, lab: Lab) -> None:
    """Debian sshfs (contain_symlinks): the link is made, reading it back is refused."""
    os.symlink(str(lab.outside_file()), target / "absolute")
    assert os.path.lexists(target / "absolute")
    with pytest.raises(PermissionError):
        os.readlink(target / "absolute")


# -- the lab's own lifecycle -----------------------------------------------
def test_close_unmounts_and_removes_everything(lab: Lab) -> None:
    lab.mount("faultfs:passthrough")  # skips (or fails) here where this machine cannot mount
    private = Lab()
    try:
        mount = private.mount("faultfs:passthrough")
        base = private.base
        assert mount_entry(mount.root) is not None
        assert private.status()["faultfs:passthrough"].startswith("mounted")
    finally:
        private.close()
    assert mount_entry(mount.root) is None
    assert not base.exists()


_KILLED_LAB = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from lab import Lab
lab = Lab()
for kind in ("faultfs:passthrough", "exfat", "sshfs"):
    lab.mount(kind)
print(lab.base, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_labs_of_killed_sessions_are_reaped(lab: Lab) -> None:
    for kind in ("faultfs:passthrough", "exfat", "sshfs"):
        lab.mount(kind)  # skips (or fails) here where this machine cannot mount
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_LAB, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    stale = Path(killed.stdout.strip())
    assert mount_entry(stale / "mnt" / "faultfs-passthrough") is not None
    assert stale in reap_stale_labs()
    assert not stale.exists()
    assert str(stale) not in Path("/proc/self/mountinfo").read_text()
    assert (
        str(stale) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    )


def test_unknown_kind_is_reported_not_skipped() -> None:
    seen: list[tuple[str, LabUnavailable]] = []

    def record(kind: str, error: LabUnavailable) -> None:
        seen.append((kind, error))
        raise error

    private = Lab(on_unavailable=record)  # type: ignore[arg-type]
    try:
        for _ in range(2):  # the second time from the remembered failure
            with pytest.raises(LabUnavailable):
                private.mount("no-such-kind")
    finally:
        private.close()
    assert [(kind, error.environmental) for kind, error in seen] == [("no-such-kind", False)] * 2
    assert "no-such-kind not mounted" in private.summary()


def test_package_exports() -> None:
    assert lab.ALL_KINDS is ALL_KINDS


def test_dir_rename_eio_fails_the_rename_of_a_directory_only(lab: Lab) -> None:
    """faultfs:dir-rename-eio: a directory cannot be renamed (EIO); a file can."""
    target = lab.target("faultfs:dir-rename-eio")
    (target / "d").mkdir()
    (target / "f").write_bytes(b"x")
    with pytest.raises(OSError) as renamed:
        os.rename(target / "d", target / "e")
    assert renamed.value.errno == errno.EIO
    os.rename(target / "f", target / "g")
    assert sorted(os.listdir(target)) == ["d", "g"]
    assert probe_all(target, lab.outside_file())["dir_rename"] == "EIO"


def test_busy_while_open_refuses_to_remove_an_open_file_only(lab: Lab) -> None:
    """faultfs:busy-while-open, as SMB through libsmbclient: unlink and rename of a file
    that is open fail with EBUSY (no .fuse_hidden name), and work once it is closed."""
    target = lab.target("faultfs:busy-while-open")
    path = target / "f"
    path.write_bytes(b"x")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as unlinked:
            os.unlink(path)
        with pytest.raises(OSError) as renamed:
            os.rename(path, target / "g")
        assert unlinked.value.errno == renamed.value.errno == errno.EBUSY
        assert os.listdir(target) == ["f"]
    finally:
        os.close(fd)
    deadline = time.monotonic() + 5  # (the release reaches the daemon after close returns)
    while time.monotonic() < deadline:
        try:
            os.unlink(path)
            break
        except OSError:
            time.sleep(0.01)
    assert os.listdir(target) == []


def test_count_ops_records_each_round_trip_of_a_block_by_process(lab: Lab) -> None:
    """A faultfs mount records the operations it answers during ``lab.count_ops``: each
    lookup of an absent name is one getattr (the kernel keeps no negative entries), a listing
    is opendir and readdir, and each is the asking process's; nothing outside the block."""
    target = lab.target("faultfs:passthrough")
    (target / "sub").mkdir()
    os.path.lexists(target / "before")  # (outside any block: not recorded)
    with lab.count_ops("faultfs:passthrough") as trace:
        for number in range(5):
            assert not os.path.lexists(target / f"absent-{number}")
        assert os.listdir(target / "sub") == []
        child = subprocess.run(
            [sys.executable, "-c", f"import os; os.path.lexists({str(target / 'child')!r})"],
            check=True,
        )
    os.path.lexists(target / "after")
    assert child.returncode == 0
    mine = trace.select(pid=os.getpid())
    looked_up = [op.path for op in mine if op.name == "getattr"]
    assert [str(target / f"absent-{number}") for number in range(5)] == [
        path for path in looked_up if "absent-" in path
    ]
    assert trace.count("opendir", target / "sub", os.getpid()) == 1
    assert trace.count("readdir", target / "sub", os.getpid()) >= 1
    others = trace.select("getattr", target / "child")
    assert len(others) == 1 and others[0].pid != os.getpid()
    assert not trace.select(under=target / "before") and not trace.select(under=target / "after")
    with pytest.raises(ValueError), lab.count_ops("sshfs"):
        pass


def test_the_lab_sshd_runs_commands_with_a_home_of_its_own(lab: Lab) -> None:
    """sshd runs the sftp servers through root's shell, and bash sources ~/.bashrc for a
    command run by sshd: with the machine's home, its rc ran at every sshfs mount (here
    `pyenv init`, a rehash rewriting every pyenv shim while other tests ran them)."""
    lab.mount("sshfs")
    server = lab._ssh_server()
    options = [word for option in server.ssh_options() for word in ("-o", option)]
    done = subprocess.run(
        ["ssh", *options, "root@127.0.0.1", "echo $HOME"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(server.workdir / "home")
