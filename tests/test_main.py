"""The entry point: how the process ends (anyvenv.__main__.end_process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ANYVENV, cli_env, one_line_error


def _end_with(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def test_output_written_before_the_end_is_flushed_and_the_code_kept() -> None:
    done = _end_with(
        "import sys\n"
        "from anyvenv.__main__ import end_process\n"
        "sys.stdout.write('no newline, still in the buffer')\n"
        "sys.stderr.write('to stderr')\n"
        "end_process(4)\n"
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        4,
        "no newline, still in the buffer",
        "to stderr",
    )


def test_with_nothing_to_tear_down_the_process_ends_at_once() -> None:
    # an object's finaliser runs only in the interpreter's teardown: skipped, the process
    # ended where end_process was called
    done = _end_with(
        "import sys\n"
        "from anyvenv.__main__ import end_process\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        sys.__stderr__.write('torn down')\n"
        "keep = Noisy()\n"
        "end_process(5)\n"
    )
    assert (done.returncode, done.stderr) == (5, "")


def test_atexit_callbacks_still_run() -> None:
    # a coverage tool or an embedding program registers them: the teardown is theirs
    done = _end_with(
        "import atexit, sys\n"
        "from anyvenv.__main__ import end_process\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        sys.__stderr__.write('torn down')\n"
        "keep = Noisy()\n"
        "atexit.register(print, 'atexit ran')\n"
        "end_process(3)\n"
    )
    assert (done.returncode, done.stdout, done.stderr) == (3, "atexit ran\n", "torn down")


def test_a_running_non_daemon_thread_is_waited_for() -> None:
    done = _end_with(
        "import threading, time\n"
        "from anyvenv.__main__ import end_process\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    print('thread finished', flush=True)\n"
        "threading.Thread(target=late).start()\n"
        "end_process(0)\n"
    )
    assert (done.returncode, done.stdout) == (0, "thread finished\n")


def test_files_left_open_by_other_code_are_flushed_by_the_teardown(tmp_path: Path) -> None:
    # a buffered file nobody closed is written out only by the teardown: with a weakref
    # finaliser (as tempfile's) registered, end_process must not skip it
    target = tmp_path / "out.txt"
    done = _end_with(
        "import weakref\n"
        "from anyvenv.__main__ import end_process\n"
        f"handle = open({str(target)!r}, 'w')\n"
        "handle.write('kept')\n"
        "weakref.finalize(handle, lambda: None)\n"
        "end_process(0)\n"
    )
    assert done.returncode == 0
    assert target.read_text() == "kept"


def test_the_module_run_as_a_program_exits_with_the_commands_code() -> None:
    done = subprocess.run(
        [*ANYVENV, "venv", "--no-such-option"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--no-such-option" in done.stderr
    done = subprocess.run(
        [*ANYVENV, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.startswith("anyvenv ")) == (0, True)


def test_uvs_option_before_a_command_that_takes_none_is_one_line_and_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*ANYVENV, "--directory", "w", "check", "e"], cwd=tmp_path, env=cli_env(),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert one_line_error(proc).startswith(
        "anyvenv: error: --directory is one of uv's options, which 'anyvenv check' does not take"
    )


def _with_reader_gone(
    args: list[str], stream: str, cwd: Path, unbuffered: bool = False
) -> tuple[int, bytes]:
    """Run the CLI with ``stream`` (stdout or stderr) a pipe whose reader has gone (as under
    ``| head -c1`` once head has exited); the exit code and what the other stream got.
    ``unbuffered``: with PYTHONUNBUFFERED (a write fails), else without (a flush fails)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = cli_env(PYTHONUNBUFFERED="1")
    if not unbuffered:
        del env["PYTHONUNBUFFERED"]
    try:
        done = subprocess.run(
            [*ANYVENV, *args],
            stdout=write_end if stream == "stdout" else subprocess.PIPE,
            stderr=write_end if stream == "stderr" else subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr if stream == "stdout" else done.stdout


@pytest.mark.parametrize("unbuffered", [False, True])
def test_an_output_whose_reader_is_gone_leaves_the_work_and_its_exit_code(
    tmp_path: Path, unbuffered: bool
) -> None:
    """As uv: ``anyvenv python list | head -c1`` exits 0, and a venv whose stderr notes
    find no reader is still made (it used to stop with exit 1 at its first line)."""
    for args in (["--version"], ["python", "dir"], ["probe", "--json", str(tmp_path)]):
        code, said = _with_reader_gone(args, "stdout", tmp_path, unbuffered)
        assert (code, said) == (0, b""), args
    code, _ = _with_reader_gone(["venv", "env"], "stderr", tmp_path, unbuffered)
    assert code == 0
    ran = subprocess.run(
        [tmp_path / "env" / "bin" / "python", "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.stdout.strip() == str(tmp_path / "env"), ran.stderr


def test_a_path_the_outputs_encoding_cannot_say_is_written_as_its_bytes(tmp_path: Path) -> None:
    """Under an ASCII ``PYTHONIOENCODING`` a path with ``é`` is printed as its bytes, as uv
    prints it: the env is made and said, an error is one line, never a traceback."""
    place = tmp_path / "café"
    place.mkdir()
    env = cli_env(PYTHONIOENCODING="ascii")
    made = subprocess.run(
        [*ANYVENV, "venv", "v"], cwd=place, env=env, capture_output=True, check=False
    )
    assert made.returncode == 0, made.stderr
    assert os.fsencode(place / "v") in made.stderr and b"Traceback" not in made.stderr
    refused = subprocess.run(
        [*ANYVENV, "check", str(place / "nothere")], env=env, capture_output=True, check=False
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith(b"anyvenv: error: " + os.fsencode(place / "nothere"))
    assert refused.stderr.count(b"\n") == 1


def test_a_program_run_meets_the_closed_pipe_as_under_uv_run(tmp_path: Path) -> None:
    """anyvenv's own note on a stderr whose reader has gone is dropped, but the program it
    runs gets that stderr as it is: one that writes on ends of SIGPIPE (exit 141, as under
    ``uv run``), rather than writing into /dev/null for ever."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.8"\n'
    )
    loop = ["sh", "-c", "sleep 0.2; while :; do echo x >&2; done"]
    code, _ = _with_reader_gone(["run", "--offline", "--", *loop], "stderr", tmp_path)
    assert code in (-13, 128 + 13)  # (killed by SIGPIPE, or its exit code: 141 in a shell)


def test_the_argparse_path_does_not_import_typing() -> None:
    """Commands parsed by argparse (``--help``, doctor, python, cache, repair) pay for
    argparse, not for typing too (5-9 ms), which only annotations name."""
    code = (
        "import sys\nfrom anyvenv.__main__ import main\n"
        "try:\n    main(['cache', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('typing' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert "usage: anyvenv cache" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr


def test_no_file_is_opened_in_the_locale_s_encoding_without_saying_so(tmp_path: Path) -> None:
    """Under ``-X warn_default_encoding -W error::EncodingWarning`` (what a user checking
    their own code runs with) a command that takes a lock, with its standard streams closed,
    warns of nothing."""
    strict = [sys.executable, "-X", "warn_default_encoding", "-W", "error::EncodingWarning"]
    for args in (["venv", "env"], ["check", "env"]):
        done = subprocess.run(
            [*strict, "-m", "anyvenv", *args], cwd=tmp_path, env=cli_env(),
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0 and "EncodingWarning" not in done.stderr, done.stderr
    closed = subprocess.run(
        [*strict, "-m", "anyvenv", "check", "env"], cwd=tmp_path, env=cli_env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        pass_fds=(), close_fds=True, preexec_fn=lambda: (os.close(0), os.close(1)),
    )  # fmt: skip
    assert closed.returncode == 0 and b"EncodingWarning" not in closed.stderr, closed.stderr
