"""Envs from a python-build-standalone-like base, whose executable finds libpython through
``$ORIGIN/../lib``: a plain copy cannot start, anyvenv's copy loads the base's own library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from standalone_build import StandaloneArchive, standalone  # noqa: F401  (fixture)

from lab import Lab
from support import cli_env, one_line_error, run_cli


def extract(archive: StandaloneArchive, where: Path) -> Path:
    with tarfile.open(archive.path) as tar:
        tar.extractall(where, filter="data")
    return where / "python" / "bin" / archive.executable_name


def loaded_libpython(python: Path) -> set[str]:
    code = "print('\\n'.join(l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l))"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {os.path.realpath(line) for line in proc.stdout.split()}


@pytest.fixture(scope="module")
def base(standalone: StandaloneArchive, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    return extract(standalone, tmp_path_factory.mktemp("standalone-base"))


def test_a_plain_copy_of_the_executable_cannot_start(base: Path, tmp_path: Path) -> None:
    copy = tmp_path / "python"
    shutil.copy2(base, copy)
    proc = subprocess.run([str(copy), "-c", "pass"], capture_output=True, text=True)
    assert proc.returncode == 127
    assert "error while loading shared libraries" in proc.stderr


@pytest.mark.parametrize(
    ("patchelf", "placement"),
    [(None, "patched-runpath"), ("", "copy")],
    ids=["patchelf", "no-patchelf"],
)
def test_copied_env_loads_the_base_libpython(
    lab: Lab, base: Path, patchelf: str | None, placement: str
) -> None:
    env = lab.target("faultfs:cifs-like") / "env"
    extra = {} if patchelf is None else {"ANYVENV_PATCHELF": patchelf}
    proc = run_cli("venv", str(env), "--python", str(base), "--json", env=cli_env(**extra))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["strategy"] == "copy"
    assert report["libpython"] == placement
    base_lib = base.parent.parent / "lib" / f"libpython{base.name.removeprefix('python')}.so.1.0"
    if placement == "patched-runpath":
        assert loaded_libpython(env / "bin" / "python") == {os.path.realpath(base_lib)}
        assert not (env / "lib" / base_lib.name).exists(), "no 23 MB libpython copy"
    else:
        env_lib = env / "lib" / base_lib.name
        assert loaded_libpython(env / "bin" / "python") == {os.path.realpath(env_lib)}
        assert env_lib.read_bytes() == base_lib.read_bytes(), (
            "the base's own build, not the system's"
        )
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import sys, ssl; print(sys.prefix, sys.base_prefix)"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.split() == [str(env), str(base.parent.parent)], out.stderr


def test_base_on_the_same_mount_is_hard_linked(lab: Lab, standalone: StandaloneArchive) -> None:  # noqa: F811
    where = lab.target("faultfs:cifs-like")
    base = extract(standalone, where / "base")
    env = where / "env"
    proc = run_cli("venv", str(env), "--python", str(base), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["strategy"], report["libpython"]) == ("hardlink", "hardlink")
    assert loaded_libpython(env / "bin" / "python") == {
        os.path.realpath(
            env / "lib" / f"libpython{standalone.executable_name.removeprefix('python')}.so.1.0"
        )
    }


def test_a_hard_link_of_libpython_that_crosses_mounts_is_copied_and_said_copied(
    lab: Lab, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bind mount of the base's disk, which the plan cannot tell from it: the planned hard
    links of the interpreter and of libpython (which its copy needs beside it) fail with
    EXDEV and are copied; pyvenv.cfg and the env's report say copy for both, and the copy
    loads the env's own libpython."""
    import anyvenv
    from anyvenv.envbuild import plan
    from anyvenv.interpreter.linkage import libpython_linkage

    assert libpython_linkage(str(base)).copy_needs_library
    monkeypatch.setattr(plan, "same_filesystem", lambda a, b: True)
    target = lab.bind_target("nosymfollow")
    assert os.stat(target).st_dev == os.stat(base).st_dev
    made = anyvenv.create(target / "env", python=str(base))
    assert (made.strategy.value, made.libpython.value) == ("copy", "copy"), made.reason
    assert made.reason.endswith("a hard link crossed mounts (EXDEV), so it was copied")
    config = (target / "env" / "pyvenv.cfg").read_text()
    assert "anyvenv-strategy = copy" in config and "anyvenv-libpython = copy" in config
    env_lib = target / "env" / "lib" / f"libpython{base.name.removeprefix('python')}.so.1.0"
    assert os.stat(env_lib).st_ino != os.stat(base.parent.parent / "lib" / env_lib.name).st_ino
    assert loaded_libpython(target / "env" / "bin" / "python") == {os.path.realpath(env_lib)}


