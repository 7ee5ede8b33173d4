"""Starting an environment's python and reading what it says of itself (repair.running)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from anyvenv.repair.running import Failed, Started, parse_answer, start


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_venv_s_python_says_where_it_stands(tmp_path: Path) -> None:
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", env], check=True)
    started = start(env / "bin" / "python")
    assert isinstance(started, Started)
    assert os.path.samefile(started.prefix, env)
    assert os.path.samefile(started.base_prefix, sys.base_prefix)
    assert started.version == tuple(sys.version_info[:3])
    assert started.unloadable == ()


def test_what_cannot_be_started_is_named_by_its_errno(tmp_path: Path) -> None:
    assert start(tmp_path / "missing") == Failed("ENOENT", None, "No such file or directory")
    plain = tmp_path / "plain"
    plain.write_text("x")
    failed = start(plain)
    assert isinstance(failed, Failed) and failed.errno == "EACCES"


def test_a_failing_python_gives_its_exit_code_and_the_line_that_says_why(tmp_path: Path) -> None:
    python = _script(
        tmp_path / "python",
        "echo 'Python path configuration:' >&2; echo 'Fatal Python error: no encodings' >&2; "
        "echo 'Current thread 0x1:' >&2; exit 3",
    )
    assert start(python) == Failed(None, 3, "Fatal Python error: no encodings")


def test_an_answer_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    python = _script(tmp_path / "python", "echo hello")
    failed = start(python)
    assert isinstance(failed, Failed)
    assert failed.detail == "printed something that is not the expected answer"


def test_a_python_that_hangs_is_given_up_on(tmp_path: Path) -> None:
    python = _script(tmp_path / "python", "exec sleep 30")
    assert start(python, timeout=0.3) == Failed("ETIMEDOUT", None, "did not finish within 0.3 s")


def test_any_path_survives_the_answer() -> None:
    odd = os.fsdecode(b"/env/with\nnewline/\xff")
    fields = (odd, "/base", "3.12.1", "", "1", odd + "/libpython3.12.so", "0")
    answer = b"\0".join(os.fsencode(field) for field in fields)
    assert parse_answer(answer) == Started(odd, "/base", (3, 12, 1), (odd + "/libpython3.12.so",))
    failing = (odd, "/base", "3.12.1", "", "0", "1", f"math (no math in {odd})")
    started = parse_answer(b"\0".join(os.fsencode(field) for field in failing))
    assert started is not None and started.unloadable == (f"math (no math in {odd})",)


def test_a_free_threaded_build_says_so() -> None:
    started = parse_answer(b"/env\0/base\x003.13.1\0t\x000\x000")
    assert started is not None and started.free_threaded
    default = parse_answer(b"/env\0/base\x003.13.1\0\x000\x000")
    assert default is not None and not default.free_threaded


def test_a_truncated_answer_is_refused() -> None:
    assert parse_answer(b"/env\0/base\0" + b"3.12") is None
    assert parse_answer(b"/env\0/base\x003.12.1\0\x005\0/lib") is None
    assert parse_answer(b"/env\0/base\x003.x.1\0\x000\x000") is None
    assert parse_answer(b"/env\0/base\x003.12.1\0\x000\x002\0math (x)") is None
    assert parse_answer(b"/env\0/base\x003.12.1\0d\x000\x000") is None
