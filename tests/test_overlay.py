"""Envs and Pythons in overlayfs's lower layer (a container image's), where a directory of it
cannot be renamed (EXDEV: the kernel's overlayfs with redirect_dir off, the default of many
kernels and of Docker's overlay2; fuse-overlayfs always): ``venv --clear``, a sync that
rebuilds, ``python install --reinstall`` and a fill in place replace it file by file, as
plain uv and venv do (they remove the old tree and make a new one); a kill on the way is
undone or finished by the next run. With redirect_dir on, the commit stays one exchange."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from project_support import (
    anyvenv,
    needs_pythons,
    project_environ,
    replace_file,
    sync_json,
    write_project,
)
from reliability_support import base_python, killed, leftovers, python_prefix, traced
from standalone_build import StandaloneArchive, pythons_env, standalone

from anyvenv.fs import inplace
from lab import Lab
from support import cli_env, run_cli

__all__ = ["pythons_env", "standalone"]  # fixtures used by the tests below

pytestmark = pytest.mark.timeout(600)

BASE = base_python("3.11")
MARKER = "old_marker.py"
KINDS = ["overlay", "fuse-overlayfs"]
"""Where a directory of the lower layer cannot be renamed."""


def _image(lab: Lab, kind: str, populate: Callable[[Path], object]) -> Path:
    """A fresh directory on a new overlay of ``kind`` whose lower layer ``populate`` filled."""
    return lab.overlay_target(
        populate, redirect_dir=kind == "overlay-redirect-dir", fuse=kind == "fuse-overlayfs"
    )


def _env_in_image(lab: Lab, kind: str) -> Path:
    """An env made by ``anyvenv venv`` (with a marker file in its site-packages) at the path
    it has on the overlay, in its lower layer."""

    def populate(directory: Path) -> None:
        made = run_cli("venv", str(directory / "env"), "--python", str(BASE), "-q")
        assert made.returncode == 0, made.stderr
        site = next((directory / "env").glob("lib/python*/site-packages"))
        for name in (MARKER, "old_other.py", "old_third.py"):
            (site / name).write_text("X = 1\n")

    return _image(lab, kind, populate) / "env"


def _works(env: Path) -> bool:
    return (env / "pyvenv.cfg").is_file() and python_prefix(env) == os.fspath(env)


def _has_marker(env: Path) -> bool:
    return any(env.glob(f"lib/python*/site-packages/{MARKER}"))


def _anyvenvs(directory: Path) -> list[str]:
    """anyvenv's own names in ``directory``: journals, old trees, staging, markers."""
    return sorted(name for name in os.listdir(directory) if ".anyvenv-" in name)


@pytest.mark.parametrize("kind", [*KINDS, "overlay-redirect-dir"])
def test_venv_clear_replaces_an_env_of_the_lower_layer(lab: Lab, kind: str, tmp_path: Path) -> None:
    """It failed with "Invalid cross-device link (...); check free space and permissions"
    (the exchange with the old env, then its rename aside, EXDEV). With redirect_dir on the
    old env is swapped with the new one in one step, as on any local disk."""
    env = _env_in_image(lab, kind)
    args = ("venv", env, "--python", BASE, "--clear", "-q")
    proc, points = traced(*args, trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    assert _works(env) and not _has_marker(env)
    assert not leftovers(env.parent, depth=3), leftovers(env.parent, depth=3)
    names = {point.name for point in points}
    assert ("commit:exchanged" in names) == (kind == "overlay-redirect-dir"), names
    assert ("commit:marked" in names) == (kind != "overlay-redirect-dir"), names
    again = run_cli("venv", str(env), "--python", str(BASE), "--clear", "-q")  # (upper now)
    assert again.returncode == 0 and _works(env), again.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_venv_dot_fills_an_env_of_the_lower_layer_in_place(lab: Lab, kind: str) -> None:
    """``cd env && anyvenv venv --clear .``: the old env's directories move aside file by
    file (bin/ failed with EXDEV after .gitignore and CACHEDIR.TAG had moved, and the fill
    left its journal and the old env's directory)."""
    env = _env_in_image(lab, kind)
    proc = run_cli("venv", ".", "--python", str(BASE), "--clear", "-q", cwd=env)
    assert proc.returncode == 0, proc.stderr
    assert _works(env) and not _has_marker(env)
    assert _anyvenvs(env) == [] and not leftovers(env.parent, depth=3)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["overlay"])
