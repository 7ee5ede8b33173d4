"""anyvenv under a locale whose encoding is not UTF-8 (Latin-1, ASCII), with paths that are.

Python decodes paths with the locale's encoding there: the bytes of ``projé`` (UTF-8: c3 a9)
are the str ``projÃ©`` under Latin-1. What anyvenv writes for a shell (activation scripts)
must hold the path's bytes as on disk, and what it reads back must be decoded as the paths
it compares them with are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ANYVENV, BASE, cli_env

LATIN1 = "fr_FR.ISO-8859-1"


@pytest.fixture(scope="module")
def latin1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The variables of a Latin-1 locale, compiled into a private LOCPATH (Debian's
    ``locales`` package has its sources; CI installs it)."""
    where = tmp_path_factory.mktemp("locales")
    made = subprocess.run(
        ["localedef", "-i", "fr_FR", "-f", "ISO-8859-1", str(where / LATIN1)],
        capture_output=True, text=True,
    )  # fmt: skip
    if not (where / LATIN1).is_dir():
        message = f"cannot compile a Latin-1 locale: {made.stderr.strip()[-300:]}"
        if os.environ.get("ANYVENV_LAB_REQUIRED") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return {"LOCPATH": str(where), "LC_ALL": LATIN1, "LANG": LATIN1}


