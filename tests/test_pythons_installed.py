"""Listing, finding and uninstalling what is in an install dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyvenv.errors import InterpreterNotFound, UsageError
from anyvenv.fs import leftovers
from anyvenv.pythons.installed import (
    Uninstalled,
    find_installed,
    installed_pythons,
    uninstall,
)
from support import entry_names, fake_install


@pytest.fixture
def install_dir(tmp_path: Path) -> Path:
    root = tmp_path / "pythons"
    fake_install(root, "cpython-3.12.9-linux-x86_64-gnu", "python3.12", {"sha256": "ab" * 32})
    fake_install(root, "cpython-3.12.4-linux-x86_64-gnu", "python3.12")
    fake_install(root, "cpython-3.13.2+freethreaded-linux-x86_64-gnu", "python3.13t")
    fake_install(root, "cpython-3.11.11-linux-x86_64-gnu", "python3.11")
    (root / "cpython-3.10.1-linux-x86_64-gnu").mkdir()  # no interpreter: not an install
    (root / ".cpython-3.12.9-linux-x86_64-gnu.anyvenv-staging-host-1-abcdef").mkdir()
    (root / "notes.txt").write_text("not an install")
    return root


def test_list_newest_first_with_records(install_dir: Path) -> None:
    found = installed_pythons(install_dir)
    assert [item.name for item in found] == [
        "cpython-3.13.2+freethreaded-linux-x86_64-gnu",
        "cpython-3.12.9-linux-x86_64-gnu",
        "cpython-3.12.4-linux-x86_64-gnu",
        "cpython-3.11.11-linux-x86_64-gnu",
    ]
    assert found[0].free_threaded and found[0].executable.name == "python3.13t"
    data = found[1].to_json()
    assert data["version"] == "3.12.9"
    assert data["executable"] == str(install_dir / "cpython-3.12.9-linux-x86_64-gnu/bin/python3.12")
    assert data["sha256"] == "ab" * 32


def test_list_of_missing_dir_is_empty(tmp_path: Path) -> None:
    assert installed_pythons(tmp_path / "absent") == []


def test_find_by_version_and_name(install_dir: Path) -> None:
    assert find_installed("3.12", install_dir).name == "cpython-3.12.9-linux-x86_64-gnu"
    assert find_installed("3.12.4", install_dir).name == "cpython-3.12.4-linux-x86_64-gnu"
    assert find_installed("3.13t", install_dir).free_threaded is True
    assert find_installed(None, install_dir).version == (3, 13, 2)
    by_name = find_installed("cpython-3.11.11-linux-x86_64-gnu", install_dir)
    assert by_name.version == (3, 11, 11)


def test_plain_request_does_not_pick_a_free_threaded_build(install_dir: Path) -> None:
    with pytest.raises(InterpreterNotFound) as caught:
        find_installed("3.13", install_dir)
    assert "anyvenv python install 3.13" in caught.value.one_line()


def test_find_bad_request_is_a_usage_error(install_dir: Path) -> None:
    with pytest.raises(UsageError):
        find_installed("/usr/bin/python3", install_dir)


def test_find_uses_the_default_install_dir(
    install_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANYVENV_PYTHON_INSTALL_DIR", str(install_dir))
    assert find_installed("3.11").path == install_dir / "cpython-3.11.11-linux-x86_64-gnu"


def test_uninstall_every_match_and_nothing_else(install_dir: Path) -> None:
    done = uninstall(["3.12"], install_dir)
    assert done.unmatched == []
    assert sorted(item.name for item in done.removed) == [
        "cpython-3.12.4-linux-x86_64-gnu",
        "cpython-3.12.9-linux-x86_64-gnu",
    ]
    left = sorted(os.listdir(install_dir))
    assert "cpython-3.12.9-linux-x86_64-gnu" not in left
    assert "cpython-3.11.11-linux-x86_64-gnu" in left
    staged = [name for name in left if leftovers.STAGING_MARK in name]
    assert staged == [".cpython-3.12.9-linux-x86_64-gnu.anyvenv-staging-host-1-abcdef"], (
        "the removed installs leave nothing aside"
    )


def test_uninstall_removes_what_matches_and_names_the_rest(install_dir: Path) -> None:
    """As uv: a request nothing matches is reported, the others are still removed."""
    done = uninstall(["3.11", "3.99"], install_dir)
    assert [item.name for item in done.removed] == ["cpython-3.11.11-linux-x86_64-gnu"]
    assert done.unmatched == ["3.99"]
    assert not (install_dir / "cpython-3.11.11-linux-x86_64-gnu").exists()


def test_uninstall_that_matches_nothing_removes_nothing_and_says_so(
    install_dir: Path, tmp_path: Path
) -> None:
    """As uv's: no error, the requests are named as unmatched (also where nothing was ever
    installed); a malformed request is still a usage error."""
    before = sorted(os.listdir(install_dir))
    assert uninstall(["3.99", "3.8"], install_dir) == Uninstalled([], ["3.99", "3.8"])
    assert uninstall(["3.12"], tmp_path / "never") == Uninstalled([], ["3.12"])
    assert not (tmp_path / "never").exists()
    with pytest.raises(UsageError):  # a malformed request: checked before anything goes
        uninstall(["3.11", "not a version"], install_dir)
    assert sorted(os.listdir(install_dir)) == before


def test_uninstall_every_install(install_dir: Path) -> None:
    """--all: every install of this platform, those without an interpreter too; what is not
    an install (a note, another host's staging tree, another platform's build) stays."""
    fake_install(install_dir, "cpython-3.12.11-macos-aarch64-none", "python3.12")
    done = uninstall([], install_dir, every=True)
    assert len(done.removed) == 5 and done.unmatched == []
    assert sorted(os.listdir(install_dir)) == [
        ".cpython-3.12.9-linux-x86_64-gnu.anyvenv-staging-host-1-abcdef",
        "cpython-3.12.11-macos-aarch64-none",
        "notes.txt",
    ]
    assert uninstall([], install_dir, every=True) == Uninstalled([], [])


@pytest.mark.parametrize("lab_kind", ["fat", "faultfs:cifs-like"])
def test_uninstall_on_mounts(target: Path) -> None:
    """fusefat loses a renamed directory's files (and their space): removed in place there."""
    fake_install(target, "cpython-3.12.9-linux-x86_64-gnu", "python3.12")
    fake_install(target, "cpython-3.11.11-linux-x86_64-gnu", "python3.11")
    removed = uninstall(["3.12.9"], target).removed
    assert [item.name for item in removed] == ["cpython-3.12.9-linux-x86_64-gnu"]
    left = set(entry_names(target))  # no lock file either: locks leave nothing behind
    assert left == {"cpython-3.11.11-linux-x86_64-gnu"}
    assert (target / "cpython-3.11.11-linux-x86_64-gnu" / "lib" / "payload").stat().st_size == 1000


