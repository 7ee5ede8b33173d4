"""Resource faults: no space left, a read-only filesystem, a mount that fails writes with EIO
part-way. Each gives a one-line error, leaves nothing half-made and the user's files (and an
existing environment) untouched."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_report import Tally
from reliability_support import base_python, leftovers, python_prefix, run_anyvenv, tree_digest

from lab import Lab
from support import entry_names

PYENV_BASE = base_python("3.11")
STATIC_BASE = Path("/usr/bin/python3.11")  # 6.8 MB, libpython inside: its copy fills 1 MB


def error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode(errors="replace")
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anyvenv: error: "), text
    return lines[0]


def make_env_with_marker(env: Path, *extra: str) -> dict[str, object]:
    proc = run_anyvenv("venv", env, "--python", PYENV_BASE, "-q", *extra)
    assert proc.returncode == 0, proc.stderr
    site = next(env.glob("lib/python*/site-packages"))
    (site / "marker.py").write_text("VALUE = 1\n")
    return tree_digest(env)


# -- no space left ---------------------------------------------------------------------------


@pytest.mark.skipif(not STATIC_BASE.exists(), reason="needs Debian's static python3.11")
def test_venv_on_a_full_disk_makes_nothing_and_keeps_the_old_env(
    lab: Lab, reliability: Tally
) -> None:
    directory = lab.small_target(size_kib=1024)
    (directory / "users-file").write_text("mine")
    proc = run_anyvenv("venv", directory / "new", "--python", STATIC_BASE, "--strategy", "copy")
    assert proc.returncode == 1
    assert "No space left" in error_line(proc)
    assert entry_names(directory) == ["users-file"]

    old = directory / "old"
    before = make_env_with_marker(old)
    proc = run_anyvenv("venv", old, "--python", STATIC_BASE, "--strategy", "copy", "--clear")
    assert proc.returncode == 1
    assert "No space left" in error_line(proc)
    assert tree_digest(old) == before, "the existing env is untouched"
    assert python_prefix(old) == os.fspath(old)
    assert entry_names(directory) == ["old", "users-file"]
    assert (directory / "users-file").read_text() == "mine"
    reliability.add("faults", "no space left: commands checked", 2)


# -- read-only -------------------------------------------------------------------------------


def _populate_env(backing: Path) -> None:
    (backing / "users-file").write_text("mine")
    make_env_with_marker(backing / "old")


def test_venv_on_a_read_only_filesystem_changes_nothing(lab: Lab, reliability: Tally) -> None:
    directory = lab.readonly_target(_populate_env)
    before = tree_digest(directory)
    fresh = run_anyvenv("venv", directory / "new", "--python", PYENV_BASE)
    assert fresh.returncode == 2
    assert "read-only" in error_line(fresh)
    replace = run_anyvenv("venv", directory / "old", "--python", PYENV_BASE, "--clear")
    assert replace.returncode == 2
    assert "read-only" in error_line(replace)
    assert tree_digest(directory) == before
    assert python_prefix(directory / "old") == os.fspath(directory / "old")
    reliability.add("faults", "read-only: commands checked", 2)


def test_repair_on_a_read_only_filesystem_changes_nothing(lab: Lab, reliability: Tally) -> None:
    def broken_env(backing: Path) -> None:
        _populate_env(backing)
        python = backing / "old" / "bin" / "python"
        python.unlink()
        python.symlink_to("/nonexistent/bin/python3.11")

    directory = lab.readonly_target(broken_env)
    before = tree_digest(directory)
    for dry_run in ([], ["--dry-run"]):
        proc = run_anyvenv("repair", directory / "old", *dry_run)
        assert proc.returncode == 1, proc.stderr
        line = error_line(proc)
        assert line == (
            f"anyvenv: error: cannot repair {directory / 'old'}: it is on a read-only "
            "filesystem; remount it read-write, then run anyvenv repair again"
        )
    assert tree_digest(directory) == before
    reliability.add("faults", "read-only: commands checked", 2)


def test_sync_in_a_read_only_project_changes_nothing(lab: Lab, reliability: Tally) -> None:
    def project(backing: Path) -> None:
        (backing / "pyproject.toml").write_text(
            '[project]\nname = "ro"\nversion = "0"\nrequires-python = ">=3.10"\n'
        )

    directory = lab.readonly_target(project)
    before = tree_digest(directory)
    proc = run_anyvenv("sync", "--offline", "--python", PYENV_BASE, cwd=directory)
    assert proc.returncode != 0
    line = error_line(proc)
    assert "read-only" in line or "EROFS" in line, line
    assert tree_digest(directory) == before
    reliability.add("faults", "read-only: commands checked", 1)


# -- EIO part-way ----------------------------------------------------------------------------


def fail_writes_until_it_succeeds(
    directory: Path,
    set_budget: Callable[[int | None], None],
    run: Callable[[], subprocess.CompletedProcess[bytes]],
    check: Callable[[], None],
) -> int:
    """Run with a budget of 0, 1, 2 ... write() calls until the run succeeds; every failed
    run must say so on one line and pass ``check`` (nothing half-made). Returns the number
    of failed runs (each failed at a later write than the one before)."""
    budget = 0
    while True:
        set_budget(budget)
        proc = run()
        set_budget(None)
        if proc.returncode == 0:
            return budget
        assert proc.returncode == 1, proc.stderr
        assert "Input/output error" in error_line(proc)
        check()
        assert not leftovers(directory), leftovers(directory)
        budget += 1
        assert budget < 300, "a venv does not need hundreds of writes"


@pytest.mark.slow
def test_venv_where_writes_start_failing_part_way(lab: Lab, reliability: Tally) -> None:
    directory, set_budget = lab.eio_target()
    (directory / "users-file").write_text("mine")
    env = directory / "env"

    def run() -> subprocess.CompletedProcess[bytes]:
        return run_anyvenv("venv", env, "--python", PYENV_BASE, "--strategy", "copy", "-q")

    def nothing_made() -> None:
        assert entry_names(directory) == ["users-file"]

    failures = fail_writes_until_it_succeeds(directory, set_budget, run, nothing_made)
    assert failures >= 10
    assert python_prefix(env) == os.fspath(env)
    reliability.add("faults", "EIO part-way: failed runs checked", failures)


@pytest.mark.slow
def test_replacing_an_env_where_writes_start_failing_keeps_it(lab: Lab, reliability: Tally) -> None:
    directory, set_budget = lab.eio_target()
    env = directory / "env"
    before = make_env_with_marker(env)

    def run() -> subprocess.CompletedProcess[bytes]:
        return run_anyvenv("venv", env, "--python", PYENV_BASE, "--clear", "-q")

    def old_env_intact() -> None:
        assert tree_digest(env) == before
        assert python_prefix(env) == os.fspath(env)

    failures = fail_writes_until_it_succeeds(directory, set_budget, run, old_env_intact)
    assert failures >= 10
    assert python_prefix(env) == os.fspath(env)
    assert not any(env.glob("lib/python*/site-packages/marker.py")), "replaced at last"
    reliability.add("faults", "EIO part-way: failed runs checked", failures)
