"""Whether a process still runs, as leftovers and lock files need it: a zombie does not."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_holders_below_a_directory_are_those_running_opening_or_mapping_its_files(
    tmp_path: Path,
) -> None:
    """A process whose program, open file or mapped file is below the directory holds it;
    one whose working directory alone is there does not (SMB renames that directory), nor
    one holding a file of a directory of the same name's prefix; nor this process itself."""
    from anyvenv.fs.processes import holders_below

    held = tmp_path / "env"
    (held / "bin").mkdir(parents=True)
    shutil.copy2("/bin/sleep", held / "bin" / "sleeper")
    (held / "data").write_bytes(b"x" * 4096)
    (tmp_path / "envy").mkdir()
    (tmp_path / "envy" / "data").write_bytes(b"y")
    mapper = (
        "import mmap, sys, time\n"
        "handle = open(sys.argv[1], 'rb')\n"
        "view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)\n"
        "handle.close()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    children = [
        subprocess.Popen([held / "bin" / "sleeper", "60"]),
        subprocess.Popen([sys.executable, "-c", mapper, held / "data"], stdout=subprocess.PIPE),
        subprocess.Popen([sys.executable, "-c", mapper, tmp_path / "envy" / "data"], stdout=subprocess.PIPE),
        subprocess.Popen(["/bin/sleep", "60"], cwd=held),
    ]  # fmt: skip
    own = open(held / "data", "rb")  # noqa: SIM115 (held while asked)
    try:
        for child in children[1:3]:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        found = holders_below(held)
        assert [pid for pid, _ in found] == sorted([children[0].pid, children[1].pid])
        assert dict(found)[children[0].pid] == "sleeper"
    finally:
        own.close()
        for child in children:
            child.kill()
            child.wait()
    assert holders_below(held) == []


def test_holders_by_path_names_each_held_file_with_its_holders(tmp_path: Path) -> None:
    """Of many files, those held, each with who holds it (a path through a link is given
    back as it was given); a file nobody holds is left out."""
    from anyvenv.fs.processes import holders_by_path

    files = [tmp_path / name for name in ("a", "b", "c")]
    for path in files:
        path.write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path)
    opener = "import sys; f = [open(p) for p in sys.argv[1:]]; print('ready', flush=True); sys.stdin.read()"
    both = subprocess.Popen(
        [sys.executable, "-c", opener, files[0], files[1]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    one = subprocess.Popen(
        [sys.executable, "-c", opener, files[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        for child in (both, one):
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        through_link = str(tmp_path / "link" / "a")
        found = holders_by_path([through_link, str(files[1]), str(files[2])])
        name = dict(found[through_link])[both.pid]
        assert found == {
            through_link: [(both.pid, name)],
            str(files[1]): sorted([(both.pid, name), (one.pid, name)]),
        }
    finally:
        for child in (both, one):
            child.communicate(b"")
    assert holders_by_path([str(path) for path in files]) == {}


@pytest.mark.parametrize("lab_kind", ["sshfs", "smb", "local"])
def test_a_refusal_is_said_to_be_a_program_in_use_only_where_files_in_use_stay(
    target: Path, lab_kind: str
) -> None:
    """A program holds a file of a directory whose rename was refused. On SMB a directory in
    use is not renamed (EACCES): the fix names the program. sshfs and a local disk rename
    it, so an EACCES there is about permission: no such fix (the permission one stays).
    EBUSY says "in use" anywhere."""
    from anyvenv.fs.outcome import held_tree_fix

    tree = target / "env"
    tree.mkdir()
    (tree / "data").write_text("x")
    holding = subprocess.Popen(
        [sys.executable, "-c", "import sys; f = open(sys.argv[1]); sys.stdin.readline()", tree / "data"],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/proc/{holding.pid}/fd/3"):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = PermissionError(errno.EACCES, "Permission denied", str(tree))
        said = held_tree_fix(refused, str(tree), "the old environment")
        if lab_kind == "smb":
            assert said is not None
            assert f"(process {holding.pid}) runs from the old environment" in said
        else:
            assert said is None
        busy = OSError(errno.EBUSY, "Device or resource busy", str(tree))
        assert f"(process {holding.pid})" in (held_tree_fix(busy, str(tree), "it") or "")
    finally:
        assert holding.stdin is not None
        holding.stdin.close()
        holding.wait()
    assert held_tree_fix(OSError(errno.EBUSY, "busy", str(tree)), str(tree), "it") is None


def test_a_library_loaded_and_its_file_closed_is_held_through_the_maps(tmp_path: Path) -> None:
    """dlopen closes the library's file once mapped: no fd shows it, only the maps do; a
    process that loaded a library below the directory holds it."""
    from anyvenv.fs.processes import holders_below

    lib = tmp_path / "env" / "lib" / "libz.so.1"
    lib.parent.mkdir(parents=True)
    shutil.copyfile(os.path.realpath("/lib/x86_64-linux-gnu/libz.so.1"), lib)
    loader = (
        "import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", loader, lib], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        fds = os.listdir(f"/proc/{child.pid}/fd")
        assert all(os.readlink(f"/proc/{child.pid}/fd/{fd}") != str(lib) for fd in fds)
        assert [pid for pid, _ in holders_below(tmp_path / "env")] == [child.pid]
    finally:
        child.communicate(b"")
    assert holders_below(tmp_path / "env") == []


def test_each_path_given_for_one_held_file_is_given_back(tmp_path: Path) -> None:
    """Two paths of one file (one through a link): both are in the answer, each with its
    holder."""
    from anyvenv.fs.processes import holders_by_path

    (tmp_path / "a").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path)
    opener = "import sys; f = open(sys.argv[1]); print('ready', flush=True); sys.stdin.read()"
    child = subprocess.Popen(
        [sys.executable, "-c", opener, tmp_path / "a"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        given = [str(tmp_path / "link" / "a"), str(tmp_path / "a")]
        found = holders_by_path(given)
        assert set(found) == set(given)
        assert all([pid for pid, _ in found[path]] == [child.pid] for path in given)
    finally:
        child.communicate(b"")


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (3, "a (process 1), a (process 2), a (process 3)"),
        (4, "a (process 1), a (process 2), a (process 3) and 1 more"),
    ],
)
def test_holders_named_counts_only_those_left_unnamed(count: int, said: str) -> None:
    from anyvenv.fs.processes import holders_named

    assert holders_named([(pid, "a") for pid in range(1, count + 1)]) == said
