"""Parsed pyproject.toml remembered by content: the same bytes give the same answer without
tomllib; anything else is parsed again."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from anyvenv.errors import UsageError
from anyvenv.project import model, tomlcache
from anyvenv.project.model import read_pyproject

PYPROJECT = '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.10"\n'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "anyvenv" / "toml"


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "pyproject.toml"
    path.parent.mkdir()
    path.write_text(PYPROJECT)
    return path


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path, raw: bytes) -> dict[str, object]:
        raise AssertionError(f"{path} was parsed again")

    monkeypatch.setattr(model, "parse_toml", refuse)


def test_the_same_bytes_are_not_parsed_again(
    cache: Path, pyproject: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = read_pyproject(pyproject)
    assert first == tomllib.loads(PYPROJECT)
    assert len(list(cache.iterdir())) == 1
    _no_parsing(monkeypatch)
    assert read_pyproject(pyproject) == first


def test_changed_bytes_are_parsed_again_even_with_the_same_size_and_mtime(
    cache: Path, pyproject: Path
) -> None:
    read_pyproject(pyproject)
    stat = pyproject.stat()
    changed = PYPROJECT.replace('"demo"', '"omed"')
    pyproject.write_text(changed)
    os.utime(pyproject, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert pyproject.stat().st_size == stat.st_size
    assert read_pyproject(pyproject)["project"]["name"] == "omed"


def test_an_entry_of_another_path_or_python_is_not_used(
    cache: Path, pyproject: Path, tmp_path: Path
) -> None:
    raw = pyproject.read_bytes()
    other = str(tmp_path / "other" / "pyproject.toml")
    entry = tomlcache.entry_path(str(pyproject))
    os.makedirs(os.path.dirname(entry))
    for key in (
        (1, sys.version, other),
        (1, "2.7.18", str(pyproject)),
        (0, sys.version, str(pyproject)),
    ):
        with open(entry, "wb") as stream:  # as if a checksum had collided, or older anyvenv
            stream.write(marshal.dumps((key, raw, {"project": {"name": "wrong"}})))
        assert tomlcache.recall(str(pyproject), raw) is None
        assert read_pyproject(pyproject)["project"]["name"] == "demo"


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01 not marshal", b"\xe9" * 100])
def test_a_corrupt_entry_is_parsed_over(cache: Path, pyproject: Path, garbage: bytes) -> None:
    entry = tomlcache.entry_path(str(pyproject))
    os.makedirs(os.path.dirname(entry))
    Path(entry).write_bytes(garbage)
    assert read_pyproject(pyproject)["project"]["name"] == "demo"
    assert tomlcache.recall(str(pyproject), pyproject.read_bytes()) is not None  # rewritten


def test_toml_that_marshal_cannot_hold_is_parsed_every_time(cache: Path, pyproject: Path) -> None:
    pyproject.write_text(PYPROJECT + "[tool.demo]\nreleased = 2026-12-04\n")
    assert str(read_pyproject(pyproject)["tool"]["demo"]["released"]) == "2026-12-04"
    assert not cache.exists() or not list(cache.iterdir())
    assert str(read_pyproject(pyproject)["tool"]["demo"]["released"]) == "2026-12-04"


def test_invalid_toml_is_an_error_every_time_and_is_not_kept(cache: Path, pyproject: Path) -> None:
    pyproject.write_text("[project\n")
    for _ in range(2):
        with pytest.raises(UsageError, match="is not valid TOML"):
            read_pyproject(pyproject)
    assert not cache.exists() or not list(cache.iterdir())


def test_a_cache_that_cannot_be_written_is_skipped(
    tmp_path: Path, pyproject: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache dir cannot be made
    assert read_pyproject(pyproject)["project"]["name"] == "demo"
    assert read_pyproject(pyproject)["project"]["name"] == "demo"


def test_a_second_discovery_does_not_import_tomllib(tmp_path: Path, pyproject: Path) -> None:
    """What the cache is for: the start-up cost of tomllib (and typing) is paid once."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from anyvenv.project.model import discover\n"
        "assert discover(Path(sys.argv[1])).name == 'demo'\n"
        "print('tomllib' in sys.modules, 'typing' in sys.modules)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(pyproject.parent)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["True", "True"], ["False", "False"]]
