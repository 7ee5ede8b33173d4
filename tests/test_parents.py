"""Making the directories above something new, when other processes make them too."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from anyvenv.fs.parents import make_missing, remove_made


def test_only_the_missing_ones_are_made_and_removed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    deep = tmp_path / "a" / "b" / "c"
    made = make_missing(str(deep))
    assert made == [str(tmp_path / "a" / "b"), str(deep)]
    assert deep.is_dir()
    assert make_missing(str(deep)) == []
    remove_made(made)
    assert made == [] and not (tmp_path / "a" / "b").exists() and (tmp_path / "a").is_dir()


def test_a_directory_someone_filled_is_kept(tmp_path: Path) -> None:
    made = make_missing(str(tmp_path / "x" / "y"))
    (tmp_path / "x" / "theirs").write_text("kept")
    remove_made(made)
    assert not (tmp_path / "x" / "y").exists()
    assert (tmp_path / "x" / "theirs").read_text() == "kept"


def test_a_file_in_the_way_is_an_error_and_nothing_is_left(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("")
    with pytest.raises(NotADirectoryError):
        make_missing(str(tmp_path / "a" / "f" / "g"))
    assert sorted(os.listdir(tmp_path / "a")) == ["f"]


def test_what_was_made_before_a_failure_is_removed(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="too long"):
        make_missing(str(tmp_path / "x" / "y" / ("n" * 300)))
    assert os.listdir(tmp_path) == []


def test_a_failure_is_judged_while_what_was_made_is_there_then_that_is_removed(
    tmp_path: Path,
) -> None:
    """The judge of a directory that cannot be made sees the ones made above it (a refused
    name is told by making another beside it); then they go, and what it returns is raised
    from the error (the error itself where it returns nothing)."""
    seen: list[tuple[str, int | None, bool]] = []

    def judge(path: str, error: OSError) -> BaseException | None:
        seen.append((path, error.errno, os.path.isdir(os.path.dirname(path))))
        return ValueError("judged") if len(seen) == 1 else None

    deep = tmp_path / "x" / "y" / ("n" * 300)
    with pytest.raises(ValueError, match="judged") as judged:
        make_missing(str(deep), judge)
    assert isinstance(judged.value.__cause__, OSError)
    with pytest.raises(OSError, match="too long"):
        make_missing(str(deep), judge)
    assert seen == [(str(deep), errno.ENAMETOOLONG, True)] * 2
    assert os.listdir(tmp_path) == []


def _made_at_once(deep: Path, count: int) -> list[list[str]]:
    """``make_missing(deep)`` in ``count`` threads released together: what each made."""
    barrier = threading.Barrier(count)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def make() -> None:
        barrier.wait()
        try:
            results.append(make_missing(str(deep)))
        except BaseException as exc:  # the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_runs_making_the_same_directories_at_once_all_succeed(tmp_path: Path) -> None:
    """Each directory is made by exactly one of them; the others take it as it is."""
    for round_number in range(20):
        top = tmp_path / f"r{round_number}"
        deep = top / "p" / "q" / "s"
        every = [path for made in _made_at_once(deep, 6) for path in made]
        assert deep.is_dir()
        assert sorted(every) == sorted(set(every))  # none claimed twice
        assert set(every) == {str(top), str(top / "p"), str(top / "p" / "q"), str(deep)}
