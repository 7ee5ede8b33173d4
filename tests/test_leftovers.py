"""What anyvenv leaves behind is named to be cleared later (anyvenv.fs.leftovers)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from anyvenv.fs.leftovers import scratch_dir, this_host


def _dead_pid() -> str:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return gone.stdout.strip()


@pytest.mark.parametrize("mark", ["anyvenv-patchelf-", "anyvenv-download-"])
def test_a_scratch_dir_is_its_own_and_clears_those_of_killed_runs(
    mark: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scratch directories of patchelf and of a download with no cache to go to: a
    SIGKILLed run's is swept by the next one, a live run's is left, each run's own goes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"{mark}{this_host()}-{_dead_pid()}-abcdef"
    alive = tmp_path / f"{mark}{this_host()}-{os.getpid()}-abcdef"
    for leftover in (dead, alive):
        leftover.mkdir()
        (leftover / "python3.12").write_bytes(b"\x7fELF")
    with scratch_dir("a test", mark) as path:
        assert Path(path).parent == tmp_path and Path(path).name.startswith(mark)
        assert os.stat(path).st_mode & 0o777 == 0o700
        (Path(path) / "file").write_text("x")
    assert not dead.exists() and alive.exists()
    assert not Path(path).exists()
