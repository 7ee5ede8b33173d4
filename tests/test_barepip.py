"""``anyvenv pip`` on an env no project stands for (outside a project, or named by ``--python``
or ``VIRTUAL_ENV``), on mounts where plain ``uv pip`` cannot install into it in place: uv
installs into the env's shadow and the packages are mirrored in (project/barepip.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from project_support import (
    PY_MAIN,
    build_index,
    index_args,
    needs_pythons,
    project_environ,
    run,
    sync_json,
    uv_binary,
    write_project,
)
from reliability_support import killed
from standalone_build import StandaloneArchive, standalone
from test_buildshim import setuptools_index, setuptools_project

from anyvenv.project.barepip import pip_on_env
from anyvenv.project.shadow import MIRROR_JOURNAL
from lab import ALL_KINDS
from lab.expect import EXPECT
from support import ANYVENV
from wheels import build_wheel, greeter_wheel

pytestmark = [needs_pythons, pytest.mark.timeout(300)]
__all__ = ["setuptools_index", "standalone"]  # fixtures used by the tests below


def _needs_shadow(kind: str) -> bool:
    """Files run there, but chmod fails, or is ignored where files are not executable, or a
    file held open cannot be renamed (uv renames each file it writes while holding it)."""
    expect = EXPECT[kind]
    if expect["exec"] != "ok":
        return False
    if expect["rename_open"] != "ok":
        return True
    if expect["chmod"] == "ok":
        return False
    return not (expect["chmod"] == "no" and expect["exec_by_default"] == "ok")


SHADOW_KINDS = [kind for kind in ALL_KINDS if _needs_shadow(kind)]


def test_the_kinds_that_need_a_shadow() -> None:
    assert SHADOW_KINDS == ["faultfs:chmod-ignored", "faultfs:chmod-enosys", "fat", "smb"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def make_env(env: Path, home: Path) -> None:
    proc = run(
        [*ANYVENV, "venv", str(env), "--python", str(PY_MAIN)], env.parent, project_environ(home)
    )
    assert proc.returncode == 0, proc.stderr


def anyvenv_pip(
    *args: str, home: Path, cwd: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    return run([*ANYVENV, "pip", *args], cwd, project_environ(home, **extra))


def installed_then_killed(
    env: Path, home: Path, cwd: Path, first: Path | None, command: list[str], at: str
) -> dict[str, str]:
    """A new env, ``first`` installed into it through its shadow, then ``anyvenv pip
    COMMAND`` SIGKILLed at the checkpoint ``at``; returns the variables that name the env."""
    make_env(env, home)
    active = {"VIRTUAL_ENV": str(env)}
    if first is not None:
        done = anyvenv_pip("install", str(first), home=home, cwd=cwd, **active)
        assert done.returncode == 0, done.stderr
    proc = killed("pip", *command, at=at, cwd=cwd, **project_environ(home), **active)
    assert proc.returncode == -9, proc.stderr
    return active


def says_hello(env: Path) -> str:
    """What the env's console script ``greet`` prints, run directly (its exec bit, its
    shebang), or why it does not run."""
    try:
        proc = subprocess.run([env / "bin" / "greet"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        return f"does not run: {exc.strerror}"
    return proc.stdout.strip() if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr}"


def imports(env: Path, module: str) -> bool:
    proc = subprocess.run([env / "bin" / "python", "-c", f"import {module}"], capture_output=True)
    return proc.returncode == 0


def shadows(home: Path) -> list[str]:
    directory = home / "cache" / "anyvenv" / "shadow"
    return sorted(os.listdir(directory)) if directory.is_dir() else []


@pytest.mark.parametrize("lab_kind", SHADOW_KINDS)
def test_pip_installs_into_an_env_outside_a_project(
    lab_kind: str, target: Path, tmp_path: Path, home: Path
) -> None:
    wheels = tmp_path / "wheels"
    greeter = greeter_wheel(wheels)
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    outside = tmp_path / "elsewhere"  # no project here, nor above
    outside.mkdir()

    # plain uv pip on such an env: it fails (chmod ENOSYS, or the rename of a file it holds
    # open: EBUSY), or its console script cannot run
    plain_env = target / "plain"
    make_env(plain_env, home)
    plain = run(
        [
            uv_binary(),
            "pip",
            "install",
            "--python",
            str(plain_env / "bin" / "python"),
            str(greeter),
        ],
        outside,
        project_environ(home),
    )
    if lab_kind == "faultfs:chmod-ignored":
        assert plain.returncode == 0, plain.stderr
        assert says_hello(plain_env).startswith("does not run: Permission denied")
    else:
        assert plain.returncode != 0
        assert ("os error 16" if lab_kind == "smb" else "os error 38") in plain.stderr

    env = target / "env"
    make_env(env, home)
    installed = anyvenv_pip("install", str(greeter), home=home, cwd=outside, VIRTUAL_ENV=str(env))
    assert installed.returncode == 0, installed.stderr
    assert f"anyvenv: uv installs into {env} through its shadow env " in installed.stderr
    assert says_hello(env) == f"hello from {env}"
    assert len(shadows(home)) == 1

    # named by --python, from a directory with a project of its own: the same shadow
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    python = str(env / "bin" / "python")
    added = anyvenv_pip("install", "-q", "--python", python, str(other), home=home, cwd=project)
    assert added.returncode == 0, added.stderr
    assert added.stderr == ""  # (-q: neither uv nor anyvenv says anything)
    assert not (project / ".venv").exists()
    assert imports(env, "other") and imports(env, "greeter")
    assert len(shadows(home)) == 1

    removed = anyvenv_pip("uninstall", f"--python={python}", "greeter", home=home, cwd=outside)
    assert removed.returncode == 0, removed.stderr
    assert not imports(env, "greeter")
    assert not (env / "bin" / "greet").exists()
    assert imports(env, "other")

    assert prune_verdicts(home) == {shadows(home)[0]: "in-use"}
    shutil.rmtree(env)
    assert prune_verdicts(home) == {shadows(home)[0]: "unused"}


def prune_verdicts(home: Path) -> dict[str, str]:
    """What ``cache prune --dry-run`` says of each shadow env."""
    proc = run(
        [*ANYVENV, "cache", "prune", "--dry-run", "--json"], home.parent, project_environ(home)
    )
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)["entries"]
    return {os.path.basename(e["path"]): e["verdict"] for e in entries if e["kind"] == "shadow"}


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_what_changed_in_the_env_itself_is_kept(target: Path, tmp_path: Path, home: Path) -> None:
    """A package removed from the env by another tool since does not come back from the
    shadow at the next install."""
    wheels = tmp_path / "wheels"
    greeter = greeter_wheel(wheels)
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    env = target / "env"
    make_env(env, home)
    first = anyvenv_pip("install", str(greeter), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert first.returncode == 0, first.stderr
    python = str(env / "bin" / "python")
    by_uv = run(
        [uv_binary(), "pip", "uninstall", "--python", python, "greeter"],
        tmp_path,
        project_environ(home),
    )
    assert by_uv.returncode == 0, by_uv.stderr
    second = anyvenv_pip("install", str(other), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert second.returncode == 0, second.stderr
    assert imports(env, "other")
    assert not imports(env, "greeter")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_mirror_killed_half_way_is_finished_by_the_next_command(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """Whatever it installs: the shadow, not the half-made env, says what is installed."""
    wheels = tmp_path / "wheels"
    greeter = greeter_wheel(wheels)
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    env = target / "env"
    installed_then_killed(env, home, tmp_path, None, ["install", str(greeter)], "create:greet")
    (shadow,) = shadows(home)
    assert (home / "cache" / "anyvenv" / "shadow" / shadow / MIRROR_JOURNAL).exists()
    assert says_hello(env) != f"hello from {env}"  # (half-made)
    pruned = run([*ANYVENV, "cache", "prune"], tmp_path, project_environ(home))
    assert pruned.returncode == 0, pruned.stderr
    assert shadows(home) == [shadow]  # (the env's state, saved before the copy, names it)

    again = anyvenv_pip("install", str(other), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert again.returncode == 0, again.stderr
    assert says_hello(env) == f"hello from {env}"
    assert imports(env, "other")
    assert not (home / "cache" / "anyvenv" / "shadow" / shadow / MIRROR_JOURNAL).exists()


@pytest.mark.parametrize("lab_kind", ["local", "exfat"])
def test_no_shadow_where_uv_installs_in_place(target: Path, tmp_path: Path, home: Path) -> None:
    """On a local disk (not probed) and where chmod is ignored but every file is executable."""
    greeter = greeter_wheel(tmp_path / "wheels")
    env = target / "env"
    make_env(env, home)
    proc = anyvenv_pip("install", str(greeter), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert proc.returncode == 0, proc.stderr
    assert says_hello(env) == f"hello from {env}"
    assert shadows(home) == []


def fake_env(path: Path) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (path / "bin" / "python").write_text("")
    (path / "bin" / "python").chmod(0o755)
    (path / "bin" / "activate").write_text("")
    return path


def test_the_env_uv_pip_acts_on(tmp_path: Path) -> None:
    env = fake_env(tmp_path / "env")
    (tmp_path / "link").symlink_to(env)
    python = str(env / "bin" / "python")
    cwd = str(tmp_path)
    for args in (
        ["install", "--python", python, "x"],
        ["install", f"--python={python}", "x"],
        ["install", "-p", python, "x"],
        ["install", f"-p{python}", "x"],
        ["install", "-p", "./env", "x"],  # the env's directory, relative to the working dir
        ["install", "-p", "env", "x"],  # (an existing directory of that name, as uv reads it)
        ["install", "-p", "link/bin/python", "x"],  # (the env itself, not the link to it)
    ):
        found = pip_on_env(args, {}, cwd)
        assert found is not None, args
        assert (found.env, found.args) == (str(env), ["install", "x"]), args
    named = pip_on_env(["install", "x"], {"UV_PYTHON": python}, cwd)
    assert named is not None and named.env == str(env)
    active = pip_on_env(["install", "x", "--", "-p"], {"VIRTUAL_ENV": "env"}, cwd)
    assert active is not None and active.args == ["install", "x", "--", "-p"]
    nested = tmp_path / "env" / "sub"
    nested.mkdir()
    inside = pip_on_env(["install", "x"], {}, str(nested))  # the env the directory is in
    assert inside is not None and inside.env == str(env)
    for args in (
        ["install", "--system", "x"],
        ["install", "--target", "t", "x"],
        ["install", "--prefix=p", "x"],
        ["install", "-p", "3.12", "x"],
        ["install", "-p", "envy", "x"],  # (nothing of that name here: an executable's name)
        ["install", "-p", "env/bin/activate", "x"],  # (no python)
        ["install", "-p", "env/bin/python9", "x"],  # (not there)
        ["install", "-qp", python, "x"],
        ["install", "--python", str(tmp_path), "x"],  # a directory that is no env
    ):
        assert pip_on_env(args, {"VIRTUAL_ENV": str(env)}, cwd) is None, args
    assert (
        pip_on_env(["install", "x"], {"UV_SYSTEM_PYTHON": "1", "VIRTUAL_ENV": str(env)}, cwd)
        is None
    )
    # a version the env the search finds answers (as uv pip takes the active env for 3.12)
    versioned = fake_env(tmp_path / "versioned")
    (versioned / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.12.1\n")
    active = {"VIRTUAL_ENV": str(versioned)}
    for args, environ in (
        (["install", "-p", "3.12", "x"], active),
        (["install", "--python", "python3.12", "x"], active),
        (["install", "x"], {**active, "UV_PYTHON": ">=3.11"}),
    ):
        found = pip_on_env(args, environ, cwd)
        assert found is not None and found.env == str(versioned), (args, environ)
        assert found.args == ["install", "x"]
    assert pip_on_env(["install", "-p", "3.11", "x"], active, cwd) is None


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_project_env_changed_from_outside_is_synced_again(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """The project's env, active, changed by ``anyvenv pip`` from outside the project (through
    the project's own shadow): the next sync runs uv and takes the extra package away."""
    index = build_index(tmp_path / "index")
    project = write_project(target / "proj", dependencies=["gamma"])
    environ = project_environ(home)
    synced, _ = sync_json(project, environ, index)
    assert synced["placement"] == "shadow"
    env = project / ".venv"
    installed = anyvenv_pip(
        "install", *index_args(index), "alpha", home=home, cwd=tmp_path, VIRTUAL_ENV=str(env)
    )
    assert installed.returncode == 0, installed.stderr
    shadow = synced["shadow"]
    assert f"anyvenv: uv installs into {env} through its shadow env {shadow}: " in (
        installed.stderr
    )  # (the project's own shadow)
    assert imports(env, "alpha")
    sync_json(project, environ, index)  # (its inputs record covers the env's site-packages)
    assert not imports(env, "alpha")
    assert imports(env, "gamma")


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_package_fat_refuses_fails_alone(target: Path, tmp_path: Path, home: Path) -> None:
    """A wheel with a file name FAT cannot hold (``a:b.txt``): one line naming the package,
    nothing of it left in the env, and the next install of another package works."""
    wheels = tmp_path / "wheels"
    colon = build_wheel(wheels, "colon", data_files={"colon/a:b.txt": b"x"})
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    env = target / "env"
    make_env(env, home)
    refused = anyvenv_pip("install", str(colon), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith(
        "anyvenv: error: colon could not be installed: cannot place "
    )
    site = env / "lib" / f"python{PY_MAIN.name[6:]}" / "site-packages"
    left = [name for name in os.listdir(site) if name.startswith("colon")]
    assert not left, [os.listdir(site / n) for n in left]
    after = anyvenv_pip("install", str(other), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert after.returncode == 0, after.stderr
    assert imports(env, "other")


def _big(wheels: Path, version: str) -> Path:
    """Five modules, each version's of its own name: what one leaves, the other lacks."""
    modules = {f"big/m{version[0]}_{i}.py": f"V = {version!r}\n" for i in range(5)}
    return build_wheel(wheels, "big", version, modules={"big/__init__.py": "", **modules})


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
@pytest.mark.parametrize("then", ["uninstall", "downgrade"])
def test_an_upgrade_killed_half_way_leaves_no_files_behind(
    target: Path, tmp_path: Path, home: Path, then: str
) -> None:
    """The files the killed copy wrote are named by its journal, not yet by a RECORD: the
    next command removes those that the version it wants (or none) does not list."""
    wheels = tmp_path / "wheels"
    one, two = _big(wheels, "1.0"), _big(wheels, "2.0")
    env = target / "env"
    installed_then_killed(env, home, tmp_path, one, ["install", str(two)], "copy:m2_3.py")
    site = env / "lib" / f"python{PY_MAIN.name[6:]}" / "site-packages"
    assert (site / "big" / "m2_0.py").exists()  # (half-made)
    if then == "uninstall":
        done = anyvenv_pip("uninstall", "big", home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
        assert done.returncode == 0, done.stderr
        assert not (site / "big").exists()
    else:
        done = anyvenv_pip("install", str(one), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
        assert done.returncode == 0, done.stderr
        assert sorted(os.listdir(site / "big")) == ["__init__.py"] + [
            f"m1_{i}.py" for i in range(5)
        ]


def _codes(proc: subprocess.CompletedProcess[str], key: str = "findings") -> list[str]:
    return [finding["code"] for finding in json.loads(proc.stdout)[key]]


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_check_and_repair_tell_of_a_copy_that_did_not_finish(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """The killed copy's journal is in the shadow, which check and repair find through the
    env's state: the env is said to be half-made until the stopped command runs again."""
    wheels = tmp_path / "wheels"
    one, two = _big(wheels, "1.0"), _big(wheels, "2.0")
    env = target / "env"
    active = installed_then_killed(env, home, tmp_path, one, ["install", str(two)], "copy:m2_3.py")
    environ = project_environ(home)
    checked = run([*ANYVENV, "check", str(env)], tmp_path, environ)
    assert checked.returncode == 0, checked.stderr  # (a warning: its python runs)
    line = next(line for line in checked.stdout.splitlines() if "copy-unfinished" in line)
    assert "big may be missing or half-copied" in line, line
    assert "run the stopped command again" in line, line
    repaired = run([*ANYVENV, "repair", str(env), "--json"], tmp_path, environ)
    assert repaired.returncode == 0, repaired.stderr
    # (not also package-incomplete for it, whose fix would be another)
    assert _codes(repaired, "findings_before") == ["copy-unfinished"]
    assert json.loads(repaired.stdout)["plan"] == []  # (repair cannot finish it)
    again = anyvenv_pip("install", str(two), home=home, cwd=tmp_path, **active)
    assert again.returncode == 0, again.stderr
    after = run([*ANYVENV, "check", str(env), "--json"], tmp_path, environ)
    assert after.returncode == 0, after.stderr
    assert _codes(after) == [], after.stdout


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_project_env_killed_half_way_from_outside_syncs_again(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """The project's env, changed from outside and killed while its copy ran: the project's
    own next sync brings it back to the lock, with nothing of the half-made package left."""
    index = build_index(tmp_path / "index")
    project = write_project(target / "proj", dependencies=["gamma"])
    environ = project_environ(home)
    sync_json(project, environ, index)
    env = project / ".venv"
    outside = {**environ, "VIRTUAL_ENV": str(env)}
    proc = killed(
        "pip",
        "install",
        *index_args(index),
        "alpha",
        at="copy:__init__.py",
        cwd=tmp_path,
        **outside,
    )
    assert proc.returncode == -9, proc.stderr
    sync_json(project, environ, index)
    site = next(env.glob("lib/python*/site-packages"))
    assert imports(env, "gamma")
    assert not [name for name in os.listdir(site) if name.startswith(("alpha", "beta"))]


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_an_env_whose_base_is_gone_is_one_line_naming_repair(
    target: Path, tmp_path: Path, home: Path, standalone: StandaloneArchive
) -> None:
    """Plain uv pip would stop at the mount's chmod; anyvenv says the env is broken."""
    with tarfile.open(standalone.path) as archive:
        archive.extractall(tmp_path / "base", filter="tar")
    major, minor = standalone.version[:2]
    base = tmp_path / "base" / "python" / "bin" / f"python{major}.{minor}"
    env = target / "env"
    made = run([*ANYVENV, "venv", str(env), "--python", str(base)], tmp_path, project_environ(home))
    assert made.returncode == 0, made.stderr
    shutil.rmtree(tmp_path / "base")
    greeter = greeter_wheel(tmp_path / "wheels")
    proc = anyvenv_pip("install", str(greeter), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"anyvenv: error: the env {env} does not work (")
    assert f"'anyvenv repair {env}' mends it" in proc.stderr
    assert shadows(home) == []


def test_a_bare_env_whose_base_is_out_of_reach_is_left_with_a_hint_for_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An env given to pip (no project: no UV_PROJECT_ENVIRONMENT to point elsewhere) whose
    base lies past a directory this user may not enter: left as it is, the hint says to use
    an env of one's own."""
    from anyvenv.errors import BaseOutOfReach
    from anyvenv.project import barepip
    from anyvenv.repair import envstate

    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    closed = tmp_path / "closed"
    (env / "pyvenv.cfg").write_text(f"home = {closed / 'bin'}\nversion_info = 3.12.1\n")
    monkeypatch.setattr(barepip, "_install_fault", lambda env: ("chmod fails (ENOSYS)", "x"))
    monkeypatch.setattr(  # (root enters every directory: as another user would find it)
        envstate,
        "base_out_of_reach",
        lambda env: envstate.OutOfReach(f"its base Python's directory {closed}", str(closed)),
    )
    with pytest.raises(BaseOutOfReach) as caught:
        barepip._shadowed(str(env), {})
    assert caught.value.message.startswith(f"the environment {env} cannot be used by you")
    assert caught.value.hint is not None and caught.value.hint.endswith(
        ", or use an env of your own"
    ), caught.value.hint


def site_of(env: Path) -> Path:
    (site,) = env.glob("lib/python3*/site-packages")
    return site


def shadow_dir(home: Path) -> Path:
    (name,) = shadows(home)
    return home / "cache" / "anyvenv" / "shadow" / name


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_what_uv_pip_is_asked_lands_as_it_would(target: Path, tmp_path: Path, home: Path) -> None:
    """Reading and dry-run commands make no shadow; a failed install says so (exit code);
    --reinstall puts a damaged file back; --compile-bytecode compiles in the env; the
    shadow is hard-linked from uv's cache (one disk) and named after a .venv's project."""
    wheels = tmp_path / "wheels"
    greeter = greeter_wheel(wheels)
    env = target / "proj" / ".venv"
    env.parent.mkdir()
    make_env(env, home)
    active = {"VIRTUAL_ENV": str(env)}
    listed = anyvenv_pip("list", home=home, cwd=tmp_path, **active)
    assert listed.returncode == 0, listed.stderr
    dry = anyvenv_pip("install", "--dry-run", str(greeter), home=home, cwd=tmp_path, **active)
    assert dry.returncode == 0, dry.stderr
    assert shadows(home) == []
    missing = anyvenv_pip(
        "install", "--no-index", "--find-links", str(wheels), "nosuchpkg",
        home=home, cwd=tmp_path, **active,
    )  # fmt: skip
    assert missing.returncode == 1, missing.stderr
    assert shadows(home)[0].startswith("proj-")

    assert anyvenv_pip("install", str(greeter), home=home, cwd=tmp_path, **active).returncode == 0
    linked = next(shadow_dir(home).glob("lib/python3*/site-packages/greeter/__init__.py"))
    assert linked.stat().st_nlink > 1
    init = site_of(env) / "greeter" / "__init__.py"
    good = init.read_bytes()
    init.write_bytes(b"raise SystemExit('damaged')\n")
    assert not list(init.parent.glob("__pycache__/*.pyc"))
    again = anyvenv_pip(
        "install", "--reinstall", "--compile-bytecode", str(greeter),
        home=home, cwd=tmp_path, **active,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert init.read_bytes() == good
    assert list(init.parent.glob("__pycache__/__init__.*.pyc"))


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_uvs_settings_and_directory_are_read(target: Path, tmp_path: Path, home: Path) -> None:
    """``--directory`` moves where the env is found; a ``link-mode`` in uv.toml is followed
    for the shadow, as uv pip would follow it."""
    greeter = greeter_wheel(tmp_path / "wheels")
    env = target / "env"
    make_env(env, home)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "uv.toml").write_text('link-mode = "copy"\n')
    found = anyvenv_pip("install", "--directory", str(env), str(greeter), home=home, cwd=elsewhere)
    assert found.returncode == 0, found.stderr
    assert says_hello(env) == f"hello from {env}"
    copied = next(shadow_dir(home).glob("lib/python3*/site-packages/greeter/__init__.py"))
    assert copied.stat().st_nlink == 1
    named = anyvenv_pip(
        "uninstall", "--directory", str(target), "-p", "./env/bin/python", "greeter",
        home=home, cwd=elsewhere,
    )  # fmt: skip
    assert named.returncode == 0, named.stderr
    assert not imports(env, "greeter")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_rebuilt_shadow_after_a_killed_copy_keeps_the_envs_packages(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """The shadow no longer fits (its python gone) while a copy into the env did not end: the
    new shadow takes the env's complete packages, so the copy back removes none of them."""
    wheels = tmp_path / "wheels"
    greeter = greeter_wheel(wheels)
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    third = build_wheel(wheels, "third", modules={"third/__init__.py": "X = 1\n"})
    env = target / "env"
    active = installed_then_killed(
        env, home, tmp_path, other, ["install", str(greeter)], "create:greet"
    )
    (shadow_dir(home) / "bin" / "python").unlink()
    done = anyvenv_pip("install", str(third), home=home, cwd=tmp_path, **active)
    assert done.returncode == 0, done.stderr
    assert imports(env, "third") and imports(env, "other")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_held_env_lock_is_waited_for(target: Path, tmp_path: Path, home: Path) -> None:
    from anyvenv.fs.lock import env_lock

    greeter = greeter_wheel(tmp_path / "wheels")
    env = target / "env"
    make_env(env, home)
    with env_lock(str(env)):
        waiting = subprocess.Popen(
            [*ANYVENV, "pip", "install", str(greeter)],
            cwd=tmp_path,
            env=project_environ(home, VIRTUAL_ENV=str(env)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=3)
        assert shadows(home) == []
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err


def test_an_in_place_project_env_changed_from_outside(tmp_path: Path, home: Path) -> None:
    """On local disk the project's env takes uv pip in place (its state says so): nothing
    else is made."""
    index = build_index(tmp_path / "index")
    project = write_project(tmp_path / "proj", dependencies=["gamma"])
    synced, _ = sync_json(project, project_environ(home), index)
    assert synced["placement"] == "in-place"
    outside = tmp_path / "out"
    outside.mkdir()
    env = project / ".venv"
    done = anyvenv_pip(
        "install", *index_args(index), "alpha", home=home, cwd=outside, VIRTUAL_ENV=str(env)
    )
    assert done.returncode == 0, done.stderr
    assert imports(env, "alpha")
    assert shadows(home) == []


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_python_given_twice_is_refused_as_uv_refuses_it(
    target: Path, tmp_path: Path, home: Path
) -> None:
    greeter = greeter_wheel(tmp_path / "wheels")
    first, second = target / "a", target / "b"
    make_env(first, home)
    make_env(second, home)
    pythons = ["-p", str(first / "bin" / "python"), "-p", str(second / "bin" / "python")]
    proc = anyvenv_pip("install", *pythons, str(greeter), home=home, cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot be used multiple times" in proc.stderr
    assert not imports(first, "greeter") and not imports(second, "greeter")


def test_conda_and_home_relative_pythons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = fake_env(tmp_path / "env")
    conda = fake_env(tmp_path / "conda")
    cwd = str(tmp_path)
    both = {"VIRTUAL_ENV": str(env), "CONDA_PREFIX": str(conda), "CONDA_DEFAULT_ENV": "work"}
    found = pip_on_env(["install", "x"], both, cwd)
    assert found is not None and found.env == str(env)  # (VIRTUAL_ENV first, as in uv)
    only_conda = {"CONDA_PREFIX": str(conda), "CONDA_DEFAULT_ENV": "work"}
    found = pip_on_env(["install", "x"], only_conda, cwd)
    assert found is not None and found.env == str(conda)
    (tmp_path / "sub").mkdir()
    base = {"CONDA_PREFIX": str(conda), "CONDA_DEFAULT_ENV": "root"}  # (conda's base: no)
    assert pip_on_env(["install", "x"], base, str(tmp_path / "sub")) is None
    monkeypatch.setenv("HOME", str(tmp_path))
    found = pip_on_env(["install", "--python=~/env/bin/python", "x"], {}, cwd)
    assert found is not None and found.env == str(env)
    found = pip_on_env(["install", f"-p={env}/bin/python", "x"], {}, cwd)
    assert found is not None and found.env == str(env)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_an_editable_setuptools_project_there_builds_and_installs(
    target: Path, tmp_path: Path, home: Path, setuptools_index: Path
) -> None:
    """Env and project where chmod fails: uv installs through the shadow, and setuptools,
    which chmods its egg-info in the project, builds there through the build shim."""
    project = setuptools_project(target / "lib")
    env = target / "env"
    make_env(env, home)
    done = anyvenv_pip(
        "install", *index_args(setuptools_index), "-e", str(project),
        home=home, cwd=tmp_path, VIRTUAL_ENV=str(env),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ran = subprocess.run(
        [env / "bin" / "python", "-c", "import demo; print(demo.VALUE)"],
        capture_output=True,
        text=True,
    )
    assert ran.stdout == "built by setuptools\n", ran.stderr


def test_a_local_disk_is_not_probed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import anyvenv.fs.probe
    from anyvenv.project.barepip import _install_fault

    def probed(*args: object, **kwargs: object) -> None:
        raise AssertionError("probed")

    monkeypatch.setattr(anyvenv.fs.probe, "probe", probed)
    assert _install_fault(str(tmp_path)) is None


@pytest.mark.parametrize("stale_by", ["an edit", "an earlier release"])
def test_a_saved_state_is_trusted_only_while_the_env_is_as_it_was(
    tmp_path: Path, home: Path, stale_by: str
) -> None:
    """A state saying "through a shadow" for an env whose pyvenv.cfg changed since, or whose
    fingerprint leaves out the env's python (as an earlier release could save it): measured
    again (local disk: in place), no shadow made from the stale state."""
    from anyvenv.project import state as state_store
    from anyvenv.project.health import vital_files

    greeter = greeter_wheel(tmp_path / "wheels")
    env = tmp_path / "env"
    make_env(env, home)
    # (in this user's shadow dir: taken as the env's own shadow, were the state trusted)
    stale = home / "cache" / "anyvenv" / "shadow" / f"stale-{stale_by.replace(' ', '-')}"
    base = os.path.realpath(env / "bin" / "python")
    state_store.save(
        str(env),
        state_store.SyncState(
            env=str(env), placement="shadow", reason="", base_executable=base,
            version=[3, 12, 1], free_threaded=False,
            site_packages=os.path.relpath(site_of(env), env), made_by_anyvenv=True,
            fingerprint=state_store.fingerprint(
                [path for path in vital_files(str(env), base)
                 if stale_by == "an edit" or not path.endswith("/bin/python")]
            ),
            shadow=str(stale),
        ),
    )  # fmt: skip
    if stale_by == "an edit":
        with open(env / "pyvenv.cfg", "a") as config:
            config.write("# edited\n")
    done = anyvenv_pip("install", str(greeter), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert imports(env, "greeter")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
@pytest.mark.parametrize("at", ["unlink:INSTALLER", "unlink:m1_2.py"])
def test_an_uninstall_killed_half_way_is_finished_by_the_next_install(
    target: Path, tmp_path: Path, home: Path, at: str
) -> None:
    """Killed before its METADATA went (the package looks whole) or after: the next command
    takes the shadow, which no longer has it, for what is installed."""
    wheels = tmp_path / "wheels"
    big = _big(wheels, "1.0")
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    env = target / "env"
    active = installed_then_killed(env, home, tmp_path, big, ["uninstall", "big"], at)
    site = site_of(env)
    assert (site / "big" / "m1_4.py").exists()  # (half-removed)
    done = anyvenv_pip("install", str(other), home=home, cwd=tmp_path, **active)
    assert done.returncode == 0, done.stderr
    assert imports(env, "other")
    assert not [name for name in os.listdir(site) if name.startswith("big")]


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_an_env_of_pip_whose_record_lists_removed_files_is_taken_over(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """``python -m venv`` and its pip, which records the .pyc files it compiles; the
    __pycache__ cleaned since: the env's packages go into the new shadow without them."""
    wheels = tmp_path / "wheels"
    gamma = build_wheel(wheels, "gamma", modules={"gamma/__init__.py": "VALUE = 3\n"})
    greeter = greeter_wheel(wheels)
    env = target / "env"
    made = run([str(PY_MAIN), "-m", "venv", str(env)], tmp_path, project_environ(home))
    assert made.returncode == 0, made.stderr
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", str(gamma)]
    assert run(pip, tmp_path, project_environ(home)).returncode == 0
    shutil.rmtree(site_of(env) / "gamma" / "__pycache__")
    done = anyvenv_pip("install", str(greeter), home=home, cwd=tmp_path, VIRTUAL_ENV=str(env))
    assert done.returncode == 0, done.stderr
    assert imports(env, "gamma")
    assert says_hello(env) == f"hello from {env}"


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_half_made_package_whose_shadow_is_gone_is_left_and_said(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """The copy killed, then its shadow (and the journal in it) deleted: which files the
    half-made package has cannot be told. It is left as it is (not its dist-info removed and
    its files kept, hidden), the user is told, and the reinstall named works."""
    wheels = tmp_path / "wheels"
    one, two = _big(wheels, "1.0"), _big(wheels, "2.0")
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    env = target / "env"
    active = installed_then_killed(env, home, tmp_path, one, ["install", str(two)], "copy:m2_3.py")
    shutil.rmtree(shadow_dir(home))
    done = anyvenv_pip("install", str(other), home=home, cwd=tmp_path, **active)
    assert done.returncode == 0, done.stderr
    assert f"anyvenv: warning: big in {env}: an install that did not finish" in done.stderr
    assert (site_of(env) / "big-2.0.dist-info").is_dir()
    again = anyvenv_pip("install", "--reinstall", str(two), home=home, cwd=tmp_path, **active)
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(site_of(env) / "big")) == ["__init__.py"] + [
        f"m2_{i}.py" for i in range(5)
    ]


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_reinstall_copies_again_only_what_uv_reinstalled(
    target: Path, tmp_path: Path, home: Path
) -> None:
    """``--reinstall`` reinstalls what uv pip resolved (greeter), not the whole env: only
    that is copied again, a file of another package changed in the env stays as it is."""
    wheels = tmp_path / "wheels"
    greeter = greeter_wheel(wheels)
    other = build_wheel(wheels, "other", modules={"other/__init__.py": "X = 1\n"})
    env = target / "env"
    make_env(env, home)
    active = {"VIRTUAL_ENV": str(env)}
    both = anyvenv_pip("install", str(greeter), str(other), home=home, cwd=tmp_path, **active)
    assert both.returncode == 0, both.stderr
    site = site_of(env)
    for module in ("greeter", "other"):
        (site / module / "__init__.py").write_text("CHANGED = True\n")
    again = anyvenv_pip("install", "--reinstall", str(greeter), home=home, cwd=tmp_path, **active)
    assert again.returncode == 0, again.stderr
    assert says_hello(env) == f"hello from {env}"
    assert (site / "other" / "__init__.py").read_text() == "CHANGED = True\n"
