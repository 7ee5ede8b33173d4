"""``anyvenv sync``, ``run`` and ``pip`` on local disk: a real project with local wheels, offline."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
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
    run,
    sync_json,
    syncs_at_once,
    uv_binary,
    write_project,
)

from support import ANYVENV, one_line_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = [needs_pythons, pytest.mark.timeout(300)]


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared uv cache and XDG dirs: warm after the first test, as on a user's machine."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return project_environ(home)


@pytest.fixture(autouse=True)
def own_cache(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What the tests that sync in-process keep in the user cache (interpreter facts, parsed
    pyprojects) goes to the tests' home, as for the syncs they run as commands."""
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])


@pytest.fixture
def synced(tmp_path: Path, env: dict[str, str], index: Path) -> Path:
    project = write_project(tmp_path / "demo")
    sync_json(project, env, index)
    return project


def site_packages(project: Path, minor: str = "3.12") -> Path:
    return project / ".venv" / "lib" / f"python{minor}" / "site-packages"


def test_sync_installs_and_run_uses_the_env(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo")
    report, proc = sync_json(project, env, index)
    assert report["action"] == "created"
    assert report["placement"] == "in-place"
    assert report["python"] == "3.12.1" or str(report["python"]).startswith("3.12")
    assert (project / "uv.lock").is_file()
    assert "Creating virtual environment" not in proc.stderr  # uv reused our env
    cfg = (project / ".venv" / "pyvenv.cfg").read_text()
    assert "anyvenv = " in cfg
    assert "prompt = demo\n" in cfg  # the project's name, as uv's project env
    from anyvenv.project.model import discover
    from anyvenv.project.prepare import env_prompt

    odd = write_project(tmp_path / "odd", name="My_Odd.Proj")
    assert env_prompt(discover(str(odd))) == "my-odd-proj"  # normalised, as uv writes it
    hello = anyvenv("run", "alpha-hello", cwd=project, env=env)
    assert (hello.returncode, hello.stdout) == (0, "alpha says hi\n"), hello.stderr
    code = "import sys, os, beta; print(sys.prefix); print(beta.DATA.strip()); print(os.environ['VIRTUAL_ENV'])"
    inside = anyvenv("run", "--", "python", "-c", code, cwd=project, env=env)
    venv = str(project / ".venv")
    assert inside.stdout.splitlines() == [venv, '{"beta": 1}', venv], inside.stderr
    tool = anyvenv("run", "--no-sync", "beta-tool", cwd=project, env=env)
    assert tool.stdout == '{"beta": 1}\n', tool.stderr
    dev = anyvenv("run", "--no-sync", "devtool", cwd=project, env=env)
    assert dev.stdout == "devtool ok\n"
    assert (project / ".venv" / "share" / "beta" / "readme.txt").read_text() == "beta readme\n"
    # nothing of anyvenv's beside the env for git to show: the sync lock leaves no file
    assert sorted(os.listdir(project)) == [".python-version", ".venv", "pyproject.toml", "uv.lock"]


def test_a_second_sync_is_a_no_op(synced: Path, env: dict[str, str], index: Path) -> None:
    cfg = synced / ".venv" / "pyvenv.cfg"
    before = cfg.stat()
    state = (synced / ".venv" / ".anyvenv-sync.state").stat()
    report, proc = sync_json(synced, env, index)
    assert report["action"] == "reused"
    assert "Installed" not in proc.stderr and "Uninstalled" not in proc.stderr
    assert "Creating virtual environment" not in proc.stderr
    after = cfg.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert (synced / ".venv" / ".anyvenv-sync.state").stat().st_mtime_ns == state.st_mtime_ns


def test_removing_a_dependency_removes_it(synced: Path, env: dict[str, str], index: Path) -> None:
    write_project(synced, dependencies=["gamma"])
    sync_json(synced, env, index)
    names = sorted(p.name for p in site_packages(synced).glob("*.dist-info"))
    assert names == ["devtool-1.0.dist-info", "gamma-1.0.dist-info"]
    assert not (synced / ".venv" / "bin" / "alpha-hello").exists()
    assert not (site_packages(synced) / "beta").exists()


def test_no_dev_and_groups_pass_through(synced: Path, env: dict[str, str], index: Path) -> None:
    sync_json(synced, env, index, "--no-dev")
    assert not (synced / ".venv" / "bin" / "devtool").exists()
    sync_json(synced, env, index, "--group", "dev")
    assert (synced / ".venv" / "bin" / "devtool").exists()


def test_locked_and_frozen_behave_as_in_uv(synced: Path, env: dict[str, str], index: Path) -> None:
    lock = (synced / "uv.lock").read_bytes()
    write_project(synced, dependencies=["alpha", "gamma"])
    locked = anyvenv("sync", "--locked", *index_args(index), cwd=synced, env=env)
    assert locked.returncode != 0
    assert "--locked" in locked.stderr
    assert (synced / "uv.lock").read_bytes() == lock
    frozen = anyvenv("sync", "--frozen", *index_args(index), cwd=synced, env=env)
    assert frozen.returncode == 0, frozen.stderr
    assert (synced / "uv.lock").read_bytes() == lock
    assert not (site_packages(synced) / "gamma").exists()
    sync_json(synced, env, index)
    assert b'name = "gamma"' in (synced / "uv.lock").read_bytes()
    assert (site_packages(synced) / "gamma" / "__init__.py").is_file()


def test_link_mode_is_chosen_and_can_be_forced(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo")
    report, _ = sync_json(project, env, index)
    # the uv cache and the project share the temp filesystem: no trial, no warning
    assert report["link_mode"] in ("hardlink", "clone")
    if report["link_mode"] == "hardlink":
        assert (site_packages(project) / "beta" / "data.json").stat().st_nlink > 1
    forced = write_project(tmp_path / "forced")
    report, proc = sync_json(forced, {**env, "UV_LINK_MODE": "copy"}, index)
    assert report["link_mode"] == "copy"
    assert (site_packages(forced) / "beta" / "data.json").stat().st_nlink == 1
    assert "Failed to hardlink" not in proc.stderr and "falling back" not in proc.stderr
    again, _ = sync_json(forced, env, index, "--link-mode", "hardlink")
    assert again["link_mode"] == "hardlink"


def test_a_link_mode_in_uvs_settings_is_the_users_choice(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """``link-mode`` in uv.toml or ``[tool.uv]`` is honoured, as by uv, under the option and
    UV_LINK_MODE; anyvenv's own choice goes on the command line, where it would override it."""
    project = write_project(tmp_path / "configured")
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.uv]\nlink-mode = "copy"\n')
    report, _ = sync_json(project, env, index)
    assert report["link_mode"] == "copy"
    assert (site_packages(project) / "beta" / "data.json").stat().st_nlink == 1
    (project / "uv.toml").write_text('link-mode = "symlink"\n')  # uv.toml before [tool.uv]
    shutil.rmtree(project / ".venv")
    report, _ = sync_json(project, env, index)
    assert report["link_mode"] == "symlink"  # (anyvenv would never choose it)
    assert (site_packages(project) / "beta" / "data.json").is_symlink()
    shutil.rmtree(project / ".venv")
    report, _ = sync_json(project, {**env, "UV_LINK_MODE": "copy"}, index)
    assert report["link_mode"] == "copy"  # the variable before the files, as in uv
    (project / "uv.toml").write_text('link-mode = "teleport"\n')
    refused = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert refused.returncode == 2
    assert f"link-mode in {project / 'uv.toml'} 'teleport' is not a link mode" in one_line_error(
        refused
    )


def test_link_mode_follows_the_cache_dir_uv_really_uses(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """No UV_CACHE_DIR: uv's default cache (beside the project) or the one a uv.toml names
    (on another filesystem) decides, as uv itself would find it."""
    plain = {key: value for key, value in env.items() if key != "UV_CACHE_DIR"}
    plain["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    project = write_project(tmp_path / "default")
    report, _ = sync_json(project, plain, index)
    assert report["link_mode"] in ("hardlink", "clone")
    assert (tmp_path / "xdg-cache" / "uv").is_dir()  # uv used the default we assumed

    elsewhere = Path(tempfile.mkdtemp(prefix="anyvenv-test-cache-", dir="/dev/shm"))
    try:
        assert os.stat(elsewhere).st_dev != os.stat(tmp_path).st_dev
        configured = write_project(tmp_path / "configured")
        (configured / "uv.toml").write_text(f'cache-dir = "{elsewhere / "uv"}"\n')
        report, proc = sync_json(configured, plain, index)
        assert report["link_mode"] == "copy"
        assert (elsewhere / "uv").is_dir()
        assert "Failed to hardlink" not in proc.stderr and "falling back" not in proc.stderr

        # the same config added to the first project later: the kept decision is made again
        (project / "uv.toml").write_text(f'cache-dir = "{elsewhere / "uv"}"\n')
        report, proc = sync_json(project, plain, index, "--reinstall")
        assert report["link_mode"] == "copy"
        assert "Failed to hardlink" not in proc.stderr and "falling back" not in proc.stderr
        assert (site_packages(project) / "beta" / "data.json").stat().st_nlink == 1
    finally:
        shutil.rmtree(elsewhere)


def test_a_kept_link_mode_decision_asks_uv_nothing(
    tmp_path: Path, env: dict[str, str], index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a uv.toml only `uv cache dir` can tell where the cache is; once the decision is
    kept, a sync that runs uv again starts no `uv cache dir` at all."""
    from anyvenv.project import session, sync, uvcache

    project = write_project(tmp_path / "demo")
    (project / "uv.toml").write_text(f'cache-dir = "{env["UV_CACHE_DIR"]}"\n')
    plain = {key: value for key, value in env.items() if key != "UV_CACHE_DIR"}
    first, _ = sync_json(project, plain, index)

    def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("uv was asked for its cache dir again")

    monkeypatch.setattr(uvcache, "CacheDirLookup", no_lookup)
    monkeypatch.setattr(session, "CacheDirLookup", no_lookup)
    monkeypatch.chdir(project)
    options = session.SyncOptions(uv_args=(*index_args(index), "--reinstall"))
    result = sync.sync(options, plain)
    assert result.uv_exit_code == 0 and result.uv_ran and result.prepared.action == "reused"
    assert result.link.mode.value == first["link_mode"]


SLOW_TO_IMPORT = {"argparse", "tomllib", "typing", "json", "pathlib", "re", "enum", "fnmatch"}
SLOW_TO_IMPORT |= {"contextlib", "dataclasses", "subprocess", "shutil", "tempfile", "sysconfig"}


def test_a_fresh_sync_loads_no_slow_module(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """Start-up is most of anyvenv's share of a fresh sync: once the pyproject.toml has been
    parsed, making the env and running uv loads none of the modules that cost start-up time
    (the Python found from requires-python, as without --python)."""
    project = write_project(tmp_path / "demo")
    sync_json(project, env, index)  # parses pyproject.toml once
    shutil.rmtree(project / ".venv")
    show = "print('MODULES', ' '.join(sorted(sys.modules)))"
    code = f"import sys; from anyvenv.__main__ import main; code = main(sys.argv[1:]); {show}"
    proc = subprocess.run(
        [sys.executable, "-c", code, "sync", "-q", *index_args(index)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (project / ".venv" / "bin" / "python").exists()
    line = next(line for line in proc.stdout.splitlines() if line.startswith("MODULES "))
    loaded = set(line.split()[1:])
    assert "anyvenv.envbuild.builder" in loaded  # the env was built here
    assert not loaded & SLOW_TO_IMPORT, sorted(loaded & SLOW_TO_IMPORT)


def test_wrong_python_is_rebuilt_keeping_nothing_stale(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    (synced / ".python-version").write_text("3.11\n")
    report, _ = sync_json(synced, env, index)
    assert report["action"] == "rebuilt"
    assert "3.11" in str(report["rebuild_reason"])
    assert str(report["python"]).startswith("3.11")
    assert not (synced / ".venv" / "lib" / "python3.12").exists()
    version = anyvenv(
        "run",
        "--no-sync",
        "--",
        "python",
        "-c",
        "import sys, alpha; print(sys.version_info[:2])",
        cwd=synced,
        env=env,
    )
    assert version.stdout == "(3, 11)\n", version.stderr


def test_a_dangling_interpreter_link_is_rebuilt(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    bin_dir = synced / ".venv" / "bin"
    for name in ("python", "python3", "python3.12"):
        (bin_dir / name).unlink()
        (bin_dir / name).symlink_to("/nonexistent/python3.12")
    report, _ = sync_json(synced, env, index)
    assert report["action"] == "rebuilt"
    assert report["rebuild_reason"] == (
        "its python links to /nonexistent/python3.12, which does not exist (its base is gone)"
    )
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=synced, env=env)
    assert hello.stdout == "alpha says hi\n"


def test_run_no_sync_warns_of_an_env_that_does_not_answer_the_request(
    synced: Path, env: dict[str, str]
) -> None:
    """As ``uv run --no-sync``: the env is used as it is, with a warning where its Python is
    not the one asked for; a bad ``--link-mode`` or request is still refused."""
    asked = anyvenv("run", "--no-sync", "--python", "3.12", "alpha-hello", cwd=synced, env=env)
    assert (asked.returncode, asked.stdout) == (0, "alpha says hi\n"), asked.stderr
    assert "warning" not in asked.stderr
    own = str(synced / ".venv" / "bin" / "python")
    named = anyvenv("run", "--no-sync", "--python", own, "alpha-hello", cwd=synced, env=env)
    assert named.returncode == 0 and "warning" not in named.stderr, named.stderr
    show = ("python", "-c", "import sys; print(sys.version_info[:2])")
    other = anyvenv("run", "--no-sync", "--python", "3.99", *show, cwd=synced, env=env)
    assert (other.returncode, other.stdout) == (0, "(3, 12)\n"), other.stderr
    assert other.stderr == (  # (uv run's own warning: it runs the command, on anyvenv's env)
        "warning: Using incompatible environment (`.venv`) due to `--no-sync` (The project "
        "environment's Python version does not satisfy the request: `Python 3.99`)\n"
    ), other.stderr
    pinned = anyvenv("run", "--no-sync", *show, cwd=synced, env={**env, "UV_PYTHON": "3.11"})
    assert pinned.returncode == 0 and "Using incompatible environment" in pinned.stderr
    for bad, said in ((("--link-mode", "teleport"), "'teleport' is not a link mode"),
                      (("--python", "3.12@@"), "cannot read the Python request")):  # fmt: skip
        refused = anyvenv("run", "--no-sync", *bad, *show, cwd=synced, env=env)
        assert refused.returncode == 2 and said in one_line_error(refused), refused.stderr


def test_run_no_sync_is_checked_as_uv_run_checks_it(synced: Path, env: dict[str, str]) -> None:
    """With nothing synced, uv still reads the command line and the project: an option it
    does not know, a member not in the workspace, a required-version this uv is not, are
    refused as by ``uv run --no-sync`` (exit 2), and nothing runs (they ran, exit 0)."""
    show = ("python", "-c", "print('ran')")
    for words, said in (
        (["--bogus"], "unexpected argument '--bogus'"),
        (["--package", "nope"], "does not have a member"),
        (["--frozen", "--locked"], "cannot be used with"),
    ):
        refused = anyvenv("run", "--no-sync", *words, *show, cwd=synced, env=env)
        assert (refused.returncode, refused.stdout) == (2, ""), (words, refused.stderr)
        assert said in refused.stderr, (words, refused.stderr)
    bare = {**env, "PATH": "/nonexistent"}  # (what uv runs to read them is no command of PATH)
    ran = anyvenv("run", "--no-sync", "--python", "3.12", *show, cwd=synced, env=bare)
    assert (ran.returncode, ran.stdout) == (0, "ran\n"), ran.stderr
    with (synced / "pyproject.toml").open("a") as pyproject:
        pyproject.write('\n[tool.uv]\nrequired-version = ">=0.99"\n')
    pinned = anyvenv("run", "--no-sync", *show, cwd=synced, env=env)
    assert (pinned.returncode, pinned.stdout) == (2, ""), pinned.stderr
    assert "Required uv version `>=0.99` does not match" in pinned.stderr


def test_run_no_sync_refused_by_uv_leaves_no_env_made_for_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """With no env yet, ``run --no-sync`` makes an empty one, as uv run; where uv then refuses
    the command line, that env is removed again, as uv, which reads it first, makes none."""
    project = write_project(tmp_path / "demo")
    before = sorted(os.listdir(project))
    refused = anyvenv("run", "--no-sync", "--bogus", "python", "-c", "1", cwd=project, env=env)
    assert refused.returncode == 2 and "unexpected argument '--bogus'" in refused.stderr
    assert sorted(os.listdir(project)) == before


def test_a_config_that_names_no_base_is_rebuilt(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """A pyvenv.cfg overwritten with garbage: its python may still start (from the link), but
    check calls the env broken and repair cannot mend it; sync rebuilds it."""
    (synced / ".venv" / "pyvenv.cfg").write_text("garbage no equals\n")
    report, _ = sync_json(synced, env, index)
    assert report["action"] == "rebuilt"
    assert "names no home" in str(report["rebuild_reason"])
    assert "home = " in (synced / ".venv" / "pyvenv.cfg").read_text()
    checked = anyvenv("check", str(synced / ".venv"), cwd=synced, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.skipif(shutil.which("patchelf") is None, reason="needs patchelf")
def test_an_interpreter_missing_its_libpython_is_rebuilt(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """A copied python whose libpython cannot be found (its RUNPATH leads nowhere)."""
    bin_dir = synced / ".venv" / "bin"
    broken = bin_dir / "python3.12.broken"
    shutil.copyfile(os.path.realpath(bin_dir / "python"), broken)
    subprocess.run(["patchelf", "--set-rpath", "/nonexistent/lib", str(broken)], check=True)
    broken.chmod(0o755)
    for name in ("python", "python3", "python3.12"):
        (bin_dir / name).unlink()
        os.link(broken, bin_dir / name)
    broken.unlink()
    failing = subprocess.run(
        [str(bin_dir / "python"), "-c", "pass"], capture_output=True, text=True
    )
    assert failing.returncode != 0 and "libpython" in failing.stderr
    report, _ = sync_json(synced, env, index)
    assert report["action"] == "rebuilt"
    assert "libpython" in str(report["rebuild_reason"])
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=synced, env=env)
    assert hello.stdout == "alpha says hi\n"


def test_commands_that_change_no_env_make_none_and_rebuild_none(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """As in uv: ``sync --dry-run``/``--check`` and ``add``/``remove`` with ``--no-sync`` or
    ``--frozen`` (or their variables) leave the env as it is: none is made for them, and one
    for another Python is not rebuilt (which would lose its packages)."""
    project = write_project(tmp_path / "demo")
    for command in (
        ["sync", "--dry-run"],
        ["sync", "--check"],
        ["add", "--no-sync", "gamma"],
        ["remove", "--frozen", "gamma"],
    ):
        done = anyvenv(*command, *index_args(index), cwd=project, env=env)
        assert not os.path.lexists(project / ".venv"), (command, done.stderr)
    assert "gamma" not in (project / "pyproject.toml").read_text()  # added, then removed
    checked = anyvenv("sync", "--check", "--json", *index_args(index), cwd=project, env=env)
    assert checked.returncode == 1 and json.loads(checked.stdout)["action"] == "left to uv"
    sync_json(project, env, index)
    kept = site_packages(project) / "alpha"
    assert kept.exists()
    other = ["--python", str(PY_OTHER)]
    for command in (["sync", "--dry-run", *other], ["add", "--no-sync", "gamma", *other]):
        done = anyvenv(*command, *index_args(index), cwd=project, env=env)
        assert done.returncode == 0, (command, done.stderr)
        assert kept.exists(), command  # the 3.12 env, not rebuilt for 3.11
    edited = anyvenv(
        "add", "gamma", *index_args(index), cwd=project, env={**env, "UV_NO_SYNC": "1"}
    )
    assert edited.returncode == 0, edited.stderr
    assert not (site_packages(project) / "gamma").exists()


def test_projects_uv_reads_without_a_project_table_or_without_management(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """As uv: a pyproject.toml with only [dependency-groups] is synced (its groups); with
    ``tool.uv.managed = false`` uv syncs nothing and ``run`` runs without a project env; with
    no pyproject.toml at all ``run`` runs as uv run does; ``run --no-sync`` with no env yet
    makes one with nothing installed."""
    prefix = "import sys; print(sys.prefix)"
    groups = tmp_path / "groups"
    groups.mkdir()
    (groups / "pyproject.toml").write_text('[dependency-groups]\ndev = ["devtool"]\n')
    report, _ = sync_json(groups, env, index)
    assert report["action"] == "created"
    tool = anyvenv("run", "--no-sync", "devtool", cwd=groups, env=env)
    assert tool.stdout == "devtool ok\n", tool.stderr
    unmanaged = write_project(tmp_path / "unmanaged")
    with (unmanaged / "pyproject.toml").open("a") as stream:
        stream.write("\n[tool.uv]\nmanaged = false\n")
    refused = anyvenv("sync", *index_args(index), cwd=unmanaged, env=env)
    assert refused.returncode == 2 and "unmanaged" in refused.stderr
    ran = anyvenv("run", "python", "-c", "print(1)", cwd=unmanaged, env=env)
    assert ran.stdout == "1\n", ran.stderr
    listed = anyvenv("pip", "list", cwd=unmanaged, env=env)
    assert "Traceback" not in listed.stderr  # uv pip's answer, whichever env it finds
    assert not os.path.lexists(unmanaged / ".venv")
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    outside = anyvenv("run", "python", "-c", "print(2)", cwd=nowhere, env=env)
    assert outside.stdout == "2\n", outside.stderr
    assert os.listdir(nowhere) == []
    fresh = write_project(tmp_path / "fresh")
    bare = anyvenv("run", "--no-sync", "python", "-c", prefix, cwd=fresh, env=env)
    assert bare.stdout == f"{fresh / '.venv'}\n", bare.stderr
    assert not (site_packages(fresh) / "alpha").exists()


def test_a_version_file_below_the_workspace_root_is_not_the_project_envs(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """uv's project env reads .python-version at the workspace root only: one in a
    subdirectory (or a member) does not pick the env's Python, from there or anywhere."""
    project = write_project(tmp_path / "demo", python_version="3.12")
    (project / "sub").mkdir()
    (project / "sub" / ".python-version").write_text("3.11\n")
    report, _ = sync_json(project / "sub", env, index)
    assert str(report["python"]).startswith("3.12"), report
    uv = run([uv_binary(), "sync", "--dry-run", *index_args(index)], project / "sub", env)
    assert "Would use project environment" in uv.stderr, uv.stderr  # uv keeps it as well


def test_names_in_a_version_file_are_ignored_with_uvs_warning(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """pyenv-virtualenv's ``pyenv local myenv`` and pyenv's ``system`` are no requests uv
    takes: it warns and goes on with the next line, else requires-python; so does anyvenv,
    where it refused (no 'myenv' on PATH)."""
    project = write_project(tmp_path / "demo", requires_python=">=3.11,<3.12", python_version=None)
    pin = project / ".python-version"
    for name in ("myenv", "system"):
        pin.write_text(f"{name}\n")
        report, proc = sync_json(project, env, index)
        assert str(report["python"]).startswith("3.11"), report  # requires-python's
        warning = f"Ignoring unsupported Python request `{name}` in version file: {pin}"
        assert warning in proc.stderr, proc.stderr
        uv = run([uv_binary(), "python", "find"], project, env)
        assert warning in uv.stderr, uv.stderr  # uv's own words
        again, proc = sync_json(project, env, index)  # (nothing to do: uv is not run)
        assert again["uv_ran"] is False and warning in proc.stderr, proc.stderr  # as uv: again
        assert again["python_request_warnings"] == [warning]
        ran = anyvenv("run", "python", "-c", "pass", cwd=project, env=env)
        assert ran.returncode == 0 and warning in ran.stderr, ran.stderr
    quiet = anyvenv("sync", "-q", *index_args(index), cwd=project, env=env)
    assert (quiet.returncode, quiet.stderr) == (0, ""), quiet.stderr  # as uv -q: no warning
    (project / ".venv").rename(tmp_path / "old-env")  # (a sync with work to do)
    quiet = anyvenv("sync", "-q", *index_args(index), cwd=project, env=env)
    assert (quiet.returncode, quiet.stderr) == (0, ""), quiet.stderr
    pin.write_text("myenv\n3.11\n")  # the next line is the request
    found = anyvenv("python", "find", cwd=project, env=env)
    assert found.stdout.strip() == str(PY_OTHER), found.stderr
    assert "`myenv`" in found.stderr
    pin.write_text("python3.11\n")  # a version as uv reads it: honoured, no warning
    found = anyvenv("python", "find", cwd=project, env=env)
    assert (found.stdout.strip(), found.stderr) == (str(PY_OTHER), "")
    pin.write_text("pypy3.10\n")  # another implementation, as uv reads it: not ignored
    refused = anyvenv("python", "find", cwd=project, env=env)
    assert refused.returncode == 2 and "Ignoring" not in refused.stderr, refused.stderr
    assert "asked for by" in one_line_error(refused)


def test_uvs_python_preference_is_read_from_the_project_and_the_command_line(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """``python-preference = "only-managed"`` with no managed Python: uv refuses, and so does
    anyvenv, before it makes an env (it built one from PATH, which uv then replaced)."""
    project = write_project(tmp_path / "demo")
    with (project / "pyproject.toml").open("a") as stream:
        stream.write('\n[tool.uv]\npython-preference = "only-managed"\n')
    refused = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert refused.returncode == 2 and "no Python matching" in one_line_error(refused)
    assert not os.path.lexists(project / ".venv")
    uv = run([uv_binary(), "sync", "--offline", *index_args(index)], project, env)
    assert uv.returncode == 2 and "managed" in uv.stderr  # uv refuses too
    allowed = anyvenv(
        "sync", "--python-preference", "system", *index_args(index), cwd=project, env=env
    )
    assert allowed.returncode == 0, allowed.stderr  # the command line wins over the file
    (project / "uv.toml").write_text('python-preference = "sometimes"\n')
    garbage = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert garbage.returncode == 2 and "uv.toml" in one_line_error(garbage)


def test_run_passes_the_exit_code_and_cleans_the_environment(
    synced: Path, env: dict[str, str]
) -> None:
    code = "import os, sys; print(os.environ.get('PYTHONHOME')); print(os.environ['PATH'].split(os.pathsep)[0]); sys.exit(7)"
    proc = anyvenv(
        "run",
        "--no-sync",
        "--",
        "python",
        "-c",
        code,
        cwd=synced,
        env={**env, "PYTHONHOME": sys.base_prefix},  # right for anyvenv, wrong for the env
    )
    assert proc.returncode == 7
    assert proc.stdout.splitlines() == ["None", str(synced / ".venv" / "bin")]
    missing = anyvenv("run", "--no-sync", "no-such-command", cwd=synced, env=env)
    assert missing.returncode == 2
    assert "no-such-command" in one_line_error(missing)
    # as uv run: UV names the uv binary, UV_RUN_RECURSION_DEPTH counts nested runs
    told = "import os; print(os.environ['UV']); print(os.environ['UV_RUN_RECURSION_DEPTH'])"
    for environ, depth in ((env, "1"), ({**env, "UV_RUN_RECURSION_DEPTH": "2"}, "3")):
        seen = anyvenv("run", "--no-sync", "python", "-c", told, cwd=synced, env=environ)
        uv_path, got = seen.stdout.splitlines()
        assert got == depth and os.access(uv_path, os.X_OK), seen.stderr
        assert subprocess.run([uv_path, "--version"], capture_output=True).returncode == 0


def test_commands_run_with_default_signal_dispositions(synced: Path, env: dict[str, str]) -> None:
    """Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec: a command run in
    the env (or by uv run, for what uv carries out) must get them back (``seq | head`` must
    not print "Broken pipe")."""
    ignored_by_python = (1 << (13 - 1)) | (1 << (25 - 1))
    for args in (["--no-sync"], [], ["--no-project"]):
        shown = anyvenv("run", *args, "grep", "SigIgn", "/proc/self/status", cwd=synced, env=env)
        assert shown.returncode == 0, shown.stderr
        mask = int(shown.stdout.split()[-1], 16)
        assert mask & ignored_by_python == 0, (args, shown.stdout)
    piped = anyvenv("run", "--no-sync", "sh", "-c", "seq 1 100000 | head -1", cwd=synced, env=env)
    assert (piped.stdout, piped.stderr) == ("1\n", "")
    # what the caller ignores stays ignored (nohup, trap '' TERM), as under uv run
    quoted = " ".join(shlex.quote(word) for word in [*ANYVENV, "run"])
    for args in ("--no-sync", ""):
        line = f"trap '' TERM; exec {quoted} {args} grep SigIgn /proc/self/status"
        shown = run(["sh", "-c", line], synced, env)
        assert shown.returncode == 0, shown.stderr
        assert int(shown.stdout.split()[-1], 16) & (1 << (15 - 1)), (args, shown.stdout)


def test_a_closed_standard_stream_is_dev_null_for_the_command(
    synced: Path, env: dict[str, str]
) -> None:
    """``anyvenv run CMD <&-``: CMD gets /dev/null as its stdin, as under uv run (a closed
    fd 0 would be taken by its first file)."""
    code = "import os, sys; print(sys.stdin is not None and os.path.realpath('/proc/self/fd/0'))"
    for args in (["--no-sync"], []):
        shown = subprocess.run(
            [*ANYVENV, "run", *args, "python", "-c", code], cwd=synced, env=env,
            capture_output=True, text=True, preexec_fn=lambda: os.close(0),
        )  # fmt: skip
        assert (shown.returncode, shown.stdout) == (0, "/dev/null\n"), shown.stderr


def test_a_script_on_standard_input_reaches_uv_when_uv_runs_it(
    tmp_path: Path, synced: Path, env: dict[str, str], index: Path
) -> None:
    """Read to look for PEP 723 metadata, the script must still be given to uv when uv runs
    it: outside a project, and with options only uv run carries out (``--with``)."""
    (tmp_path / "alone").mkdir()
    script = "import sys; print('ran', sys.argv[1:])\n"
    for cwd, args in ((tmp_path / "alone", []), (synced, ["--with", "gamma", *index_args(index)])):
        done = subprocess.run(
            [*ANYVENV, "run", *args, "-", "x"], cwd=cwd, env=env, input=script,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert (done.returncode, done.stdout) == (0, "ran ['x']\n"), (args, done.stderr)


def test_run_reads_its_command_as_uv_run_does(synced: Path, env: dict[str, str]) -> None:
    env_dir = synced / ".venv"
    (synced / "where.py").write_text("import sys, beta\nprint(sys.prefix, *sys.argv[1:])\n")
    (synced / "app").mkdir()
    (synced / "app" / "__main__.py").write_text("import sys\nprint('app', sys.prefix)\n")
    (synced / "sub").mkdir()

    def out(*args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            [*ANYVENV, "run", *args], cwd=synced, env=env, input=stdin,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert out("where.py", "a", "b") == f"{env_dir} a b"
    assert out("-m", "where", "c") == f"{env_dir} c"
    assert out("app") == f"app {env_dir}"
    assert out("-", "d", stdin="import sys; print(sys.prefix, sys.argv[1:])") == (
        f"{env_dir} ['d']"
    )
    # uv's options that take a value do not start the command; --directory moves it
    assert out("--group", "dev", "devtool") == "devtool ok"
    assert out("--directory", "sub", "python", "-c", "import os; print(os.getcwd())") == str(
        synced / "sub"
    )
    no_module = anyvenv("run", "-m", "-", cwd=synced, env=env)
    assert no_module.returncode == 2 and "standard input" in one_line_error(no_module)
    listing = anyvenv("run", cwd=synced, env=env)
    assert listing.returncode == 2
    assert "- alpha-hello" in listing.stdout.splitlines()
    assert "activate" not in listing.stdout


def test_run_leaves_extraneous_packages_as_uv_run_does(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    after_sync = anyvenv("run", *index_args(index), "python", "-c", "pass", cwd=synced, env=env)
    assert (after_sync.returncode, after_sync.stderr) == (0, "")  # the exact sync answers
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=synced, env=env)
    assert added.returncode == 0, added.stderr
    code = "import importlib.util as u; print(u.find_spec('gamma') is not None)"
    kept = anyvenv("run", *index_args(index), "python", "-c", code, cwd=synced, env=env)
    assert kept.stdout == "True\n", kept.stderr
    report, _ = sync_json(synced, env, index)  # the inexact run does not answer for a sync
    assert report["uv_ran"] is True
    assert not (site_packages(synced) / "gamma").exists()
    anyvenv("pip", "install", *index_args(index), "gamma", cwd=synced, env=env)
    exact = anyvenv("run", "--exact", *index_args(index), "python", "-c", code, cwd=synced, env=env)
    assert exact.stdout == "False\n", exact.stderr


def test_uv_no_sync_is_no_sync(synced: Path, env: dict[str, str], index: Path) -> None:
    write_project(synced, dependencies=["alpha", "gamma"])
    command = ["run", *index_args(index), "python", "-c", "import gamma"]
    unsynced = anyvenv(*command, cwd=synced, env={**env, "UV_NO_SYNC": "1"})
    assert unsynced.returncode == 1 and "No module named 'gamma'" in unsynced.stderr
    assert "Resolved" not in unsynced.stderr  # uv did not run
    synced_now = anyvenv(*command, cwd=synced, env={**env, "UV_NO_SYNC": "false"})
    assert synced_now.returncode == 0, synced_now.stderr


def test_uv_project_and_uv_working_dir_are_read_as_uv_reads_them(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    outside = synced.parent
    report, _ = sync_json(outside, {**env, "UV_PROJECT": "demo"}, index)
    assert report["env"] == str(synced / ".venv")
    (synced / "sub").mkdir()
    where = "import os, sys; print(os.getcwd(), sys.prefix)"
    moved = anyvenv(
        "run", *index_args(index), "python", "-c", where,
        cwd=outside, env={**env, "UV_WORKING_DIR": "demo/sub"},
    )  # fmt: skip
    assert moved.stdout == f"{synced / 'sub'} {synced / '.venv'}\n", moved.stderr


def test_a_script_in_another_project_runs_in_that_project_as_in_uv(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """``uv run ../other/tool.py`` finds its project from the script's directory, not from the
    working directory; ``--project`` (or ``UV_PROJECT``) still wins; the command runs where
    it was started."""
    other = write_project(synced.parent / "other", dependencies=["gamma"], name="other")
    (other / "tool.py").write_text("import os, sys, gamma\nprint(os.getcwd(), sys.prefix)\n")
    (other / "pkg").mkdir()
    (other / "pkg" / "__main__.py").write_text("import sys, gamma\nprint(sys.prefix)\n")
    ran = anyvenv("run", *index_args(index), "../other/tool.py", cwd=synced, env=env)
    assert ran.stdout == f"{synced} {other / '.venv'}\n", ran.stderr
    again = anyvenv("run", "--no-sync", "../other/pkg", cwd=synced, env=env)
    assert again.stdout == f"{other / '.venv'}\n", again.stderr
    assert not (site_packages(synced) / "gamma").exists()
    code = "import sys; print(sys.prefix)"
    (other / "plain.py").write_text(code + "\n")
    (synced / "scripts").mkdir()
    (synced / "scripts" / "mine.py").write_text(code + "\n")
    mine = anyvenv("run", *index_args(index), "scripts/mine.py", cwd=synced, env=env)
    assert (mine.stdout, mine.stderr) == (f"{synced / '.venv'}\n", "")  # the record answers
    told = anyvenv("run", "--project", ".", "--no-sync", "../other/plain.py", cwd=synced, env=env)
    assert told.stdout == f"{synced / '.venv'}\n", told.stderr
    by_env = anyvenv(
        "run", "--no-sync", "../other/plain.py", cwd=synced, env={**env, "UV_PROJECT": "."}
    )
    assert by_env.stdout == f"{synced / '.venv'}\n", by_env.stderr
    here = anyvenv("run", "--no-sync", "./tool.py", cwd=other, env=env)
    assert here.stdout == f"{other} {other / '.venv'}\n", here.stderr


def test_what_only_uv_run_can_do_is_handed_to_it(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    env_dir = synced / ".venv"
    code = "import sys, gamma, beta; print(gamma.VALUE, sys.prefix != sys.base_prefix)"
    layered = anyvenv(
        "run", *index_args(index), "--with", "gamma", "python", "-c", code, cwd=synced, env=env
    )
    assert layered.stdout == "3 True\n", layered.stderr  # gamma on top, the project's beta
    unsynced = anyvenv(
        "run", "--no-sync", *index_args(index), "--with", "gamma", "python", "-c", code,
        cwd=synced, env=env,
    )  # fmt: skip
    assert unsynced.stdout == "3 True\n", unsynced.stderr
    assert not (site_packages(synced) / "gamma").exists()  # the project env is left as it was
    (synced / ".env").write_text("GREETING=hello\n")
    greeting = "import os; print(os.environ['GREETING'])"
    dotenv = anyvenv("run", "--env-file", ".env", "python", "-c", greeting, cwd=synced, env=env)
    assert dotenv.stdout == "hello\n", dotenv.stderr
    # uv finds the env itself: nothing added that the command (and any uv it runs, in any
    # project) would inherit; a relative variable of the user's is handed on as they gave it
    shown = "import os; print(os.environ.get('UV_PROJECT_ENVIRONMENT'))"
    bare = anyvenv("run", "--env-file", ".env", "python", "-c", shown, cwd=synced, env=env)
    assert bare.stdout == "None\n", bare.stderr
    given = {**env, "UV_PROJECT_ENVIRONMENT": ".venv"}
    kept = anyvenv("run", "--env-file", ".env", "python", "-c", shown, cwd=synced, env=given)
    assert kept.stdout == ".venv\n", kept.stderr

    (synced / "inline.py").write_text(
        '# /// script\n# dependencies = ["gamma"]\n# ///\n'
        "import importlib.util as u, sys, gamma\n"
        "print(gamma.VALUE, sys.prefix, u.find_spec('beta') is None)\n"
    )
    script = anyvenv("run", *index_args(index), "inline.py", cwd=synced, env=env)
    assert script.returncode == 0, script.stderr
    value, prefix, no_beta = script.stdout.split()
    assert value == "3" and no_beta == "True"  # its own env, as uv run gives it
    assert Path(prefix) != env_dir and prefix.startswith(env["UV_CACHE_DIR"])
    piped = subprocess.run(
        [*ANYVENV, "run", *index_args(index), "-", "x"], cwd=synced, env=env, timeout=120,
        input=(synced / "inline.py").read_text() + "print(sys.argv[1:])\n",
        capture_output=True, text=True,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr  # the same script on standard input: the same
    first, second = piped.stdout.splitlines()
    value, prefix, no_beta = first.split()
    assert (value, no_beta, second) == ("3", "True", "['x']")
    assert prefix.startswith(env["UV_CACHE_DIR"])
    isolated = anyvenv(
        "run", "--isolated", *index_args(index), "python", "-c",
        "import sys, beta; print(sys.prefix)", cwd=synced, env=env,
    )  # fmt: skip
    assert isolated.returncode == 0, isolated.stderr
    assert isolated.stdout.strip() != str(env_dir)


def test_active_targets_the_active_env_as_in_uv(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo")
    active = tmp_path / "active-env"
    with_active = {**env, "VIRTUAL_ENV": str(active)}
    report, _ = sync_json(project, with_active, index, "--active")
    assert report["env"] == str(active)
    assert not (project / ".venv").exists()
    code = "import sys, beta; print(sys.prefix)"
    inside = anyvenv(
        "run", *index_args(index), "--active", "python", "-c", code, cwd=project, env=with_active
    )
    assert inside.stdout == f"{active}\n", inside.stderr
    again, _ = sync_json(project, with_active, index, "--active")
    assert again["uv_ran"] is False  # the record of the active env answers
    # the last of --active/--no-active wins; without it the project env is used, as in uv
    report, _ = sync_json(project, with_active, index, "--active", "--no-active")
    assert report["env"] == str(project / ".venv")


def test_a_script_with_inline_metadata_is_uvs_alone(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """``--script``: uv works on the script and its own env, project or not, as plain uv."""
    script = tmp_path / "tool.py"
    script.write_text("import gamma, sys\nprint(gamma.VALUE, sys.prefix)\n")
    added = anyvenv(
        "add", "--script", "tool.py", *index_args(index), "gamma", cwd=tmp_path, env=env
    )
    assert added.returncode == 0, added.stderr
    assert '#     "gamma>=1.0",' in script.read_text()
    synced = anyvenv("sync", "--script", "tool.py", *index_args(index), cwd=tmp_path, env=env)
    assert synced.returncode == 0, synced.stderr + "\n" + synced.stdout
    locked = anyvenv("lock", "--script", "tool.py", *index_args(index), cwd=tmp_path, env=env)
    assert locked.returncode == 0, locked.stderr
    assert 'name = "gamma"' in (tmp_path / "tool.py.lock").read_text()
    (tmp_path / "tool.py.lock").unlink()
    ran = anyvenv("run", *index_args(index), "tool.py", cwd=tmp_path, env=env)
    value, prefix = ran.stdout.split()
    assert value == "3" and prefix.startswith(env["UV_CACHE_DIR"]), ran.stderr
    removed = anyvenv("remove", "--script=tool.py", "gamma", cwd=tmp_path, env=env)
    assert removed.returncode == 0, removed.stderr
    assert "gamma" not in script.read_text().split("# ///")[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tool.py"]  # no .venv, no lock
    as_json = anyvenv("sync", "--script", "tool.py", "--json", cwd=tmp_path, env=env)
    assert as_json.returncode == 2 and "drop --json" in one_line_error(as_json)


def test_a_sync_killed_between_installer_and_record_is_mended(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv writes a package's INSTALLER, then its final RECORD: killed in between, the wheel's
    own RECORD stays (naming ``beta-1.0.data/...`` files already moved) and uv counts the
    package as installed. The next sync (no record of the last one: it was killed) has uv
    install it again."""
    import zipfile

    info = next(site_packages(synced).glob("beta-*.dist-info"))
    with zipfile.ZipFile(next(index.glob("beta-*.whl"))) as wheel:
        original = wheel.read(f"{info.name}/RECORD")
    assert b".data/" in original
    (info / "RECORD").unlink()  # (not written through: it may be a hard link into uv's cache)
    (info / "RECORD").write_bytes(original)
    installed_at = (info / "INSTALLER").stat().st_mtime_ns  # (the wheel's RECORD came first)
    os.utime(info / "RECORD", ns=(installed_at - 10**9, installed_at - 10**9))
    (synced / ".venv" / ".anyvenv-sync.inputs").unlink()
    report, _ = sync_json(synced, env, index)
    assert report["uv_ran"] is True
    record = (info / "RECORD").read_text()
    assert f"{info.name}/INSTALLER," in record and ".data/" not in record, record


def test_pip_runs_uv_pip_against_the_env(synced: Path, env: dict[str, str], index: Path) -> None:
    listed = anyvenv("pip", "list", cwd=synced, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "alpha" in listed.stdout and "beta" in listed.stdout
    installed = anyvenv("pip", "install", *index_args(index), "gamma", cwd=synced, env=env)
    assert installed.returncode == 0, installed.stderr
    assert (site_packages(synced) / "gamma" / "__init__.py").is_file()


def test_pip_takes_the_pip_tables_link_mode_before_the_top_levels(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """As uv pip does: ``[pip] link-mode`` in uv.toml (``[tool.uv.pip]``) first, then the
    top-level ``link-mode``; ``UV_LINK_MODE`` before both. Sync reads only the top level."""
    project = write_project(tmp_path / "piptable")
    (project / "uv.toml").write_text('link-mode = "symlink"\n[pip]\nlink-mode = "copy"\n')
    report, _ = sync_json(project, env, index)
    assert report["link_mode"] == "symlink"
    installed = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert installed.returncode == 0, installed.stderr
    gamma = site_packages(project) / "gamma" / "__init__.py"
    assert gamma.is_file() and not gamma.is_symlink()
    assert gamma.stat().st_nlink == 1
    (project / "uv.toml").write_text('link-mode = "symlink"\n')  # the top level for uv pip too
    reinstall = ("--reinstall-package", "gamma")
    again = anyvenv("pip", "install", *index_args(index), *reinstall, "gamma", cwd=project, env=env)
    assert again.returncode == 0, again.stderr
    assert gamma.is_symlink()
    (project / "uv.toml").write_text('link-mode = "symlink"\n[pip]\nlink-mode = "teleport"\n')
    refused = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert refused.returncode == 2
    assert f"pip.link-mode in {project / 'uv.toml'} 'teleport'" in one_line_error(refused)
    (project / "uv.toml").write_text('[pip]\nlink-mode = "symlink"\n')
    variable = {**env, "UV_LINK_MODE": "copy"}  # the variable before the files
    last = anyvenv(
        "pip", "install", *index_args(index), *reinstall, "gamma", cwd=project, env=variable
    )
    assert last.returncode == 0, last.stderr
    assert not gamma.is_symlink() and gamma.stat().st_nlink == 1


def test_pip_acts_on_the_project_uv_pip_would(
    synced: Path, tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """The env uv pip finds: ``--directory`` after the subcommand moves it; ``--project``
    does not (uv pip finds the nearest ``.venv`` of the working directory), nor does a
    workspace member's own ``.venv`` give way to the root's. A subcommand that only reads
    makes no env; ``compile`` resolves with no env and no machine-specific path in its
    output."""
    other = write_project(tmp_path / "other", dependencies=["gamma"])
    sync_json(other, env, index)
    for where, gamma in ((["--directory", str(other)], True), ([f"--project={other}"], False)):
        frozen = anyvenv("pip", "freeze", *where, cwd=synced, env=env)
        plain = run([uv_binary(), "pip", "freeze", *where], synced, env)
        assert frozen.returncode == 0, frozen.stderr
        assert frozen.stdout == plain.stdout, (where, frozen.stdout, plain.stdout)
        assert ("gamma" in frozen.stdout) is gamma and ("beta" in frozen.stdout) is not gamma
    before = anyvenv("--directory", str(other), "pip", "freeze", cwd=synced, env=env)
    assert "gamma" in before.stdout, before.stderr  # uv's global option before the command
    member = synced / "packages" / "m"
    member.mkdir(parents=True)
    assert run([uv_binary(), "venv", "-q", member / ".venv"], member, env).returncode == 0
    own = anyvenv("pip", "freeze", cwd=member, env=env)  # the member's .venv, as uv pip's
    assert (own.returncode, own.stdout) == (0, ""), own.stdout + own.stderr
    bare = write_project(tmp_path / "bare")
    listed = anyvenv("pip", "list", cwd=bare, env=env)  # as plain uv pip: the Python it finds
    plain = run([uv_binary(), "pip", "list"], bare, env)
    assert (listed.returncode, listed.stdout) == (plain.returncode, plain.stdout)
    assert not (bare / ".venv").exists()
    trial = anyvenv("pip", "install", "--dry-run", *index_args(index), "gamma", cwd=bare, env=env)
    plain = run(
        [uv_binary(), "pip", "install", "--dry-run", *index_args(index), "gamma"], bare, env
    )
    assert trial.returncode == plain.returncode, trial.stderr
    assert not (bare / ".venv").exists()  # (a dry run makes no env, as plain uv pip's)
    compiled = anyvenv(
        "pip", "compile", "pyproject.toml", "-q", *index_args(index), cwd=bare, env=env
    )
    assert compiled.returncode == 0, compiled.stderr
    assert "alpha==" in compiled.stdout and "--python" not in compiled.stdout, compiled.stdout
    assert not (bare / ".venv").exists()


def test_workspace_member_syncs_into_the_root_env(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0.1"\nrequires-python = ">=3.10"\ndependencies = []\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
    )
    (root / ".python-version").write_text("3.12\n")
    member = write_project(root / "packages" / "app", python_version=None, name="app")
    report, _ = sync_json(member, env, index)
    assert report["workspace_root"] == str(root)
    assert report["env"] == str(root / ".venv")
    assert not (member / ".venv").exists()
    assert (root / "uv.lock").is_file()
    assert "prompt = root\n" in (root / ".venv" / "pyvenv.cfg").read_text()  # as uv: the root's
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=member, env=env)
    assert hello.stdout == "alpha says hi\n"


def test_relative_project_environment_is_read_against_the_workspace_root(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo")
    (project / "sub").mkdir()
    report, _ = sync_json(project / "sub", {**env, "UV_PROJECT_ENVIRONMENT": "envs/here"}, index)
    assert report["env"] == str(project / "envs" / "here")
    assert (project / "envs" / "here" / "bin" / "alpha-hello").is_file()
    assert not (project / ".venv").exists()


def test_a_tilde_in_uvs_path_variables_is_a_name_as_uv_reads_it(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """uv takes ``~`` in UV_PROJECT_ENVIRONMENT (and UV_PROJECT, UV_WORKING_DIR) as a name,
    not the home directory: anyvenv syncs the env uv uses (it made one in the home, and plain
    ``uv run`` worked in another)."""
    project = write_project(tmp_path / "demo")
    home = tmp_path / "home"
    home.mkdir()
    tilde = {**env, "HOME": str(home), "UV_PROJECT_ENVIRONMENT": "~/env"}
    report, _ = sync_json(project, tilde, index)
    assert report["env"] == str(project / "~" / "env")
    assert os.listdir(home) == []
    uv_python = subprocess.run(
        [uv_binary(), "run", "--no-sync", "python", "-c", "import sys; print(sys.prefix)"],
        cwd=project, env=tilde, capture_output=True, text=True,
    )  # fmt: skip
    assert uv_python.stdout == f"{project / '~' / 'env'}\n", uv_python.stderr
    for variable in ("UV_PROJECT", "UV_WORKING_DIR"):
        moved = {**env, "HOME": str(project), variable: "~"}
        proc = anyvenv("sync", *index_args(index), cwd=tmp_path, env=moved)
        assert proc.returncode == 2, proc.stderr
        assert str(tmp_path / "~") in proc.stderr, proc.stderr


# -- bad input ---------------------------------------------------------------------------------


def _snapshot(env_dir: Path) -> dict[str, int]:
    return {str(path.relative_to(env_dir)): path.lstat().st_mtime_ns for path in env_dir.rglob("*")}


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("invalid-toml", "not valid TOML"),
        # (the project tests' python-downloads is never: python install would be refused)
        ("requires-python", "asked for by requires-python >=3.99; put one on PATH or pass"),
        ("no-python", "asked for by {project}/.python-version; put one on PATH or pass"),
        ("python-outside-requires", "does not satisfy"),
    ],
)
def test_bad_input_exits_2_and_leaves_the_env(
    synced: Path, env: dict[str, str], index: Path, problem: str, message: str
) -> None:
    before = _snapshot(synced / ".venv")
    if problem == "invalid-toml":
        (synced / "pyproject.toml").write_text("[project\nname = ")
    elif problem == "requires-python":
        write_project(synced, requires_python=">=3.99", python_version=None)
        (synced / ".python-version").unlink()
    elif problem == "no-python":
        (synced / ".python-version").write_text("3.99\n")
    else:
        write_project(synced, requires_python=">=3.12", python_version="3.11")
    proc = anyvenv("sync", *index_args(index), cwd=synced, env=env)
    assert proc.returncode == 2, proc.stderr
    said = one_line_error(proc)
    assert message.format(project=synced) in said, said
    if problem in ("requires-python", "no-python"):  # the fix is where the request was written
        where = (
            "requires-python in pyproject.toml"
            if problem == "requires-python"
            else (f"the version in {synced}/.python-version")
        )
        assert said.endswith(f", or change {where}"), said
    assert _snapshot(synced / ".venv") == before


def test_no_project_is_a_usage_error(tmp_path: Path, env: dict[str, str]) -> None:
    # (run outside a project is uv run's: see test_projects_uv_reads_without_a_project_table...)
    for command in (["sync"], ["lock"]):
        proc = anyvenv(*command, cwd=tmp_path, env=env)
        assert proc.returncode == 2
        assert "no pyproject.toml found" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_pip_acts_on_the_env_uv_pip_would(
    synced: Path, tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """``anyvenv pip`` is ``uv pip`` on the project env, unless the command names another
    env (``--python``, ``--system``...) or another env is active (``VIRTUAL_ENV``), which uv
    pip takes first: then uv pip runs as it is, and no project env is made or used."""
    other = tmp_path / "other"
    assert anyvenv("venv", "-q", str(other), cwd=tmp_path, env=env).returncode == 0
    named = anyvenv(
        "pip", "install", "--python", str(other / "bin" / "python"), *index_args(index), "gamma",
        cwd=synced, env=env,
    )  # fmt: skip
    assert named.returncode == 0, named.stderr  # (was: --python given twice)
    assert list(other.glob("lib/python*/site-packages/gamma"))
    assert not (site_packages(synced) / "gamma").exists()
    active = anyvenv("pip", "list", cwd=synced, env={**env, "VIRTUAL_ENV": str(other)})
    assert "gamma" in active.stdout, active.stderr
    own = anyvenv("pip", "list", cwd=synced, env={**env, "VIRTUAL_ENV": str(synced / ".venv")})
    assert "alpha" in own.stdout and "gamma" not in own.stdout, own.stderr
    # no project, nothing active: uv pip finds the .venv here, as plain uv pip does
    loose = tmp_path / "loose"
    assert anyvenv("venv", "-q", str(loose / ".venv"), cwd=tmp_path, env=env).returncode == 0
    found = anyvenv("pip", "list", cwd=loose, env=env)
    assert found.returncode == 0 and "pyproject" not in found.stderr, found.stderr
    assert not (loose / "pyproject.toml").exists() and os.listdir(loose) == [".venv"]


def test_an_env_made_for_a_command_uv_refuses_is_removed(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """uv refuses an option it does not know, or a pyproject.toml it cannot read, before it
    makes an env: the env anyvenv made for that command goes too (one it reused stays)."""
    project = write_project(tmp_path / "demo")
    bogus = anyvenv("sync", "--no-such-option", *index_args(index), cwd=project, env=env)
    assert bogus.returncode == 2 and "removed the env made for it" in bogus.stderr
    assert not os.path.lexists(project / ".venv") and "anyvenv: Created" not in bogus.stderr
    sync_json(project, env, index)
    again = anyvenv("sync", "--no-such-option", *index_args(index), cwd=project, env=env)
    assert again.returncode == 2 and (project / ".venv" / "pyvenv.cfg").is_file()
    broken = write_project(tmp_path / "broken")
    text = (broken / "pyproject.toml").read_text()
    (broken / "pyproject.toml").write_text(
        text.replace('dependencies = ["alpha"]', "dependencies = 3")
    )
    refused = anyvenv("sync", "--json", *index_args(index), cwd=broken, env=env)
    assert refused.returncode == 2 and json.loads(refused.stdout)["action"] == "undone"
    assert not os.path.lexists(broken / ".venv")


def test_a_frozen_sync_without_a_lock_makes_no_env_as_uv(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """uv sync --frozen with no uv.lock stops before it makes an env (exit 1): none is made
    for it; uv run --frozen makes one, and so does anyvenv run."""
    project = write_project(tmp_path / "demo")
    for args, variables in ((["--frozen"], {}), ([], {"UV_FROZEN": "1"})):
        stopped = anyvenv(
            "sync", "--json", *args, *index_args(index), cwd=project, env={**env, **variables}
        )
        assert stopped.returncode == 1 and "Unable to find lockfile" in stopped.stderr
        assert json.loads(stopped.stdout)["action"] == "left to uv"
        assert sorted(os.listdir(project)) == [".python-version", "pyproject.toml"]
    plain = run([uv_binary(), "sync", "--frozen", *index_args(index)], project, env)
    assert plain.returncode == 1 and not (project / ".venv").exists()
    ran = anyvenv("run", "--frozen", *index_args(index), "true", cwd=project, env=env)
    assert ran.returncode == 1 and (project / ".venv" / "pyvenv.cfg").is_file()


def test_an_env_replaced_for_a_command_uv_refuses_comes_back(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """The Python asked for changed, and uv refuses the options (``--frozen`` with
    ``--locked``, here also from its variables): the env rebuilt for the command is put back
    as it was, packages and all, as plain uv leaves it; the next sync it takes rebuilds it."""
    project = write_project(tmp_path / "demo", python_version="3.11")
    sync_json(project, env, index)
    before = sorted(os.listdir(site_packages(project, "3.11")))
    (project / ".python-version").write_text("3.12\n")
    for args, variables in (
        (["--frozen", "--locked"], {}),
        ([], {"UV_FROZEN": "1", "UV_LOCKED": "1"}),
    ):
        refused = anyvenv(
            "sync", "--json", *args, *index_args(index), cwd=project, env={**env, **variables}
        )
        assert refused.returncode == 2, refused.stderr
        said = json.loads(refused.stdout)
        assert said["action"] == "restored", said
        assert any("put back the env that was at" in note for note in said["notes"]), said
        assert sorted(os.listdir(site_packages(project, "3.11"))) == before
        assert sorted(os.listdir(project)) == [
            ".python-version",
            ".venv",
            "pyproject.toml",
            "uv.lock",
        ]
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    rebuilt, _ = sync_json(project, env, index)
    assert rebuilt["action"] == "rebuilt" and (site_packages(project) / "alpha").is_dir()
    assert sorted(os.listdir(project)) == [".python-version", ".venv", "pyproject.toml", "uv.lock"]
    # .venv the user's link to a directory: not put back (the link stays a link, nothing left)
    shutil.rmtree(project / ".venv")
    (tmp_path / "real").mkdir()
    (project / ".venv").symlink_to(tmp_path / "real")
    (project / ".python-version").write_text("3.11\n")
    sync_json(project, env, index)
    (project / ".python-version").write_text("3.12\n")
    refused = anyvenv("sync", "--frozen", "--locked", *index_args(index), cwd=project, env=env)
    assert refused.returncode == 2 and (project / ".venv").is_symlink(), refused.stderr
    assert os.readlink(project / ".venv") == str(tmp_path / "real")
    assert sorted(os.listdir(tmp_path)) == ["demo", "real"]


def test_an_env_made_for_a_pip_command_uv_refuses_is_removed(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """``anyvenv pip`` with an option uv refuses, in a project with no env: the env made for
    it goes, as for sync (plain uv pip makes none); one it reused stays."""
    project = write_project(tmp_path / "demo")
    bogus = anyvenv("pip", "install", "--no-such-option", "alpha", cwd=project, env=env)
    assert bogus.returncode == 2 and "removed the env made for it" in bogus.stderr
    assert not os.path.lexists(project / ".venv")
    sync_json(project, env, index)
    again = anyvenv("pip", "install", "--no-such-option", "alpha", cwd=project, env=env)
    assert again.returncode == 2 and (project / ".venv" / "pyvenv.cfg").is_file()


def test_bad_link_mode_is_a_usage_error(synced: Path, env: dict[str, str]) -> None:
    proc = anyvenv("sync", "--link-mode", "teleport", cwd=synced, env=env)
    assert proc.returncode == 2
    assert "teleport" in one_line_error(proc)


# -- concurrency -------------------------------------------------------------------------------


def test_two_syncs_at_once_both_succeed(tmp_path: Path, env: dict[str, str], index: Path) -> None:
    project = write_project(tmp_path / "demo")
    results = syncs_at_once(project, env, index)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    actions = sorted(r.stderr.split("anyvenv: ")[-1].split()[0] for r in results)
    assert actions == ["Created", "Using"]  # serialised: the second found the first's env
    check = anyvenv("pip", "check", cwd=project, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert hello.stdout == "alpha says hi\n"


def test_pointer_file_is_followed(tmp_path: Path, env: dict[str, str]) -> None:
    """run follows a pointer file at .venv to the env it names."""
    from anyvenv.envbuild.pointerfile import render_pointer

    project = write_project(tmp_path / "demo")
    elsewhere = tmp_path / "real-env"
    made = anyvenv("venv", str(elsewhere), "--python", str(PY_OTHER), cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    (project / ".venv").write_bytes(render_pointer(elsewhere))
    proc = anyvenv(
        "run",
        "--no-sync",
        "--",
        "python",
        "-c",
        "import sys; print(sys.prefix)",
        cwd=project,
        env=env,
    )
    assert proc.stdout == f"{elsewhere}\n", proc.stderr
    checked = anyvenv("check", "--json", cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["path"] == str(elsewhere)
    repaired = anyvenv("repair", "--json", cwd=project, env=env)  # followed by repair too
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert json.loads(repaired.stdout)["path"] == str(elsewhere), repaired.stdout


def test_an_env_that_cannot_be_held_in_place_goes_elsewhere(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the env built in place does not hold (here: the builder's check fails for the
    declared path only), anyvenv falls back to the per-user env and says why."""
    from anyvenv.envbuild.pointerfile import read_pointer
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.interpreter.query import query_interpreter
    from anyvenv.project import prepare
    from anyvenv.project.envchoice import Placement
    from anyvenv.project.model import discover

    project = write_project(tmp_path / "demo")
    declared = str(project / ".venv")
    real_build = prepare.build_at

    def build(
        env_path: str,
        info: object,
        defer_check: bool = False,
        prompt: str | None = None,
        notes: list[str] | None = None,
        keep_replaced: bool = False,
    ) -> tuple[object, str | None]:
        if env_path == declared:
            raise EnvironmentBroken("the new environment's python does not run: test")
        return real_build(env_path, info, defer_check, prompt, notes, keep_replaced)  # type: ignore[arg-type]

    monkeypatch.setattr(prepare, "build_at", build)
    environ = {**env, "XDG_DATA_HOME": str(tmp_path / "data")}
    location, pending, _ = prepare.build_env(
        discover(project), declared, query_interpreter(str(PY_MAIN)), environ
    )
    assert pending is None, "an env elsewhere is checked before it is used"
    assert location.placement is Placement.ELSEWHERE
    assert "cannot hold a runnable environment" in location.reason and "test" in location.reason
    assert read_pointer(declared) == location.env
    assert os.path.exists(os.path.join(location.env, "bin", "python"))
    assert "prompt = demo\n" in Path(location.env, "pyvenv.cfg").read_text()
    assert os.path.isfile(project / ".venv")


def test_a_new_symlinked_env_is_checked_while_uv_runs(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """On local disk the new env's python is a symlink; its check runs alongside uv and must
    have finished, and passed, before the sync reports success."""
    from anyvenv.envbuild.builder import PendingCheck
    from anyvenv.project import sync

    project = write_project(tmp_path / "demo")
    finished: list[str] = []
    real_finish = PendingCheck.finish

    def finish(self: PendingCheck) -> None:
        real_finish(self)
        finished.append(self.env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PendingCheck, "finish", finish)
        patch.chdir(project)
        result = sync.sync(sync.SyncOptions(uv_args=tuple(index_args(index))), env)
    assert result.uv_exit_code == 0 and result.prepared.action == "created"
    assert os.path.islink(project / ".venv" / "bin" / "python")
    assert finished == [str(project / ".venv")]
    assert result.prepared.pending_check is None


def test_a_failed_check_while_uv_ran_rebuilds_the_env_and_syncs_again(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """If the check that ran alongside uv fails, the env is removed, built again with its
    check first, and uv runs again: the sync still ends with a working env."""
    from anyvenv.envbuild.builder import PendingCheck
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.project import sync

    project = write_project(tmp_path / "demo")
    failures: list[str] = []

    def finish(self: PendingCheck) -> None:
        self.child.wait(60)
        failures.append(self.env)
        raise EnvironmentBroken("the new python's sys.prefix is /elsewhere, not the env")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PendingCheck, "finish", finish)
        patch.chdir(project)
        result = sync.sync(sync.SyncOptions(uv_args=tuple(index_args(index))), env)
    assert failures == [str(project / ".venv")], "only the first build defers its check"
    assert result.uv_exit_code == 0
    assert result.prepared.action == "rebuilt"
    assert "sys.prefix is /elsewhere" in (result.prepared.rebuild_reason or "")
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert (hello.returncode, hello.stdout) == (0, "alpha says hi\n"), hello.stderr
    again = anyvenv("sync", "--json", *index_args(index), cwd=project, env=env)
    assert json.loads(again.stdout)["action"] == "reused", again.stderr


def test_a_directory_that_is_no_env_is_never_replaced(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo")
    (project / ".venv").mkdir()
    (project / ".venv" / "notes.txt").write_text("mine")
    proc = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert proc.returncode == 2
    assert "not a virtual environment" in one_line_error(proc)
    assert (project / ".venv" / "notes.txt").read_text() == "mine"


def test_when_uv_fails_anyvenv_says_nothing_that_reads_as_success(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv's error is the last word: no "Using .venv" line after it, for a usage error
    (exit 2) or a failed resolution (exit 1)."""
    for args, code in ((["sync", "--js"], 2), (["add", "no-such-package", *index_args(index)], 1)):
        proc = anyvenv(*args, cwd=synced, env=env)
        assert proc.returncode == code, proc.stderr
        assert "anyvenv: Using" not in proc.stderr, proc.stderr
    shutil.rmtree(synced / ".venv")
    made = anyvenv("add", "no-such-package", *index_args(index), cwd=synced, env=env)
    assert made.returncode == 1
    assert "then uv failed (exit code 1, its error above)" in made.stderr, made.stderr


def test_two_json_documents_are_refused(synced: Path, env: dict[str, str]) -> None:
    """``--json`` with uv's ``--output-format json`` would print two documents on stdout."""
    proc = anyvenv("sync", "--json", "--output-format", "json", cwd=synced, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "--output-format json" in one_line_error(proc)
    # uv lock has no --output-format: uv refuses it as plain uv would, not anyvenv's hint
    locked = anyvenv("lock", "--json", "--output-format", "json", cwd=synced, env=env)
    assert locked.returncode == 2 and "would both print" not in locked.stderr
    assert "unexpected argument '--output-format'" in locked.stderr, locked.stderr
    for command in ("sync", "lock"):  # uv's settings printed on stdout are no JSON either
        shown = anyvenv(command, "--json", "--show-settings", cwd=synced, env=env)
        assert shown.returncode == 2 and shown.stdout == ""
        assert "--json and --show-settings would both print on stdout" in one_line_error(shown)


def test_a_moved_project_gets_its_scripts_rewritten_on_the_next_sync(
    synced: Path, env: dict[str, str], index: Path, tmp_path: Path
) -> None:
    """A project moved with its env: console scripts and activation scripts name the old
    path until sync rewrites them (uv sync leaves them); the next run of a console script
    works, and activating gives the new path."""
    moved = tmp_path / "moved"
    synced.rename(moved)
    proc = anyvenv("sync", *index_args(index), cwd=moved, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"the env was moved from {synced / '.venv'}" in proc.stderr, proc.stderr
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=moved, env=env)
    assert ran.returncode == 0, ran.stderr
    activated = run(
        ["bash", "-c", f". {moved / '.venv/bin/activate'} && echo $VIRTUAL_ENV"], moved, env
    )
    assert activated.stdout.strip() == str(moved / ".venv")
    again = anyvenv("sync", *index_args(index), cwd=moved, env=env)
    assert again.returncode == 0 and "was moved from" not in again.stderr, again.stderr


def test_a_script_whose_interpreter_is_gone_is_named_as_such(
    synced: Path, env: dict[str, str]
) -> None:
    """``run`` of an installed script whose first line names a python that is not there: the
    message names that python and repair, not "is it installed?"."""
    script = synced / ".venv" / "bin" / "alpha-hello"
    text = script.read_text().splitlines(keepends=True)
    script.write_text("#!/nowhere/python\n" + "".join(text[1:]))
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=synced, env=env)
    assert ran.returncode == 2
    line = one_line_error(ran)
    assert "/nowhere/python does not exist" in line and "anyvenv repair" in line, line
    own = synced / "mine.sh"  # a script of the user's, not the env's: no repair to offer
    own.write_text("#!/nowhere/interp\n")
    own.chmod(0o755)
    ran = anyvenv("run", "--no-sync", "./mine.sh", cwd=synced, env=env)
    line = one_line_error(ran)
    assert ran.returncode == 2 and "/nowhere/interp does not exist" in line, line
    assert "repair" not in line and "fix its first line" in line, line


def test_a_stale_data_dir_a_killed_uv_left_is_cleared(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv killed while installing leaves NAME.data holding a temp file; uv then refuses that
    wheel for good ("RECORD file doesn't match"). anyvenv clears it and reinstalls."""
    site = next((synced / ".venv" / "lib").glob("python3.*/site-packages"))
    shutil.rmtree(site / "beta")
    shutil.rmtree(site / "beta-1.0.dist-info")
    (site / "beta-1.0.data" / "scripts").mkdir(parents=True)
    (site / "beta-1.0.data" / "scripts" / ".tmpABC123").write_text("half")
    plain = run([uv_binary(), "sync", *index_args(index)], synced, env)
    assert "doesn't match wheel contents" in plain.stderr, plain.stderr  # uv alone is stuck
    report, proc = sync_json(synced, env, index)
    assert report["uv_exit_code"] == 0, proc.stderr
    assert not (site / "beta-1.0.data").exists()
    imported = run([str(synced / ".venv/bin/python"), "-c", "import beta"], synced, env)
    assert imported.returncode == 0, imported.stderr


def test_a_killed_venv_s_staging_tree_is_cleared_by_the_next_sync(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """A staging tree a killed ``venv --clear`` left beside the env went only with the next
    rebuild; a sync that reuses the env clears it too."""
    from anyvenv.fs.leftovers import STAGING_MARK, this_host

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    left = synced / f"..venv{STAGING_MARK}{this_host()}-{gone}-abcdef"
    (left / "bin").mkdir(parents=True)
    (synced / "pyproject.toml").write_text((synced / "pyproject.toml").read_text() + "\n")
    report, _ = sync_json(synced, env, index)
    assert report["action"] == "reused" and not left.exists()


def test_show_settings_is_uvs_to_print_and_changes_nothing(
    tmp_path: Path, synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv prints its settings and stops: no env is made for it, nothing runs, and no sync is
    recorded as done (the next one prints them again)."""
    fresh = write_project(tmp_path / "fresh")
    shown = anyvenv("sync", "--show-settings", *index_args(index), cwd=fresh, env=env)
    assert shown.returncode == 0 and "SyncSettings" in shown.stdout, shown.stderr
    assert not (fresh / ".venv").exists()
    for project in (fresh, synced):
        ran = anyvenv(
            "run", "--show-settings", "python", "-c", "open('ran', 'w')", cwd=project, env=env
        )
        assert ran.returncode == 0 and "RunSettings" in ran.stdout, ran.stderr
        assert not (project / "ran").exists()
    assert not (fresh / ".venv").exists()
    for _ in range(2):
        again = anyvenv("sync", "--show-settings", *index_args(index), cwd=synced, env=env)
        assert "SyncSettings" in again.stdout and "up to date" not in again.stderr


def test_run_refuses_what_uv_run_refuses(synced: Path, env: dict[str, str]) -> None:
    """``run --dry-run`` synced nothing and still ran the command; ``run --json`` failed on
    uv sync's usage text. Both are one line and exit 2 now, and nothing runs."""
    for option in ("--dry-run", "--no-install-project", "--json"):
        refused = anyvenv("run", option, "python", "-c", "open('ran', 'w')", cwd=synced, env=env)
        assert refused.returncode == 2
        assert option in one_line_error(refused)
        assert not (synced / "ran").exists()


def test_a_run_that_runs_itself_stops_at_uvs_limit(synced: Path, env: dict[str, str]) -> None:
    """A script whose first line runs it through ``anyvenv run`` would run itself forever:
    as uv run, nested runs stop past ``--max-recursion-depth`` (UV_RUN_MAX_RECURSION_DEPTH,
    default 100), on the no-op path and the ordinary one, before anything runs."""
    tool = synced / "tool"
    tool.write_text(
        f"#!/usr/bin/env -S {sys.executable} -m anyvenv run\nopen('ran', 'a').write('x')\n"
    )
    tool.chmod(0o755)
    limited = {**env, "UV_RUN_MAX_RECURSION_DEPTH": "3"}
    assert anyvenv("run", "python", "-c", "1", cwd=synced, env=env).returncode == 0
    # each nested run finds the env in sync (UV_RUN_RECURSION_DEPTH and a VIRTUAL_ENV naming
    # the env are no inputs of a sync): no uv output, only the error
    looped = anyvenv("run", "./tool", cwd=synced, env=limited, timeout=120)
    assert looped.returncode == 2
    assert one_line_error(looped).startswith(
        "anyvenv: error: `anyvenv run` was recursively invoked 4 times which exceeds the limit of 3"
    )
    assert not (synced / "ran").exists()
    deep = {**env, "UV_RUN_RECURSION_DEPTH": "101"}
    for args in (["python", "-c", "open('ran', 'w')"], ["--no-sync", "python", "-c", "1"]):
        refused = anyvenv("run", *args, cwd=synced, env=deep)
        assert refused.returncode == 2 and "exceeds the limit of 100" in one_line_error(refused)
    allowed = anyvenv(
        "run", "--max-recursion-depth", "200", "python", "-c", "print('ok')", cwd=synced, env=deep
    )
    assert (allowed.returncode, allowed.stdout) == (0, "ok\n"), allowed.stderr
    bad = anyvenv(
        "run", "python", "-c", "1", cwd=synced, env={**env, "UV_RUN_RECURSION_DEPTH": "x"}
    )
    assert bad.returncode == 2 and "invalid value for UV_RUN_RECURSION_DEPTH" in one_line_error(bad)
    assert not (synced / "ran").exists()


def test_run_of_a_path_that_cannot_run_blames_the_path(
    synced: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """A directory, a file without exec bits: the user's mistake, said so (not a pointer to
    check the env's scripts, which have nothing to do with it)."""
    script = tmp_path / "tool.sh"
    script.write_text("echo hi\n")
    script.chmod(0o644)
    for path, why in ((tmp_path, "it is a directory"), (script, "it is not executable")):
        proc = anyvenv("run", str(path), cwd=synced, env=env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        said = proc.stderr.strip().splitlines()[-1]  # (after uv's lines, if it synced)
        assert said.startswith(f"anyvenv: error: cannot run {path}: {why}"), proc.stderr
        assert "anyvenv check" not in said


def with_fake_uv(script: str) -> str:
    """A ``python -c`` program that runs anyvenv's CLI with uv replaced by the shell
    ``script`` (written as ./fake-uv in the working directory)."""
    return f"""
import os, sys
sys.argv = ["anyvenv", *sys.argv[1:]]
import anyvenv.project.session as project_session
fake = os.path.join(os.getcwd(), "fake-uv")
with open(fake, "w") as f:
    f.write({"#!/bin/sh" + chr(10) + script!r})
os.chmod(fake, 0o755)
project_session.find_uv = lambda: fake
from anyvenv.__main__ import main
raise SystemExit(main())
"""


# uv removing the env half-way, then failing (as a race can make it)
UV_REMOVING_THE_PYTHON = with_fake_uv(
    "rm -f .venv/bin/python*\necho 'error: half-way' >&2\nexit 2\n"
)


def test_an_env_whose_python_vanished_while_uv_failed_is_rebuilt_next_time(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """The state saved at the end of that sync must not hide the loss: its fingerprint would
    leave the missing python out and the next sync reuse the env unchecked, for good."""
    write_project(synced, dependencies=["alpha", "gamma"])  # uv must run
    failed = run(
        [sys.executable, "-c", UV_REMOVING_THE_PYTHON, "sync", *index_args(index)], synced, env
    )
    assert failed.returncode == 2, failed.stderr
    assert not (synced / ".venv" / "bin" / "python").exists()
    report, _ = sync_json(synced, env, index)
    assert report["action"] == "rebuilt", report
    works = run([synced / ".venv" / "bin" / "python", "-c", "import gamma"], synced, env)
    assert works.returncode == 0, works.stderr


def test_a_relative_python_path_is_taken_from_the_directory_uv_runs_in(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """As uv: with --directory (or UV_WORKING_DIR), `--python ../x` and UV_PYTHON=../x are
    relative to that directory, not to where the command was typed."""
    assert PY_OTHER is not None
    project = write_project(tmp_path / "a" / "proj", python_version=None)
    (tmp_path / "a" / "pyb").symlink_to(PY_OTHER.parent)
    relative = f"../pyb/{PY_OTHER.name}"
    for args, extra in (
        (["--directory", "a/proj", "--python", relative], {}),
        ([], {"UV_WORKING_DIR": "a/proj", "UV_PYTHON": relative}),
    ):
        done = anyvenv(
            "sync", "--json", *index_args(index), *args, cwd=tmp_path, env={**env, **extra}
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["python"].startswith("3.11.")
        ran = anyvenv(
            "run",
            "--no-sync",
            "python",
            "-c",
            "import sys; print(sys.version_info[1])",
            cwd=project,
            env=env,
        )
        assert ran.stdout == "11\n", ran.stderr
        shutil.rmtree(project / ".venv")


def test_a_pointer_to_another_projects_own_env_does_not_take_it_over(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """A `.venv` pointer (committed, or written by hand in uv's redirect form) naming the
    in-project env of another project: syncing here would replace that project's packages.
    This project gets an env of its own, and the other's is left as it was."""
    other = write_project(tmp_path / "other", dependencies=["gamma"])
    sync_json(other, env, index)
    before = sorted(p.name for p in site_packages(other).iterdir())
    project = write_project(tmp_path / "demo", dependencies=["alpha"])
    (project / ".venv").write_text(f"{other / '.venv'}\n")
    report, _ = sync_json(project, env, index)
    assert report["action"] == "rebuilt"
    assert f"it points to the env of {other}" in str(report["rebuild_reason"])
    assert report["env"] == str(project / ".venv")
    assert sorted(p.name for p in site_packages(other).iterdir()) == before
    alpha_says_hi(project, env)


def test_a_directory_that_only_carries_a_cache_tag_is_never_replaced(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """UV_PROJECT_ENVIRONMENT naming cargo's target/ (a CACHEDIR.TAG, build output): refused,
    as uv refuses it, and nothing in it removed (it was taken for uv's leftover and wiped)."""
    from anyvenv.envbuild.config import CACHEDIR_SIGNATURE

    project = write_project(tmp_path / "demo")
    target = project / "target"
    (target / "release").mkdir(parents=True)
    (target / "CACHEDIR.TAG").write_bytes(CACHEDIR_SIGNATURE + b"\n")
    (target / "release" / "myapp").write_bytes(b"\x7fELF")
    refused = anyvenv(
        "sync", *index_args(index), cwd=project, env={**env, "UV_PROJECT_ENVIRONMENT": "target"}
    )
    assert refused.returncode == 2, refused.stderr
    assert (target / "release" / "myapp").read_bytes() == b"\x7fELF"


def test_a_missing_env_file_is_refused_before_anything_is_synced(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """As uv run, which reads its env files first: no env made, no lock written, for a typo."""
    project = write_project(tmp_path / "demo")
    for args, given in (
        (["--env-file", ".env.missing"], env),
        ([], {**env, "UV_ENV_FILE": ".env.missing"}),
    ):
        proc = anyvenv("run", *index_args(index), *args, "python", "-c", "", cwd=project, env=given)
        assert proc.returncode == 2
        assert "no environment file found at .env.missing" in one_line_error(proc)
        assert not (project / ".venv").exists() and not (project / "uv.lock").exists()
    (project / "envdir").mkdir()
    proc = anyvenv("run", "--env-file", "envdir", "python", "-c", "", cwd=project, env=env)
    assert proc.returncode == 2
    assert "cannot read the environment file envdir: it is a directory" in one_line_error(proc)
    assert not (project / ".venv").exists() and not (project / "uv.lock").exists()
    (project / "b.env").write_text("B=2\n")
    (project / ".env.missing").write_text("A=1\n")
    both = anyvenv("run", *index_args(index), "python", "-c",
                   "import os; print(os.environ['A'], os.environ['B'])", cwd=project,
                   env={**env, "UV_ENV_FILE": ".env.missing b.env"})  # fmt: skip
    assert both.stdout == "1 2\n", both.stderr  # several files, as uv reads the variable
    proc = anyvenv("run", *index_args(index), "--env-file", ".env.missing", "python", "-c",
                   "import os; print(os.environ['A'])", cwd=project, env=env)  # fmt: skip
    assert proc.stdout == "1\n", proc.stderr


@contextlib.contextmanager
def _anyvenv_as_nobody(
    scratch: Path, wheels: Path
) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """``anyvenv ARGS`` run as uid 65534 (the package and uv copied where it may read them),
    offline on ``wheels``, with a home of its own under ``scratch``."""
    from support import as_nobody

    home = scratch / "nobody-home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    with as_nobody(with_uv=True) as (python, env):
        env.update(HOME=str(home), UV_OFFLINE="1", UV_NO_INDEX="1", UV_FIND_LINKS=str(wheels))

        def run_anyvenv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*python, "-m", "anyvenv", *args], cwd=cwd, env=env, capture_output=True,
                text=True,
            )  # fmt: skip

        yield run_anyvenv


def test_another_user_may_run_and_check_a_project_whose_env_they_cannot_write(
    nobody_scratch: Path, index: Path
) -> None:
    """A project synced by its owner, used by another user who may read it (a shared
    checkout): ``run``, ``sync --check`` and ``sync --frozen`` work as plain uv's do, instead
    of stopping at the link-mode probe of an env they may not write."""
    wheels = nobody_scratch / "wheels"
    shutil.copytree(index, wheels)
    project = write_project(nobody_scratch / "demo", python_version="3.11")
    env = project_environ(nobody_scratch / "home", PATH="/usr/bin:/bin")
    made = anyvenv(
        "sync", *index_args(wheels), "--python", "/usr/bin/python3", cwd=project, env=env
    )
    assert made.returncode == 0, made.stderr
    for path in [nobody_scratch, *nobody_scratch.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    with _anyvenv_as_nobody(nobody_scratch, wheels) as run_anyvenv:
        for args, out in (
            (["run", "alpha-hello"], "alpha says hi\n"),
            (["sync", "--check"], ""),
            (["sync", "--frozen"], ""),
        ):
            proc = run_anyvenv(*args, cwd=project)
            assert (proc.returncode, proc.stdout) == (0, out), (args, proc.stderr)


def test_the_container_layout_is_synced_by_the_user_whose_env_it_is(
    nobody_scratch: Path, index: Path
) -> None:
    """``/app`` is root's, ``/app/.venv`` an empty directory of the user's (a volume): the
    user's ``sync --frozen`` fills it in place, as plain uv does, instead of stopping at
    the probe of ``/app``, which they may not write."""
    wheels = nobody_scratch / "wheels"
    shutil.copytree(index, wheels)
    app = write_project(nobody_scratch / "app", python_version="3.11")
    env = project_environ(nobody_scratch / "home", PATH="/usr/bin:/bin")
    locked = subprocess.run(
        [uv_binary(), "lock", *index_args(wheels), "--python", "/usr/bin/python3"],
        cwd=app, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert locked.returncode == 0, locked.stderr
    (app / ".venv").mkdir()
    os.chown(app / ".venv", 65534, 65534)
    for path in [nobody_scratch, *nobody_scratch.rglob("*")]:
        if path != app / ".venv":
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    with _anyvenv_as_nobody(nobody_scratch, wheels) as run_anyvenv:
        synced = run_anyvenv("sync", "--frozen", "--python", "/usr/bin/python3", cwd=app)
        assert synced.returncode == 0, synced.stderr + "\n" + synced.stdout
        ran = run_anyvenv("run", "--frozen", "alpha-hello", cwd=app)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    assert (app / ".venv" / "pyvenv.cfg").stat().st_uid == 65534
    assert sorted(os.listdir(app)) == [".python-version", ".venv", "pyproject.toml", "uv.lock"]


UV_KILLED = with_fake_uv("kill -XFSZ $$\n")  # (a file size limit: uv says nothing)


def test_uv_killed_by_a_signal_is_said_so_and_exits_as_a_shell_says_it(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv killed (SIGXFSZ under `ulimit -f`): no 'its error above' (it said nothing), the
    signal and its likely cause named, and the exit code a shell gives (128 + 25)."""
    write_project(synced, dependencies=["alpha", "gamma"])  # uv must run
    killed = run([sys.executable, "-c", UV_KILLED, "sync", *index_args(index)], synced, env)
    assert killed.returncode == 128 + 25, killed.stderr
    assert "its error above" not in killed.stderr
    assert (
        "anyvenv: uv was killed by SIGXFSZ (a file size limit: ulimit -f), before it could say "
        "why" in killed.stderr
    ), killed.stderr


def test_a_console_script_in_an_env_whose_path_holds_the_path_separator_is_said_so(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """A project under ``a:b/``: its env's bin/ cannot be one entry of PATH (cut at the
    ``:``), so ``anyvenv run alpha-hello`` cannot find the script there: said as that, with
    the script's path to run, not as a script that may not be installed."""
    project = write_project(tmp_path / "a:b" / "demo")
    synced = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert synced.returncode == 0, synced.stderr + "\n" + synced.stdout
    script = project / ".venv" / "bin" / "alpha-hello"
    assert script.is_file()
    proc = anyvenv("run", *index_args(index), "alpha-hello", cwd=project, env=env)
    assert proc.returncode == 2
    assert one_line_error(proc) == (
        "anyvenv: error: cannot run 'alpha-hello': the env's path contains ':', so its bin/ "
        f"cannot be one entry of PATH; run {shlex.quote(str(script))} by its path, or keep "
        "the project at a path without ':'"
    )
    direct = run([script], cwd=project, env=env)
    assert (direct.returncode, direct.stdout) == (0, "alpha says hi\n"), direct.stderr
