"""What Windows tools leave on the drives anyvenv works on (a dual boot, a USB drive, a
Windows host's folder in a VM): a ``.venv`` made on Windows, files saved with a BOM, a name
spelled in another case. Each is read as uv reads it, and nothing Windows made is mangled."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from project_support import (
    anyvenv,
    needs_pythons,
    project_environ,
    sync_json,
    write_project,
)

from lab import Lab
from support import BASE, one_line_error, run_cli

pytestmark = [needs_pythons, pytest.mark.timeout(300)]

WINDOWS_CFG = (
    b"home = C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python312\r\n"
    b"include-system-site-packages = false\r\nversion = 3.12.1\r\n"
)
BOM = b"\xef\xbb\xbf"


def windows_env(env: Path) -> dict[str, bytes]:
    """A venv as Windows' ``python -m venv`` lays it out; its files, to check they stay."""
    files = {
        "pyvenv.cfg": WINDOWS_CFG,
        "Scripts/python.exe": b"MZ\x90\x00 not an ELF file",
        "Scripts/activate.bat": b"@echo off\r\n",
        "Lib/site-packages/alpha/__init__.py": b"",
    }
    for name, data in files.items():
        (env / name).parent.mkdir(parents=True, exist_ok=True)
        (env / name).write_bytes(data)
    return files


def as_it_was(env: Path, files: dict[str, bytes]) -> bool:
    found = {
        str(path.relative_to(env)): path.read_bytes() for path in env.rglob("*") if path.is_file()
    }
    return found == files


@pytest.mark.parametrize("lab_kind", ["local", "exfat"])
def test_check_and_repair_name_an_env_made_on_windows_and_leave_it_alone(
    target: Path, lab: Lab
) -> None:
    """repair used to add bin/python and rewrite home to a Linux base: "repaired", yet its
    packages (in Lib/, which Linux Python never reads) were gone, and its Windows side was
    broken. It is named for what it is, untouched, with the command that replaces it."""
    env = target / ".venv"
    files = windows_env(env)
    for command in (["check", str(env)], ["repair", str(env)], ["repair", str(env), "--json"]):
        proc = run_cli(*command)
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert one_line_error(proc) == (
            f"anyvenv: error: {env} was made on Windows (Scripts\\python.exe): its python "
            "cannot run here, and nothing of it is changed; 'anyvenv sync' in its project (else "
            "'anyvenv venv --clear') makes one for this system in its place, as uv does; to "
            "keep it for Windows, give this system's env another path (UV_PROJECT_ENVIRONMENT)"
        )
    assert as_it_was(env, files)
    (env / "Scripts" / "python.exe").unlink()
    (env / "Scripts" / "activate.bat").unlink()
    del files["Scripts/python.exe"], files["Scripts/activate.bat"]
    proc = run_cli("check", str(env))  # (its home alone tells)
    assert proc.returncode == 2
    assert "was made on Windows (home = C:\\Users\\me\\AppData" in one_line_error(proc)
    assert as_it_was(env, files)


def test_sync_pip_and_doctor_say_an_env_was_made_on_windows(tmp_path: Path, index: Path) -> None:
    env = project_environ(tmp_path / "home")
    project = write_project(tmp_path / "demo")
    files = windows_env(project / ".venv")
    doctor = anyvenv("doctor", "--json", cwd=project, env=env)
    assert doctor.returncode == 0, doctor.stderr
    advice = [option["advice"] for option in json.loads(doctor.stdout)["options"]]
    assert any("was made on Windows (Scripts\\python.exe)" in text for text in advice), advice
    listed = anyvenv("pip", "list", cwd=project, env=env)
    assert listed.returncode == 1, listed.stderr
    line = one_line_error(listed)
    assert "does not work (it was made on Windows (Scripts\\python.exe): its python" in line
    assert "anyvenv repair" not in line and line.endswith(
        "'anyvenv sync' makes it again from the lock"
    )
    assert as_it_was(project / ".venv", files)
    report, proc = sync_json(project, env, index)
    assert report["action"] == "rebuilt", proc.stderr
    assert report["rebuild_reason"] == (
        "it was made on Windows (Scripts\\python.exe): its python cannot run here"
    )
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr


def test_project_files_saved_with_a_bom_are_read_as_uv_reads_them(
    tmp_path: Path, index: Path
) -> None:
    """Notepad (before Windows 10 1903) and Visual Studio save UTF-8 with a BOM: uv reads
    such a pyproject.toml and uv.toml, and anyvenv refused them as not TOML; a
    .python-version with one names its version all the same."""
    env = project_environ(tmp_path / "home")
    project = write_project(tmp_path / "demo", python_version=None)
    pyproject = project / "pyproject.toml"
    pyproject.write_bytes(BOM + pyproject.read_bytes().replace(b"\n", b"\r\n"))
    (project / "uv.toml").write_bytes(BOM + b'link-mode = "copy"\r\n')
    (project / ".python-version").write_bytes(BOM + b"3.11\r\n")
    report, proc = sync_json(project, env, index)
    assert str(report["python"]).startswith("3.11."), proc.stderr
    assert report["link_mode"] == "copy", report
    again, _ = sync_json(project, env, index)
    assert again["uv_ran"] is False
    made = anyvenv("venv", "--json", str(tmp_path / "plain"), cwd=project, env=env)
    assert made.returncode == 0 and "ignoring" not in made.stderr, made.stderr


@pytest.mark.parametrize("lab_kind", ["fat", "exfat"])
def test_an_env_named_in_another_case_is_not_taken_for_a_moved_one(target: Path) -> None:
    """On FAT and exFAT ``.venv`` is ``.Venv`` (each spelling with an inode number of its own
    through FUSE): its activate scripts name it, and check does not call them stale."""
    made = run_cli("venv", str(target / ".Venv"), "-p", str(BASE))
    assert made.returncode == 0, made.stderr
    proc = run_cli("check", str(target / ".venv"), "--json")
    assert proc.returncode == 0, proc.stderr
    codes = [finding["code"] for finding in json.loads(proc.stdout)["findings"]]
    assert "activation-stale" not in codes, proc.stdout
    shutil.rmtree(target / ".Venv")


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({"Scripts/activate.bat": b"@echo off\r\n"}, "Scripts\\activate.bat"),
        ({}, "home = \\\\server\\share\\Python312"),
    ],
    ids=["activate-bat", "unc-home"],
)
def test_an_env_made_on_windows_is_told_by_any_of_its_marks(
    tmp_path: Path, files: dict[str, bytes], said: str
) -> None:
    """A Windows env with its python.exe gone (an antivirus's quarantine, a half copy) still
    has Scripts\\activate.bat; one made from a Python on a share names it by UNC path."""
    env = tmp_path / ".venv"
    env.mkdir()
    home = b"\\\\server\\share\\Python312" if not files else b"C:\\Python312"
    (env / "pyvenv.cfg").write_bytes(b"home = " + home + b"\r\nversion = 3.12.1\r\n")
    for name, data in files.items():
        (env / name).parent.mkdir(parents=True, exist_ok=True)
        (env / name).write_bytes(data)
    proc = run_cli("check", str(env))
    assert proc.returncode == 2
    assert f"was made on Windows ({said})" in one_line_error(proc)
