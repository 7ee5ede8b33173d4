"""pyvenv.cfg: read as CPython reads it, written so no value can add a line of its own, edited
in place keeping every other line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyvenv.envbuild.config import (
    MAX_CFG_BYTES,
    config_version,
    parse_pyvenv_cfg,
    read_pyvenv_cfg,
    render_pyvenv_cfg,
)
from anyvenv.errors import EnvironmentBroken, UsageError
from anyvenv.fs import CFG_NAME
from anyvenv.fs.outcome import errno_name
from anyvenv.repair.fixes import edit_config_text


def test_keys_are_read_as_cpython_reads_them() -> None:
    text = "Home = /opt/py/bin\nno equals here\n = no key\nprompt = a = b\npath = x\x1cy\n"
    assert parse_pyvenv_cfg(text) == {"home": "/opt/py/bin", "prompt": "a = b", "path": "x\x1cy"}


def test_a_value_with_a_line_break_is_refused_not_written() -> None:
    assert render_pyvenv_cfg({"home": "/a", "prompt": "p"}) == b"home = /a\nprompt = p\n"
    for bad in ("two\nlines", "carriage\rreturn"):
        with pytest.raises(UsageError, match="line break"):
            render_pyvenv_cfg({"prompt": bad})


def test_what_cannot_be_a_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBroken, match=r"has no pyvenv\.cfg"):
        read_pyvenv_cfg(tmp_path)
    os.mkfifo(tmp_path / CFG_NAME)  # would block CPython's start-up: never opened blocking
    with pytest.raises(EnvironmentBroken, match="cannot read"):
        read_pyvenv_cfg(tmp_path)
    (tmp_path / CFG_NAME).unlink()
    (tmp_path / CFG_NAME).write_bytes(b"x" * (MAX_CFG_BYTES + 1))
    with pytest.raises(EnvironmentBroken, match="larger than"):
        read_pyvenv_cfg(tmp_path)


def test_an_edit_keeps_every_other_line_and_appends_what_is_new() -> None:
    text = "Home = /old/bin\n# a comment\nversion_info = 3.12.1\nweird\x1cline = kept"
    edited = edit_config_text(text, {"home": "/new/bin", "prompt": "p"})
    assert edited == (
        "Home = /new/bin\n# a comment\nversion_info = 3.12.1\nweird\x1cline = kept\nprompt = p\n"
    )
    assert edit_config_text("", {"home": "/h"}) == "home = /h\n"


def test_errno_names() -> None:
    import errno

    assert errno_name(errno.EACCES) == "EACCES"
    assert errno_name(None) == "EUNKNOWN"
    assert errno_name(99999) == "E99999"


def test_only_what_uv_leaves_of_a_venv_is_taken_for_an_abandoned_one(tmp_path: Path) -> None:
    """uv's leftover (its tag, a .gitignore of `*`, an empty bin/) may be replaced; a
    directory that only carries a CACHEDIR.TAG (cargo's target/, .pytest_cache) may not."""
    from anyvenv.envbuild.config import CACHEDIR_SIGNATURE, abandoned_env

    def tagged(name: str, gitignore: bytes = b"*") -> Path:
        directory = tmp_path / name
        directory.mkdir()
        (directory / "CACHEDIR.TAG").write_bytes(CACHEDIR_SIGNATURE + b"\n# a cache\n")
        (directory / ".gitignore").write_bytes(gitignore)
        return directory

    left = tagged("left")
    (left / "bin").mkdir()
    assert abandoned_env(left)
    (left / "bin" / "python").symlink_to("/nonexistent/python3")
    assert abandoned_env(left)
    (left / "bin" / "notes.txt").write_text("mine")
    assert not abandoned_env(left)
    cargo = tagged("target")
    (cargo / "release").mkdir()
    (cargo / "release" / "myapp").write_bytes(b"\x7fELF")
    assert not abandoned_env(cargo)
    pytest_cache = tagged(".pytest_cache", b"# Created by pytest automatically.\n*\n")
    assert not abandoned_env(pytest_cache)
    (tmp_path / "plain").mkdir()
    assert not abandoned_env(tmp_path / "plain")


@pytest.mark.parametrize(
    ("cfg", "version"),
    [
        ({"version_info": "3.12.1"}, (3, 12, 1)),
        ({"version_info": "3.13.0rc2"}, (3, 13, 0)),  # anyvenv's own, for a pre-release
        ({"version_info": "3.14.0a1.final.0"}, (3, 14, 0)),
        ({"version": "3.11.2"}, (3, 11, 2)),  # venv's key
        ({"version_info": "3.12"}, (3, 12)),
        ({"version_info": "3.12rc1"}, (3, 12)),
        ({"version_info": "3", "version": "3.10.4"}, (3, 10, 4)),
        ({"version_info": "three"}, None),
        ({}, None),
    ],
)
def test_the_version_a_config_names(cfg: dict[str, str], version: tuple[int, ...] | None) -> None:
    assert config_version(cfg) == version
