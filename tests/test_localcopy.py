"""Which projects can be locked in a copy of their root files, and the copy itself."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from project_support import write_project

from anyvenv.project.localcopy import ProjectCopy, why_not_copyable, without_project_options
from anyvenv.project.model import discover


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("", None),
        ('\n[tool.uv]\nindex-url = "https://example.org/simple"\n', None),
        ('\n[tool.uv.sources]\nbeta = { index = "mine" }\n', None),
        ('\n[tool.uv.sources]\nbeta = { path = "../beta" }\n', "path or workspace sources"),
        ('\n[tool.uv.sources]\nbeta = [{ path = "b", marker = "x" }]\n', "path or workspace"),
        ("\n[tool.uv.sources]\nbeta = { workspace = true }\n", "path or workspace sources"),
        ('\n[tool.uv.workspace]\nmembers = ["pkgs/*"]\n', "part of a workspace"),
    ],
)
def test_projects_that_depend_only_on_their_root_files(
    tmp_path: Path, extra: str, reason: str | None
) -> None:
    project = write_project(tmp_path / "demo")
    with (project / "pyproject.toml").open("a") as stream:
        stream.write(extra)
    found = why_not_copyable(discover(str(project)))
    assert (found is None) if reason is None else (reason in str(found)), found


def test_dynamic_metadata_and_settings_above_are_not_copied(tmp_path: Path) -> None:
    project = write_project(tmp_path / "outer" / "demo")
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.replace('version = "0.1"', 'dynamic = ["version"]')
    )
    assert "dynamic" in str(why_not_copyable(discover(str(project))))
    (project / "pyproject.toml").write_text(text)
    outer = tmp_path / "outer" / "pyproject.toml"
    outer.write_text("[tool.uvicorn]\nport = 1\n[tool.uv-dynamic-versioning]\nx = 1\n")
    assert why_not_copyable(discover(str(project))) is None  # other tools' tables: no uv settings
    outer.write_text("[tool.uv]\noffline = true\n")
    assert str(outer) in str(why_not_copyable(discover(str(project))))
    outer.unlink()
    (tmp_path / "outer" / "uv.toml").write_text("offline = true\n")
    assert "uv.toml" in str(why_not_copyable(discover(str(project))))


def test_a_project_locked_against_a_relative_path_is_not_copied(tmp_path: Path) -> None:
    """uv writes a relative find-links or index path into uv.lock relative to the project it
    locks, and reads one from there: from a copy elsewhere it leads nowhere (the lock put
    back named a path under the temp dir's parent)."""
    project = write_project(tmp_path / "demo")
    found = discover(str(project))
    assert (
        why_not_copyable(found, ["--find-links", "/abs/wheels", "--index-url=https://x/simple"])
        is None
    )
    for args, environ in (
        (["--find-links", "wheels"], {}),
        (["--find-links", "."], {}),
        (["-fwheels"], {}),
        (["--index=local=../index"], {}),
        ([], {"UV_FIND_LINKS": "/abs, wheels"}),
    ):
        assert "relative to it (" in str(why_not_copyable(found, args, environ)), (args, environ)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text + '\n[tool.uv]\nfind-links = ["wheels"]\n')
    assert "(wheels)" in str(why_not_copyable(found))
    pyproject.write_text(text + '\n[[tool.uv.index]]\nname = "here"\nurl = "./index"\n')
    assert "(./index)" in str(why_not_copyable(found))
    pyproject.write_text(text)
    lock = project / "uv.lock"
    lock.write_text('[[package]]\nname = "demo"\nsource = { virtual = "." }\n')
    assert why_not_copyable(found) is None  # (the project itself)
    lock.write_text('[[package]]\nname = "alpha"\nsource = { registry = "../../wheels" }\n')
    assert "(../../wheels)" in str(why_not_copyable(found))
    lock.write_text('[[package]]\nname = "alpha"\nsource = { registry = "." }\n')
    assert "(.)" in str(why_not_copyable(found))


def test_the_copy_holds_the_root_files_and_puts_back_what_changed(tmp_path: Path) -> None:
    project = write_project(tmp_path / "demo")
    (project / "uv.lock").write_text("old lock\n")
    (project / "README.md").write_text("not copied\n")
    with ProjectCopy(str(project)) as copy:
        root = Path(copy.root)
        assert sorted(p.name for p in root.iterdir()) == [
            ".python-version", "pyproject.toml", "uv.lock"
        ]  # fmt: skip
        assert copy.changed() == {}
        (root / "uv.lock").write_text("new lock\n")
        (root / ".python-version").write_text("3.11\n")  # read by uv, never put back
        assert copy.put_back() == ["uv.lock"]
    assert not root.exists()
    assert (project / "uv.lock").read_text() == "new lock\n"
    assert (project / ".python-version").read_text() == "3.12\n"


def test_project_options_are_left_out() -> None:
    args = ["--directory", "d", "--offline", "--project=p", "--project", "q", "-U"]
    assert without_project_options(args) == ["--offline", "-U"]


def test_the_copies_of_killed_runs_are_cleared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import tempfile

    from anyvenv.fs.leftovers import this_host

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"anyvenv-project-{this_host()}-{gone.stdout.strip()}-abcdef"
    alive = tmp_path / f"anyvenv-project-{this_host()}-{os.getpid()}-abcdef"
    for leftover in (dead, alive):
        leftover.mkdir()
        (leftover / "uv.lock").write_text("x")
    project = write_project(tmp_path / "demo")
    with ProjectCopy(str(project)) as copy:
        assert Path(copy.root).parent == tmp_path
    assert not dead.exists() and alive.exists()  # a live run's copy is its own
    assert not Path(copy.root).exists()
