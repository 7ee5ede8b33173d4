"""Per-user directories and the names of cache entries (anyvenv.userdirs)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from anyvenv.errors import UsageError
from anyvenv.userdirs import cache_entry_path, fnv1a_64, own_dir, xdg_dir
from support import as_nobody, can_run_as_nobody, cli_env, one_line_error, run_cli


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0xCBF29CE484222325), (b"a", 0xAF63DC4C8601EC8C), (b"foobar", 0x85944171F73967E8)],
)
def test_the_hash_isfnv1a_64(data: bytes, expected: int) -> None:
    # the published test vectors: a name must not change between runs or machines
    assert fnv1a_64(data) == expected


def test_an_entry_is_named_by_its_key_under_the_cache_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    first = cache_entry_path("interpreters", b"/usr/bin/python3", ".entry")
    assert first == cache_entry_path("interpreters", b"/usr/bin/python3", ".entry")
    folder, name = os.path.split(first)
    assert folder == "/somewhere/cache/anyvenv/interpreters"
    assert len(name) == 16 + len(".entry") and int(name[:16], 16) >= 0
    others = {
        cache_entry_path("interpreters", f"/usr/bin/python3.{n}".encode(), "") for n in range(200)
    }
    assert len(others) == 200


def test_own_directory_variables_expand_home_and_refuse_relative_paths() -> None:
    assert own_dir("ANYVENV_CACHE_DIR", {}) is None
    assert own_dir("ANYVENV_CACHE_DIR", {"ANYVENV_CACHE_DIR": "/abs"}) == "/abs"
    assert own_dir("ANYVENV_CACHE_DIR", {"ANYVENV_CACHE_DIR": "~/c"}) == os.path.expanduser("~/c")
    with pytest.raises(UsageError, match="relative path"):
        own_dir("ANYVENV_CACHE_DIR", {"ANYVENV_CACHE_DIR": "c"})


def test_an_own_directory_variable_naming_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a directory") as info:
        own_dir("ANYVENV_SHADOW_DIR", {"ANYVENV_SHADOW_DIR": str(tmp_path / "file")})
    assert info.value.hint == "set ANYVENV_SHADOW_DIR to a directory, or unset it"
    missing = str(tmp_path / "not-yet")  # (made when needed)
    assert own_dir("ANYVENV_SHADOW_DIR", {"ANYVENV_SHADOW_DIR": missing}) == missing
    proc = run_cli("cache", "dir", env=cli_env(ANYVENV_SHADOW_DIR=str(tmp_path / "file")))
    assert proc.returncode == 2
    assert proc.stderr.startswith("anyvenv: error: ANYVENV_SHADOW_DIR=")


def test_a_relative_xdg_value_falls_back_to_the_home_default() -> None:
    environ = {"HOME": "/home/u", "XDG_DATA_HOME": "rel"}
    assert xdg_dir("XDG_DATA_HOME", ".local/share", environ) == "/home/u/.local/share"
    assert xdg_dir("XDG_DATA_HOME", ".local/share", {"XDG_DATA_HOME": "/d"}) == "/d"


def test_no_home_at_all_is_said_not_taken_for_a_directory_named_tilde(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HOME unset and no password entry (``docker run --user 4242``): ``~`` left as it is
    would put anyvenv's directories in a directory named ``~`` wherever it runs."""
    import pwd

    from anyvenv.errors import NoHomeDirectory
    from anyvenv.userdirs import home_dir

    def no_entry(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(NoHomeDirectory) as unset:
        home_dir({})
    assert unset.value.one_line() == (
        f"no home directory for anyvenv's per-user directories: HOME is unset, and uid "
        f"{os.getuid()} has none in the password database; set HOME to an absolute path (or "
        "XDG_DATA_HOME and XDG_CACHE_HOME)"
    )
    with pytest.raises(NoHomeDirectory, match="HOME is 'here', not an absolute path"):
        xdg_dir("XDG_CACHE_HOME", ".cache", {"HOME": "here"})
    assert xdg_dir("XDG_CACHE_HOME", ".cache", {"XDG_CACHE_HOME": "/c"}) == "/c"
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    with pytest.raises(FileNotFoundError):  # (a lookup cache is passed over)
        cache_entry_path("toml", b"key", ".toml-entry")


@pytest.mark.skipif(not can_run_as_nobody(), reason="needs root, setpriv and /usr/bin/python3")
def test_a_uid_with_no_home_makes_envs_and_writes_nothing_where_it_runs() -> None:
    """As a container's arbitrary uid with no HOME: ``venv`` works (lookup caches are passed
    over), ``python list`` lists what is on PATH, and what needs a per-user directory says
    how to give one, in one line; nothing is written in the working directory."""
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="anyvenv-nohome-", dir="/tmp"))  # (others may enter)
    os.chown(work, 4242, 4242)
    with as_nobody(uid=4242) as (command, env), contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, work, True)

        def anyvenv(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*command, "-m", "anyvenv", *args], capture_output=True,
                                  text=True, env=env, cwd=work, stdin=subprocess.DEVNULL)  # fmt: skip

        made = anyvenv("venv", "env", "-p", "/usr/bin/python3", "-q")
        assert made.returncode == 0, made.stderr
        unpinned = anyvenv("venv", "env2", "-q")  # (no user config nor managed install)
        assert unpinned.returncode == 0, unpinned.stderr
        found = anyvenv("python", "find", "/usr/bin/python3")
        assert found.returncode == 0 and found.stdout.startswith("/usr/bin/python3"), found.stderr
        advised = anyvenv("doctor")
        assert advised.returncode == 0 and "Traceback" not in advised.stderr, advised.stderr
        listed = anyvenv("python", "list", "--only-installed")
        assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
        assert "/usr/bin/python3" in listed.stdout
        where = anyvenv("cache", "dir")
        assert where.returncode == 2
        assert one_line_error(where).startswith(
            "anyvenv: error: no home directory for anyvenv's per-user directories: HOME is "
            "unset, and uid 4242 has none in the password database;"
        )
        assert sorted(os.listdir(work)) == ["env", "env2"]
