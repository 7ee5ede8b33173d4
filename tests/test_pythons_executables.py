"""``python3.12`` in the user's bin dir after ``anyvenv python install``, as uv makes them:
symlinks where the bin dir holds them, launchers where it does not; the user's and uv's
names left alone; removed with the install."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from standalone_build import StandaloneArchive, pythons_env, standalone

from anyvenv.pythons.executables import (
    LAUNCHER_MARK,
    bin_dir,
    entries_leading_to,
    names_for,
    remove_entries,
    uv_bin_dir,
)
from anyvenv.pythons.installed import InstalledPython
from support import cli_env, fake_install, run_cli

__all__ = ["pythons_env", "standalone"]  # fixtures used by the tests below

WHERE_FROM = "import sys; print(sys.prefix)"


def install(install_dir: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_cli("python", "install", *args, "-i", str(install_dir), env=cli_env(**variables))


def runs_from(executable: Path) -> str:
    proc = subprocess.run([str(executable), "-c", WHERE_FROM], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def other_patch(install_dir: Path, standalone: StandaloneArchive, patch: int) -> Path:
    """A (fake) install of anyvenv's of the test archive's X.Y with another ``patch``."""
    major, minor, _ = standalone.version
    exe = f"python{major}.{minor}"
    home = fake_install(
        install_dir, f"cpython-{major}.{minor}.{patch}-linux-x86_64-gnu", exe, record={}
    )
    return home / "bin" / exe


def test_install_makes_the_minor_version_name_and_uninstall_removes_it(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    pythons, bin_dir = tmp_path / "pythons", Path(pythons_env["ANYVENV_PYTHON_BIN_DIR"])
    home = pythons / standalone.install_name
    made = install(pythons, "3.12")
    assert made.returncode == 0, made.stderr
    name = bin_dir / "python3.12"
    assert os.readlink(name) == str(home / "bin" / "python3.12")  # (the bin dir holds links)
    assert runs_from(name) == str(home)
    assert f"  executables: python3.12 in {bin_dir} (symlink)" in made.stderr
    assert f'export PATH={bin_dir}:"$PATH"' in made.stderr  # not on PATH: said how
    assert sorted(os.listdir(bin_dir)) == ["python3.12"]
    on_path = install(pythons, "3.12", PATH=f"{bin_dir}:{os.environ['PATH']}")
    assert on_path.returncode == 0 and "export PATH" not in on_path.stderr  # (on PATH)
    shown = run_cli("python", "dir", "--bin")
    assert shown.stdout == f"{bin_dir}\n"

    removed = run_cli("python", "uninstall", "3.12", "-i", str(pythons))
    assert removed.returncode == 0, removed.stderr
    assert "removed python3.12 from the bin dir" in removed.stderr
    assert os.listdir(bin_dir) == []


def test_default_names_and_no_bin(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    pythons, bin_dir = tmp_path / "pythons", Path(pythons_env["ANYVENV_PYTHON_BIN_DIR"])
    none = install(pythons, "3.12", "--no-bin")
    assert none.returncode == 0, none.stderr
    off = install(pythons, "3.12", "--json", UV_PYTHON_INSTALL_BIN="0")
    assert json.loads(off.stdout)[0]["executables"] is None
    assert not bin_dir.exists() or os.listdir(bin_dir) == []
    both = install(pythons, "3.12", standalone.version_text, "--default")
    assert both.returncode == 2 and "--default names one version" in both.stderr
    clash = run_cli("python", "install", "--default", "--no-bin")
    assert clash.returncode == 2 and "not allowed with argument" in clash.stderr
    made = install(pythons, "3.12", "--default", "--json")
    assert made.returncode == 0, made.stderr
    [report] = json.loads(made.stdout)
    names = ["python3.12", "python3", "python"]
    assert report["executables"]["linked"] == [str(bin_dir / name) for name in names]
    assert report["executables"]["how"] == "symlink"
    assert report["executables"]["on_path"] is False
    for name in names:
        assert runs_from(bin_dir / name) == report["path"]


def test_names_that_are_not_anyvenvs_are_left_alone_unless_forced(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    pythons, bin_dir = tmp_path / "pythons", Path(pythons_env["ANYVENV_PYTHON_BIN_DIR"])
    bin_dir.mkdir()
    users = bin_dir / "python3.12"
    users.write_text("#!/bin/sh\necho mine\n")
    users.chmod(0o755)
    (bin_dir / "python3").symlink_to(tmp_path / "gone")  # leads nowhere: replaced
    uvs = fake_install(tmp_path / "uv-pythons", "cpython-3.12.0-linux-x86_64-gnu", "python3.12")
    (bin_dir / "python").symlink_to(uvs / "bin" / "python3.12")  # uv's (no record of ours)
    made = install(pythons, "3.12", "--default")
    assert made.returncode == 0, made.stderr  # as uv: a warning, not a failure
    assert (
        f"anyvenv: warning: python3.12, python in {bin_dir} are not anyvenv's, so they were "
        "left as they are; --force replaces them"
    ) in made.stderr
    assert os.readlink(bin_dir / "python") == str(uvs / "bin" / "python3.12")
    assert users.read_text() == "#!/bin/sh\necho mine\n"
    home = str(pythons / standalone.install_name)
    assert runs_from(bin_dir / "python3") == home
    forced = install(pythons, "3.12", "--force")
    assert forced.returncode == 0, forced.stderr
    assert runs_from(users) == home
    # uninstall leaves what is not anyvenv's
    users.unlink()
    users.write_text("#!/bin/sh\necho mine\n")
    removed = run_cli("python", "uninstall", "--all", "-i", str(pythons))
    assert removed.returncode == 0, removed.stderr
    assert sorted(os.listdir(bin_dir)) == ["python", "python3.12"]  # (uv's and yours)


def test_a_reinstall_keeps_uvs_name_that_leads_through_its_minor_version_link(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """An install dir shared with uv: uv's ``python3.12`` leads through its minor-version
    link (which ``uv python upgrade`` moves on). A reinstall of that Python keeps it (h48);
    ``--force`` makes it anyvenv's."""
    pythons, bin_dir = tmp_path / "pythons", Path(pythons_env["ANYVENV_PYTHON_BIN_DIR"])
    made = install(pythons, "3.12", "--no-bin")
    assert made.returncode == 0, made.stderr
    minor = pythons / "cpython-3.12-linux-x86_64-gnu"
    minor.symlink_to(standalone.install_name)
    bin_dir.mkdir()
    uvs = bin_dir / "python3.12"
    uvs.symlink_to(minor / "bin" / "python3.12")
    again = install(pythons, "3.12", "--reinstall")
    assert again.returncode == 0, again.stderr
    assert os.readlink(uvs) == str(minor / "bin" / "python3.12")
    assert runs_from(uvs) == str(minor)  # (it runs, through uv's link)
    forced = install(pythons, "3.12", "--reinstall", "--force")
    assert forced.returncode == 0, forced.stderr
    assert os.readlink(uvs) == str(pythons / standalone.install_name / "bin" / "python3.12")


