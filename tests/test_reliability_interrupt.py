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
import zipfile
from pathlib import Path

import pytest
import repair_support
from project_support import PY_MAIN, PY_OTHER, index_args, project_environ, write_project
from reliability_report import Tally
from reliability_support import (
    ANYVENV,
    Checkpoint,
    base_python,
    killed,
    leftovers,
    longest_gap,
    python_prefix,
    read_trace,
    run_anyvenv,
    spread,
    traced,
)
from standalone_build import StandaloneArchive, pythons_env, standalone

from support import cli_env

__all__ = ["pythons_env", "standalone"]  # fixtures

BASE = base_python("3.11")
MARKER = "kept_marker.py"


def by_name(points: list[Checkpoint]) -> list[str]:
    """``NAME@K`` specs for every checkpoint: stable when runs differ in what comes first.
    Names holding a temp file's random tag are given as their number instead."""
    seen: dict[str, int] = {}
    specs = []
    for point in points:
        seen[point.name] = seen.get(point.name, 0) + 1
        random = ".anyvenv-" in point.name
        specs.append(str(point.number) if random else f"{point.name}@{seen[point.name]}")
    return specs


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


def check_venv_after_kill(
    env: Path, parent: Path, replacing: bool, spec: str, **extra_env: str
) -> str:
    """The env is as before or complete; the next run succeeds and leaves nothing behind."""
    if replacing:
        assert env.is_dir(), f"killed at {spec}: the old env is missing"
        assert env_is_complete(env), f"killed at {spec}: the env does not run"
        state = "old" if has_marker(env) else "new"
    else:
        state = "complete" if os.path.lexists(env) else "absent"
        if state == "complete":
            assert env_is_complete(env), f"killed at {spec}: a half-made env is visible"
    again = run_anyvenv("venv", env, "--python", BASE, "--clear", "-q", **extra_env)
    assert again.returncode == 0, f"killed at {spec}; next run: {again.stderr!r}"
    assert env_is_complete(env)
    assert not leftovers(parent), f"killed at {spec}: left {leftovers(parent)}"
    assert (parent / "user-file").read_text() == "mine"
    return state


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lab_kind", "replacing"),
    [("local", False), ("local", True), ("faultfs:passthrough", False)],
    ids=["fresh-local", "replacing-local", "fresh-faultfs:passthrough"],
)
def test_venv_killed_at_every_checkpoint(
    tmp_path: Path, target: Path, replacing: bool, reliability: Tally
) -> None:
    """Also a fresh env on a share, where what does not depend on the probe's answer is
    written while the probe begun early measures (killed there too: only what the next run
    clears is left). (A replacement there, with no RENAME_EXCHANGE, has a moment with the old
    env renamed aside: test_replacing_where_no_exchange_exists_puts_the_old_env_back.)"""
    parent = target / "projects"
    parent.mkdir()
    (parent / "user-file").write_text("mine")
    env = parent / "env"
    template = tmp_path / "template"
    if replacing:
        make_old_env(template)
    args = ("venv", env, "--python", BASE, "--clear", "-q")
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}

    def reset() -> None:
        if os.path.lexists(env):
            shutil.rmtree(env)
        if replacing:
            shutil.copytree(template, env, symlinks=True)
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)  # every run starts alike

    reset()
    proc, points = traced(*args, trace=tmp_path / "trace", **cache)
    assert proc.returncode == 0, proc.stderr
    assert len(points) >= 10, points
    states: set[str] = set()
    for spec in by_name(points):
        reset()
        assert killed(*args, at=spec, **cache).returncode == -9, f"not killed at {spec}"
        states.add(check_venv_after_kill(env, parent, replacing, spec, **cache))
        assert not leftovers(tmp_path / "cache", depth=4)
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


# -- sync ------------------------------------------------------------------------------------


def synced_project_works(project: Path) -> None:
    hello = subprocess.run([project / ".venv" / "bin" / "alpha-hello"], capture_output=True)
    assert hello.stdout == b"alpha says hi\n", hello.stderr
    data = subprocess.run(
        [project / ".venv" / "bin" / "python", "-c", "import beta; print(beta.DATA.strip())"],
        capture_output=True,
    )
    assert data.stdout == b'{"beta": 1}\n', data.stderr
    # every file of every installed distribution is there (a half-installed one is not)
    site = next((project / ".venv").glob("lib/python3*/site-packages"))
    for record in site.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            listed = line.split(",")[0]
            assert os.path.lexists(site / listed), f"{record.parent.name}: {listed} missing"
    assert (project / ".venv" / "share" / "beta" / "readme.txt").is_file()


