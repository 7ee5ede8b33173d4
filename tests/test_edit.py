"""``anyvenv add`` and ``anyvenv remove``: uv edits the project and installs into the env
anyvenv made, so what it adds works on the mounts where plain ``uv add`` leaves it broken; where
uv cannot rewrite the project's files in place (FAT), it edits a copy on local disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_support import (
    anyvenv,
    index_args,
    needs_pythons,
    project_environ,
    replace_file,
    run,
    uv_binary,
    write_project,
)

from anyvenv.project.editguard import EditGuard
from anyvenv.project.model import discover, read_pyproject
from support import entry_names, one_line_error

pytestmark = [needs_pythons, pytest.mark.timeout(300)]

WORKS_EVERYWHERE = [
    "local",
    "faultfs:chmod-ignored",
    "faultfs:chmod-enosys",
    "faultfs:cifs-like",
    "faultfs:mode-0644",
    "sshfs",
    "fat",
    "smb",
]


def _dependencies(project: Path) -> list[str]:
    deps: list[str] = read_pyproject(str(project / "pyproject.toml"))["project"]["dependencies"]
    return deps


@pytest.mark.parametrize("lab_kind", WORKS_EVERYWHERE)
def test_added_packages_work_and_removed_ones_go(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    env = project_environ(tmp_path / "home")
    project = write_project(target / "demo", python_version="3.12")
    added = anyvenv("add", "devtool", "gamma", *index_args(index), cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert _dependencies(project) == ["alpha", "devtool>=1.0", "gamma>=1.0"]
    assert 'name = "gamma"' in (project / "uv.lock").read_text()
    script = anyvenv("run", "--no-sync", "devtool", cwd=project, env=env)  # a console script
    assert (script.returncode, script.stdout) == (0, "devtool ok\n"), script.stderr
    removed = anyvenv("remove", "gamma", *index_args(index), cwd=project, env=env)
    assert removed.returncode == 0, removed.stderr
    assert _dependencies(project) == ["alpha", "devtool>=1.0"]
    assert 'name = "gamma"' not in (project / "uv.lock").read_text()
    gone = anyvenv("run", "--no-sync", "python", "-c", "import gamma", cwd=project, env=env)
    assert gone.returncode == 1 and "ModuleNotFoundError" in gone.stderr
    again = anyvenv("sync", *index_args(index), "--json", cwd=project, env=env)
    assert again.returncode == 0 and '"uv_ran": true' in again.stdout  # uv add left no record


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like", "sshfs", "smb"])
def test_plain_uv_add_in_a_new_project_there_fails_or_leaves_a_broken_python(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """What anyvenv add is for (it works there, above): uv add makes the env itself, with an
    interpreter symlink that cannot be made (CIFS-like) or read back (Debian's sshfs)."""
    env = project_environ(tmp_path / "home")
    project = write_project(target / "demo", python_version="3.12")
    plain = run([uv_binary(), "add", "gamma", *index_args(index)], project, env)
    if lab_kind == "sshfs":  # made, but its absolute link is refused (EPERM)
        assert plain.returncode == 0, plain.stderr
        with pytest.raises(PermissionError):
            run([str(project / ".venv" / "bin" / "python"), "-c", "import gamma"], project, env)
    else:
        assert plain.returncode != 0 and "failed to symlink" in plain.stderr


@pytest.mark.parametrize(
    ("lab_kind", "why"),
    [("fat", "chmod fails (ENOSYS)"), ("smb", "a file held open cannot be renamed (EBUSY)")],
)
def test_where_uv_cannot_rewrite_the_project_nor_a_copy_nothing_changes(
    lab_kind: str, why: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """uv rewrites pyproject.toml in place, then copies its mode back with fchmod, which fails
    on FAT (ENOSYS): measured, plain ``uv add`` there leaves a pyproject.toml that is no longer
    TOML (and, on fusefat, a damaged volume; so it is not run here); on SMB through
    libsmbclient uv renames its temp file into place while holding it open (EBUSY). anyvenv
    edits a copy on local disk instead (above), but not for a project whose files reach
    beyond its root, nor when uv would write a path, which would be relative to the copy."""
    env = project_environ(tmp_path / "home")
    write_project(target / "beta", dependencies=[], name="beta")
    project = write_project(target / "demo", python_version="3.12")
    assert anyvenv("sync", *index_args(index), cwd=project, env=env).returncode == 0
    before = {name: (project / name).read_bytes() for name in ("pyproject.toml", "uv.lock")}
    path_added = anyvenv("add", "../beta", *index_args(index), cwd=project, env=env)
    assert path_added.returncode == 1 and "Traceback" not in path_added.stderr
    last = path_added.stderr.strip().splitlines()[-1]  # after uv's own lines
    assert last.startswith("anyvenv: error: uv would write a path source"), last
    assert {name: (project / name).read_bytes() for name in before} == before

    text = before["pyproject.toml"] + b'\n[tool.uv.sources]\nbeta = { path = "../beta" }\n'
    replace_file(project / "pyproject.toml", text)
    for command in (["add", "gamma"], ["remove", "alpha"]):
        refused = anyvenv(*command, *index_args(index), cwd=project, env=env)
        assert refused.returncode == 1
        line = one_line_error(refused)
        assert f"{why} there" in line and "path or workspace sources" in line, line
        assert "edit pyproject.toml by hand" in line
    if lab_kind == "smb":  # the lock must change, and uv can write no new one there either
        needs_beta = text.replace(b'dependencies = ["alpha"]', b'dependencies = ["alpha", "beta"]')
        replace_file(project / "pyproject.toml", needs_beta)
        for command in (["sync"], ["lock"]):
            stopped = anyvenv(*command, *index_args(index), cwd=project, env=env)
            line = one_line_error(stopped)
            assert stopped.returncode == 1, stopped.stderr
            assert f"uv cannot write uv.lock on the project's filesystem, as {why}" in line, line
            assert "cannot be locked through a copy: it has path or workspace sources" in line
        assert (project / "pyproject.toml").read_bytes() == needs_beta
        replace_file(project / "pyproject.toml", text)
        # a lock that need not change is left as it is, copyable project or not (as after
        # it was made on a local disk and copied in, as the refusal says)
        current = anyvenv("lock", "--json", *index_args(index), cwd=project, env=env)
        assert current.returncode == 0, current.stderr
        assert '"written": "unchanged"' in current.stdout, current.stdout
    assert (project / "pyproject.toml").read_bytes() == text
    assert (project / "uv.lock").read_bytes() == before["uv.lock"]
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert (hello.returncode, hello.stdout) == (0, "alpha says hi\n"), hello.stderr
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".")) == [
        ".python-version", ".venv"
    ]  # fmt: skip


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_with_the_env_off_the_drive_the_project_files_still_go_through_a_copy(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """doctor's advice for such drives (UV_PROJECT_ENVIRONMENT on local disk) must not let uv
    rewrite pyproject.toml on the drive: what decides is where the project's files are."""
    env = {**project_environ(tmp_path / "home"), "UV_PROJECT_ENVIRONMENT": str(tmp_path / "env")}
    project = write_project(target / "demo", python_version="3.12")
    report = anyvenv("sync", "--json", *index_args(index), cwd=project, env=env)
    assert report.returncode == 0, report.stderr
    assert '"placement": "in-place"' in report.stdout  # the env is on local disk
    added = anyvenv("add", "gamma", *index_args(index), cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert _dependencies(project) == ["alpha", "gamma>=1.0"]
    assert 'name = "gamma"' in (project / "uv.lock").read_text()
    code = "import gamma; print(gamma.VALUE)"
    used = anyvenv("run", "--no-sync", "python", "-c", code, cwd=project, env=env)
    assert used.stdout == "3\n", used.stderr


def test_the_guard_puts_back_what_changed_and_removes_what_was_not_there(
    tmp_path: Path,
) -> None:
    project = write_project(tmp_path / "p", python_version=None)
    original = (project / "pyproject.toml").read_bytes()
    guard = EditGuard(discover(project))
    (project / "pyproject.toml").write_text("[project\n")  # what a torn rewrite leaves
    (project / "uv.lock").write_text("half")
    assert sorted(guard.failed()) == sorted(
        [str(project / "pyproject.toml"), str(project / "uv.lock")]
    )
    assert (project / "pyproject.toml").read_bytes() == original
    assert not (project / "uv.lock").exists()


def test_the_guard_leaves_unchanged_and_oversized_files_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "p", python_version=None)
    (project / "uv.lock").write_text("version = 1\n")
    monkeypatch.setattr("anyvenv.project.editguard.PROJECT_FILE_LIMIT", 12)
    guard = EditGuard(discover(project))  # pyproject.toml is over the limit: not kept
    (project / "pyproject.toml").write_text("changed by hand meanwhile\n")
    assert guard.failed() == []
    assert (project / "pyproject.toml").read_text() == "changed by hand meanwhile\n"
    assert (project / "uv.lock").read_text() == "version = 1\n"


@pytest.mark.parametrize("command", ["add", "remove"])
def test_nothing_to_add_or_remove_is_a_usage_error_that_makes_nothing(
    tmp_path: Path, command: str
) -> None:
    project = write_project(tmp_path / "p", python_version=None)
    done = anyvenv(command, cwd=project, env=project_environ(tmp_path / "home"))
    assert done.returncode == 2
    assert f"nothing to {command}" in one_line_error(done)
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml"]


def test_the_guard_says_what_it_could_not_put_back(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", python_version=None)
    guard = EditGuard(discover(project))
    pyproject = project / "pyproject.toml"
    pyproject.unlink()
    pyproject.mkdir()  # in the way of the put-back's rename
    assert guard.failed() == []
    assert guard.not_restored == [str(pyproject)]


@pytest.mark.parametrize("lab_kind", ["fat", "smb"])
def test_add_without_sync_in_a_new_project_writes_its_files_whole(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """``add --no-sync`` before any env or lock: uv edits a copy there too (it would fail on
    pyproject.toml: ENOSYS at the fchmod on FAT, EBUSY at the rename on SMB)."""
    env = project_environ(tmp_path / "home")
    project = write_project(target / "demo", python_version="3.12")
    added = anyvenv("add", "--no-sync", "gamma", *index_args(index), cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert _dependencies(project) == ["alpha", "gamma>=1.0"]
    assert 'name = "gamma"' in (project / "uv.lock").read_text()
    assert not [p.name for p in project.iterdir() if p.name.startswith(".tmp")]


SCRIPT = (
    b"# /// script\n"
    b'# requires-python = ">=3.11"\n'
    b'# dependencies = ["gamma", "alpha"]\n'
    b"# ///\n"
    b"import gamma\n"
    b"print(gamma.VALUE)\n"
)


def _script_dependencies(script: Path) -> list[str]:
    import ast

    import tomllib

    text = script.read_text()
    ast.parse(text)  # whole: not torn
    block = text.split("# /// script\n", 1)[1].split("# ///\n", 1)[0]
    deps: list[str] = tomllib.loads(block.replace("# ", "").replace("#\n", "\n"))["dependencies"]
    return deps


def _locked_names(lock: Path) -> list[str]:
    import tomllib

    return sorted(package["name"] for package in tomllib.loads(lock.read_text())["package"])


@pytest.mark.parametrize("lab_kind", ["fat", "smb"])
def test_a_script_and_its_lock_are_edited_through_a_copy_where_uv_cannot_rewrite_them(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """Measured: on FAT ``uv add --script``/``uv remove --script`` on a script with a lock
    rewrite the script, fail writing the lock (ENOSYS) and leave the script torn (its old
    tail after the old text: a SyntaxError); on SMB uv can write no lock at all (EBUSY).
    anyvenv has uv work on a copy of both on local disk and writes them back whole."""
    env = project_environ(tmp_path / "home")
    script, lock = target / "r.py", target / "r.py.lock"
    script.write_bytes(SCRIPT)
    locked = anyvenv("lock", "--script", "r.py", *index_args(index), cwd=target, env=env)
    assert locked.returncode == 0, locked.stderr
    assert _locked_names(lock) == ["alpha", "beta", "gamma"]  # (alpha needs beta)
    assert script.read_bytes() == SCRIPT

    removed = anyvenv(
        "remove", "--script", "r.py", "alpha", *index_args(index), cwd=target, env=env
    )
    assert removed.returncode == 0, removed.stderr
    assert _script_dependencies(script) == ["gamma"]
    assert _locked_names(lock) == ["gamma"]
    # (the option's other form, --script=FILE, names the file the copy stands for too)
    added = anyvenv("add", "--script=r.py", "beta", *index_args(index), cwd=target, env=env)
    assert added.returncode == 0, added.stderr
    assert "worked on a copy on local disk" in added.stderr, added.stderr
    assert _script_dependencies(script) == ["beta>=1.0", "gamma"]
    assert _locked_names(lock) == ["beta", "gamma"]
    ran = anyvenv("run", "r.py", cwd=target, env=env)
    assert (ran.returncode, ran.stdout) == (0, "3\n"), ran.stderr

    before = {path: path.read_bytes() for path in (script, lock)}
    failed = anyvenv(
        "add", "--script", "r.py", "nosuchpkg", *index_args(index), cwd=target, env=env
    )
    assert failed.returncode != 0 and "Traceback" not in failed.stderr, failed.stderr
    assert {path: path.read_bytes() for path in before} == before
    assert entry_names(target) == ["r.py", "r.py.lock"]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_script_lock_that_must_change_is_made_in_a_copy_before_uv_runs_or_syncs_it(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """uv run and uv sync --script rewrite a lock that no longer matches the script, which
    fails where chmod fails (ENOSYS): the lock is made in a copy first, then uv finds it
    current."""
    env = project_environ(tmp_path / "home", UV_FIND_LINKS=str(index), UV_NO_INDEX="1")
    script, lock = target / "r.py", target / "r.py.lock"
    script.write_bytes(SCRIPT)
    assert anyvenv("lock", "--script", "r.py", cwd=target, env=env).returncode == 0
    replace_file(script, SCRIPT.replace(b'"alpha"]', b'"alpha", "devtool"]'))
    ran = anyvenv("run", "r.py", cwd=target, env=env)
    assert (ran.returncode, ran.stdout) == (0, "3\n"), ran.stderr
    assert "devtool" in _locked_names(lock)
    replace_file(script, SCRIPT.replace(b', "alpha"]', b"]"))
    synced = anyvenv("sync", "--script", "r.py", cwd=target, env=env)
    assert synced.returncode == 0, synced.stderr
    assert _locked_names(lock) == ["gamma"]
    assert entry_names(target) == ["r.py", "r.py.lock"]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_script_with_path_sources_is_not_edited_through_a_copy(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """A path in the script's metadata, or one uv would write there, is relative to the
    script: from a copy it would lead elsewhere. Refused in one line; nothing changes."""
    env = project_environ(tmp_path / "home")
    write_project(target / "beta", dependencies=[], name="beta")
    script, lock = target / "r.py", target / "r.py.lock"
    script.write_bytes(SCRIPT)
    assert (
        anyvenv("lock", "--script", "r.py", *index_args(index), cwd=target, env=env).returncode == 0
    )
    before = {path: path.read_bytes() for path in (script, lock)}
    path_added = anyvenv(
        "add", "--script", "r.py", "./beta", *index_args(index), cwd=target, env=env
    )
    assert path_added.returncode == 1, path_added.stderr
    last = path_added.stderr.strip().splitlines()[-1]  # after uv's own lines
    assert "uv would write a path source" in last and "chmod fails (ENOSYS)" in last, last
    assert {path: path.read_bytes() for path in before} == before

    sourced = SCRIPT.replace(
        b"# ///\nimport", b'# [tool.uv.sources]\n# beta = { path = "beta" }\n# ///\nimport'
    )
    replace_file(script, sourced)
    refused = anyvenv(
        "remove", "--script", "r.py", "alpha", *index_args(index), cwd=target, env=env
    )
    assert refused.returncode == 1
    assert "its metadata has path sources" in one_line_error(refused)
    assert script.read_bytes() == sourced and lock.read_bytes() == before[lock]


def test_a_script_copy_whose_lock_cannot_be_written_puts_the_script_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script is written first: where its lock then cannot be, the script gets its old
    text again (a new script beside its old lock would not match it)."""
    from anyvenv.fs import atomic
    from anyvenv.project.scriptcopy import ScriptCopy

    script, lock = tmp_path / "r.py", tmp_path / "r.py.lock"
    script.write_bytes(SCRIPT)
    lock.write_bytes(b"version = 1\n")
    real_write = atomic.atomic_write

    def write(path: str, data: bytes, mode: int) -> None:
        if path == str(lock):
            raise OSError(28, "No space left on device")
        real_write(path, data, mode)

    monkeypatch.setattr(atomic, "atomic_write", write)
    with ScriptCopy(str(script), SCRIPT, b"version = 1\n") as copy:
        Path(copy.script).write_bytes(SCRIPT.replace(b', "alpha"]', b"]"))
        Path(copy.script + ".lock").write_bytes(b"version = 1\nrevision = 3\n")
        with pytest.raises(OSError, match="No space left"):
            copy.put_back()
    assert (script.read_bytes(), lock.read_bytes()) == (SCRIPT, b"version = 1\n")


def test_a_script_on_local_disk_is_edited_and_locked_by_uv_in_place(
    index: Path, tmp_path: Path
) -> None:
    """Where uv can rewrite files beside the script, no copy is made: uv works on it alone."""
    env = project_environ(tmp_path / "home", UV_FIND_LINKS=str(index), UV_NO_INDEX="1")
    script = tmp_path / "r.py"
    script.write_bytes(SCRIPT)
    for words in (["lock"], ["add", "beta"], ["remove", "beta"], ["sync"]):
        if words == ["sync"]:  # (a lock that must change: uv rewrites it itself)
            replace_file(script, SCRIPT.replace(b', "alpha"]', b"]"))
        done = anyvenv(words[0], "--script", "r.py", *words[1:], cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        assert "a copy on local disk" not in done.stderr, (words, done.stderr)
    assert _locked_names(tmp_path / "r.py.lock") == ["gamma"]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_script_lock_that_may_not_change_is_not_made_in_a_copy(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """--frozen, --locked (or UV_FROZEN, UV_LOCKED) say the lock is not to be rewritten: no
    copy rewrites it before uv syncs the script (--locked fails, as the lock is stale)."""
    env = project_environ(tmp_path / "home", UV_FIND_LINKS=str(index), UV_NO_INDEX="1")
    script, lock = target / "r.py", target / "r.py.lock"
    script.write_bytes(SCRIPT)
    assert anyvenv("lock", "--script", "r.py", cwd=target, env=env).returncode == 0
    replace_file(script, SCRIPT.replace(b'"alpha"]', b'"alpha", "devtool"]'))
    locked = lock.read_bytes()
    frozen = anyvenv("sync", "--script", "r.py", "--frozen", cwd=target, env=env)
    assert frozen.returncode == 0, frozen.stderr
    assert lock.read_bytes() == locked
    for flag, extra in (("--locked", {}), ("-q", {"UV_LOCKED": "1"})):
        stale = anyvenv("sync", "--script", "r.py", flag, cwd=target, env={**env, **extra})
        assert stale.returncode != 0 and "a copy on local" not in stale.stderr, stale.stderr
        assert lock.read_bytes() == locked
    assert entry_names(target) == ["r.py", "r.py.lock"]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_script_lock_that_cannot_be_made_in_a_copy_stops_the_sync(
    lab_kind: str, target: Path, index: Path, tmp_path: Path
) -> None:
    """When uv lock fails in the copy (no solution), sync --script exits with its code and
    uv sync does not run (it would only fail the same way, saying it twice)."""
    env = project_environ(tmp_path / "home", UV_FIND_LINKS=str(index), UV_NO_INDEX="1")
    script, lock = target / "r.py", target / "r.py.lock"
    script.write_bytes(SCRIPT)
    assert anyvenv("lock", "--script", "r.py", cwd=target, env=env).returncode == 0
    locked = lock.read_bytes()
    replace_file(script, SCRIPT.replace(b'"alpha"]', b'"alpha", "nosuchpkg"]'))
    synced = anyvenv("sync", "--script", "r.py", cwd=target, env=env)
    assert synced.returncode == 1, synced.stderr
    assert synced.stderr.count("nosuchpkg was not found") == 1, synced.stderr
    assert lock.read_bytes() == locked
    assert entry_names(target) == ["r.py", "r.py.lock"]