def test_what_killed_runs_left_is_undone_before_an_uninstall(install_dir: Path) -> None:
    """A reinstall killed between its two renames left the install under its retired name:
    uninstall puts it back first and removes it, so it does not come back on the next
    install; dead staging trees go; another host's leftovers stay."""
    from anyvenv.pythons.installed import has_leftovers

    name = "cpython-3.11.11-linux-x86_64-gnu"
    dead = f"{leftovers.this_host()}-999999999-abcdef"
    (install_dir / name).rename(install_dir / f".{name}{leftovers.RETIRED_MARK}{dead}")
    (install_dir / f".{name}{leftovers.STAGING_MARK}{dead}").mkdir()
    assert has_leftovers(install_dir)
    removed = uninstall(["3.11"], install_dir).removed
    assert [item.name for item in removed] == [name]
    left = sorted(os.listdir(install_dir))
    assert not [entry for entry in left if name in entry], left
    assert ".cpython-3.12.9-linux-x86_64-gnu.anyvenv-staging-host-1-abcdef" in left
    assert not has_leftovers(install_dir)


def test_builds_for_other_platforms_are_not_this_machines(install_dir: Path) -> None:
    """A shared install dir with a macOS build of a newer 3.12: not found, listed or removed
    (uv's find and list leave other platforms' builds out too)."""
    fake_install(install_dir, "cpython-3.12.11-macos-aarch64-none", "python3.12")
    assert find_installed("3.12", install_dir).name == "cpython-3.12.9-linux-x86_64-gnu"
    assert "cpython-3.12.11-macos-aarch64-none" not in {
        item.name for item in installed_pythons(install_dir)
    }
    uninstall(["3.12"], install_dir)
    assert (install_dir / "cpython-3.12.11-macos-aarch64-none").is_dir()


