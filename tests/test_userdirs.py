"""Per-user directories and the names of cache entries (anyvenv.userdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyvenv.errors import UsageError
from anyvenv.userdirs import cache_entry_path, fnv1a_64, own_dir, xdg_dir
from support import cli_env, run_cli


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
