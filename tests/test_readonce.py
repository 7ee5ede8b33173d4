"""The memo of a command's reads of the project's files (anyvenv.project.readonce): each file
read once while it is active, never across a run of uv, nothing kept past its block."""

from __future__ import annotations

import os
import sys
import threading
import time
import zlib
from pathlib import Path

from anyvenv.project import readonce
from anyvenv.project.inputs import entry_of, still_matches
from anyvenv.project.model import discover, read_pyproject
from anyvenv.project.readonce import FileMemo, read_bytes
from anyvenv.project.uvcall import run_uv

PYPROJECT = b'[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.10"\n'


def test_a_file_is_read_once_while_the_memo_is_active(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(PYPROJECT)
    memo = FileMemo()
    with memo.active():
        project = discover(tmp_path)
        for _ in range(3):
            assert read_pyproject(str(tmp_path / "pyproject.toml"))["project"]["name"] == "demo"
        assert not readonce.is_file(str(tmp_path / "uv.toml"))
        assert not readonce.is_file(str(tmp_path / "uv.toml"))
    assert project.name == "demo"
    assert memo.reads == 1
    assert readonce.current() is None  # (nothing active past the block)


def test_a_missing_file_is_remembered_as_missing_with_its_own_error(tmp_path: Path) -> None:
    memo = FileMemo()
    (tmp_path / "file").write_bytes(b"x")
    for path, error in [(tmp_path / "absent", FileNotFoundError),
                        (tmp_path / "file" / "below", NotADirectoryError)]:  # fmt: skip
        for _ in range(2):
            try:
                memo.read(str(path))
            except error:
                pass
            else:
                raise AssertionError(f"{path} read")
    assert memo.reads == 2


def test_without_an_active_memo_every_read_is_afresh(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"one")
    with FileMemo().active():
        assert read_bytes(str(path)) == b"one"
    path.write_bytes(b"two")
    assert read_bytes(str(path)) == b"two"


def test_a_run_of_uv_empties_the_active_memo(tmp_path: Path) -> None:
    """uv writes uv.lock (and, for add and remove, pyproject.toml): what was read before it
    ran is not served after it."""
    lock = tmp_path / "uv.lock"
    lock.write_bytes(b"version = 1\n")
    with FileMemo().active():
        assert read_bytes(str(lock)) == b"version = 1\n"
        writer = f"open({str(lock)!r}, 'wb').write(b'version = 2\\n')"
        assert run_uv([sys.executable, "-c", writer], dict(os.environ), str(tmp_path)) == 0
        assert read_bytes(str(lock)) == b"version = 2\n"


def test_the_fingerprint_takes_the_bytes_read_only_from_the_very_same_file(
    tmp_path: Path,
) -> None:
    """A racy input's content digest is taken from the bytes the command read when the file is
    still that one (device, inode, size, mtime, ctime); an edit since is read afresh and told
    by :meth:`FileMemo.changed` (the sync then leaves no record)."""
    path = tmp_path / "pyproject.toml"
    path.write_bytes(PYPROJECT)
    memo = FileMemo()
    with memo.active():
        assert read_bytes(str(path)) == PYPROJECT
        entry = entry_of(str(path), time.time_ns())  # (racy: just written)
        assert entry is not None and entry[3] == zlib.crc32(PYPROJECT)
        assert memo.reads == 1 and not memo.changed(str(path), entry)
        assert still_matches(str(path), entry) and memo.reads == 1
        edited = PYPROJECT.replace(b"0.1", b"0.2")
        path.write_bytes(edited)
        os.utime(path, ns=(entry[1] + 1_000_000, entry[1] + 1_000_000))
        now = entry_of(str(path), time.time_ns())
        assert now is not None and now[3] == zlib.crc32(edited)  # (read afresh)
        assert memo.changed(str(path), now)
        assert not still_matches(str(path), entry)
    gone = FileMemo()
    with gone.active():
        assert not readonce.is_file(str(tmp_path / "absent.toml"))
    assert gone.changed(str(tmp_path / "absent.toml"), (0, 0, 0, None))  # (it appeared)


def test_the_memo_is_the_calling_threads_own(tmp_path: Path) -> None:
    """A library caller's syncs in two threads do not share one (each thread reads its own)."""
    seen: list[FileMemo | None] = []
    with FileMemo().active():
        thread = threading.Thread(target=lambda: seen.append(readonce.current()))
        thread.start()
        thread.join()
        assert readonce.current() is not None
    assert seen == [None]


def test_blocks_nest(tmp_path: Path) -> None:
    outer, inner = FileMemo(), FileMemo()
    with outer.active():
        with inner.active():
            assert readonce.current() is inner
        assert readonce.current() is outer
    assert readonce.current() is None