def anyvenv(
    *args: str | bytes | Path, cwd: Path, **extra: str
) -> subprocess.CompletedProcess[bytes]:
    inherited = {k: v for k, v in cli_env().items() if k not in ("PYTHONUTF8", "LC_CTYPE")}
    environ = {**inherited, **extra}
    return subprocess.run(
        [*ANYVENV, *map(os.fsencode, args)], cwd=cwd, env=environ, capture_output=True
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    where = tmp_path / "projé"  # (UTF-8 bytes on disk)
    where.mkdir()
    return where


def _activated(env: Path) -> bytes:
    """The VIRTUAL_ENV bash gets from ``source bin/activate``, as bytes."""
    done = subprocess.run(
        ["bash", "-c", 'source "$1/bin/activate" && test -d "$VIRTUAL_ENV" && printf %s "$VIRTUAL_ENV"', "-", env],
        capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout


def test_activation_scripts_made_under_latin1_name_the_path_on_disk(
    latin1: dict[str, str], project: Path
) -> None:
    made = anyvenv("venv", "env", "--python", BASE, cwd=project, **latin1)
    assert made.returncode == 0, made.stderr
    assert _activated(project / "env") == os.fsencode(project / "env")
    fish = (project / "env" / "bin" / "activate.fish").read_bytes()
    assert os.fsencode(project / "env") in fish
    checked = anyvenv("check", "env", cwd=project, **latin1)
    assert checked.returncode == 0 and b"activation-stale" not in checked.stdout + checked.stderr


def test_an_env_named_in_latin1_is_shown_in_its_prompt_as_typed(
    latin1: dict[str, str], project: Path
) -> None:
    """The prompt a shell prints: the name's bytes as the terminal (this locale) shows them,
    the directory's name by default, a --prompt as it was typed."""
    made = anyvenv("venv", "é-env", "--python", BASE, cwd=project, **latin1)
    assert made.returncode == 0, made.stderr
    shown = subprocess.run(
        ["bash", "-c", 'source "$1/bin/activate" && printf %s "$VIRTUAL_ENV_PROMPT"', "-",
         project / "é-env"], capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert shown.endswith("é-env".encode()), shown
    typed = anyvenv("venv", "v", "--prompt", b"caf\xe9", "--python", BASE, cwd=project, **latin1)
    assert typed.returncode == 0, typed.stderr
    assert b"caf\xe9" in (project / "v" / "bin" / "activate").read_bytes()


def test_an_env_made_under_utf8_is_left_alone_by_check_and_repair_under_latin1(
    latin1: dict[str, str], project: Path
) -> None:
    made = anyvenv("venv", "env", "--python", BASE, cwd=project)
    assert made.returncode == 0, made.stderr
    before = (project / "env" / "bin" / "activate").read_bytes()
    checked = anyvenv("check", "env", cwd=project, **latin1)
    assert checked.returncode == 0, checked.stderr
    assert b"activation-stale" not in checked.stdout + checked.stderr
    repaired = anyvenv("repair", "env", cwd=project, **latin1)
    assert repaired.returncode == 0, repaired.stderr
    assert (project / "env" / "bin" / "activate").read_bytes() == before
    assert _activated(project / "env") == os.fsencode(project / "env")


def test_check_and_repair_of_a_non_ascii_env_under_an_ascii_locale(project: Path) -> None:
    """C locale without UTF-8 mode: Python decodes the path's bytes as escaped ones; the
    activation script's path is decoded the same way, not refused as unsayable here."""
    made = anyvenv("venv", "env", "--python", BASE, cwd=project)
    assert made.returncode == 0, made.stderr
    ascii_only = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    for command in ("check", "repair"):
        done = anyvenv(command, "env", cwd=project, **ascii_only)
        assert done.returncode == 0, (command, done.stderr)
        assert b"activation-stale" not in done.stdout + done.stderr


def test_sync_under_latin1_installs_into_the_env_not_a_doubly_encoded_sibling(
    latin1: dict[str, str], tmp_path: Path
) -> None:
    """uv reads the env python's prefix, printed in Latin-1, as UTF-8 (uv 0.13.9) and would
    install into ``projÃ©/.venv`` beside ``projé/.venv``, whatever uv's cache held before:
    anyvenv runs uv under a UTF-8 locale, so the packages land in the env, and run works."""
    from project_support import build_index, index_args, project_environ, write_project

    index = build_index(tmp_path / "index")
    work = tmp_path / "work"
    project = write_project(work / "projé", python_version=None)
    environ = {**project_environ(tmp_path / "home", PYTHONUTF8="0"), **latin1}
    environ.pop("LC_CTYPE", None)
    synced = subprocess.run(
        [*ANYVENV, "sync", *index_args(index)], cwd=project, env=environ, capture_output=True
    )
    assert synced.returncode == 0, synced.stderr
    assert os.listdir(work) == ["projé"]  # (no projÃ©: c3 83 c2 a9)
    ran = subprocess.run(
        [*ANYVENV, "run", "--no-sync", "alpha-hello"], cwd=project, env=environ,
        capture_output=True,
    )  # fmt: skip
    assert ran.stdout == b"alpha says hi\n", ran.stderr


def test_seeding_under_latin1_puts_pip_into_the_env(latin1: dict[str, str], project: Path) -> None:
    environ = {"UV_CACHE_DIR": str(project / "uv-cache"), "PYTHONUTF8": "0", **latin1}
    made = anyvenv("venv", "--seed", "env", "--python", BASE, cwd=project, **environ)
    assert made.returncode == 0, made.stderr
    assert os.listdir(project.parent) == [project.name]
    assert list((project / "env" / "lib").glob("python3.*/site-packages/pip/__init__.py"))


def _in_latin1(latin1: dict[str, str], code: str, *args: str | Path) -> list[str]:
    """What ``code`` prints, run by a python under the Latin-1 locale (paths given as bytes,
    which it decodes as Latin-1: é's UTF-8 bytes are ``Ã©`` there)."""
    environ = {**cli_env(), "PYTHONUTF8": "0", **latin1}
    environ.pop("LC_CTYPE", None)
    done = subprocess.run(
        [sys.executable, "-c", code, *map(os.fsencode, args)],
        env=environ, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split()


def test_files_anyvenv_writes_and_reads_keep_a_path_s_bytes_under_latin1(
    latin1: dict[str, str], project: Path
) -> None:
    """A pointer written under UTF-8 names the env under Latin-1 too; a launcher made under
    Latin-1 runs; an env's keyed name is the same in both locales; a package file whose name
    is not ASCII is mirrored (RECORD is UTF-8: the names' bytes as uv writes them)."""
    from anyvenv.envbuild.pointerfile import write_pointer
    from anyvenv.project.envchoice import keyed_name

    env = project / "env"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write_pointer(str(project / ".venv"), str(env))
    source = project / "shadow" / "lib" / "python3.12" / "site-packages"
    (source / "delta-1.0.dist-info").mkdir(parents=True)
    (source / "delta").mkdir()
    (source / "delta" / "données.txt").write_bytes(b"data")
    (source / "delta-1.0.dist-info" / "RECORD").write_bytes(
        "delta/données.txt,,4\ndelta-1.0.dist-info/RECORD,,\n".encode()
    )
    code = (
        "import os, sys\n"
        "from anyvenv.envbuild.pointerfile import read_pointer\n"
        "from anyvenv.project.envchoice import keyed_name\n"
        "from anyvenv.project.mirror import EnvTree, mirror\n"
        "from anyvenv.pythons.executables import _launched, _launcher\n"
        "project = os.fsdecode(sys.argv[1])\n"
        "print(os.path.isdir(read_pointer(os.path.join(project, '.venv'))))\n"
        "print(keyed_name('demo', project, 'cpython-3.12'))\n"
        "site = 'lib/python3.12/site-packages'\n"
        "report = mirror(EnvTree.of(os.path.join(project, 'shadow'), site),\n"
        "                EnvTree.of(os.path.join(project, 'copy'), site))\n"
        "print(report.files_written)\n"
        "launcher = os.path.join(project, 'launcher')\n"
        "with open(launcher, 'wb') as out:\n"
        "    out.write(_launcher(os.path.join(project, 'env', 'bin', 'tool')))\n"
        "print(_launched(launcher) == os.path.join(project, 'env', 'bin', 'tool'))\n"
    )
    (env / "bin" / "tool").write_text("#!/bin/sh\necho tool ran\n")
    (env / "bin" / "tool").chmod(0o755)
    (project / "copy" / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    said = _in_latin1(latin1, code, project)
    assert said == ["True", keyed_name("demo", str(project), "cpython-3.12"), "2", "True"]
    copied = project / "copy" / "lib" / "python3.12" / "site-packages" / "delta" / "données.txt"
    assert copied.read_bytes() == b"data"
    (project / "launcher").chmod(0o755)
    ran = subprocess.run([project / "launcher"], capture_output=True, text=True)
    assert ran.stdout == "tool ran\n", ran.stderr


def test_a_mount_at_a_path_that_is_not_ascii_is_found_under_latin1(
    latin1: dict[str, str], tmp_path: Path
) -> None:
    """/proc/self/mountinfo holds mount points' bytes: read as paths are given (Latin-1
    here), a mount at ``mnté`` is that mount, not the one below it (the probe of a FUSE or
    network mount is bounded only when it is known for one)."""
    point = tmp_path / "mnté"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "anyvenv-test", point], check=True)
    try:
        code = (
            "import os, sys\nfrom anyvenv.fs.mounts import mount_of\n"
            "mount = mount_of(os.fsdecode(sys.argv[1]))\n"
            "print(mount.fstype, mount.mount_point == os.fsdecode(sys.argv[1]))\n"
        )
        assert _in_latin1(latin1, code, point) == ["tmpfs", "True"]
    finally:
        subprocess.run(["umount", point], check=True)
