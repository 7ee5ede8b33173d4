"""A Python downloaded on demand by ``venv``, ``sync`` and ``run``, as uv does where its
python-downloads is ``automatic`` (its default): from the test archive's ``file://`` mirror,
with no Python 3.12 on PATH nor among the managed installs."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_support import anyvenv, index_args, project_environ, write_project
from standalone_build import StandaloneArchive, pythons_env, standalone

from anyvenv.envbuild.config import read_pyvenv_cfg
from anyvenv.envbuild.create import create
from anyvenv.errors import InterpreterNotFound
from support import ANYVENV, cli_env, one_line_error, read_until_closed, run_cli, tmpfs_mounted

__all__ = ["pythons_env", "standalone"]  # fixtures used by the tests below


def _without_312(tmp_path: Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` with no Python 3.12 to be found: PATH of the system's (Debian's 3.11 only),
    empty managed-install directories."""
    return {
        **base,
        "PATH": "/usr/bin:/bin",
        "ANYVENV_PYTHON_INSTALL_DIR": str(tmp_path / "pythons"),
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uv-pythons"),
    }


def _runs(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3], sys.prefix)"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_venv_downloads_a_python_that_no_install_answers(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    env_vars = _without_312(tmp_path, cli_env())
    env = tmp_path / "env"
    made = run_cli("venv", str(env), "--python", "3.12", env=env_vars)
    assert made.returncode == 0, made.stderr
    install = tmp_path / "pythons" / standalone.install_name
    assert f"Installed {standalone.install_name} into {tmp_path / 'pythons'} (" in made.stderr
    assert read_pyvenv_cfg(env)["home"] == str(install / "bin")
    assert _runs(env / "bin" / "python") == f"3.12.1 {env}"
    again = run_cli("venv", str(env), "--python", "3.12", "--clear", env=env_vars)
    assert again.returncode == 0 and "Installed" not in again.stderr  # found installed now


@pytest.mark.parametrize("no_progress", [[], ["--no-progress"]])
def test_the_download_bar_is_drawn_on_a_terminal_unless_no_progress(
    tmp_path: Path,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
    no_progress: list[str],
) -> None:
    env_vars = {**_without_312(tmp_path, cli_env()), "TERM": "xterm"}
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*ANYVENV, "venv", str(tmp_path / "env"), "--python", "3.12", *no_progress],
        stdout=subprocess.DEVNULL, stderr=terminal, stdin=subprocess.DEVNULL, env=env_vars,
    )  # fmt: skip
    os.close(terminal)
    drawn = read_until_closed(controller)
    os.close(controller)
    assert proc.wait(timeout=120) == 0
    assert b"Installed " + standalone.install_name.encode() in drawn
    assert (b"[###" in drawn) is not bool(no_progress), drawn


@pytest.mark.parametrize(
    ("flag", "variables"),
    [
        ("--no-python-downloads", {}),
        (None, {"UV_PYTHON_DOWNLOADS": "manual"}),
        (None, {"UV_PYTHON_DOWNLOADS": "0"}),
        ("--no-managed-python", {}),  # only-system: never a managed Python, nor a download
        (None, {"UV_CONFIG_FILE": "uv.toml"}),  # python-downloads = "never" in it
    ],
    ids=["flag", "manual", "zero", "only-system", "settings"],
)
def test_no_python_is_downloaded_where_uv_would_not(
    tmp_path: Path, pythons_env: dict[str, str], flag: str | None, variables: dict[str, str]
) -> None:
    (tmp_path / "uv.toml").write_text('python-downloads = "never"\n')
    env_vars = _without_312(tmp_path, cli_env(**variables))
    args = ["venv", str(tmp_path / "env"), "--python", "3.12", *([flag] if flag else [])]
    proc = run_cli(*args, cwd=tmp_path, env=env_vars)
    assert proc.returncode == 2
    assert "no Python matching '3.12' found" in one_line_error(proc)
    assert not (tmp_path / "pythons").exists() and not (tmp_path / "env").exists()


def _venv_312_refused(tmp_path: Path, **variables: str) -> str:
    """The one-line error of ``venv --python 3.12`` with no 3.12 to find, nothing made."""
    env_vars = _without_312(tmp_path, cli_env(**variables))
    proc = run_cli("venv", str(tmp_path / "env"), "--python", "3.12", env=env_vars)
    assert proc.returncode == 2
    assert not (tmp_path / "pythons").exists() and not (tmp_path / "env").exists()
    return one_line_error(proc)


