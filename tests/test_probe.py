"""anyvenv's probe against every mount of the lab: the expected value per filesystem and fault mode."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from anyvenv.errors import AnyvenvError, UsageError
from anyvenv.fs.outcome import OK
from anyvenv.fs.probe import (
    CHECKS,
    PROBE_DIR_PREFIX,
    ProbeResult,
    _measure,
    clear_cache,
    probe,
    settle_started,
    start_probe,
)
from anyvenv.record import replace
from lab import ALL_KINDS, Lab, LabMount
from support import (
    ANYVENV,
    can_run_as_nobody,
    cli_env,
    entry_names,
    on_rclone_remote,
    one_line_error,
    run_cli,
    run_cli_as_nobody,
)


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_probe_matches_the_measured_filesystem(lab: Lab, lab_kind: str, target: Path) -> None:
    mount = lab.mount(lab_kind)
    clear_cache()
    result = probe(target, use_cache=False)
    checked = {key: value for key, value in mount.expect.items() if key in CHECKS}
    assert checked, "the lab gives expectations for the probe's checks"
    assert {key: result.checks()[key] for key in checked} == checked
    assert result.can_execute is mount.can_execute
    if lab_kind != "local":
        assert result.fstype == mount.fstype
        assert result.mount_point == str(mount.root)
    assert entry_names(target) == [], "the probe cleans up after itself"


def test_a_probe_started_of_one_directory_answers_for_another_of_its_mount(lab: Lab) -> None:
    """A sync starts the probe of its env's place before it knows the directory the env's
    placement will ask about (the nearest existing one): a probe of another directory of
    the same mount takes the started probe's answer (answers are the mount's, as cached ones
    are) instead of probing again."""
    target = lab.target("faultfs:cifs-like")
    other = target / "other"
    other.mkdir()
    before = os.stat(other).st_mtime_ns
    start_probe(target)
    result = probe(other)
    settle_started()
    assert result.path == str(other) and result.fstype == "fuse.faultfs"
    assert os.stat(other).st_mtime_ns == before, "no probe was made in it"
    assert entry_names(target) == ["other"]


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_checks_made_at_once_find_what_checks_made_in_turn(target: Path) -> None:
    """Off a local disk the probe makes the checks that need nothing of each other at once
    (each chain in a directory of its own: a far share answers them together); what it finds
    is what the same checks made one after the other find, on every kind of the lab."""
    at_once, left = _measure(str(target), parallel=True)
    in_turn, _ = _measure(str(target), parallel=False)
    assert left is None and set(at_once) == set(CHECKS)
    assert at_once == in_turn
    assert entry_names(target) == []


@pytest.mark.parametrize("lab_kind", ["rclone"])
def test_the_probe_leaves_nothing_on_an_rclone_remote(lab_mount: LabMount, target: Path) -> None:
    """The probe's renamed directory is renamed back before it is removed: removed under its
    new name, rclone 1.60 brought it back on the remote once it uploaded its file (its bug
    #6809), a .anyvenv-probe-* directory left there for good."""
    clear_cache()
    probe(target, use_cache=False)
    assert on_rclone_remote(lab_mount, target) == []


def test_directories_are_never_renamed_on_rclone_whatever_was_measured() -> None:
    works = ProbeResult(
        path="/x", mount_point="/", fstype="ext4", mount_options=(), **dict.fromkeys(CHECKS, OK)
    )
    assert works.renames_trees
    rclone = replace(works, fstype="fuse.rclone")  # (--vfs-cache-mode off: read back at once)
    assert not rclone.renames_trees
    assert "directories are never renamed on fuse.rclone: move files" in rclone.verdict()


@pytest.mark.parametrize(
    ("lab_kind", "verdict_start"),
    [
        ("local", "symlinks work"),
        ("faultfs:symlink-eopnotsupp", "copy the interpreter: symlinks fail (EOPNOTSUPP)"),
        (
            "faultfs:readlink-eacces",
            "copy the interpreter: symlinks are created but cannot be read back (EACCES)",
        ),
        ("sshfs", "copy the interpreter: symlinks are created but cannot be read back (EPERM)"),
        ("faultfs:mode-0644", "nothing can be executed here (exec: EACCES)"),
        ("fat", "copy the interpreter: symlinks fail (ENOSYS)"),
    ],
)
def test_verdict_says_what_an_environment_needs(target: Path, verdict_start: str) -> None:
    assert probe(target, use_cache=False).verdict().startswith(verdict_start)


def test_fat_verdict_mentions_chmod(lab: Lab) -> None:
    verdict = probe(lab.target("fat"), use_cache=False).verdict()
    assert "chmod fails (ENOSYS)" in verdict


def test_smb_verdict_says_what_uv_cannot_write(lab: Lab) -> None:
    result = probe(lab.target("smb"), use_cache=False)
    assert "a file held open cannot be renamed (EBUSY): uv's writes fail" in result.verdict()
    assert result.rewrites == "none"
    assert result.why_rewrites_fail == "a file held open cannot be renamed (EBUSY)"


def test_cli_json_reports_every_check(lab: Lab) -> None:
    target = lab.target("faultfs:cifs-like")
    proc = run_cli("probe", str(target), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["symlink_create"] == "EOPNOTSUPP"
    assert data["chmod"] == "no"
    assert data["fstype"] == "fuse.faultfs"
    assert set(CHECKS) <= set(data)
    assert data["verdict"].startswith("copy the interpreter")


def test_cli_text_defaults_to_the_current_directory(tmp_path: Path) -> None:
    proc = run_cli("probe", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{tmp_path}: ")
    assert "verdict: symlinks work" in proc.stdout


def test_probe_is_cached_per_filesystem(tmp_path: Path) -> None:
    clear_cache()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = probe(tmp_path / "a")
    again = probe(tmp_path / "b")
    assert again.path == str(tmp_path / "b")  # about the directory asked for
    assert replace(again, path=first.path) == first  # not measured again: the same answers
    assert probe(tmp_path / "b", use_cache=False).seconds != first.seconds


def test_a_bind_mount_with_other_options_is_probed_for_itself(tmp_path: Path) -> None:
    """A noexec bind mount shares its filesystem's device number: its answers are its own,
    before and after the filesystem's are cached."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to make a bind mount")
    (tmp_path / "plain").mkdir()
    (tmp_path / "noexec").mkdir()
    subprocess.run(
        ["mount", "--bind", str(tmp_path / "plain"), str(tmp_path / "noexec")], check=True
    )
    try:
        subprocess.run(["mount", "-o", "remount,bind,noexec", str(tmp_path / "noexec")], check=True)
        clear_cache()
        assert probe(tmp_path / "plain").exec == "ok"
        assert probe(tmp_path / "noexec").exec != "ok"
        clear_cache()
        assert probe(tmp_path / "noexec").exec != "ok"
        assert probe(tmp_path / "plain").exec == "ok"
    finally:
        subprocess.run(["umount", str(tmp_path / "noexec")], check=True)


def test_probe_never_follows_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    result = probe(work, use_cache=False)
    assert result.excl_create == "ok"
    assert list(victim.iterdir()) == []
    assert not [p for p in work.iterdir() if p.name.startswith(PROBE_DIR_PREFIX)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist; pass an existing directory"),
        (
            lambda p: (p / "file").write_text("x") and p / "file",
            "is not a directory; pass a directory",
        ),
    ],
)
def test_bad_directory_is_a_usage_error(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    proc = run_cli("probe", str(path))
    assert proc.returncode == 2
    assert message in one_line_error(proc)
    with pytest.raises(UsageError):
        probe(path)


def test_a_path_with_a_nul_is_a_usage_error_as_create_says_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="the path to probe contains a NUL character"):
        probe(f"{tmp_path}/a\0b")
    with pytest.raises(UsageError, match="NUL"):
        probe(os.fsencode(tmp_path) + b"/a\0b")


def test_a_program_passing_bytes_paths_type_checks(tmp_path: Path) -> None:
    """The API takes ``str``, ``bytes`` or ``os.PathLike`` paths (README): so do its types,
    for a user's mypy."""
    program = tmp_path / "user.py"
    program.write_text(
        "import os\nimport anyvenv\n\n"
        "def made(place: bytes) -> str:\n"
        "    anyvenv.probe(place)\n"
        "    return anyvenv.create(os.path.join(place, b'env')).path\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout


def test_read_only_mount_is_a_usage_error(lab: Lab) -> None:
    target = lab.readonly_target()
    proc = run_cli("probe", str(target))
    assert proc.returncode == 2, proc.stderr
    assert "read-only" in proc.stderr and "Traceback" not in proc.stderr
    assert entry_names(target) == []


def test_directory_not_writable_by_the_user_is_a_usage_error(tmp_path: Path) -> None:
    if not can_run_as_nobody():
        pytest.skip("needs root, setpriv and /usr/bin/python3 to run as another user")
    locked = Path(tempfile.mkdtemp(prefix="anyvenv-locked-", dir="/tmp"))
    os.chmod(locked, 0o755)
    try:
        proc = run_cli_as_nobody("probe", str(locked))
        assert proc.returncode == 2, proc.stderr
        assert "not writable by you" in one_line_error(proc)
        assert os.listdir(locked) == []
    finally:
        locked.rmdir()


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like", "sshfs"])
def test_a_probe_started_early_gives_what_a_probe_gives(lab: Lab, lab_kind: str) -> None:
    target = lab.target(lab_kind)
    start_probe(target)
    early = probe(target)
    settle_started()
    assert entry_names(target) == [], "what the probe made is removed"
    clear_cache()
    assert early.checks() == probe(target, use_cache=False).checks()
    assert entry_names(target) == [], "the probe cleans up after itself"


def test_a_probe_started_early_answers_before_its_scratch_is_removed(lab: Lab) -> None:
    """On a share each removal is a round trip: the started probe answers first and removes
    its scratch directory while the caller goes on (on a far share, 20 ms a call, that takes
    a second), and it is gone once the caller has settled its probes."""
    target = lab.target("faultfs:slow-20ms")
    start_probe(target)
    probe(target)
    (left,) = os.listdir(target)  # (being removed: the round trips of a far share)
    assert left.startswith(PROBE_DIR_PREFIX)
    settle_started()
    assert entry_names(target) == []


def test_a_probe_nobody_took_is_settled_before_exit(lab: Lab) -> None:
    """``anyvenv venv`` starts the probe of the target's directory before it has looked for
    the interpreter: when that fails, the probe must still be over, and gone, at exit."""
    target = lab.target("faultfs:cifs-like")
    proc = run_cli("venv", str(target / "env"), "--python", str(target / "no-python"))
    assert proc.returncode != 0
    assert "no interpreter" in one_line_error(proc)
    assert entry_names(target) == []


def test_a_directory_where_nothing_can_be_made_is_one_line(tmp_path: Path) -> None:
    """Under /proc (ENOENT) it is the request's fault: exit 2; a full filesystem (ENOSPC):
    exit 1; neither is a traceback, from probe, doctor or python install."""
    for args in (["probe", "/proc"], ["doctor", "/proc/self/fd"]):
        proc = run_cli(*args)
        assert proc.returncode == 2 and "ENOENT" in one_line_error(proc), proc.stderr
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,nr_inodes=4", "t", full])
    assert mounted.returncode == 0, "needs root, as CI runs"
    try:
        for name in "abc":  # the inodes left
            try:
                (full / name).touch()
            except OSError:
                break
        for args in (["probe", str(full)], ["doctor", str(full)]):
            proc = run_cli(*args)
            assert proc.returncode == 1 and "ENOSPC" in one_line_error(proc), proc.stderr
    finally:
        subprocess.run(["umount", "-l", str(full)], check=False)


def _probe_error_after_first_file(
    directory: Path, monkeypatch: pytest.MonkeyPatch, check: str, error: OSError
) -> str:
    """The one line of the error a probe of ``directory`` stops with where its ``check``
    (made after its first file) fails with ``error``; checked not to be a usage error."""
    import anyvenv.fs.probe as probe_module
    from anyvenv.errors import AnyvenvError

    def failing(path: str) -> object:
        raise OSError(error.errno, error.strerror, path)

    monkeypatch.setattr(probe_module, check, failing)
    clear_cache()
    with pytest.raises(AnyvenvError) as caught:
        probe(directory, use_cache=False)
    assert not isinstance(caught.value, UsageError)
    return caught.value.one_line()


def test_a_call_failing_after_a_file_was_made_is_not_taken_for_a_refusal_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EPERM from a check made after the probe's first file (rclone without its VFS cache
    failed the close of the lock check's file so) is the filesystem failing a call, not the
    directory refusing to be written: it said "you may not write to it", exit 2."""
    refused = PermissionError(errno.EPERM, "Operation not permitted")
    assert _probe_error_after_first_file(tmp_path, monkeypatch, "_check_locks", refused) == (
        f"cannot probe {tmp_path}: a file was made there, then Operation not permitted "
        "(EPERM); the filesystem fails a call an environment needs: create it on another "
        "filesystem"
    )
    assert entry_names(tmp_path) == []


def test_a_quota_reached_after_the_first_file_says_to_free_space_not_an_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EDQUOT from a check made after the first file (a quota, as ENOSPC a full disk) says
    nothing of the filesystem: the probe stops with the fix to free space, not a verdict
    with a check answered "EDQUOT"; and leaves nothing."""
    over_quota = OSError(errno.EDQUOT, "Disk quota exceeded")
    check = "_check_case_sensitive"
    assert _probe_error_after_first_file(tmp_path, monkeypatch, check, over_quota) == (
        f"cannot probe {tmp_path}: a file was made there, then Disk quota exceeded (EDQUOT); "
        "free space on that filesystem"
    )
    assert entry_names(tmp_path) == []


def fill_leaving_one_page(directory: Path) -> None:
    """Fill the tmpfs ``directory`` is on, then free one page: room for one small file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    os.truncate(filler, filler.stat().st_size // 4096 * 4096 - 4096)


def test_a_probe_that_runs_out_of_room_after_its_first_file_says_to_free_space(lab: Lab) -> None:
    """A filesystem with room for the probe's first file, not for the next: the hint is the
    one a probe that could not make its first file gives (free space), not "the filesystem
    fails a call"; exit 1, one line, with ``--json`` too."""
    target = lab.small_target(size_kib=256)
    fill_leaving_one_page(target)
    for extra in ([], ["--json"]):
        proc = run_cli("probe", str(target), *extra)
        assert proc.returncode == 1 and proc.stdout == "", (proc.stdout, proc.stderr)
        assert one_line_error(proc) == (
            f"anyvenv: error: cannot probe {target}: a file was made there, then No space "
            "left on device (ENOSPC); free space on that filesystem"
        )
    assert entry_names(target) == ["filler"]


@pytest.mark.parametrize("limit", [10, 20, 30])
def test_a_file_size_limit_stops_the_probe_with_its_fix_not_a_verdict(
    tmp_path: Path, limit: int
) -> None:
    """``ulimit -f`` of a few bytes: each of the probe's writes is cut short (EFBIG). That
    says nothing of the filesystem ("exec: EFBIG" read as "nothing can be executed here",
    and would have put an env elsewhere): the probe stops, exit 1, with the limit's fix,
    before or after its first file, and leaves nothing."""
    import resource

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [*ANYVENV, "probe", str(tmp_path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=cli_env(),
        preexec_fn=limited,
    )
    assert proc.returncode == 1 and proc.stdout == "", (proc.stdout, proc.stderr)
    said = one_line_error(proc)
    assert said.startswith(f"anyvenv: error: cannot probe {tmp_path}: "), said
    assert said.endswith(
        "File too large (EFBIG); the file is larger than this process may write (ulimit -f) "
        "or than that filesystem takes (FAT: 4 GiB): raise the limit, or use another filesystem"
    ), said
    assert entry_names(tmp_path) == []


def test_a_second_interrupt_during_the_clean_up_still_removes_the_scratch_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C twice: the second lands while the probe removes its scratch directory; the
    clean-up is finished before the interrupt goes on (it was left in the project)."""
    import anyvenv.fs.probe as probe_module

    real_remove = probe_module.remove_tree_quietly
    calls: list[str] = []

    def interrupted_once(path: str) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt  # as if it landed at the start of the removal
        real_remove(path)

    monkeypatch.setattr(probe_module, "remove_tree_quietly", interrupted_once)
    clear_cache()
    with pytest.raises(KeyboardInterrupt):
        probe(tmp_path)
    assert len(calls) == 2 and [p for p in os.listdir(tmp_path) if p.startswith(".anyvenv")] == []


def test_the_probe_command_leaves_the_directorys_time(tmp_path: Path) -> None:
    """``anyvenv probe DIR`` measures there and leaves nothing, not even a changed mtime."""
    os.utime(tmp_path, ns=(10**18, 10**18))
    proc = run_cli("probe", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(tmp_path) == [] and os.stat(tmp_path).st_mtime_ns == 10**18


def test_probing_the_root_of_a_fat_volume_leaves_it_mounted(lab: Lab) -> None:
    """A FAT volume's root has no times: setting them back after the probe made fusefat
    crash (the volume gone: "Transport endpoint is not connected"). probe and doctor run
    there and leave it mounted and as it was."""
    root = lab.mount_special("fat-root").root
    for command in ("probe", "doctor"):
        proc = run_cli(command, str(root), "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)
        assert os.listdir(root) == [], command  # (a dead mount: ENOTCONN here)


def test_why_symlinks_are_not_used_names_each_errno() -> None:
    from anyvenv.fs.probe import CHECKS, ProbeResult
    from anyvenv.record import replace

    works = ProbeResult(
        path="/x", mount_point="/", fstype="ext4", mount_options=(), **dict.fromkeys(CHECKS, "ok")
    )
    assert works.why_no_symlinks == "" and not works.chmod_fails
    assert replace(works, symlink_create="EOPNOTSUPP").why_no_symlinks == (
        "symlinks fail (EOPNOTSUPP)"
    )
    unreadable = replace(works, symlink_relative="EACCES", symlink_absolute="no")
    assert unreadable.why_no_symlinks == (
        "symlinks are created but cannot be read back (relative: EACCES, absolute: no)"
    )
    assert replace(works, chmod="ENOSYS").chmod_fails and not replace(works, chmod="no").chmod_fails


@pytest.mark.parametrize(
    ("kind", "absolute"),
    [
        ("faultfs:absolute-symlink-eperm", "EPERM"),
        ("faultfs:absolute-readlink-rewritten", "no"),
    ],
)
def test_links_that_fail_only_when_absolute_are_not_trusted(
    lab: Lab, kind: str, absolute: str
) -> None:
    """Relative links work, absolute ones are refused or read back rewritten (as Debian's
    sshfs rewrites them): the interpreter link is absolute, so symlinks do not do, and the
    env made there runs."""
    from support import BASE

    target = lab.target(kind)
    clear_cache()
    result = probe(target, use_cache=False)
    assert result.checks()["symlink_relative"] == "ok"
    assert result.checks()["symlink_absolute"] == absolute
    assert not result.symlinks_work
    made = run_cli("venv", "--python", str(BASE), str(target / "env"))
    assert made.returncode == 0, made.stderr
    assert "interpreter: symlink" not in made.stderr, made.stderr
    ran = subprocess.run(
        [target / "env" / "bin" / "python", "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
    )
    assert ran.stdout.strip() == str(target / "env"), ran.stderr


def test_a_hard_link_that_is_a_copy_is_not_taken_for_one(lab: Lab) -> None:
    """link() that succeeds but makes a copy (a server emulating hard links): a write through
    one name is not seen through the other, so the probe says hard links do not work."""
    target = lab.target("faultfs:link-copies")
    clear_cache()
    result = probe(target, use_cache=False)
    assert result.checks()["hardlink"] == "no"
    assert not result.hardlinks_work
    assert entry_names(target) == []


def test_a_slow_share_is_probed_with_a_bound_on_each_step(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every operation answers, but slowly (a share far away): the probe's hundred or so
    operations take longer than the bound, and each step is well within it. The bound is
    on a step, so it is no hung mount; a mount that stops answering still is one."""
    from anyvenv.errors import MountNotAnswering
    from anyvenv.fs.leftovers import this_host

    slow = lab.target("faultfs:slow-20ms", "slow")
    for number in range(3):  # what killed probes left, cleared first: a step each
        left = slow / f"{PROBE_DIR_PREFIX}{this_host()}-99999{number}-abcdef"
        left.mkdir()
        for name in "abcde":
            (left / name).write_text("x")
    monkeypatch.setenv("ANYVENV_FS_TIMEOUT", "1")
    clear_cache()
    result = probe(slow)
    assert result.seconds > 1, result.seconds  # (the sum is over the bound)
    assert result.excl_create == OK and result.can_execute
    assert not [name for name in os.listdir(slow) if name.startswith(PROBE_DIR_PREFIX)]
    clear_cache()
    hung = lab.hung_target()
    with lab.hung_watchdog(60), pytest.raises(MountNotAnswering, match="no reply within 1s"):
        probe(hung)


def test_a_cached_answer_on_a_share_costs_one_child(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a mount that is not local, a second probe of the same filesystem is answered from
    the cache after one bounded child (the directory validated and its device read), not
    two, nor the probe's own."""
    first = lab.target("faultfs:passthrough", "cached-a")
    second = lab.target("faultfs:passthrough", "cached-b")
    clear_cache()
    measured = probe(first)
    real_fork = os.fork
    forks: list[int] = []

    def counted() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counted)
    again = probe(second)
    monkeypatch.undo()
    assert len(forks) == 1
    assert again == replace(measured, path=str(second))


def test_only_writes_measured_lost_refuse_an_env() -> None:
    """``reopen_write`` "no" (the bytes were lost: rclone without its cache) keeps envs off
    the filesystem; a write that failed outright there (EIO once a share breaks, ENOSPC) is
    met by what writes next, and said as it is."""
    works = ProbeResult(
        path="/x", mount_point="/", fstype="ext4", mount_options=(), **dict.fromkeys(CHECKS, OK)
    )
    assert not replace(works, reopen_write="no").keeps_reopened_writes
    for failed in ("EIO", "ENOSPC"):
        assert replace(works, reopen_write=failed).keeps_reopened_writes


def test_what_a_started_probe_does_after_its_answer_is_done_when_its_caller_is_gone(
    tmp_path: Path,
) -> None:
    """A started probe's child removes its scratch directory after answering: where the
    caller stopped before the answer (a Ctrl-C while the probe looks at the directory), the
    answer cannot be written, and the removal is still made."""
    from anyvenv.fs.bounded import after_answer, start_bounded

    made, measured = tmp_path / "scratch", tmp_path / "measured"

    def measure() -> int:
        made.mkdir()
        measured.touch()
        after_answer(made.rmdir)
        time.sleep(0.3)  # (meanwhile the caller is gone)
        return 1

    call = start_bounded(measure, what="probe", where=str(tmp_path), finishing=True)
    os.close(call.read_fd)  # the caller's end of the pipe, as its exit closes it
    os.waitpid(call.pid, 0)  # (the child, answering nobody)
    assert measured.exists() and not made.exists()


def test_a_started_probe_that_meets_an_error_part_way_says_it_and_leaves_nothing(
    lab: Lab,
) -> None:
    """Checks made at once: an error one of them meets (EIO once the mount's writes are
    spent) is the probe's, as one made in turn says it, and its scratch directory goes."""
    directory, set_budget = lab.eio_target()
    set_budget(2)  # (the probe's first two files: then every chain's writes fail)
    try:
        start_probe(directory)
        with pytest.raises(AnyvenvError, match=r"a file was made there, then .*\(EIO\)"):
            probe(directory)
        settle_started()
    finally:
        set_budget(None)
    assert entry_names(directory) == []


def test_another_filesystem_mounted_where_one_was_is_measured_anew(tmp_path: Path) -> None:
    """A FUSE filesystem mounted where another was unmounted often gets its device number
    and mount id again (the kernel reuses them lowest first): a process that lives on (a
    library's host, an IDE) must not take the first one's answers for the second's, neither
    the probe's (symlinks work) nor a commit's (a renamed directory keeps its files), which
    would fail the next env's links, or commit it by a rename that loses its files."""
    from anyvenv.fs.atomic import directory_rename_keeps_contents
    from lab.core import TESTS_DIR
    from lab.mounts import start_mount_process

    mountpoint = tmp_path / "m"
    environ = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    seen = []
    for mode in ("passthrough", "cifs-like", "dir-rename-eio"):
        backing = tmp_path / f"backing-{mode}"
        backing.mkdir()
        command = [sys.executable, "-m", "lab.faultfs", backing, mountpoint, "--mode", mode]
        active = start_mount_process(command, mountpoint, tmp_path / f"{mode}.log", env=environ)
        try:
            result = probe(mountpoint)
            seen.append(
                (os.stat(mountpoint).st_dev, result.symlink_create == OK,
                 directory_rename_keeps_contents(mountpoint))
            )  # fmt: skip
        finally:
            active.unmount()
    assert len({device for device, _, _ in seen}) == 1, seen  # (what makes the case)
    assert [(links, keeps) for _, links, keeps in seen] == [
        (True, True),
        (False, True),  # cifs-like: no symlinks
        (True, False),  # a directory's rename fails
    ], seen