def test_the_newest_patch_keeps_the_name(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """As uv: an older patch's name of anyvenv's is taken over by a newer one; a newer
    patch's is kept when an older one is installed."""
    pythons, bin_dir = tmp_path / "pythons", Path(pythons_env["ANYVENV_PYTHON_BIN_DIR"])
    bin_dir.mkdir()
    name = bin_dir / "python3.12"
    name.symlink_to(other_patch(pythons, standalone, patch=0))
    made = install(pythons, standalone.version_text, "--json")  # (3.12 is the fake 3.12.0)
    assert made.returncode == 0, made.stderr
    assert os.readlink(name) == str(pythons / standalone.install_name / "bin" / "python3.12")
    newer = other_patch(pythons, standalone, patch=99)
    name.unlink()
    name.symlink_to(newer)
    kept = install(pythons, standalone.version_text, "--json")
    [report] = json.loads(kept.stdout)
    assert report["executables"]["kept"] == ["python3.12"] and os.readlink(name) == str(newer)


@pytest.mark.parametrize(
    "lab_kind", ["faultfs:cifs-like", "faultfs:symlink-eopnotsupp", "faultfs:mode-0644"]
)
def test_a_bin_dir_without_symlinks_gets_launchers(
    tmp_path: Path,
    target: Path,
    lab_kind: str,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
) -> None:
    """A home on a share: where symlinks fail a launcher runs the install; where nothing can
    be executable none is made, and the install still succeeds."""
    pythons, bin_dir = tmp_path / "pythons", target / "bin"
    made = install(pythons, "3.12", ANYVENV_PYTHON_BIN_DIR=str(bin_dir))
    assert made.returncode == 0, made.stderr
    if lab_kind == "faultfs:mode-0644":
        assert "python executables not made: no file can be executed in" in made.stderr
        assert os.listdir(bin_dir) == []
        return
    name = bin_dir / "python3.12"
    assert not name.is_symlink() and LAUNCHER_MARK in name.read_text()
    assert name.stat().st_mode & 0o111 == 0o111  # (made executable where modes are kept)
    assert runs_from(name) == str(pythons / standalone.install_name)
    assert f"in {bin_dir} (launcher)" in made.stderr
    shutil.rmtree(pythons)  # its install gone: the launcher of anyvenv's is made anew
    other = tmp_path / "other"
    again = install(other, "3.12", ANYVENV_PYTHON_BIN_DIR=str(bin_dir))
    assert again.returncode == 0 and "not anyvenv's" not in again.stderr, again.stderr
    assert runs_from(name) == str(other / standalone.install_name)
    pythons = other
    removed = run_cli(
        "python",
        "uninstall",
        "--all",
        "-i",
        str(pythons),
        env=cli_env(ANYVENV_PYTHON_BIN_DIR=str(bin_dir)),
    )
    assert removed.returncode == 0, removed.stderr
    assert [n for n in os.listdir(bin_dir) if not n.startswith(".fuse_hidden")] == []


def test_the_bin_dir_is_found_as_uv_finds_it(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert bin_dir({"HOME": home}) == f"{home}/.local/bin"
    assert bin_dir({"HOME": home, "XDG_DATA_HOME": "/d/share"}) == "/d/bin"
    assert bin_dir({"HOME": home, "XDG_DATA_HOME": "rel", "XDG_BIN_HOME": "/xb"}) == "/xb"
    assert bin_dir({"HOME": home, "XDG_BIN_HOME": "/xb", "UV_PYTHON_BIN_DIR": "/uvb"}) == "/uvb"
    both = {"UV_PYTHON_BIN_DIR": "/uvb", "ANYVENV_PYTHON_BIN_DIR": "/mine", "HOME": home}
    assert bin_dir(both) == "/mine" and uv_bin_dir(both) == "/uvb"  # (uv's own, for its links)


def test_free_threaded_names() -> None:
    threaded = InstalledPython(
        "cpython-3.13.1+freethreaded-linux-x86_64-gnu", Path("/x"), (3, 13, 1), True
    )
    assert names_for(threaded, default=True) == ["python3.13t", "python3t", "pythont"]


def test_an_uninstall_removes_only_the_names_of_what_it_removes(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """Names of another install of anyvenv's (3.11's, reached through a linked install dir)
    stay when 3.12 goes."""
    pythons, bin_dir = tmp_path / "pythons", Path(pythons_env["ANYVENV_PYTHON_BIN_DIR"])
    assert install(pythons, "3.12").returncode == 0
    elsewhere = other_patch(tmp_path / "real-pythons", standalone, patch=0)
    eleven = fake_install(
        tmp_path / "real-pythons", "cpython-3.11.9-linux-x86_64-gnu", "python3.11", record={}
    )
    (tmp_path / "linked").symlink_to(tmp_path / "real-pythons")
    (bin_dir / "python3.11").symlink_to(tmp_path / "linked" / eleven.name / "bin" / "python3.11")
    (bin_dir / "python3").symlink_to(elsewhere)
    removed = run_cli("python", "uninstall", "3.12", "-i", str(pythons))
    assert removed.returncode == 0, removed.stderr
    assert sorted(os.listdir(bin_dir)) == ["python3", "python3.11"]
    gone = run_cli("python", "uninstall", "--all", "-i", str(tmp_path / "linked"))
    assert gone.returncode == 0, gone.stderr
    assert os.listdir(bin_dir) == []  # (found through the link to that install dir)


def test_a_name_made_again_meanwhile_is_not_removed(tmp_path: Path) -> None:
    """What an uninstall read before removing is removed only if it still leads there."""
    pythons, bin_dir = tmp_path / "pythons", tmp_path / "bin"
    bin_dir.mkdir()
    old = fake_install(pythons, "cpython-3.12.0-linux-x86_64-gnu", "python3.12", record={})
    new = fake_install(pythons, "cpython-3.12.5-linux-x86_64-gnu", "python3.12", record={})
    (bin_dir / "python3.12").symlink_to(old / "bin" / "python3.12")
    (bin_dir / "python3").symlink_to(old / "bin" / "python3.12")
    environ = {"ANYVENV_PYTHON_BIN_DIR": str(bin_dir)}
    item = InstalledPython(old.name, old, (3, 12, 0), False)
    found = entries_leading_to([item], environ)
    assert sorted(os.path.basename(path) for path, _ in found) == ["python3", "python3.12"]
    (bin_dir / "python3.12").unlink()
    (bin_dir / "python3.12").symlink_to(new / "bin" / "python3.12")
    assert remove_entries(found) == ["python3"]
    assert os.readlink(bin_dir / "python3.12") == str(new / "bin" / "python3.12")
