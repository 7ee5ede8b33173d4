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
    assert not same_entry(env, str(tmp_path / "Proj" / ".VENV"))  # (not there)
    (tmp_path / "Proj" / ".venv").mkdir()
    (tmp_path / "Proj" / ".VENV").mkdir()
    assert not same_entry(env, str(tmp_path / "Proj" / ".VENV"))  # (another directory)
    assert not same_entry(env, str(tmp_path / "gone" / ".venv"))


def test_a_path_is_utf8_by_its_bytes_not_by_how_the_locale_decoded_them() -> None:
    assert is_utf8("/tmp/café/.venv") and is_utf8(b"/tmp/caf\xc3\xa9")
    assert not is_utf8(b"/tmp/x\xffy") and not is_utf8(os.fsdecode(b"/tmp/x\xffy"))
    assert is_utf8("/tmp/caf\udcc3\udca9")  # (café's bytes, as an ASCII locale decodes them)


def test_scratch_files_never_go_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python's temp dir search ends with the working directory: in a read-only container
    with the project on a share, that put the project's "local" copy on the share itself
    (or, with a working directory that cannot be written either, raised a traceback)."""
    import tempfile

    from anyvenv.errors import UsageError
    from anyvenv.fs.paths import temp_parent
    from anyvenv.project.localcopy import ProjectCopy

    monkeypatch.delenv("TEMP", raising=False)
    monkeypatch.delenv("TMP", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert temp_parent("a test") == str(tmp_path / "tmp")
    monkeypatch.chdir(tmp_path / "tmp")  # (TMPDIR naming the working directory is its choice)
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert temp_parent("a test") == str(tmp_path / "tmp")
    said = (
        "no writable temporary directory for the project's copy on local disk: /tmp, /var/tmp "
        "and /usr/tmp cannot be written, and TMPDIR names none that can; set TMPDIR to a "
        "writable directory on a local disk"
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(project))  # (its last resort)
    monkeypatch.chdir(project)
    with pytest.raises(UsageError) as fell_back, ProjectCopy(str(project)):
        pass
    assert fell_back.value.one_line() == said
    assert sorted(os.listdir(project)) == ["pyproject.toml"]

    def none_found() -> str:
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(tempfile, "gettempdir", none_found)
    with pytest.raises(UsageError, match="no writable temporary directory for a test"):
        temp_parent("a test")