def test_a_patchelf_that_is_not_there_is_said_not_passed_over(lab: Lab, base: Path) -> None:
    """A mistyped ANYVENV_PATCHELF stops with the fix (it quietly turned patchelf off, and
    each env got a libpython copy); nothing is made."""
    env = lab.target("faultfs:cifs-like") / "env"
    proc = run_cli("venv", str(env), "--python", str(base),
                   env=cli_env(ANYVENV_PATCHELF="/nonexistent/patchelf"))  # fmt: skip
    assert proc.returncode == 2
    assert "ANYVENV_PATCHELF names /nonexistent/patchelf" in one_line_error(proc)
    assert not env.exists()


def test_a_patchelf_that_fails_is_said_with_its_reason_and_the_ways_out(
    lab: Lab, base: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "patchelf"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    env = lab.target("faultfs:cifs-like") / "env"
    proc = run_cli("venv", str(env), "--python", str(base),
                   env=cli_env(ANYVENV_PATCHELF=str(broken)))  # fmt: skip
    assert proc.returncode == 1
    assert one_line_error(proc) == (
        f"anyvenv: error: {broken} could not set the library path of the env's "
        "bin/python: exit code 3, no output; fix or replace that patchelf "
        "(ANYVENV_PATCHELF names the one to use), or set ANYVENV_PATCHELF= to copy libpython "
        "beside the env's python instead"
    )
    assert not env.exists()


def test_a_repair_to_a_link_removes_the_libpython_the_copy_needed(
    base: Path, tmp_path: Path
) -> None:
    """An env that carried its base's libpython (a copy, ANYVENV_PATCHELF=) repaired where
    links work: the interpreter is a link now, and the env's libpython, which nothing loads
    any more, is removed, not left as megabytes of a release."""
    env = tmp_path / "env"
    made = run_cli("venv", str(env), "--python", str(base), "--strategy", "copy", "--json",
                   env=cli_env(ANYVENV_PATCHELF=""))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["libpython"] in ("copy", "hardlink")
    (library,) = (env / "lib").glob("libpython*.so*")
    (env / "bin" / "python3").unlink()  # (broken: repair places the interpreter again)
    fixed = run_cli("repair", str(env), "--json")
    assert fixed.returncode == 0, fixed.stderr
    changes = json.loads(fixed.stdout)["changes"]
    assert {"action": "removed", "path": str(library),
            "detail": "no longer loaded: the base's own is"} in changes  # fmt: skip
    assert not library.exists() and (env / "bin" / "python").is_symlink()
    assert loaded_libpython(env / "bin" / "python") == {
        os.path.realpath(base.parent.parent / "lib" / library.name)
    }


def test_a_libpython_named_by_path_in_needed_is_copied_not_patched(
    lab: Lab, base: Path, tmp_path: Path
) -> None:
    """A base whose NEEDED entry is ``$ORIGIN/../lib/libpython...`` itself (no RUNPATH): the
    loader opens that path as written, so patching RUNPATH cannot redirect it. The env's copy
    gets libpython beside it, where that path leads, even though patchelf is at hand."""
    home = tmp_path / "needed-path"
    shutil.copytree(base.parent.parent, home, symlinks=True)
    python = home / "bin" / base.name
    soname = f"libpython{base.name.removeprefix('python')}.so.1.0"
    subprocess.run(["patchelf", "--remove-rpath", "--replace-needed", soname,
                    f"$ORIGIN/../lib/{soname}", str(python)], check=True)  # fmt: skip
    env = lab.target("faultfs:cifs-like") / "env"
    proc = run_cli("venv", str(env), "--python", str(python), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["strategy"], report["libpython"]) == ("copy", "copy")
    assert loaded_libpython(env / "bin" / "python") == {os.path.realpath(env / "lib" / soname)}


def test_a_libpython_copied_into_the_env_is_on_disk_before_the_env_is_renamed_into_place(
    base: Path, tmp_path: Path
) -> None:
    """Where the env holds its own libpython (no patchelf: a copy), that copy is synced
    before the rename that puts the env in place, as the interpreter is (strace)."""
    from support import ANYVENV, traced_calls

    env = tmp_path / "env"
    no_patchelf = ["env", "ANYVENV_PATCHELF="]  # (the copy, not a patched RUNPATH)
    argv = [*no_patchelf, *ANYVENV, "venv", "-q", "--strategy", "copy", "--python", str(base)]
    calls = traced_calls([*argv, str(env)], "fsync,rename,renameat2")
    renamed = next(i for i, call in enumerate(calls) if f', "{env}")' in call)
    synced = [c for c in calls[:renamed] if c.startswith("fsync(") and "/lib/libpython" in c]
    assert len(synced) == 1, calls
    assert (env / "lib" / f"libpython{base.name.removeprefix('python')}.so.1.0").is_file()