def run_sync(
    project: Path, environ: dict[str, str], args: tuple[str, ...]
) -> subprocess.CompletedProcess[bytes]:
    """``anyvenv`` with ``args`` in ``project``, in a session of its own (a kill takes uv too)."""
    return subprocess.run(
        [*ANYVENV, *args],
        cwd=project,
        env=environ,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        timeout=240,
    )


@pytest.mark.slow
@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "adding-a-dependency"])
def test_sync_killed_at_every_checkpoint_and_while_uv_installs(
    tmp_path: Path, index: Path, existing: bool, reliability: Tally
) -> None:
    home = tmp_path / "home"
    environ = project_environ(home)
    project = write_project(tmp_path / "proj", dependencies=["gamma"] if existing else ["alpha"])
    args = ("sync", *index_args(index))

    def sync(**extra: str) -> subprocess.CompletedProcess[bytes]:
        return run_sync(project, {**environ, **extra}, args)

    def reset() -> None:
        shutil.rmtree(project / ".venv", ignore_errors=True)
        shutil.rmtree(home / "cache", ignore_errors=True)  # every run starts alike
        if existing:
            write_project(project, dependencies=["gamma"])
            assert sync().returncode == 0
            write_project(project, dependencies=["gamma", "alpha"])

    reset()
    assert sync().returncode == 0  # warm (page cache, bytecode): the traced run is typical
    reset()
    trace = tmp_path / "trace"
    assert sync(ANYVENV_TEST_TRACE=str(trace)).returncode == 0
    points = read_trace(trace)
    named = by_name(points)
    timed = timed_kills(points, 8 if not existing else 14)
    kills = timed_landed = 0
    for spec in named + timed:
        reset()
        proc = sync(ANYVENV_TEST_KILL_AT=spec)
        if proc.returncode == -9:
            kills += 1
            timed_landed += "+" in spec
        else:  # a timed kill that came after the end (this run was faster than the traced one)
            assert "+" in spec and proc.returncode == 0, proc.stderr
        env = project / ".venv"
        if os.path.lexists(env):
            assert python_prefix(env) == os.fspath(env), f"killed at {spec}: env does not run"
        again = sync()
        assert again.returncode == 0, f"killed at {spec}; next sync: {again.stderr!r}"
        synced_project_works(project)
        assert not leftovers(project, home, depth=4), leftovers(project, home, depth=4)
    # every named checkpoint killed; where timed kills land depends on the machine's speed
    # (later runs can be faster than the traced one), but one must land while uv installs,
    # or the test no longer tests that
    assert kills - timed_landed == len(named)
    assert timed_landed >= 1, f"none of {len(timed)} timed kills landed"
    reliability.add("sync", "SIGKILL points", kills)


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("where", ["renamed-aside", "emptied-in-place"])
def test_an_undo_killed_at_every_step_leaves_the_env_whole_or_gone(
    tmp_path: Path, index: Path, where: str, reliability: Tally
) -> None:
    """uv refuses the command: the env made for it is removed. Killed while it goes, what is
    left is never a directory without pyvenv.cfg whose bin/python is the base (anyvenv then
    refused to touch it, and plain uv took the base interpreter for the env). In place (the
    working directory is the env's): emptied with pyvenv.cfg last."""
    home = tmp_path / "home"
    environ = project_environ(home)
    project = write_project(tmp_path / "proj", dependencies=["alpha"])
    env = project / ".venv"
    cwd = env if where == "emptied-in-place" else project
    refused = ("sync", "--no-such-option", *index_args(index))

    def run(args: tuple[str, ...], **extra: str) -> subprocess.CompletedProcess[bytes]:
        if where == "emptied-in-place":
            env.mkdir(exist_ok=True)
        return subprocess.run(
            [*ANYVENV, *args], cwd=cwd, env={**environ, **extra}, capture_output=True,
            stdin=subprocess.DEVNULL, start_new_session=True, timeout=240,
        )  # fmt: skip

    trace = tmp_path / "trace"
    done = run(refused, ANYVENV_TEST_TRACE=str(trace))
    assert done.returncode == 2, done.stderr
    if where == "emptied-in-place":  # all of it goes, its files and its lib64 link too
        assert os.listdir(env) == []
    else:
        assert not os.path.lexists(env)
    specs = [spec for spec in by_name(read_trace(trace)) if spec.startswith("remove-env:")]
    assert specs, read_trace(trace)
    for spec in specs:
        shutil.rmtree(env, ignore_errors=True)
        proc = run(refused, ANYVENV_TEST_KILL_AT=spec)
        assert proc.returncode == -9, (spec, proc.stderr)
        if os.path.isdir(env) and os.listdir(env):
            assert (env / "pyvenv.cfg").is_file(), f"killed at {spec}: {os.listdir(env)}"
        again = run(("sync", *index_args(index)))
        assert again.returncode == 0, f"killed at {spec}; next sync: {again.stderr!r}"
        synced_project_works(project)
        assert not leftovers(project, depth=2), leftovers(project, depth=2)
    reliability.add("sync", "SIGKILL points", len(specs))


