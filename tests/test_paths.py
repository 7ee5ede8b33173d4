"""Path arithmetic on strings: the answers pathlib gives, without importing it."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from anyvenv.fs.paths import is_below, parents, upward


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
