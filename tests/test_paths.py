"""Path arithmetic on strings: the answers pathlib gives, without importing it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from anyvenv.fs.paths import is_below, is_utf8, parents, same_entry, upward


@pytest.mark.parametrize("path", ["/", "/a", "/a/b", "/a/b/c", "/a b/ü/.venv"])
def test_parents_are_purepath_parents(path: str) -> None:
    assert parents(path) == [str(parent) for parent in PurePosixPath(path).parents]
    assert upward(path) == [path, *parents(path)]


@pytest.mark.parametrize(
    ("path", "directory", "below"),
    [
        ("/a/b", "/a", True),
        ("/a/b/c", "/a", True),
        ("/a/b", "/", True),
        ("/a", "/a", False),  # the directory itself is not below it
        ("/ab", "/a", False),  # a sibling sharing a prefix is not below it
        ("/a/b/", "/a/", True),
        ("/a/../b", "/a", False),
    ],
)
def test_is_below(path: str, directory: str, below: bool) -> None:
    assert is_below(path, directory) is below


def test_same_entry_is_one_name_in_one_directory_however_reached(tmp_path: Path) -> None:
    (tmp_path / "Proj").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "Proj")
    env = str(tmp_path / "Proj" / ".venv")
    assert same_entry(env, env)
    assert same_entry(env, str(tmp_path / "link" / ".venv"))  # (the entry is not followed)
    assert not same_entry(env, str(tmp_path / "Proj" / "venv"))
    # a filesystem that minds case: `proj` is another project (its copy), not a spelling
    (tmp_path / "proj").mkdir()
    assert not same_entry(env, str(tmp_path / "proj" / ".venv"))
    assert not same_entry(env, str(tmp_path / "gone" / ".venv"))


def test_a_path_is_utf8_by_its_bytes_not_by_how_the_locale_decoded_them() -> None:
    assert is_utf8("/tmp/café/.venv") and is_utf8(b"/tmp/caf\xc3\xa9")
    assert not is_utf8(b"/tmp/x\xffy") and not is_utf8(os.fsdecode(b"/tmp/x\xffy"))
    assert is_utf8("/tmp/caf\udcc3\udca9")  # (café's bytes, as an ASCII locale decodes them)
