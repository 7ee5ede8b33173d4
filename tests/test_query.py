"""Asking an interpreter about itself, and the on-disk cache of the answers."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from anyvenv.errors import AnyvenvError
from anyvenv.interpreter.query import failure_line, query_interpreter

BASE = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def needs_base() -> None:
    if not BASE.exists():
        pytest.skip("no pyenv 3.11.7 here")


def test_answer_of_a_binary_is_cached(tmp_path: Path) -> None:
    needs_base()
    first = query_interpreter(BASE)
    assert first.version[:2] == (3, 11) and first.executable == str(BASE)
    assert len(list((tmp_path / "cache" / "anyvenv" / "interpreters").iterdir())) == 1
    assert query_interpreter(BASE) == first


def test_a_launcher_script_is_cached_and_a_changed_target_asked_again(tmp_path: Path) -> None:
    """A shim (script) runs slowly every time: its answer is cached, and dropped when the
    interpreter it named changes."""
    needs_base()
    copy_root = tmp_path / "py"
    shutil.copytree(BASE.parent.parent / "bin", copy_root / "bin", symlinks=True)
    real = copy_root / "bin" / "python3.11"
    shim = tmp_path / "shim"
    counter = tmp_path / "runs"
    shim.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    info = query_interpreter(shim)
    assert info.executable == str(real)
    query_interpreter(shim)
    assert counter.read_text().count("run") == 1, "second answer from the cache"
    time.sleep(0.01)
    os.utime(real)  # the interpreter behind the shim changed
    query_interpreter(shim)
    assert counter.read_text().count("run") == 2


def test_a_different_directory_asks_a_shim_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_base()
    shim = tmp_path / "shim"
    counter = tmp_path / "runs"
    shim.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{BASE}" "$@"\n')
    shim.chmod(0o755)
    query_interpreter(shim)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # a .python-version here could pick another
    query_interpreter(shim)
    assert counter.read_text().count("run") == 2


def test_a_failed_start_is_told_by_the_line_that_says_why(tmp_path: Path) -> None:
    """A launcher's own message (a pyenv shim's first line, before its notes), a traceback's
    exception, or the exit code."""
    shim = tmp_path / "python3.10"
    shim.write_text(
        "#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2\necho >&2\n"
        "echo 'Note: See pyenv help global for tips' >&2\nexit 127\n"
    )
    shim.chmod(0o755)
    with pytest.raises(AnyvenvError, match=r"failed to start: pyenv: python3\.10: command not"):
        query_interpreter(shim)
    assert failure_line("Traceback (most recent call last):\n  x\nKeyError: 'y'\n", 1) == (
        "KeyError: 'y'"
    )
    assert failure_line("", 3) == "exit code 3, no output"
    fatal = (
        "Python path configuration:\n  PYTHONHOME = '/x'\nFatal Python error: init_fs_encoding: "
        "failed to get the codec\nPython runtime state: core initialized\n"
        "ModuleNotFoundError: No module named 'encodings'\n\nCurrent thread 0x1 (most recent "
        "call first):\n  <no Python frame>\n"
    )
    assert failure_line(fatal, 1) == "Fatal Python error: init_fs_encoding: failed to get the codec"
