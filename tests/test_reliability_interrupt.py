"""SIGKILL at many moments of `anyvenv venv`, `sync`, `python install` and `repair`.

Kill points are deterministic: the run is traced once (``ANYVENV_TEST_TRACE``), then killed
at checkpoints spread over it (``ANYVENV_TEST_KILL_AT=N``), and at delays after the checkpoint
that precedes the longest silent stretch (uv installing, the new interpreter validated), so
children die too. After each kill the target is as before or complete and working, the next
run succeeds, and nothing that run does not clear is left behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from reliability_report import Tally
from reliability_support import (
    Checkpoint,
    base_python,
    killed,
    leftovers,
    longest_gap,
    python_prefix,
    run_anyvenv,
    spread,
    traced,
)

BASE = base_python("3.11")
MARKER = "kept_marker.py"


def timed_kills(points: list[Checkpoint], count: int) -> list[str]:
    """``N+SECONDS`` specs: ``count`` delays spread over the longest silent stretch."""
    start, gap = longest_gap(points)
    return [f"{start.number}+{gap * (index + 0.5) / count:.3f}" for index in range(count)]


# -- venv ------------------------------------------------------------------------------------


def env_is_complete(env: Path) -> bool:
    return (
        (env / "pyvenv.cfg").is_file()
        and (env / "bin" / "activate").is_file()
        and python_prefix(env) == os.fspath(env)
    )


def has_marker(env: Path) -> bool:
    return any(env.glob(f"lib/python*/site-packages/{MARKER}"))


def make_old_env(env: Path) -> None:
    proc = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert proc.returncode == 0, proc.stderr
    site = next(env.glob("lib/python*/site-packages"))
    (site / MARKER).write_text("VALUE = 1\n")


def check_venv_after_kill(env: Path, parent: Path, replacing: bool, spec: str) -> str:
    """The env is as before or complete; the next run succeeds and leaves nothing behind."""
    if replacing:
        assert env.is_dir(), f"killed at {spec}: the old env is missing"
        assert env_is_complete(env), f"killed at {spec}: the env does not run"
        state = "old" if has_marker(env) else "new"
    else:
        state = "complete" if os.path.lexists(env) else "absent"
        if state == "complete":
            assert env_is_complete(env), f"killed at {spec}: a half-made env is visible"
    again = run_anyvenv("venv", env, "--python", BASE, "--clear", "-q")
    assert again.returncode == 0, f"killed at {spec}; next run: {again.stderr!r}"
    assert env_is_complete(env)
    assert not leftovers(parent), f"killed at {spec}: left {leftovers(parent)}"
    assert (parent / "user-file").read_text() == "mine"
    return state


@pytest.mark.slow
@pytest.mark.parametrize("replacing", [False, True], ids=["fresh", "replacing"])
def test_venv_killed_at_every_checkpoint(
    tmp_path: Path, replacing: bool, reliability: Tally
) -> None:
    parent = tmp_path / "projects"
    parent.mkdir()
    (parent / "user-file").write_text("mine")
    env = parent / "env"
    template = tmp_path / "template"
    if replacing:
        make_old_env(template)
    args = ("venv", env, "--python", BASE, "--clear", "-q")

    def reset() -> None:
        if os.path.lexists(env):
            shutil.rmtree(env)
        if replacing:
            shutil.copytree(template, env, symlinks=True)

    reset()
    proc, points = traced(*args, trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    assert len(points) >= 10, points
    states: set[str] = set()
    for point in points:
        reset()
        spec = str(point.number)
        assert killed(*args, at=spec).returncode == -9, f"not killed at {point}"
        states.add(check_venv_after_kill(env, parent, replacing, f"{spec} ({point.name})"))
        reliability.add("venv", "SIGKILL points", 1)
    assert states == ({"old", "new"} if replacing else {"absent", "complete"})


@pytest.mark.slow
def test_seeded_venv_killed_while_pip_is_installed(tmp_path: Path, reliability: Tally) -> None:
    """Kills during the seeding (uv installing pip into the staging env) and right after."""
    parent = tmp_path / "projects"
    parent.mkdir()
    (parent / "user-file").write_text("mine")
    env = parent / "env"
    args = ("venv", env, "--python", BASE, "--seed", "--clear", "-q")
    proc, points = traced(*args, trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    names = [point.name for point in points]
    after_seed = [p.number for p in points if p.name.startswith("atomic-write:pip")]
    assert after_seed, names
    specs = timed_kills(points, 3) + [str(n) for n in spread(after_seed, 1)]
    specs.append(str(next(p.number for p in points if p.name == "commit:renamed")))
    for spec in specs:
        shutil.rmtree(env, ignore_errors=True)
        proc = killed(*args, at=spec)
        if proc.returncode != -9:
            assert proc.returncode == 0, proc.stderr
        if os.path.lexists(env):
            assert env_is_complete(env), f"killed at {spec}: a half-made env is visible"
            pip = subprocess.run([env / "bin" / "pip", "--version"], capture_output=True)
            assert pip.returncode == 0, f"killed at {spec}: pip does not run: {pip.stderr!r}"
        again = run_anyvenv(*args)
        assert again.returncode == 0, again.stderr
        assert not leftovers(parent), leftovers(parent)
        reliability.add("venv", "SIGKILL points", 1)