def test_where_downloads_are_never_the_way_out_is_to_allow_them(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    said = _venv_312_refused(tmp_path, UV_PYTHON_DOWNLOADS="never")
    assert "downloads are off (UV_PYTHON_DOWNLOADS)" in said
    assert "UV_PYTHON_DOWNLOADS=automatic" in said
    assert "install one with" not in said  # (python install refuses under never too)


def test_where_the_flag_turned_downloads_off_the_way_out_is_to_leave_it_out(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    """Not UV_PYTHON_DOWNLOADS=automatic, which the flag would still override."""
    env_vars = _without_312(tmp_path, cli_env())
    args = ("venv", str(tmp_path / "env"), "--python", "3.12", "--no-python-downloads")
    proc = run_cli(*args, env=env_vars)
    assert proc.returncode == 2
    said = one_line_error(proc)
    assert (
        "downloads are off (--no-python-downloads); pass --allow-python-downloads in place of "
        "--no-python-downloads" in said
    )
    assert "UV_PYTHON_DOWNLOADS" not in said
    unasked = run_cli("venv", str(tmp_path / "env"), "--no-python-downloads", cwd=tmp_path,
                      env={**env_vars, "PATH": str(tmp_path / "nothing")})  # fmt: skip
    assert unasked.returncode == 2
    assert "anyvenv: error: no Python found (searched managed installs and PATH)" in (
        one_line_error(unasked)
    )


def test_under_never_with_no_build_the_hint_is_not_python_install(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    env_vars = _without_312(tmp_path, cli_env(UV_PYTHON_DOWNLOADS="never"))
    proc = run_cli("venv", str(tmp_path / "env"), "--python", "3.99", env=env_vars)
    assert proc.returncode == 2
    said = one_line_error(proc)
    assert "no Python matching '3.99' found" in said and "python install" not in said, said
    assert "put one on PATH or pass its path (python-downloads is never)" in said
    # under only-managed PATH is not searched: it is not sent there
    managed = {**env_vars, "UV_PYTHON_PREFERENCE": "only-managed"}
    proc = run_cli("venv", str(tmp_path / "env"), "--python", "3.99", env=managed)
    assert proc.returncode == 2
    said = one_line_error(proc)
    assert said.endswith(
        "; pass its path, or let PATH be searched too (a python-preference other than "
        "only-managed) (python-downloads is never)"
    ), said


def test_under_only_system_the_hint_is_not_a_managed_install(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    said = _venv_312_refused(tmp_path, UV_PYTHON_PREFERENCE="only-system")
    assert "(searched PATH only, as python-preference is only-system); put one on PATH" in said
    assert "python install" not in said


def test_the_api_downloads_nothing_under_an_only_system_preference_variable(
    tmp_path: Path, pythons_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _without_312(tmp_path, {"UV_PYTHON_PREFERENCE": "only-system"}).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InterpreterNotFound):
        create(tmp_path / "env", "3.12", python_downloads=True)
    assert not (tmp_path / "pythons").exists() and not (tmp_path / "env").exists()


def test_a_python_downloads_value_uv_refuses_is_refused(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    said = _venv_312_refused(tmp_path, UV_PYTHON_DOWNLOADS="sometimes")
    assert "UV_PYTHON_DOWNLOADS 'sometimes' is not a python-downloads value" in said


@pytest.mark.parametrize(
    ("request_text", "said"),
    [
        ("2.7", "Python 2.7 is not supported: anyvenv makes environments for CPython 3"),
        (">=4", "Python >=4 is not supported: anyvenv makes environments for CPython 3"),
        (">=3.11,<3.5", "no Python version satisfies >=3.11,<3.5"),
    ],
)
def test_a_request_no_cpython_3_answers_is_not_looked_up_among_downloads(
    tmp_path: Path, pythons_env: dict[str, str], request_text: str, said: str
) -> None:
    """Downloads allowed, a request no CPython 3 can answer is refused for what it is, not
    also for the release table's lack of a build of it."""
    env_vars = _without_312(tmp_path, cli_env())
    proc = run_cli("venv", str(tmp_path / "env"), "--python", request_text, env=env_vars)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert said in line and "download" not in line, line
    assert not (tmp_path / "pythons").exists() and not (tmp_path / "env").exists()


def test_sync_downloads_the_python_its_project_asks_for(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo", python_version="3.12")
    env_vars = _without_312(tmp_path, project_environ(tmp_path / "home", **pythons_env))
    env_vars["UV_PYTHON_DOWNLOADS"] = "automatic"  # (the project tests' is never)
    proc = anyvenv("sync", "--json", *index_args(index), cwd=project, env=env_vars)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["action"] == "created"
    said = [note for note in report["notes"] if note.startswith("installed ")]
    assert said and standalone.install_name in said[0] and "'3.12'" in said[0], report["notes"]
    env = Path(str(report["env"]))
    assert _runs(env / "bin" / "python") == f"3.12.1 {env}"
    hello = anyvenv("run", "alpha-hello", cwd=project, env=env_vars)
    assert (hello.returncode, hello.stdout) == (0, "alpha says hi\n"), hello.stderr


def test_a_settings_value_uv_does_not_take_is_refused(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    """uv's settings files take python-downloads by name only (a bool or "true" there is a
    TOML error to uv), unlike the variable."""
    (tmp_path / "uv.toml").write_text('python-downloads = "true"\n')
    said = _venv_312_refused(tmp_path, UV_CONFIG_FILE=str(tmp_path / "uv.toml"))
    assert "('true') is not one of uv's values" in said


@pytest.fixture
def noexec_dir(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted noexec (a home on a compute node): nothing on it can be run."""
    with tmpfs_mounted(tmp_path / "noexec", "noexec,size=8m") as mount_point:
        yield mount_point


def test_an_install_on_a_noexec_filesystem_is_not_taken_for_the_download(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str], noexec_dir: Path
) -> None:
    """The version is installed where nothing runs (the install dir is mounted noexec):
    neither found nor downloaded again over it; the error says why, and where to install
    instead (not to run 'python install', which says it is installed)."""
    from support import fake_install

    env_vars = {**_without_312(tmp_path, cli_env()), "ANYVENV_PYTHON_INSTALL_DIR": str(noexec_dir)}
    home = fake_install(noexec_dir, standalone.install_name, standalone.executable_name)
    made = run_cli("venv", str(tmp_path / "env"), "--python", "3.12", env=env_vars)
    assert made.returncode != 0
    line = one_line_error(made)
    assert f"the install of it at {home} cannot be run (its filesystem is mounted noexec)" in line
    assert line.endswith("set ANYVENV_PYTHON_INSTALL_DIR to a directory on another filesystem")
    assert not (tmp_path / "env").exists()
    told = run_cli("python", "install", "3.12", env=env_vars)
    assert told.returncode == 0, told.stderr
    assert "cannot be run (its filesystem is mounted noexec): install into" in told.stderr
    assert "--reinstall" not in told.stderr


def test_the_apis_downloads_turned_off_are_said_with_its_keyword(
    tmp_path: Path, pythons_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller of create() whose own Downloads says never is told of python_downloads=True,
    not of the command line's --allow-python-downloads."""
    from anyvenv.pythons.ondemand import Downloads

    for key, value in _without_312(tmp_path, {}).items():
        monkeypatch.setenv(key, value)
    never = Downloads(lambda: ("never", "the caller's settings"))
    with pytest.raises(InterpreterNotFound) as refused:
        create(tmp_path / "env", "3.12", python_downloads=never)
    said = refused.value.one_line()
    assert (
        "downloads are off (the caller's settings); allow downloads (python_downloads=True, "
        in (said)
    )
    assert "--" not in said, said
    assert not (tmp_path / "pythons").exists() and not (tmp_path / "env").exists()


def test_a_download_into_a_noexec_install_dir_names_the_options_of_who_asked(
    tmp_path: Path, pythons_env: dict[str, str], noexec_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing runs where Pythons are installed: python install names its --install-dir, but
    venv has none and create() no such keyword: they name the variable alone."""
    variables = {**_without_312(tmp_path, {}), "ANYVENV_PYTHON_INSTALL_DIR": str(noexec_dir)}
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InterpreterNotFound) as refused:
        create(tmp_path / "env", "3.12", python_downloads=True)
    elsewhere = "install into another filesystem with ANYVENV_PYTHON_INSTALL_DIR"
    assert refused.value.hint == elsewhere
    made = run_cli("venv", str(tmp_path / "env"), "--python", "3.12", env=cli_env(**variables))
    assert made.returncode != 0 and one_line_error(made).endswith(f"; {elsewhere}")
    told = run_cli("python", "install", "3.12", env=cli_env(**variables))
    assert told.returncode != 0
    assert one_line_error(told).endswith(
        "; install into another filesystem with --install-dir or ANYVENV_PYTHON_INSTALL_DIR"
    )
    assert not (tmp_path / "env").exists()