def test_naming_another_platforms_build_never_removes_this_machines(install_dir: Path) -> None:
    """``uninstall cpython-3.12.9-macos-aarch64-none`` is not a request for the Linux 3.12.9:
    nothing matches (as uv says), and nothing is removed; find says the same."""
    fake_install(install_dir, "cpython-3.12.9-macos-aarch64-none", "python3.12")
    before = sorted(os.listdir(install_dir))
    for name in ("cpython-3.12.9-macos-aarch64-none", "cpython-3.12.9-linux-aarch64-gnu"):
        assert uninstall([name], install_dir) == Uninstalled([], [name])
        with pytest.raises(InterpreterNotFound):
            find_installed(name, install_dir)
    assert sorted(os.listdir(install_dir)) == before
    assert find_installed("cpython-3.12-linux", install_dir).name == (
        "cpython-3.12.9-linux-x86_64-gnu"
    )
    assert find_installed("python3.11", install_dir).name == "cpython-3.11.11-linux-x86_64-gnu"


def test_uninstall_removes_an_install_that_lost_its_interpreter(install_dir: Path) -> None:
    """What a killed uninstall on FAT leaves (the interpreter went first): not listed, but
    removed when asked for by version or by name, as a user trying again expects."""
    assert "cpython-3.10.1-linux-x86_64-gnu" not in {
        item.name for item in installed_pythons(install_dir)
    }
    removed = uninstall(["3.10"], install_dir).removed
    assert [item.name for item in removed] == ["cpython-3.10.1-linux-x86_64-gnu"]
    assert not (install_dir / "cpython-3.10.1-linux-x86_64-gnu").exists()


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like", "fat"])
def test_an_install_in_use_is_uninstalled_and_its_files_left_for_later(
    target: Path, lab_kind: str
) -> None:
    """A process runs from the install: a FUSE mount keeps its open file until it ends, FAT
    refuses to remove it. The install is gone at once (never listed or used again), what
    remains is said and removed by the next uninstall, not a traceback or a half-install."""
    import shutil
    import subprocess

    from support import cli_env, run_cli

    root = target / "pythons"
    home = fake_install(root, "cpython-3.12.9-linux-x86_64-gnu", "python3.12")
    shutil.copyfile("/bin/sleep", home / "bin" / "sleep")
    if lab_kind != "fat":  # (FAT has no chmod: every file there is executable)
        os.chmod(home / "bin" / "sleep", 0o755)
    running = subprocess.Popen([home / "bin" / "sleep", "60"])
    try:
        proc = run_cli("python", "uninstall", "3.12", "-i", str(root), "--json", env=cli_env())
    finally:
        running.kill()
        running.wait()
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "files of cpython-3.12.9-linux-x86_64-gnu are still in use" in proc.stderr
    import json

    assert json.loads(proc.stdout)[0]["files_left"]  # (why, and which file)
    assert installed_pythons(root) == []
    again = run_cli("python", "uninstall", "--all", "-i", str(root), env=cli_env())
    assert again.returncode == 0, again.stderr
    assert [name for name in entry_names(root) if not name.startswith(".anyvenv-python")] == []


