"""How commands end on a user's situation rather than a bug: one line, the exit code, no
traceback. Here: a working directory that was removed under the shell (uv says "Current
directory does not exist"); every command that needs it stops with one line and exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support import ANYVENV, cli_env, one_line_error

NEEDS_THE_DIRECTORY = [
    ["venv"],
    ["venv", "-p", "3.11"],
    ["venv", "relative-env"],
    ["sync"],
    ["run", "true"],
    ["pip", "list"],
    ["check"],
    ["repair"],
    ["doctor"],
    ["probe"],
]


def _in_removed_directory(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    gone = tmp_path / "gone"
    gone.mkdir()
    return subprocess.run(
        [
            "sh",
            "-c",
            'cd "$1" && rmdir "$1" && shift && exec "$@"',
            "sh",
            str(gone),
            *ANYVENV,
            *args,
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize("args", NEEDS_THE_DIRECTORY, ids=" ".join)
def test_a_removed_working_directory_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str]
) -> None:
    done = _in_removed_directory(tmp_path, args)
    assert done.returncode == 2, done.stderr
    assert one_line_error(done) == (
        "anyvenv: error: the current directory does not exist; cd to a directory that does"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made anywhere near


def test_a_command_given_absolute_paths_still_works_there(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    done = _in_removed_directory(tmp_path, ["probe", str(tmp_path / "share"), "--json"])
    assert done.returncode == 0, done.stderr
    assert '"symlink_create"' in done.stdout