@pytest.mark.skipif(PY_MAIN is None or PY_OTHER is None, reason="needs pyenv's 3.12 and 3.11")
def test_a_put_back_killed_at_every_step_leaves_one_env_that_runs(
    tmp_path: Path, index: Path, reliability: Tally
) -> None:
    """The Python asked for changed and uv refuses the options: the env rebuilt for them is
    put back. Killed at any step of that, the project has one env that runs (the old one,
    whole, or the new one), nothing beside it, and the next sync works."""
    home = tmp_path / "home"
    environ = project_environ(home)
    project = write_project(tmp_path / "proj", dependencies=["alpha"], python_version="3.11")
    env = project / ".venv"
    refused = ("sync", "--frozen", "--locked", *index_args(index))

    def run(args: tuple[str, ...], **extra: str) -> subprocess.CompletedProcess[bytes]:
        return run_sync(project, {**environ, **extra}, args)

    def reset() -> None:
        shutil.rmtree(env, ignore_errors=True)
        (project / ".python-version").write_text("3.11\n")
        assert run(("sync", *index_args(index))).returncode == 0
        (project / ".python-version").write_text("3.12\n")

    reset()
    trace = tmp_path / "trace"
    done = run(refused, ANYVENV_TEST_TRACE=str(trace))
    assert done.returncode == 2 and b"put back the env" in done.stderr, done.stderr
    specs = by_name(read_trace(trace))
    assert "commit:old-kept@1" in specs and "sync:new-env-set-aside@1" in specs, specs
    for spec in specs:
        reset()
        proc = run(refused, ANYVENV_TEST_KILL_AT=spec)
        assert proc.returncode == -9, (spec, proc.stderr)
        again = run(("sync", "--frozen", *index_args(index)))  # (recovers what was left)
        assert again.returncode == 0, f"killed at {spec}; next sync: {again.stderr!r}"
        assert python_prefix(env) == os.fspath(env), f"killed at {spec}: env does not run"
        synced_project_works(project)
        assert not leftovers(project, depth=2), leftovers(project, depth=2)
    reliability.add("sync", "SIGKILL points", len(specs))


# -- python install ----------------------------------------------------------------------------


def install_runs(home: Path, version: str) -> bool:
    exe = home / "bin" / f"python{version.rsplit('.', 1)[0]}"
    proc = subprocess.run(
        [exe, "-c", "import sys, ssl; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"},
    )
    return proc.returncode == 0 and proc.stdout.strip() == version


