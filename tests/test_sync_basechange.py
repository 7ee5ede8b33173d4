"""``anyvenv sync``/``pip``/``run`` on an env whose world changed under it: its base
interpreter upgraded in place or removed, another python-preference, another Python asked for.
As uv judges the env (and replaces it), anyvenv judges it first: rebuilt, or left alone with a
reason; never handed to uv to be replaced."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from project_support import (
    PY_MAIN,
    PY_OTHER,
    alpha_says_hi,
    anyvenv,
    index_args,
    needs_pythons,
    project_environ,
    replace_file,
    run,
    sync_json,
    write_project,
)
from standalone_build import SharedPython

pytestmark = [needs_pythons, pytest.mark.timeout(300)]


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def _cfg_with(env: Path, key: str, value: str) -> None:
    cfg = env / "pyvenv.cfg"
    lines = [
        f"{key} = {value}" if line.split("=")[0].strip() == key else line
        for line in cfg.read_text().splitlines()
    ]
    replace_file(cfg, ("\n".join(lines) + "\n").encode())


def _packages(env: Path) -> set[str]:
    site = next(env.glob("lib/python3.*/site-packages"))
    return {path.name.split("-")[0] for path in site.glob("*.dist-info")}


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like"])
def test_an_env_whose_base_was_upgraded_in_place_is_rebuilt_before_uv_sees_it(
    target: Path, index: Path, home: Path
) -> None:
    """pyvenv.cfg names another patch release than its python runs (the base was upgraded
    in place, as apt does): uv would replace the env ("uv replaced the environment"),
    anyvenv rebuilds it first, and syncs."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    sync_json(project, env, index)
    _cfg_with(project / ".venv", "version_info", "3.12.0")
    listed = anyvenv("pip", "list", cwd=project, env=env)  # (as it is: recorded as nothing)
    assert listed.returncode == 0, listed.stderr
    report, _ = sync_json(project, env, index)
    assert report["action"] == "rebuilt"
    assert "pyvenv.cfg says Python 3.12.0" in str(report["rebuild_reason"])
    assert "version_info = 3.12.1" in (project / ".venv" / "pyvenv.cfg").read_text()
    alpha_says_hi(project, env)


_LEFT_OUT = ("test", "__pycache__", "site-packages", "idlelib", "tkinter", "turtledemo", "config-*")
DEBIAN = Path("/usr/bin/python3.11")  # static: a copy of it needs no libpython
DEBIAN_STDLIB = Path("/usr/lib/python3.11")


def _tree(where: Path, executable: Path, stdlib: Path, libpython: Path | None = None) -> Path:
    """A relocatable install at ``where`` (an executable that finds libpython, if it needs
    one, through ``$ORIGIN/../lib``, as a standalone build's): its executable."""
    (where / "bin").mkdir(parents=True)
    exe = where / "bin" / executable.name
    shutil.copy2(executable, exe)
    shutil.copytree(stdlib, where / "lib" / stdlib.name, ignore=shutil.ignore_patterns(*_LEFT_OUT))
    if libpython is not None:
        subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(exe)], check=True)
        shutil.copy2(libpython, where / "lib" / libpython.name)
    return exe