def test_a_commit_killed_while_it_replaces_a_lower_env_file_by_file_is_recovered(
    lab: Lab, kind: str, tmp_path: Path
) -> None:
    """Killed at each step of the commit file by file: what is left is the old env, the new
    one, or a directory marked as a cut move (no pyvenv.cfg); the next ``anyvenv venv`` (no
    --clear) keeps a whole env or makes one, and leaves nothing else."""
    args = ("venv", "--python", BASE, "--clear", "-q")
    env = _env_in_image(lab, kind)
    proc, points = traced(*args[:-1], env, "-q", trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    names = [point.name for point in points]
    files = names.count("commit:moved-file")
    entries = names.count("commit:removed-old-entry")
    specs = [
        "commit:marked@1",
        "commit:removed-old-entry@1",
        f"commit:removed-old-entry@{entries}",
        "commit:moved-file@1",
        f"commit:moved-file@{files // 2}",
        f"commit:moved-file@{files}",
        "commit:unmarked@1",
    ]
    states: set[str] = set()
    for spec in specs:
        env = _env_in_image(lab, kind)
        assert killed(*args[:-1], env, "-q", at=spec).returncode == -9, spec
        if _works(env):
            states.add("old" if _has_marker(env) else "new")
        else:
            states.add("cut")
            assert not (env / "pyvenv.cfg").exists(), spec
        after = run_cli("venv", str(env), "--python", str(BASE), "-q")
        if after.returncode == 2:
            assert "already exists" in after.stderr, (spec, after.stderr)
        else:
            assert after.returncode == 0, (spec, after.stderr)
        assert _works(env), spec
        assert not leftovers(env.parent, depth=3), (spec, leftovers(env.parent, depth=3))
    assert states == {"old", "cut", "new"}, states


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["overlay"])
def test_a_fill_killed_while_a_lower_directory_moves_aside_is_undone(
    lab: Lab, kind: str, tmp_path: Path
) -> None:
    """``venv --clear .`` in a lower env killed while one of its directories moves aside file
    by file (its part half full, emptied, or just named): the next run moves it back whole."""
    args = ("venv", ".", "--python", str(BASE), "-q")
    env = _env_in_image(lab, kind)
    proc, points = traced(*args, "--clear", cwd=env, trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    names = [point.name for point in points]
    first = names[: names.index("fill:aside:bin")].count("commit:moved-file") + 1
    last = names[: names.index("fill:part-moved:lib")].count("commit:moved-file")
    assert first < last, names  # (lib/ holds files: site-packages' own, the marker)
    specs = [
        "fill:part-moved:bin@1",
        f"commit:moved-file@{first}",  # (lib/'s first file moved aside)
        f"commit:moved-file@{(first + last) // 2}",
        "fill:part-moved:lib@1",
        "fill:part-emptied:lib@1",
        "fill:aside:lib@1",
        "fill:journal-new@1",
    ]
    for spec in specs:
        env = _env_in_image(lab, kind)
        before = sorted(str(path.relative_to(env)) for path in env.rglob("*"))
        assert killed(*args, "--clear", cwd=env, at=spec).returncode == -9, spec
        if spec.startswith("commit:moved-file"):  # (lib/ in both places, half moved)
            assert (env / "lib").is_dir() and any(env.glob(".anyvenv-old-*/.anyvenv-part-lib"))
        after = run_cli(*args, cwd=env)
        assert after.returncode == 2 and "already exists" in after.stderr, (spec, after.stderr)
        assert _works(env) and _has_marker(env), spec
        assert sorted(str(path.relative_to(env)) for path in env.rglob("*")) == before, spec


@needs_pythons
@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_rebuilds_an_env_of_the_lower_layer(
    lab: Lab, kind: str, tmp_path: Path, index: Path
) -> None:
    """The project's env is in the image; its Python changes (.python-version): the sync
    rebuilds it (it failed with EXDEV, and ``anyvenv run`` failed after)."""
    environ = project_environ(tmp_path / "home")

    def populate(directory: Path) -> None:
        sync_json(write_project(directory / "demo"), environ, index)

    project = _image(lab, kind, populate) / "demo"
    replace_file(project / ".python-version", b"3.11\n")
    report, _ = sync_json(project, environ, index)
    assert report["action"] == "rebuilt" and str(report["python"]).startswith("3.11"), report
    assert not (project / ".venv" / "lib" / "python3.12").exists()
    code = "import sys, alpha; print(sys.version_info[:2])"
    ran = anyvenv("run", "--no-sync", "--", "python", "-c", code, cwd=project, env=environ)
    assert ran.stdout == "(3, 11)\n", ran.stderr
    assert not leftovers(project, depth=2), leftovers(project, depth=2)


@pytest.mark.parametrize("kind", KINDS)
def test_python_reinstall_over_an_install_of_the_lower_layer(
    lab: Lab, kind: str, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """An install dir in the image: ``python install --reinstall`` replaces the install's
    files one by one, bin/ last (it failed with EXDEV), and the Python runs."""
    args = ["python", "install", "3.12", "--install-dir"]

    def populate(directory: Path) -> None:
        made = run_cli(*args, str(directory / "pythons"))
        assert made.returncode == 0, made.stderr
        (directory / "pythons" / standalone.install_name / MARKER).write_text("old\n")

    install_dir = _image(lab, kind, populate) / "pythons"
    home = install_dir / standalone.install_name
    proc = run_cli(*args, str(install_dir), "--reinstall", "--json")
    assert proc.returncode == 0, proc.stderr
    [report] = json.loads(proc.stdout)
    assert report["status"] == "reinstalled" and not report["old_remains"], report
    assert not (home / MARKER).exists()  # (only the new tree's files)
    python = home / "bin" / standalone.executable_name
    ran = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True)
    assert ran.returncode == 0 and ran.stdout.decode().strip() == str(home), ran.stderr
    assert sorted(os.listdir(install_dir)) == [standalone.install_name]  # (no leftovers)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["overlay"])
def test_a_python_reinstall_killed_while_it_replaces_a_lower_install_file_by_file_still_runs(
    lab: Lab,
    kind: str,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Killed at each step of the reinstall file by file (each file of the new tree put over
    its namesake, bin/ last; then what the old tree alone had removed): the old files stay
    until the new ones are in place, so the install's interpreter runs, whole (the old
    build's or the new one's), and the next reinstall finishes, leaving nothing else."""
    args = ("python", "install", "3.12", "--install-dir")

    def image() -> Path:
        def populate(directory: Path) -> None:
            made = run_cli(*args, str(directory / "pythons"))
            assert made.returncode == 0, made.stderr
            (directory / "pythons" / standalone.install_name / MARKER).write_text("old\n")

        return _image(lab, kind, populate) / "pythons"

    def runs(home: Path) -> bool:
        python = home / "bin" / standalone.executable_name
        code = "import sys, json, ssl, sqlite3; print(sys.prefix)"
        try:
            ran = subprocess.run([python, "-c", code], capture_output=True, check=False)
        except OSError:  # (no interpreter there)
            return False
        return ran.returncode == 0 and ran.stdout.decode().strip() == str(home)

    install_dir = image()
    proc, points = traced(*args, install_dir, "--reinstall", "-q", trace=tmp_path / "trace")
    assert proc.returncode == 0, proc.stderr
    names = [point.name for point in points]
    files = names.count("commit:moved-file")
    assert files > 10, names
    specs = [
        "commit:moved-file@1",
        f"commit:moved-file@{files // 2}",
        f"commit:moved-file@{files - 1}",  # (in bin/, the last directory)
        f"commit:moved-file@{files}",
    ]
    if "commit:removed-old-entry" in names:  # (the old tree's marker)
        specs.append("commit:removed-old-entry@1")
    for spec in specs:
        install_dir = image()
        home = install_dir / standalone.install_name
        assert killed(*args, install_dir, "--reinstall", "-q", at=spec).returncode == -9, spec
        assert runs(home), spec
        after = run_cli(*args, str(install_dir), "--reinstall", "-q")
        assert after.returncode == 0, (spec, after.stderr)
        assert runs(home) and not (home / MARKER).exists(), spec
        assert sorted(os.listdir(install_dir)) == [standalone.install_name], spec
    assert "commit:removed-old-entry@1" in specs, names


@pytest.mark.parametrize("kind", ["overlay"])
def test_python_uninstall_of_an_install_of_the_lower_layer(
    lab: Lab, kind: str, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """Its rename aside failed with EXDEV ("cannot uninstall"): it is removed where it is,
    its interpreter first (no longer an install from there), as on fusefat."""

    def populate(directory: Path) -> None:
        made = run_cli("python", "install", "3.12", "--install-dir", str(directory / "pythons"))
        assert made.returncode == 0, made.stderr

    install_dir = _image(lab, kind, populate) / "pythons"
    args = ("python", "uninstall", standalone.install_name, "--install-dir", str(install_dir))
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(install_dir) == [], os.listdir(install_dir)


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """``immutable(path)``: chattr +i (a rename of it fails with EPERM, even for root),
    undone at the end."""
    made: list[Path] = []

    def make(path: Path) -> None:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i: {done.stderr.strip()}")
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.parametrize("phase", ["old", "new"])
def test_a_fill_that_fails_part_way_is_undone_at_once(
    tmp_path: Path, phase: str, immutable: Callable[[Path], None]
) -> None:
    """An entry that cannot move (an OSError part-way: here EPERM, an immutable file; a full
    disk, or EXDEV before the fallback) while the old entries move aside or the new ones up:
    the old env is put back and the journal and the old env's directory go, at once (they
    stayed, and only the next ``anyvenv venv`` undid them: sync, check and doctor did not)."""
    target = tmp_path / "env"
    target.mkdir()
    for name in ("a", "b", "c"):
        (target / name).mkdir()
        (target / name / "file").write_text(f"old {name}")
    (target / "pyvenv.cfg").write_text("old")
    staging = target / ".anyvenv-staging-x"
    staging.mkdir()
    for name in ("a", "b", "c"):
        (staging / name).mkdir()
        (staging / name / "file").write_text(f"new {name}")
    (staging / "pyvenv.cfg").write_text("new")
    immutable((target if phase == "old" else staging) / "b")
    with pytest.raises(OSError) as failed:
        inplace.fill(str(staging), str(target))
    assert failed.value.errno == errno.EPERM
    for name in ("a", "b", "c"):
        assert (target / name / "file").read_text() == f"old {name}"
    assert (target / "pyvenv.cfg").read_text() == "old"
    left = [name for name in _anyvenvs(target) if name != staging.name]
    assert left == [], left  # (no journal, no old env's directory)


@pytest.mark.parametrize("kind", KINDS)
def test_cache_clean_of_caches_in_the_lower_layer(lab: Lab, kind: str) -> None:
    """Caches baked into the image (``~/.cache/anyvenv``): ``cache clean`` removes them where
    they are (their rename aside failed: "it cannot be moved aside: Invalid cross-device
    link", exit 1, nothing cleared)."""

    def populate(directory: Path) -> None:
        for kind_dir in ("cache/anyvenv/interpreters", "cache/anyvenv/toml", "dl/python-downloads"):
            (directory / kind_dir / "sub").mkdir(parents=True)
            (directory / kind_dir / "sub" / "entry").write_bytes(b"x" * 100)
            (directory / kind_dir / "entry").write_bytes(b"y" * 10)

    home = _image(lab, kind, populate)
    environ = {"XDG_CACHE_HOME": str(home / "cache"), "ANYVENV_CACHE_DIR": str(home / "dl")}
    proc = run_cli("cache", "clean", "--json", env=cli_env(**environ))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["not_cleared"] == [], report
    cleared = {entry["path"]: entry["files"] for entry in report["cleared"]}
    assert cleared == {
        str(home / "cache/anyvenv/interpreters"): 2,
        str(home / "cache/anyvenv/toml"): 2,
        str(home / "dl/python-downloads"): 2,
    }, cleared
    assert sorted(os.listdir(home / "cache" / "anyvenv")) == []
    assert sorted(os.listdir(home / "dl")) == []


def _orphan_in_image(lab: Lab, kind: str, tmp_path: Path) -> tuple[Path, Path]:
    """An env kept outside its project (``ANYVENV_ENVS_DIR`` in the image) whose project no
    longer uses it (its .venv points nowhere): the envs dir and the env."""
    from anyvenv.project.owners import EnvKind, record_owner

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\n")

    def populate(directory: Path) -> None:
        orphan = directory / "envs" / "demo-0123456789abcdef"
        made = run_cli("venv", str(orphan), "--python", str(BASE), "-q")
        assert made.returncode == 0, made.stderr
        site = next(orphan.glob("lib/python*/site-packages"))
        for index in range(5):
            (site / f"module{index}.py").write_text("x = 1\n")
        assert record_owner(str(orphan), str(project / ".venv"), EnvKind.ELSEWHERE, project=None)

    envs = _image(lab, kind, populate) / "envs"
    return envs, envs / "demo-0123456789abcdef"


@pytest.mark.parametrize("kind", KINDS)
def test_cache_prune_of_an_env_in_the_lower_layer(lab: Lab, kind: str, tmp_path: Path) -> None:
    """An unused env in the image: ``cache prune`` removes it where it is, under its
    project's lock (it was kept: "it cannot be moved: Invalid cross-device link")."""
    envs, orphan = _orphan_in_image(lab, kind, tmp_path)
    environ = cli_env(ANYVENV_ENVS_DIR=str(envs), ANYVENV_SHADOW_DIR=str(envs))
    proc = run_cli("cache", "prune", "--json", env=environ)
    assert proc.returncode == 0, proc.stderr
    [entry] = json.loads(proc.stdout)["entries"]
    assert (entry["path"], entry["verdict"], entry["removed"]) == (str(orphan), "unused", True)
    assert os.listdir(envs) == []
    assert (tmp_path / "project" / "pyproject.toml").read_text() == "[project]\n"


@pytest.mark.parametrize("kind", ["overlay"])
def test_a_prune_killed_while_it_removes_a_lower_env_in_place(
    lab: Lab, kind: str, tmp_path: Path
) -> None:
    """Killed at each step of the removal in place: what is left is the whole env (only
    marked yet) or no env (pyvenv.cfg went first), and the next prune removes it, also when
    the owner record (last) is gone already."""
    envs, orphan = _orphan_in_image(lab, kind, tmp_path)
    environ = {"ANYVENV_ENVS_DIR": str(envs), "ANYVENV_SHADOW_DIR": str(envs)}
    proc, points = traced("cache", "prune", trace=tmp_path / "trace", **environ)
    assert proc.returncode == 0, proc.stderr
    entries = [point.name for point in points].count("remove-in-place:removed-entry")
    assert entries >= 4, points
    specs = ["remove-in-place:marked@1"]
    specs += [f"remove-in-place:removed-entry@{n}" for n in (1, entries - 1, entries)]
    for spec in specs:
        shutil.rmtree(tmp_path / "project")
        envs, orphan = _orphan_in_image(lab, kind, tmp_path)
        environ = {"ANYVENV_ENVS_DIR": str(envs), "ANYVENV_SHADOW_DIR": str(envs)}
        cut = killed("cache", "prune", "--json", at=spec, **environ)
        assert cut.returncode == -9, (spec, cut.stdout, cut.stderr)
        assert orphan.is_dir()
        assert (orphan / "pyvenv.cfg").exists() == spec.endswith("marked@1"), spec
        assert (orphan / ".anyvenv-owner").exists() == (not spec.endswith(f"@{entries}")), spec
        after = run_cli("cache", "prune", "--json", env=cli_env(**environ))
        assert after.returncode == 0, (spec, after.stderr)
        [entry] = json.loads(after.stdout)["entries"]
        assert (entry["path"], entry["removed"]) == (str(orphan), True), (spec, entry)
        assert os.listdir(envs) == [], spec


@pytest.mark.parametrize("kind", ["overlay"])
def test_a_dry_run_prune_after_one_killed_removing_a_lower_env_in_place_removes_nothing(
    lab: Lab, kind: str, tmp_path: Path
) -> None:
    """What a prune killed at the end of a removal in place left (its entries gone, the
    owner record last, the directory and its marker still there): ``cache prune --dry-run``
    calls it an unused leftover and leaves it; the real prune then removes it."""
    envs, orphan = _orphan_in_image(lab, kind, tmp_path)
    environ = {"ANYVENV_ENVS_DIR": str(envs), "ANYVENV_SHADOW_DIR": str(envs)}
    last = f"remove-in-place:removed-entry@{len(os.listdir(orphan))}"  # (the owner record)
    cut = killed("cache", "prune", "--json", at=last, **environ)
    assert cut.returncode == -9, (cut.stdout, cut.stderr)
    assert orphan.is_dir() and not (orphan / ".anyvenv-owner").exists()
    before = sorted(os.listdir(orphan))
    dry = run_cli("cache", "prune", "--dry-run", "--json", env=cli_env(**environ))
    assert dry.returncode == 0, dry.stderr
    [entry] = json.loads(dry.stdout)["entries"]
    assert (entry["path"], entry["kind"], entry["verdict"], entry["removed"]) == (
        str(orphan),
        "leftover",
        "unused",
        False,
    ), entry
    assert sorted(os.listdir(orphan)) == before
    after = run_cli("cache", "prune", "--json", env=cli_env(**environ))
    assert after.returncode == 0, after.stderr
    [entry] = json.loads(after.stdout)["entries"]
    assert (entry["path"], entry["removed"]) == (str(orphan), True), entry
    assert os.listdir(envs) == []