@pytest.mark.slow
def test_python_install_killed_while_extracting_validating_and_committing(
    tmp_path: Path,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
    reliability: Tally,
) -> None:
    install_dir = tmp_path / "pythons"
    home = install_dir / standalone.install_name
    args = ("python", "install", standalone.version_text, "--install-dir", install_dir)

    def reset() -> None:
        shutil.rmtree(install_dir, ignore_errors=True)
        for cache in ("XDG_CACHE_HOME", "ANYVENV_CACHE_DIR"):  # download again every time
            shutil.rmtree(pythons_env[cache], ignore_errors=True)

    reset()
    proc, points = traced(*args, trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    assert len(points) > 40, [p.name for p in points]
    named = by_name(points)
    specs = [named[i] for i in spread(list(range(len(named))), 24)] + timed_kills(points, 3)
    specs.append("download:chunk@1")  # a partial download in the cache
    kills = 0
    for spec in specs:
        reset()
        proc = killed(*args, at=spec)
        kills += proc.returncode == -9
        if proc.returncode != -9:
            assert "+" in spec and proc.returncode == 0, (spec, proc.stderr)
        if os.path.lexists(home):
            assert install_runs(home, standalone.version_text), f"killed at {spec}: half-made"
        again = run_anyvenv(*args)
        assert again.returncode == 0, f"killed at {spec}; next run: {again.stderr!r}"
        assert install_runs(home, standalone.version_text)
        assert not leftovers(install_dir, depth=2), leftovers(install_dir, depth=2)
        caches = [Path(pythons_env[key]) for key in ("XDG_CACHE_HOME", "ANYVENV_CACHE_DIR")]
        assert not leftovers(*caches, depth=4), leftovers(*caches, depth=4)
    assert kills >= 20
    reliability.add("python install", "SIGKILL points", kills)


# -- repair ------------------------------------------------------------------------------------


def broken_env(root: Path) -> Path:
    """A uv env with pip and a console script, moved (every script's shebang now names the
    old place) and with its interpreter links dangling: repair places the interpreter and
    rewrites each script."""
    python = repair_support.base_python("3.12")
    made = root / "made"
    proc = repair_support.run([repair_support.uv_bin(), "venv", "-q", "--seed", "-p", python, made])
    assert proc.returncode == 0, proc.stderr
    repair_support.install_demo(made, root / "wheels")
    env = root / "env"
    repair_support.move_env(made, env)
    for name in ("python", "python3", "python3.12"):
        (env / "bin" / name).unlink()
        (env / "bin" / name).symlink_to("/nonexistent/bin/python3.12")
    return env


@pytest.mark.slow
def test_repair_killed_between_every_file_it_changes(tmp_path: Path, reliability: Tally) -> None:
    env = broken_env(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(env, broken, symlinks=True)
    before = repair_support.fingerprint(env)

    def reset() -> None:
        shutil.rmtree(env)
        shutil.copytree(broken, env, symlinks=True)

    # a repair of a copy first: what it caches (the base's interpreter query) is then not
    # among the traced points, which every killed run below must reach in the same order
    warm = tmp_path / "warm"
    shutil.copytree(broken, warm, symlinks=True)
    assert run_anyvenv("repair", warm).returncode == 0
    proc, points = traced("repair", env, trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    repair_support.demo_works(env)
    after = repair_support.fingerprint(env)
    assert len(points) >= 12, [p.name for p in points]
    specs = by_name(points) + timed_kills(points, 8)
    kills = 0
    for spec in specs:
        reset()
        proc = killed("repair", env, at=spec)
        kills += proc.returncode == -9
        if proc.returncode != -9:
            assert "+" in spec and proc.returncode == 0, (spec, proc.stderr)
        # leftovers the next run clears: staging, temp files, the probe's scratch directory
        # (a timed kill can land while it measures the env's filesystem) and the killed
        # holder's lock files (its flock's and, on local disk too, its O_EXCL one)
        marks = (".anyvenv-staging-", ".anyvenv-tmp-", ".anyvenv-probe-", ".anyvenv-repair.lock")
        found = {
            key: value
            for key, value in repair_support.fingerprint(env).items()
            if not any(mark in key for mark in marks)
        }
        for key in set(found) | set(before) | set(after):
            assert found.get(key) in (before.get(key), after.get(key)), (
                f"killed at {spec}: {key} is neither as before nor repaired"
            )
        again = run_anyvenv("repair", env)
        assert again.returncode == 0, f"killed at {spec}; next run: {again.stderr!r}"
        repair_support.demo_works(env)
        assert repair_support.fingerprint(env) == after, f"killed at {spec}"
        assert not leftovers(env), f"killed at {spec}: {leftovers(env)}"
    assert kills >= 20
    reliability.add("repair", "SIGKILL points", kills)


# -- where the old env cannot be swapped out in one step --------------------------------------


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough", "sshfs"])
def test_replacing_where_no_exchange_exists_puts_the_old_env_back(
    target: Path, reliability: Tally
) -> None:
    """FUSE mounts refuse RENAME_EXCHANGE: the old env is renamed aside, then the new one in.
    Killed in between, the next run puts the old one back before anything else."""
    env = target / "env"
    make_old_env(env)
    args = ("venv", env, "--python", BASE, "--clear", "-q")
    proc = killed(*args, at="commit:retired")
    assert proc.returncode == -9, proc.stderr
    assert not os.path.lexists(env)
    assert [p.name for p in leftovers(target, depth=1) if ".anyvenv-old-" in p.name]
    again = run_anyvenv("venv", env, "--python", BASE, "-q")  # no --clear: keeps it
    assert again.returncode == 2 and b"already exists" in again.stderr
    assert has_marker(env) and env_is_complete(env)
    assert not leftovers(target, depth=1), leftovers(target, depth=1)
    reliability.add("venv", "SIGKILL points", 1)


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_a_first_sync_killed_after_its_env_was_made_leaves_an_env_the_next_one_reuses(
    target: Path, tmp_path: Path, index: Path
) -> None:
    """Killed while it mirrors the shadow into the env it has just made: the next sync knows
    the env as its own and completes it (it was rebuilt, "not made by anyvenv sync")."""
    import json

    environ = project_environ(tmp_path / "home")
    project = write_project(target / "proj", dependencies=["gamma"])
    killed = run_sync(
        project,
        {**environ, "ANYVENV_TEST_KILL_AT": "copy:__init__.py@1"},
        ("sync", *index_args(index)),
    )
    assert killed.returncode == -9, killed.stderr
    again = run_sync(project, environ, ("sync", "--json", *index_args(index)))
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["action"], report["rebuild_reason"]) == ("reused", None), report[
        "rebuild_reason"
    ]
    synced = subprocess.run(
        [project / ".venv" / "bin" / "python", "-c", "import gamma; print(gamma.VALUE)"],
        capture_output=True,
    )
    assert synced.stdout == b"3\n", synced.stderr


@pytest.mark.slow
@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
@pytest.mark.parametrize("change", ["add", "remove"])
def test_sync_through_a_shadow_env_killed_while_mirroring(
    target: Path, tmp_path: Path, index: Path, reliability: Tally, change: str
) -> None:
    """Where chmod is ignored uv installs into a shadow env that anyvenv then mirrors into
    the project's env file by file: killed anywhere in that, adding a package or removing
    one, the next sync completes it (nothing of a removed package left)."""
    home = tmp_path / "home"
    environ = project_environ(home)
    project = write_project(target / "proj", dependencies=["gamma"])
    args = ("sync", *index_args(index))
    before, after = (
        (["gamma"], ["gamma", "alpha"]) if change == "add" else (["gamma", "alpha"], ["alpha"])
    )

    def sync(**extra: str) -> subprocess.CompletedProcess[bytes]:
        return run_sync(project, {**environ, **extra}, args)

    def reset() -> None:
        write_project(project, dependencies=before)
        assert sync().returncode == 0
        write_project(project, dependencies=after)

    reset()
    trace = tmp_path / "trace"
    first = sync(ANYVENV_TEST_TRACE=str(trace))
    assert first.returncode == 0, first.stderr
    assert b"shadow" in first.stderr or (project / ".venv").is_dir()
    points = read_trace(trace)
    named = by_name(points)
    specs = [named[i] for i in spread(list(range(len(named))), 12)] + timed_kills(points, 4)
    kills = 0
    for spec in specs:
        reset()
        proc = sync(ANYVENV_TEST_KILL_AT=spec)
        kills += proc.returncode == -9
        again = sync()
        assert again.returncode == 0, f"killed at {spec}; next sync: {again.stderr!r}"
        try:
            synced_project_works(project)
        except (AssertionError, OSError) as exc:
            raise AssertionError(f"killed at {spec} ({proc.returncode}): {again.stderr!r}") from exc
        site = next((project / ".venv").glob("lib/python3*/site-packages"))
        if change == "remove":
            assert not [name for name in os.listdir(site) if name.startswith("gamma")], spec
        assert not leftovers(project, home, depth=6), leftovers(project, home, depth=6)
    assert kills >= 10
    reliability.add("sync", "SIGKILL points", kills)


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
def test_a_distribution_uv_was_killed_installing_is_installed_again(
    tmp_path: Path, index: Path
) -> None:
    """The state a kill between uv's file moves and its final RECORD leaves (found by the
    timed kills above, made here for certain): the wheel's own RECORD, no INSTALLER, a data
    file missing. `uv sync` alone says "Checked" and leaves it so; `anyvenv sync` reinstalls."""
    environ = project_environ(tmp_path / "home")
    project = write_project(tmp_path / "proj")

    def sync() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*ANYVENV, "sync", *index_args(index)], cwd=project, env=environ, capture_output=True
        )

    assert sync().returncode == 0
    site = next((project / ".venv").glob("lib/python3*/site-packages"))
    dist_info = site / "beta-1.0.dist-info"
    for name in ("INSTALLER", "REQUESTED", "uv_cache.json"):
        (dist_info / name).unlink(missing_ok=True)
    with zipfile.ZipFile(index / "beta-1.0-py3-none-any.whl") as wheel:
        (dist_info / "RECORD").write_bytes(wheel.read("beta-1.0.dist-info/RECORD"))
    (project / ".venv" / "share" / "beta" / "readme.txt").unlink()
    for name in (".anyvenv-sync.inputs", ".anyvenv-sync.state"):  # as after a killed run
        (project / ".venv" / name).unlink(missing_ok=True)
    again = sync()
    assert again.returncode == 0, again.stderr
    assert b"~ beta==1.0" in again.stderr, again.stderr
    synced_project_works(project)


