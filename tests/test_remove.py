"""Removing trees anyvenv made: links are never followed out of them, also when a directory
in one is swapped for a link while it is being removed (another user's, in a group's env)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyvenv.fs import remove
from support import can_run_as_nobody, run_python_as_nobody


def _tree_and_victim(tmp_path: Path) -> tuple[Path, Path]:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "mine.txt").write_text("anyvenv's\n")
    (tree / "top.txt").write_text("anyvenv's\n")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "a.txt").write_text("the user's\n")
    return tree, victim


@pytest.mark.parametrize("how", ["remove_tree_quietly", "remove_tree"])
def test_a_link_in_a_tree_is_removed_and_not_followed(tmp_path: Path, how: str) -> None:
    tree, victim = _tree_and_victim(tmp_path)
    (tree / "link").symlink_to(victim)
    getattr(remove, how)(os.fspath(tree))
    assert not tree.exists()
    assert sorted(os.listdir(victim)) == ["a.txt"]


def test_a_directory_swapped_for_a_link_while_it_is_removed_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the moment removal finds ``sub`` is a directory and the moment it lists it,
    ``sub`` becomes a link to the user's files (as a ``renameat2`` exchange by another user
    does, in a race): nothing of the user's is removed."""
    tree, victim = _tree_and_victim(tmp_path)
    real_listdir = os.listdir
    calls: list[object] = []

    def listdir_after_swap(where: object = ".") -> list[str]:
        calls.append(where)
        if len(calls) == 2:  # the listing of sub: sub is a link to the victim from now on
            os.rename(tree / "sub", tmp_path / "away")
            (tree / "sub").symlink_to(victim)
        return real_listdir(where)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(os, "listdir", listdir_after_swap)
    remove.remove_tree_quietly(os.fspath(tree))
    monkeypatch.undo()
    assert len(calls) >= 2
    assert sorted(os.listdir(victim)) == ["a.txt"]
    assert not tree.exists()


@pytest.mark.parametrize("swapped", ["sub", "tree"])
def test_a_directory_swapped_for_a_link_once_found_a_directory_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swapped: str
) -> None:
    """Just after its unlink says it is a directory (EISDIR), the directory (one in the tree,
    or the tree itself) becomes a link to the user's files: it is opened as itself or not at
    all, so nothing of the user's is removed."""
    tree, victim = _tree_and_victim(tmp_path)
    real_unlink = os.unlink
    done: list[bool] = []

    def unlink_then_swap(path: object, *, dir_fd: int | None = None) -> None:
        try:
            real_unlink(path, dir_fd=dir_fd)  # type: ignore[arg-type]
        except IsADirectoryError:
            if not done and os.path.basename(os.fsdecode(path)) == swapped:  # type: ignore[arg-type]
                done.append(True)
                moved = tree / "sub" if swapped == "sub" else tree
                os.rename(moved, tmp_path / "away")
                moved.symlink_to(victim)
            raise

    monkeypatch.setattr(os, "unlink", unlink_then_swap)
    remove.remove_tree_quietly(os.fspath(tree))
    monkeypatch.undo()
    assert done
    assert sorted(os.listdir(victim)) == ["a.txt"]


def test_removing_all_but_held_files_never_follows_a_link(tmp_path: Path) -> None:
    """A link given (or found in the tree) is removed, never walked into: the directory it
    names keeps its files."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "link").symlink_to(elsewhere)
    (tree / "file").write_text("x")
    top_link = tmp_path / "top-link"
    top_link.symlink_to(elsewhere)
    remove.remove_tree_but_held(str(top_link))
    remove.remove_tree_but_held(str(tree), str(tmp_path / "hold"))
    assert not top_link.is_symlink() and not tree.exists() and not (tmp_path / "hold").exists()
    assert (elsewhere / "keep.txt").read_text() == "mine"


@pytest.mark.skipif(not can_run_as_nobody(), reason="needs root and setpriv")
def test_a_tree_left_for_want_of_permission_is_not_said_held_by_a_program() -> None:
    """An old tree holding a directory this user may not list or empty: what is left is
    said as such ("remove it yourself"), not as files a running program holds, which the
    next run would never see go."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="anyvenv-test-", dir="/tmp"))  # (nobody reaches it)
    base.chmod(0o777)
    code = (
        "import os, sys\n"
        "from anyvenv.fs.atomic import _remove_old\n"
        "old = os.path.join(sys.argv[1], 'old')\n"
        "os.makedirs(os.path.join(old, 'locked'))\n"
        "open(os.path.join(old, 'locked', 'f'), 'w').close()\n"
        "os.chmod(os.path.join(old, 'locked'), 0)\n"
        "left = _remove_old(old)\n"
        "print(left.held, left.message('environment'))\n"
    )
    try:
        done = run_python_as_nobody("-c", code, str(base))
    finally:
        for directory, _, _ in os.walk(base):
            os.chmod(directory, 0o755)
        shutil.rmtree(base)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("False could not remove all of the old environment ("), (
        done.stdout
    )
    assert "remove it yourself" in done.stdout