def test_uvs_links_in_a_shared_install_dir_are_left_as_uv_leaves_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv's minor-version link (``cpython-3.11-linux-x86_64-gnu``) to a removed patch leads
    to the newest left, as after ``uv python uninstall`` (envs uv made through it keep
    running), and goes with the last one; uv's bin-dir links that then lead nowhere go."""
    root = tmp_path / "pythons"
    platform = "linux-x86_64-gnu"
    old = fake_install(root, f"cpython-3.11.2-{platform}", "python3.11")
    fake_install(root, f"cpython-3.11.7-{platform}", "python3.11")
    fake_install(root, f"cpython-3.12.1-{platform}", "python3.12")
    minor = root / f"cpython-3.11-{platform}"
    minor.symlink_to(old.name)  # made by uv before anyvenv installed 3.11.7
    (root / f"cpython-3.12-{platform}").symlink_to(f"cpython-3.12.1-{platform}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("UV_PYTHON_BIN_DIR", str(bin_dir))
    (bin_dir / "python3.11").symlink_to(minor / "bin" / "python3.11")
    (bin_dir / "python3.12").symlink_to(root / f"cpython-3.12.1-{platform}" / "bin" / "python3.12")
    (bin_dir / "python-mine").symlink_to(tmp_path / "nowhere")  # not uv's: left alone

    uninstall(["3.11.2"], root)
    assert os.readlink(minor) == f"cpython-3.11.7-{platform}"
    assert (bin_dir / "python3.11").exists()
    uninstall(["3.11"], root)
    assert not os.path.lexists(minor) and not os.path.lexists(bin_dir / "python3.11")
    uninstall(["3.12"], root)
    assert not os.path.lexists(root / f"cpython-3.12-{platform}")
    assert sorted(os.listdir(bin_dir)) == ["python-mine"]


def test_another_users_install_is_refused_whole_not_hidden(nobody_scratch: Path) -> None:
    """A shared install directory: an install this user may not remove is refused before
    anything is renamed (renamed aside, it was hidden and broken for its owner)."""
    from support import one_line_error, run_cli_as_nobody

    root = nobody_scratch / "pythons"
    root.mkdir()
    os.chmod(root, 0o777)  # anyone may add an install; each install is its owner's
    name = "cpython-3.12.9-linux-x86_64-gnu"
    home = fake_install(root, name, "python3.12")
    before = sorted(str(path.relative_to(root)) for path in root.rglob("*"))

    refused = run_cli_as_nobody("python", "uninstall", "3.12", "--install-dir", str(root))
    assert refused.returncode == 1
    assert f"cannot uninstall {name}: you may not change {home} (owned by root)" in (
        one_line_error(refused)
    )
    assert sorted(str(path.relative_to(root)) for path in root.rglob("*")) == before

    for path in [home, *home.rglob("*")]:  # now the other user's own install
        os.chown(path, 65534, 65534, follow_symlinks=False)
    removed = run_cli_as_nobody("python", "uninstall", "3.12", "--install-dir", str(root))
    assert removed.returncode == 0, removed.stderr
    assert os.listdir(root) == []


def test_why_an_interpreter_cannot_be_run_is_said_without_running_it(tmp_path: Path) -> None:
    from anyvenv.pythons.installed import why_not_runnable

    runs = tmp_path / "python3.12"
    runs.write_bytes(b"#!/bin/sh\n")
    runs.chmod(0o755)
    assert why_not_runnable(str(runs)) is None
    runs.chmod(0o644)
    assert why_not_runnable(str(runs)) == "it is not executable (mode 0644)"
    assert why_not_runnable(str(tmp_path)) == "it is not a file"
    assert why_not_runnable(str(tmp_path / "gone")) == "No such file or directory"
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert why_not_runnable(str(tmp_path / "dangling")) == "No such file or directory"