def test_mirror_clears_the_temp_files_of_a_killed_mirror(tmp_path: Path) -> None:
    from anyvenv.project.mirror import EnvTree, mirror

    def env(root: Path, body: bytes) -> EnvTree:
        site = root / "lib" / "python3.12" / "site-packages"
        (site / "pkg").mkdir(parents=True)
        (site / "pkg" / "mod.py").write_bytes(body)
        info = site / "pkg-1.0.dist-info"
        info.mkdir()
        (info / "INSTALLER").write_text("uv\n")
        (info / "RECORD").write_text(f"pkg/mod.py,{body.hex()},\npkg-1.0.dist-info/RECORD,,\n")
        return EnvTree.of(root, "lib/python3.12/site-packages")

    source, dest = env(tmp_path / "shadow", b"new = 1\n"), env(tmp_path / "env", b"old = 1\n")
    from anyvenv.fs.leftovers import this_host

    dead = dest.site_packages / "pkg" / f".mod.py.anyvenv-tmp-{this_host()}-999999-abcdef"
    dead.write_bytes(b"half")
    report = mirror(source, dest)
    assert report.updated == ["pkg"]
    assert (dest.site_packages / "pkg" / "mod.py").read_bytes() == b"new = 1\n"
    assert not leftovers(dest.root, depth=6), leftovers(dest.root, depth=6)


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough", "sshfs"])
def test_an_old_env_killed_while_it_was_being_removed_never_comes_back(
    target: Path, reliability: Tally
) -> None:
    """The new env is in place and the old one is being removed: killed then, the old one is
    a staging leftover, cleared by the next run and never put back (as a retired tree, half
    removed, it came back as the env once the user removed the new one)."""
    env = target / "env"
    make_old_env(env)
    proc = killed("venv", env, "--python", BASE, "--clear", "-q", at="commit:old-set-aside")
    assert proc.returncode == -9, proc.stderr
    assert env_is_complete(env) and not has_marker(env)  # the new env
    assert not [p for p in leftovers(target, depth=1) if ".anyvenv-old-" in p.name]
    shutil.rmtree(env)  # the user removes it: nothing may take its place
    again = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert again.returncode == 0, again.stderr
    assert env_is_complete(env) and not has_marker(env)
    assert not leftovers(target, depth=1), leftovers(target, depth=1)
    reliability.add("venv", "SIGKILL points", 1)


