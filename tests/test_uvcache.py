"""uv's cache dir as uv itself reports it: given, configured, or uv's default (then without
running uv at all)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from project_support import uv_binary

from anyvenv.errors import AnyvenvError
from anyvenv.project.uvcache import CacheDirLookup, cache_dir_arguments, uv_cache_dir

CONFIGURED = 'cache-dir = "/from/config"\n'


def _environ(root: Path, **extra: str) -> dict[str, str]:
    """A user whose home, and whose system config dirs, are under ``root`` (no real config)."""
    home = root / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_DIRS": str(root / "etc-xdg"),
        **extra,
    }


def _uv_says(args: list[str], environ: dict[str, str], cwd: str) -> str:
    told = subprocess.run(
        [uv_binary(), "cache", "dir", *args], cwd=cwd, env=environ, capture_output=True, text=True
    )
    assert told.returncode == 0, told.stderr
    return os.path.join(cwd, told.stdout.strip())


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _project(root: Path) -> str:
    project = root / "outer" / "project"
    _write(project / "pyproject.toml", '[project]\nname = "p"\nversion = "0"\n')
    return str(project)


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["--cache-dir", "rel"], {"UV_CACHE_DIR": "/from/env"}),
        ([], {"UV_CACHE_DIR": "/from/env"}),
        ([], {"UV_CACHE_DIR": "relative/env"}),
        (["--no-cache"], {}),
        ([], {"UV_NO_CACHE": "on"}),
        ([], {"UV_NO_CACHE": "Y"}),
    ],
)
def test_a_cache_dir_given_wins_and_uv_is_not_run(
    tmp_path: Path, args: list[str], extra: dict[str, str]
) -> None:
    project = _project(tmp_path)
    _write(Path(project, "uv.toml"), CONFIGURED)  # loses to the command line and the environment
    environ = _environ(tmp_path, **extra)
    lookup = CacheDirLookup("/nonexistent/uv", args, environ, project)
    assert not lookup.asks_uv
    if "--no-cache" in args or "UV_NO_CACHE" in extra:
        # a temporary cache, made in the temp dir, which stands for it
        assert os.path.dirname(_uv_says(args, environ, project)) == lookup.result()
    else:
        assert lookup.result() == _uv_says(args, environ, project)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"XDG_CACHE_HOME": "/somewhere/cache"},
        {"XDG_CONFIG_HOME": "/nowhere/config"},
        {"UV_NO_CACHE": "no"},
        {"UV_NO_CACHE": "False"},
        {"UV_NO_CACHE": "off"},
        {"UV_NO_CACHE": "N"},
        {"UV_NO_CACHE": "f"},
    ],
    ids=[
        "home",
        "xdg-cache-home",
        "xdg-config-home-without-uv",
        "no-cache-no",
        "no-cache-False",
        "no-cache-off",
        "no-cache-N",
        "no-cache-f",
    ],
)
def test_uv_default_is_known_without_running_uv(tmp_path: Path, extra: dict[str, str]) -> None:
    project = _project(tmp_path)
    environ = _environ(tmp_path, **extra)
    lookup = CacheDirLookup("/nonexistent/uv", [], environ, project)
    assert not lookup.asks_uv
    assert lookup.result() == _uv_says([], environ, project)


CONFIG_PLACES = {
    "uv.toml in the project": lambda root: root / "outer" / "project" / "uv.toml",
    "uv.toml above the project": lambda root: root / "outer" / "uv.toml",
    "user config": lambda root: root / "home" / ".config" / "uv" / "uv.toml",
    "XDG_CONFIG_HOME": lambda root: root / "xdg-config" / "uv" / "uv.toml",
    "XDG_CONFIG_DIRS": lambda root: root / "etc-xdg" / "uv" / "uv.toml",
    "UV_CONFIG_FILE": lambda root: root / "elsewhere.toml",
}


@pytest.mark.parametrize("place", list(CONFIG_PLACES))
def test_a_config_file_that_may_set_it_is_left_to_uv(tmp_path: Path, place: str) -> None:
    project = _project(tmp_path)
    config = CONFIG_PLACES[place](tmp_path)
    _write(config, CONFIGURED)
    environ = _environ(tmp_path)
    if place == "XDG_CONFIG_HOME":
        environ["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    if place == "UV_CONFIG_FILE":
        environ["UV_CONFIG_FILE"] = str(config)
    lookup = CacheDirLookup(uv_binary(), [], environ, project)
    assert lookup.asks_uv
    assert lookup.result() == _uv_says([], environ, project) == "/from/config"


def test_the_config_of_the_project_named_by_project_is_read(tmp_path: Path) -> None:
    project = _project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    _write(elsewhere / "uv.toml", 'cache-dir = "/from/elsewhere"\n')
    environ = _environ(tmp_path)
    for args in (["--project", str(elsewhere)], ["--directory", "../../elsewhere"]):
        lookup = CacheDirLookup(uv_binary(), args, environ, project)
        assert lookup.asks_uv
        assert lookup.result() == _uv_says(args, environ, project) == "/from/elsewhere"


def test_uv_runs_in_the_background_in_our_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    _write(Path(project).parent / "uv.toml", CONFIGURED)
    monkeypatch.chdir(project)
    lookup = CacheDirLookup(uv_binary(), [], _environ(tmp_path), project)
    assert lookup._child is not None
    assert lookup.result() == "/from/config"
    assert lookup._child is None
    assert not lookup.asks_uv  # answered once: uv is not run again
    assert lookup.result() == "/from/config"
    assert lookup._child is None


def test_a_pyproject_naming_a_cache_dir_is_left_to_uv(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with open(os.path.join(project, "pyproject.toml"), "a") as stream:
        stream.write('[tool.uv]\ncache-dir = "/from/pyproject"\n')
    environ = _environ(tmp_path)
    lookup = CacheDirLookup(uv_binary(), [], environ, project)
    assert lookup.asks_uv
    assert lookup.result() == _uv_says([], environ, project) == "/from/pyproject"


def test_a_failing_uv_cache_dir_is_a_clear_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _write(Path(project, "uv.toml"), "cache-dir = [not toml\n")
    with pytest.raises(AnyvenvError, match="'uv cache dir' failed"):
        uv_cache_dir(uv_binary(), [], _environ(tmp_path), project)


def test_a_lookup_not_wanted_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(project)  # uv runs in the background only in our own working directory
    _write(Path(project, "uv.toml"), CONFIGURED)
    lookup = CacheDirLookup(uv_binary(), [], _environ(tmp_path), project)
    child = lookup._child
    assert child is not None  # started at once, in the background
    lookup.cancel()
    lookup.cancel()  # idempotent
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)  # killed and reaped


def test_the_decision_key_names_what_decides_the_cache_dir(tmp_path: Path) -> None:
    project = _project(tmp_path)
    environ = {**_environ(tmp_path), "XDG_CACHE_HOME": "/x", "UV_CACHE_DIR": "/c"}
    key = cache_dir_arguments(["--cache-dir", "d", "-n"], environ, project)
    assert key == [
        "UV_CACHE_DIR=/c",
        "UV_NO_CACHE=",
        "XDG_CACHE_HOME=/x",
        f"HOME={tmp_path / 'home'}",
        "--cache-dir=d",
        "--no-cache",
    ]


def test_the_decision_key_changes_with_a_config_that_may_name_the_cache_dir(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    environ = _environ(tmp_path)
    keys = [cache_dir_arguments([], environ, project)]
    config = Path(project).parent / "uv.toml"
    _write(config, CONFIGURED)  # a config appears
    keys.append(cache_dir_arguments([], environ, project))
    _write(config, 'cache-dir = "/from/another/config"\n')  # and changes
    keys.append(cache_dir_arguments([], environ, project))
    with open(os.path.join(project, "pyproject.toml"), "a") as stream:
        stream.write("# a comment\n")  # changes nothing that could name the cache dir
    keys.append(cache_dir_arguments([], environ, project))
    assert keys[0] != keys[1] != keys[2]
    assert keys[3] == keys[2]


def test_an_edit_of_a_config_of_the_same_size_with_its_mtime_put_back_changes_the_key(
    tmp_path: Path,
) -> None:
    """`cp -p`, a restored backup or an editor keeping times: the size and mtime are the
    old ones, the ctime is not (no tool sets it back)."""
    project = _project(tmp_path)
    environ = _environ(tmp_path)
    config = Path(project).parent / "uv.toml"
    _write(config, 'cache-dir = "/from/one/config"\n')
    before = config.stat()
    key = cache_dir_arguments([], environ, project)
    time.sleep(0.01)
    _write(config, 'cache-dir = "/from/two/config"\n')
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = config.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert cache_dir_arguments([], environ, project) != key
