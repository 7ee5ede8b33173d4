"""The pointer file: a project's declared env path naming the env that lives elsewhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from anyvenv.envbuild.pointerfile import is_pointer, pointer_reason, read_pointer, write_pointer
from anyvenv.errors import UsageError
from anyvenv.project.pointer import resolve_env
from support import traced_calls


def test_pointer_file_round_trip(tmp_path: Path) -> None:
    declared = str(tmp_path / ".venv")
    target = str(tmp_path / "elsewhere" / "env")
    write_pointer(declared, target)
    assert Path(declared).read_text() == f"{target}\n"  # (uv's redirect file: plain uv follows)
    assert read_pointer(declared) == target
    assert resolve_env(declared) == target
    assert resolve_env(str(tmp_path / "plain")) == str(tmp_path / "plain")


def test_pointer_files_of_earlier_releases_and_others_are_told_apart(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    earlier.write_text(
        "# anyvenv: this project's environment lives elsewhere\nanyvenv-pointer = 1\n"
        "env = /x/env\nreason = no file can be executed there\n"
    )
    assert read_pointer(str(earlier)) == "/x/env"
    assert pointer_reason(str(earlier)) == "no file can be executed there"
    for text in ("notes\n", "relative/env\n", "/a\n/b\n", ""):
        other = tmp_path / "other"
        other.write_text(text)
        assert not is_pointer(str(other)), text


def test_pointer_replaces_only_an_env(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write_pointer(str(venv), str(tmp_path / "x"))
    assert venv.is_file()
    precious = tmp_path / "data"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a virtual environment"):
        write_pointer(str(precious), str(tmp_path / "x"))
    other = tmp_path / "notes"
    other.write_text("mine")
    with pytest.raises(UsageError, match="not an anyvenv pointer"):
        write_pointer(str(other), str(tmp_path / "x"))
    assert (precious / "keep.txt").read_text() == other.read_text() == "mine"


def test_a_relative_redirect_is_followed_as_uv_follows_it(tmp_path: Path) -> None:
    """uv's ``.venv`` redirect may name the env relative to the file's directory; a line
    that leads to no env is no pointer (a stray file is never taken for one)."""
    env = tmp_path / "envs" / "e"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    project = tmp_path / "project"
    project.mkdir()
    pointer = project / ".venv"
    pointer.write_text("../envs/e\n")
    assert read_pointer(str(pointer)) == str(env) and resolve_env(str(pointer)) == str(env)
    pointer.write_text("notes\n")
    assert not is_pointer(str(pointer)) and read_pointer(str(pointer)) is None


def test_a_pointer_file_is_on_disk_when_written(tmp_path: Path) -> None:
    """The pointer's bytes are synced before its rename, and its directory after (strace):
    a crash leaves the old pointer or the new, not an empty file."""
    declared = tmp_path / ".venv"
    code = "import sys; from anyvenv.envbuild.pointerfile import write_pointer\n"
    code += "write_pointer(sys.argv[1], sys.argv[2])\n"
    argv = [sys.executable, "-c", code, str(declared), "/elsewhere/env"]
    calls = traced_calls(argv, "fsync,rename")
    renamed = next(i for i, call in enumerate(calls) if call.startswith("rename("))
    assert calls[renamed - 1].startswith("fsync(") and ".venv" in calls[renamed - 1], calls
    assert calls[renamed + 1].startswith("fsync(") and f"<{tmp_path}>" in calls[renamed + 1]