# -- a commit file by file (fusefat, rclone), killed part-way ---------------------------------


@pytest.mark.parametrize(
    ("lab_kind", "at"),
    [
        ("fat", "commit:moved-file@3"),  # in bin/: no top-level file of the env yet
        ("fat", "commit:moved-file@14"),  # top-level files in, but for pyvenv.cfg (the last)
        ("rclone", "commit:moved-file@3"),
    ],
)
def test_a_new_env_killed_while_moved_in_file_by_file_is_made_again_by_a_plain_venv(
    lab_kind: str, at: str, target: Path, reliability: Tally
) -> None:
    """Where a renamed directory loses its files, the new env is moved in file by file: a
    kill part-way left a directory of half an env, which ``anyvenv check`` called no env and
    a plain ``anyvenv venv`` refused as the user's own. Its marker says whose it is now: check
    says what it is, and the next run removes it and makes the env."""
    env = target / "env"
    proc = killed("venv", env, "--python", BASE, "-q", at=at)
    assert proc.returncode == -9, proc.stderr
    assert env.is_dir() and not (env / "pyvenv.cfg").exists()  # half of it, as the test means
    checked = run_anyvenv("check", env)
    assert checked.returncode != 0
    assert b"killed while moving one into place file by file" in checked.stderr, checked.stderr
    _made_again_by_a_plain_run(env, target)
    reliability.add("venv", "SIGKILL points", 1)