def _debian_tree(where: Path) -> Path:
    """Debian's python3.11 (3.11.2, static) as an install of its own at ``where``."""
    if not DEBIAN.is_file() or not DEBIAN_STDLIB.is_dir():
        pytest.skip("needs Debian's python3.11")
    return _tree(where, DEBIAN, DEBIAN_STDLIB)


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_a_copied_python_whose_base_became_another_release_is_rebuilt(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """The env's python is a copy (no symlinks on the mount) of a static build; its base, at
    the same path, is upgraded to another release: the copy would run the old interpreter
    with the new stdlib and extension modules. It is rebuilt from the base as it is now, not
    reused as if nothing changed."""
    assert PY_OTHER is not None
    base = _debian_tree(tmp_path / "base")
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"], python_version=None)
    made, _ = sync_json(project, env, index, "--python", str(base))
    assert made["python"] == "3.11.2"
    assert not (project / ".venv" / "bin" / "python").is_symlink()
    shutil.rmtree(tmp_path / "base")  # pyenv's shared 3.11.7 at the same path
    prefix = PY_OTHER.parent.parent
    shared = SharedPython(prefix, (3, 11, 7))
    _tree(tmp_path / "base", PY_OTHER, prefix / "lib" / "python3.11", shared.libpython)
    # a pip command first uses the env as it is; it must not record it as checked either
    listed = anyvenv("pip", "list", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    report, _ = sync_json(project, env, index, "--python", str(base))
    assert report["action"] == "rebuilt", report
    assert "a copy of Python 3.11.2" in str(report["rebuild_reason"])
    assert "is now 3.11.7" in str(report["rebuild_reason"])
    assert report["python"] == "3.11.7"


@pytest.mark.parametrize(("strategy", "placed"), [("copy", "copied"), ("hardlink", "hard-linked")])
def test_check_says_how_an_interpreter_that_outlived_its_base_release_was_placed(
    tmp_path: Path, strategy: str, placed: str
) -> None:
    """The env's own interpreter file is Debian's 3.11.2; its base at the same path is now
    pyenv's 3.11.7: check says so, naming a hard link as one (it said "copied")."""
    assert PY_OTHER is not None
    base = _debian_tree(tmp_path / "base")
    env_dir = tmp_path / "env"
    environ = project_environ(tmp_path / "home")
    made = anyvenv(
        "venv", str(env_dir), "-q", "--python", str(base), "--strategy", strategy,
        cwd=tmp_path, env=environ,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    shutil.rmtree(tmp_path / "base")
    prefix = PY_OTHER.parent.parent
    shared = SharedPython(prefix, (3, 11, 7))
    _tree(tmp_path / "base", PY_OTHER, prefix / "lib" / "python3.11", shared.libpython)
    checked = anyvenv("check", "--json", str(env_dir), cwd=tmp_path, env=environ)
    assert checked.returncode == 1, checked.stderr
    said = [finding["message"] for finding in json.loads(checked.stdout)["findings"]]
    wanted = f"the {placed} interpreter is Python 3.11.2 but its base is now 3.11.7"
    assert any(message.startswith(wanted) for message in said), said


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_a_copied_python_whose_base_is_gone_is_rebuilt(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """With its base gone, a copy of a static build still starts, on whatever Python its
    build prefix names (here Debian's /usr): rebuilt from a Python that is there."""
    base = _debian_tree(tmp_path / "base")
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"], python_version=None)
    sync_json(project, env, index, "--python", str(base))
    shutil.rmtree(tmp_path / "base")
    report, _ = sync_json(project, env, index, "--python", "3.11")
    assert report["action"] == "rebuilt", report
    assert "a base interpreter that is gone" in str(report["rebuild_reason"])
    assert os.path.exists(str(report["base_executable"]))  # (another 3.11, that is there)
    ran = anyvenv("run", "--no-sync", "python", "-c", "import ssl, alpha", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr


def test_a_linked_python_whose_base_is_gone_is_rebuilt_naming_the_missing_base(
    tmp_path: Path, index: Path, home: Path
) -> None:
    """An env whose python links to a base that was removed: the rebuild names where the link
    leads, as uv does ("linked to non-existent Python interpreter"), not "No such file" of
    the env's python, which is there."""
    python = _debian_tree(tmp_path / "base")
    env = project_environ(home)
    project = write_project(tmp_path / "demo", dependencies=["alpha"], python_version=None)
    sync_json(project, env, index, "--python", str(python))
    assert (project / ".venv" / "bin" / "python").is_symlink()
    shutil.rmtree(tmp_path / "base")
    report, _ = sync_json(project, env, index, "--python", "3.11")
    assert report["action"] == "rebuilt", report
    assert report["rebuild_reason"] == (
        f"its python links to {python}, which does not exist (its base is gone)"
    )


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_shadow_env_of_another_release_or_replaced_by_uv_is_made_again(
    target: Path, index: Path, home: Path
) -> None:
    """Through a shadow env: one whose pyvenv.cfg names another release (made before the
    base was upgraded), or that uv replaced with its own, is made again by anyvenv; it was
    taken as healthy and every sync failed with 'uv replaced the environment'."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    shadow = Path(str(report["shadow"]))
    for spoil in ("release", "not ours"):
        if spoil == "release":
            _cfg_with(shadow, "version_info", "3.12.0")
        else:
            cfg = shadow / "pyvenv.cfg"
            kept = [line for line in cfg.read_text().splitlines() if not line.startswith("anyvenv")]
            cfg.write_text("\n".join(kept) + "\n")
        again = anyvenv(  # (an option after which uv always runs)
            "sync", *index_args(index), "--reinstall-package", "gamma", cwd=project, env=env
        )
        assert again.returncode == 0, (spoil, again.stderr)
        assert "anyvenv = " in (shadow / "pyvenv.cfg").read_text()
        assert "version_info = 3.12.1" in (shadow / "pyvenv.cfg").read_text()
        alpha_says_hi(project, env)


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like"])
def test_a_python_preference_the_env_does_not_meet_leaves_it_alone_without_a_managed_python(
    target: Path, index: Path, home: Path
) -> None:
    """The env was made from a system Python; python-preference only-managed (any of its
    spellings) with no managed Python installed: refused as uv refuses it, the env kept (uv
    itself, handed the env, removed it and failed to make another on CIFS)."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    sync_json(project, env, index)
    config = Path(env["XDG_CONFIG_HOME"]) / "uv"
    for how in ({"UV_MANAGED_PYTHON": "1"}, {"UV_PYTHON_PREFERENCE": "only-managed"}):
        refused = anyvenv("sync", *index_args(index), cwd=project, env={**env, **how})
        assert refused.returncode == 2, refused.stderr
        assert "managed" in refused.stderr.splitlines()[-1]
        assert _packages(project / ".venv") == {"alpha", "beta", "devtool"}
    (config).mkdir(parents=True, exist_ok=True)
    (config / "uv.toml").write_text('python-preference = "only-managed"\n')
    try:
        refused = anyvenv("sync", *index_args(index), cwd=project, env=env)
        assert refused.returncode == 2, refused.stderr
        # the system Python named by path is allowed, as uv allows an explicit one
        report, _ = sync_json(project, env, index, "--python", str(PY_MAIN))
        assert report["action"] == "reused"
    finally:
        (config / "uv.toml").unlink()
    alpha_says_hi(project, env)


@pytest.mark.parametrize("lab_kind", ["local", "fat"])
def test_pip_uses_the_env_as_it_is_whatever_python_the_project_now_asks_for(
    target: Path, index: Path, home: Path
) -> None:
    """As uv pip: another .python-version does not make `anyvenv pip list` rebuild the env
    (it emptied it); a Python asked for by UV_PYTHON that the env is not is refused."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    sync_json(project, env, index)
    replace_file(project / ".python-version", b"3.11\n")
    listed = anyvenv("pip", "list", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "alpha" in listed.stdout
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert _packages(project / ".venv") == {"alpha", "beta", "devtool", "gamma"}
    assert (project / ".venv" / "lib" / "python3.12").is_dir()
    refused = anyvenv("pip", "list", cwd=project, env={**env, "UV_PYTHON": "3.11"})
    assert refused.returncode == 2
    assert refused.stderr.startswith("anyvenv: error: the project env ")
    assert _packages(project / ".venv") == {"alpha", "beta", "devtool", "gamma"}


@pytest.mark.parametrize("lab_kind", ["local"])
def test_run_no_sync_says_it_replaced_an_env_whose_python_is_gone(
    target: Path, index: Path, home: Path
) -> None:
    """As uv run --no-sync warns when it replaces an env linked to a Python that is gone."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    sync_json(project, env, index)
    python = project / ".venv" / "bin" / "python"
    python.unlink()
    python.symlink_to("/nonexistent/python3.12")
    ran = anyvenv("run", "--no-sync", "python", "-c", "print('ran')", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "ran\n"), ran.stderr
    assert "anyvenv: warning: replaced the environment at " in ran.stderr
    assert "with an empty one, because" in ran.stderr
    assert run([str(python), "-c", "pass"], project, env).returncode == 0


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_run_no_sync_replaces_a_copied_python_whose_base_is_gone(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """A copy (no symlinks there) of a shared build, which finds libpython in its base: with
    the base gone it cannot start, though it is there. `run --no-sync` replaces the env, as
    for a dangling link (and as uv run --no-sync), rather than failing in the loader."""
    assert PY_MAIN is not None
    prefix = PY_MAIN.parent.parent
    libpython = SharedPython(prefix, (3, 12, 1)).libpython
    base = _tree(tmp_path / "base", PY_MAIN, prefix / "lib" / "python3.12", libpython)
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"], python_version="3.12")
    sync_json(project, env, index, "--python", str(base))
    python = project / ".venv" / "bin" / "python"
    assert not python.is_symlink()
    shutil.rmtree(tmp_path / "base")
    assert run([str(python), "-c", "pass"], project, env).returncode != 0  # (the loader's)
    ran = anyvenv("run", "--no-sync", "python", "-c", "print('ran')", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "ran\n"), ran.stderr
    assert "anyvenv: warning: replaced the environment at " in ran.stderr


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_what_sync_knows_of_an_env_follows_a_repair_to_another_base(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """The base went; `anyvenv repair` moved the env to another 3.12. The next sync knows it
    as it is now: its shadow env is made from that base (it was made from the saved, gone
    one, and every sync failed)."""
    assert PY_MAIN is not None
    prefix = PY_MAIN.parent.parent
    libpython = SharedPython(prefix, (3, 12, 1)).libpython
    base = _tree(tmp_path / "base", PY_MAIN, prefix / "lib" / "python3.12", libpython)
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"], python_version=None)
    made, _ = sync_json(project, env, index, "--python", str(base))
    shutil.rmtree(tmp_path / "base")
    shutil.rmtree(str(made["shadow"]))
    repaired = anyvenv("repair", str(project / ".venv"), cwd=project, env=env)
    assert repaired.returncode == 0, repaired.stderr
    report, _ = sync_json(project, env, index, "--python", "3.12")
    assert report["base_executable"] == str(PY_MAIN)
    alpha_says_hi(project, env)


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:mode-0644"])
def test_pip_leaves_an_env_that_does_not_run_as_it_is(
    target: Path, index: Path, home: Path
) -> None:
    """As uv pip, which refuses an env whose python is gone: never made again for a pip
    command (that took every package in it, those installed by hand too, in silence); the
    error names the repair that keeps them."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    real = Path(str(report["env"]))
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    python = real / "bin" / "python"
    python.unlink()
    python.symlink_to("/nonexistent/python3.12")
    for words in (
        ["install", *index_args(index), "devtool"],
        ["uninstall", "gamma"],
        ["list"],  # (not another Python's packages: plain uv pip would take the one on PATH)
        ["freeze"],
        ["show", "alpha"],
    ):
        refused = anyvenv("pip", *words, cwd=project, env=env)
        assert refused.returncode == 1, refused.stderr
        line = refused.stderr.strip()
        assert line.startswith(f"anyvenv: error: the project env {real} does not work"), line
        assert "anyvenv repair" in line and "\n" not in line
        assert _packages(real) == {"alpha", "beta", "devtool", "gamma"}
    repaired = anyvenv("repair", str(project / ".venv"), cwd=project, env=env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    added = anyvenv("pip", "uninstall", "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert _packages(real) == {"alpha", "beta", "devtool"}


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:chmod-ignored"])  # (the 2nd: a shadow)
def test_envs_on_a_managed_python_follow_uvs_minor_version_link_to_a_new_patch(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """As uv's venvs since 0.8: made by links from a managed Python that uv's minor-version
    link (``cpython-3.12-linux-x86_64-gnu``) leads to, an env names its base through that
    link (``version_info`` X.Y), so that after ``uv python upgrade`` and the old patch's
    removal it runs on the new one: not rebuilt by sync, not broken to check."""
    from repair_support import disposable_base

    env = project_environ(home, XDG_DATA_HOME=str(tmp_path / "data"))
    root = tmp_path / "data" / "uv" / "python"
    platform = "linux-x86_64-gnu"
    old = disposable_base(root / f"cpython-3.12.1-{platform}")
    link = root / f"cpython-3.12-{platform}"
    link.symlink_to(old.parent.parent.name)
    venv = target / "venv"
    made = anyvenv("venv", "-q", "-p", "3.12", str(venv), cwd=target, env=env)
    assert made.returncode == 0, made.stderr
    project = write_project(target / "demo", dependencies=["alpha"])
    sync_json(project, env, index)
    for made_env in (venv, project / ".venv"):
        cfg = (made_env / "pyvenv.cfg").read_text()
        assert f"home = {link}/bin\n" in cfg and "version_info = 3.12\n" in cfg, cfg
    # uv python upgrade: a newer patch installed, the link moved to it, the old one gone
    newer = disposable_base(root / f"cpython-3.12.2-{platform}")
    link.unlink()
    link.symlink_to(newer.parent.parent.name)
    shutil.rmtree(old.parent.parent)
    for made_env in (venv, project / ".venv"):
        code = "import sys; print(sys.prefix)"
        ran = run([made_env / "bin" / "python", "-c", code], target, env)
        assert ran.returncode == 0 and ran.stdout.strip() == str(made_env), ran.stderr
        checked = anyvenv("check", str(made_env), cwd=target, env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    again, _ = sync_json(project, env, index)
    assert again["action"] == "reused", again
    alpha_says_hi(project, env)
