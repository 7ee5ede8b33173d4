"""``anyvenv cache clean``: anyvenv's caches go, what is not a cache stays."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from anyvenv.project.buildshim import shim_directory
from support import cli_env, run_cli


def _clean(env: dict[str, str]) -> dict[str, dict[str, object]]:
    done = run_cli("cache", "clean", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {str(entry["path"]): entry for entry in json.loads(done.stdout)["cleared"]}


def test_clean_clears_the_caches_and_keeps_envs_and_shadows(tmp_path: Path) -> None:
    env = cli_env(
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        ANYVENV_CACHE_DIR=str(tmp_path / "dl"),
    )
    made = run_cli("venv", str(tmp_path / "env"), "-q", env=env)  # fills the interpreter cache
    assert made.returncode == 0, made.stderr
    interpreters = tmp_path / "cache" / "anyvenv" / "interpreters"
    assert any(interpreters.iterdir())
    downloads = tmp_path / "dl" / "python-downloads"
    downloads.mkdir(parents=True)
    (downloads / "cpython.tar.gz").write_bytes(b"x" * 1000)
    shim = str(shim_directory(env))
    assert Path(shim).parent == tmp_path / "cache" / "anyvenv" / "build-shim"
    shadow = tmp_path / "cache" / "anyvenv" / "shadow" / "demo-0123456789abcdef"
    shadow.mkdir(parents=True)
    elsewhere = tmp_path / "data" / "anyvenv" / "envs" / "demo-0123456789abcdef"
    elsewhere.mkdir(parents=True)

    cleared = _clean(env)
    assert cleared[str(downloads)] == {"path": str(downloads), "files": 1, "bytes": 1000}
    assert int(str(cleared[str(interpreters)]["files"])) >= 1
    assert not downloads.exists() and not interpreters.exists() and not os.path.exists(shim)
    assert shadow.is_dir() and elsewhere.is_dir() and (tmp_path / "env" / "pyvenv.cfg").is_file()
    assert sorted(p.name for p in (tmp_path / "cache" / "anyvenv").iterdir()) == ["shadow"]
    assert _clean(env) == {}  # nothing left to clear
    again = run_cli("venv", str(tmp_path / "env2"), "-q", env=env)  # the caches fill again
    assert again.returncode == 0, again.stderr


def test_clean_removes_the_lock_files_killed_runs_left_in_tmp(tmp_path: Path) -> None:
    """An env lock's flock file in /tmp that no one holds (its holder was killed) goes, and
    is counted; one held stays."""
    import fcntl

    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"), ANYVENV_CACHE_DIR=str(tmp_path / "dl"))
    stale, held = (Path(f"/tmp/anyvenv-{os.urandom(8).hex()}.lock.flock") for _ in range(2))
    stale.write_bytes(b"")
    fd = os.open(held, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = run_cli("cache", "clean", "--json", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["stale_lock_files_removed"] >= 1
        assert not stale.exists() and held.exists()
        stale.write_bytes(b"")
        said = run_cli("cache", "clean", env=env)
        assert said.returncode == 0 and " lock files left by killed runs" in said.stderr
        assert not stale.exists() and held.exists()
    finally:
        held.unlink()
        os.close(fd)


def test_clean_does_not_follow_a_link_planted_at_a_cache_path(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    (tmp_path / "cache" / "anyvenv").mkdir(parents=True)
    (tmp_path / "cache" / "anyvenv" / "toml").symlink_to(precious)
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"), ANYVENV_CACHE_DIR=str(tmp_path / "dl"))
    assert _clean(env) == {}
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_relative_or_empty_xdg_and_home_values_are_ignored_as_uv_ignores_them() -> None:
    """The XDG spec: a relative value is invalid. Read as given, ``XDG_CACHE_HOME=relcache``
    put anyvenv's cache inside the project, and an empty ``HOME`` put it in ``/.cache``."""
    import pwd

    from anyvenv.project.uvrules import user_config_dir
    from anyvenv.userdirs import cache_home, data_home, home_dir

    passwd_home = pwd.getpwuid(os.getuid()).pw_dir
    assert home_dir({"HOME": ""}) == home_dir({"HOME": "rel"}) == home_dir({}) == passwd_home
    env = {"HOME": "/h", "XDG_CACHE_HOME": "relcache", "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "c"}
    assert cache_home(env) == "/h/.cache"
    assert data_home(env) == "/h/.local/share"
    assert user_config_dir(env) == "/h/.config/uv"
    assert cache_home({"HOME": "/h", "XDG_CACHE_HOME": "/x"}) == "/x"


def test_a_relative_directory_variable_is_refused_before_anything_is_removed(
    tmp_path: Path,
) -> None:
    """``ANYVENV_CACHE_DIR=.`` made ``cache clean`` remove ./python-downloads, a user's."""
    mine = tmp_path / "python-downloads"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    for variable, command in (
        ("ANYVENV_CACHE_DIR", "clean"),  # where python-downloads is
        ("ANYVENV_ENVS_DIR", "prune"),
        ("ANYVENV_SHADOW_DIR", "prune"),
    ):
        proc = run_cli("cache", command, cwd=tmp_path, env=cli_env(**{variable: "."}))
        assert proc.returncode == 2, (variable, proc.stderr)
        assert f"{variable}='.' is a relative path" in proc.stderr
    assert (mine / "notes.txt").read_text() == "mine"


def test_a_cache_holding_another_users_directory_is_said_not_cleared(
    nobody_scratch: Path,
) -> None:
    """A directory of root's in this user's download cache: that cache is left whole and said
    (exit 1), not reported removed while hidden under a removal name nobody can clear."""
    from support import run_python_as_nobody

    cache = nobody_scratch / "cache"
    downloads = cache / "dl" / "python-downloads"
    (downloads / "roots").mkdir(parents=True)
    (downloads / "roots" / "archive.tar.gz").write_bytes(b"x" * 100)
    (cache / "anyvenv" / "toml").mkdir(parents=True)
    (cache / "anyvenv" / "toml" / "entry").write_bytes(b"y")
    for path in (
        cache,
        cache / "dl",
        downloads,
        *(cache / "anyvenv").rglob("*"),
        cache / "anyvenv",
    ):
        os.chown(path, 65534, 65534)
    code = (
        "import os, runpy, sys; os.environ['XDG_CACHE_HOME'] = sys.argv[1]; "
        "os.environ['ANYVENV_CACHE_DIR'] = sys.argv[2]; "
        "sys.argv = ['anyvenv', 'cache', 'clean', '--json']; "
        "runpy.run_module('anyvenv', run_name='__main__')"
    )
    proc = run_python_as_nobody("-c", code, str(cache), str(cache / "dl"))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert [entry["path"] for entry in report["cleared"]] == [str(cache / "anyvenv" / "toml")]
    assert report["not_cleared"] == [
        {
            "path": str(downloads),
            "reason": f"you may not change {downloads / 'roots'} (owned by root)",
        }
    ]
    assert sorted(os.listdir(cache / "dl")) == ["python-downloads"]  # nothing hidden aside
    assert (downloads / "roots" / "archive.tar.gz").exists()


def test_a_cache_on_a_read_only_mount_is_said_so(tmp_path: Path) -> None:
    """Not "owned by root; run it as its owner" to root, whom only the mount refuses."""
    cache = tmp_path / "cache"
    (cache / "anyvenv" / "toml").mkdir(parents=True)
    (cache / "anyvenv" / "toml" / "entry").write_bytes(b"y")
    subprocess.run(["mount", "--bind", str(cache), str(cache)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(cache)], check=True)
        env = cli_env(XDG_CACHE_HOME=str(cache), ANYVENV_CACHE_DIR=str(tmp_path / "dl"))
        done = run_cli("cache", "clean", "--json", env=env)
        assert done.returncode == 1, done.stderr
        [left] = json.loads(done.stdout)["not_cleared"]
        assert left == {
            "path": str(cache / "anyvenv" / "toml"),
            "reason": f"{cache / 'anyvenv'} is on a read-only filesystem",
        }
    finally:
        subprocess.run(["umount", str(cache)], check=True)
    assert (cache / "anyvenv" / "toml" / "entry").exists()


def test_clean_and_prune_say_what_they_did_on_stderr_as_uvs_cache_commands(
    tmp_path: Path,
) -> None:
    """stdout is for --json only: ``uv cache clean``/``prune`` say what they removed on
    stderr, and so do these."""
    env = cli_env(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_DATA_HOME=str(tmp_path / "data"))
    assert run_cli("venv", str(tmp_path / "env"), "-q", env=env).returncode == 0
    cleaned = run_cli("cache", "clean", env=env)
    assert (cleaned.returncode, cleaned.stdout) == (0, "")
    assert cleaned.stderr.startswith("Removed ") and "interpreters" in cleaned.stderr
    pruned = run_cli("cache", "prune", env=env)
    assert (pruned.returncode, pruned.stdout) == (0, "")
    assert pruned.stderr.startswith("Removed 0, kept 0")