def _made_again_by_a_plain_run(env: Path, target: Path) -> None:
    """``anyvenv venv`` without ``--clear`` makes the env where a killed move left part of
    one, and leaves neither its marker nor any leftover."""
    again = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert again.returncode == 0, again.stderr
    assert env_is_complete(env) and not has_marker(env)
    assert not leftovers(target, depth=3), leftovers(target, depth=3)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_an_env_killed_while_its_old_one_was_emptied_file_by_file_is_made_again(
    lab_kind: str, target: Path, reliability: Tally
) -> None:
    """``--clear`` over an env where directories are never renamed: the old env is emptied in
    place, pyvenv.cfg first, before the new one moves in. Killed then, what is left is
    neither, and the next plain run makes the env (before, it was refused as the user's)."""
    env = target / "env"
    make_old_env(env)
    args = ("venv", env, "--python", BASE, "--clear", "-q")
    proc = killed(*args, at="commit:removed-old-entry@2")
    assert proc.returncode == -9, proc.stderr
    assert env.is_dir() and not (env / "pyvenv.cfg").exists()
    _made_again_by_a_plain_run(env, target)
    reliability.add("venv", "SIGKILL points", 1)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_an_old_env_with_files_of_its_own_killed_while_emptied_is_made_again(
    lab_kind: str, target: Path, reliability: Tally
) -> None:
    """The old env holds top-level entries the new one will not (a user's file, an include/
    directory): the marker lists the old tree's names too, so what a kill leaves once
    pyvenv.cfg is gone is still known for anyvenv's. Those entries were the --clear's to
    remove: the next run removes them with the rest."""
    env = target / "env"
    make_old_env(env)
    (env / "notes.txt").write_text("mine")
    (env / "include" / "site").mkdir(parents=True)
    args = ("venv", env, "--python", BASE, "--clear", "-q")
    proc = killed(*args, at="commit:removed-old-entry@1")
    assert proc.returncode == -9, proc.stderr
    assert not (env / "pyvenv.cfg").exists() and (env / "notes.txt").exists()
    checked = run_anyvenv("check", env)
    assert checked.returncode != 0
    assert b"killed while moving one into place file by file, and this is what" in checked.stderr
    assert b"other files were put in it since" not in checked.stderr, checked.stderr
    _made_again_by_a_plain_run(env, target)
    assert not (env / "notes.txt").exists() and not (env / "include" / "site").exists()
    reliability.add("venv", "SIGKILL points", 1)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_an_env_killed_before_its_old_one_was_emptied_keeps_the_old_one(
    lab_kind: str, target: Path, reliability: Tally
) -> None:
    """Killed with the marker written but nothing of the old env removed yet: the old env
    (its pyvenv.cfg there) is whole, and stays, without the marker."""
    env = target / "env"
    make_old_env(env)
    proc = killed("venv", env, "--python", BASE, "--clear", "-q", at="commit:marked")
    assert proc.returncode == -9, proc.stderr
    again = run_anyvenv("venv", env, "--python", BASE, "-q")  # (no --clear: refused)
    assert b"already exists" in again.stderr, again.stderr
    assert env_is_complete(env) and has_marker(env)  # the old env, whole
    assert not leftovers(target, depth=3), leftovers(target, depth=3)
    reliability.add("venv", "SIGKILL points", 1)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_half_moved_env_whose_staging_tree_is_gone_is_made_again(
    lab_kind: str, target: Path, reliability: Tally
) -> None:
    """The killed run's staging tree removed since (by hand, or by ``cache prune`` where the
    envs directory is such a filesystem): its marker alone is enough for the next run."""
    env = target / "env"
    proc = killed("venv", env, "--python", BASE, "-q", at="commit:moved-file@3")
    assert proc.returncode == -9, proc.stderr
    for staging in target.glob(".env.anyvenv-staging-*"):
        shutil.rmtree(staging)
    _made_again_by_a_plain_run(env, target)
    reliability.add("venv", "SIGKILL points", 1)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_half_moved_env_the_user_added_files_to_is_left_to_them(
    lab_kind: str, target: Path, reliability: Tally
) -> None:
    """What a killed move left, where the user has put a file since, is no longer only
    anyvenv's: it is refused (their file kept), with what it is and what to do."""
    env = target / "env"
    proc = killed("venv", env, "--python", BASE, "-q", at="commit:moved-file@3")
    assert proc.returncode == -9, proc.stderr
    (env / "notes.txt").write_text("mine")
    again = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert again.returncode != 0
    assert b"other files were put in it since" in again.stderr, again.stderr
    assert (env / "notes.txt").read_text() == "mine"
    reliability.add("venv", "SIGKILL points", 1)


def _stopped(pid: int, seconds: float = 60) -> bool:
    """Whether process ``pid`` was stopped (SIGSTOP) within ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return False
        if state == "T":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_an_env_being_moved_in_file_by_file_by_a_live_run_is_left_alone(
    lab_kind: str, target: Path
) -> None:
    """A run stopped mid-move (SIGSTOP: alive, its marker in the env) is never undone by
    another: recover leaves its half env and staging tree, check says a run is moving it in,
    and once resumed the run finishes the env."""
    import signal

    from anyvenv.fs import leftovers as fs_leftovers

    env = target / "env"
    command = [*ANYVENV, "venv", os.fspath(env), "--python", os.fspath(BASE), "-q"]
    stop = {"ANYVENV_TEST_KILL_AT": "commit:moved-file@3", "ANYVENV_TEST_KILL_SIGNAL": "STOP"}
    proc = subprocess.Popen(
        command, env=cli_env(**stop), stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        assert _stopped(proc.pid), "the run did not stop at its checkpoint"
        before = sorted(os.listdir(env)), sorted(os.listdir(target))
        assert fs_leftovers.recover(env) == []
        assert fs_leftovers.undo_cut_move(env) == []  # (its maker lives: not undone)
        assert (sorted(os.listdir(env)), sorted(os.listdir(target))) == before
        checked = run_anyvenv("check", env)
        assert checked.returncode != 0
        assert b"is moving one into place file by file" in checked.stderr, checked.stderr
        os.kill(proc.pid, signal.SIGCONT)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert env_is_complete(env)
    assert not leftovers(target, depth=3), leftovers(target, depth=3)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_directory_of_the_users_beside_a_dead_staging_tree_is_still_refused(
    lab_kind: str, target: Path
) -> None:
    """No marker, no undo: a directory of the user's at the env's path is refused as before,
    even with a killed run's staging tree beside it (which is cleared)."""
    from anyvenv.fs.leftovers import this_host

    env = target / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "tool").write_text("mine")
    dead = target / f".env.anyvenv-staging-{this_host()}-999999-abcdef"
    (dead / "bin").mkdir(parents=True)
    again = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert again.returncode != 0
    assert b"is not empty and is not a virtual environment" in again.stderr, again.stderr
    assert (env / "bin" / "tool").read_text() == "mine"
    assert not dead.exists()


# -- Ctrl-C and SIGTERM in the steps that must finish whole -----------------------------------


@pytest.mark.parametrize(
    ("lab_kind", "at"),
    [
        ("faultfs:passthrough", "commit:retired"),  # no RENAME_EXCHANGE: renamed aside, then in
        ("faultfs:passthrough", "commit:renamed"),
        ("fat", "commit:moved-file@5"),  # renamed directories lose their files: file by file
    ],
)
@pytest.mark.parametrize("signal_name", ["INT", "TERM"])
def test_a_replace_stopped_while_the_env_is_moved_in_finishes_the_move_first(
    lab_kind: str, at: str, signal_name: str, target: Path, reliability: Tally
) -> None:
    """A Ctrl-C or SIGTERM while the new env is moved in waits until the move is done: the
    command then stops as interrupted (130, 143), with the new env whole in place and neither
    the old one beside it nor half of either."""
    env = target / "env"
    make_old_env(env)
    args = ("venv", env, "--python", BASE, "--clear", "-q")
    proc = killed(*args, at=at, ANYVENV_TEST_KILL_SIGNAL=signal_name)
    assert proc.returncode == (130 if signal_name == "INT" else 143), proc.stderr
    assert env_is_complete(env) and not has_marker(env)  # the new one, whole
    assert not leftovers(target, depth=1), leftovers(target, depth=1)
    checked = run_anyvenv("check", env)
    assert checked.returncode == 0, checked.stdout
    reliability.add("venv", "Ctrl-C/SIGTERM points", 1)
