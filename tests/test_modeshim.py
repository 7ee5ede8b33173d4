"""The env's chmod shim, in the env's own interpreter, on the mounts that need it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anyvenv.envbuild.config import read_pyvenv_cfg
from anyvenv.envbuild.modeshim import SHIM_PTH
from lab import Lab
from support import cli_env, run_cli

BASE = (
    "/root/.pyenv/versions/3.11.7/bin/python3.11"
    if Path("/root/.pyenv/versions/3.11.7").exists()
    else "/usr/bin/python3.11"
)

MAKE_EXECUTABLE = (
    "import os, sys, subprocess\n"
    "path = sys.argv[1]\n"
    "with open(path, 'w') as f: f.write('#!/bin/sh\\necho ran\\n')\n"
    "os.chmod(path, 0o755)\n"
    "print(subprocess.run([path], capture_output=True, text=True).stdout.strip())\n"
)


def make_env(where: Path) -> Path:
    env = where / "env"
    proc = run_cli("venv", str(env), "--python", BASE)
    assert proc.returncode == 0, proc.stderr
    return env


def assert_made_executable_file_runs(env: Path, target: Path) -> None:
    """The env's python writes a script into ``target``, chmods it executable, and runs it."""
    proc = subprocess.run(
        [str(env / "bin" / "python"), "-c", MAKE_EXECUTABLE, str(target / "tool")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ran"


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "faultfs:chmod-enosys", "fat"])
def test_files_made_executable_in_the_env_can_run(target: Path) -> None:
    env = make_env(target)
    assert read_pyvenv_cfg(env)["anyvenv-mode-shim"] == "true"
    assert_made_executable_file_runs(env, target)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_without_the_shim_the_exec_bit_is_lost(target: Path) -> None:
    """The control: the same steps with the base interpreter leave a file that cannot run."""
    proc = subprocess.run(
        [BASE, "-c", MAKE_EXECUTABLE, str(target / "tool")], capture_output=True, text=True
    )
    assert "Permission denied" in proc.stderr


def test_shim_leaves_other_filesystems_alone(lab: Lab, tmp_path: Path) -> None:
    env = make_env(lab.target("faultfs:chmod-enosys"))
    elsewhere = lab.target("fat") / "file"
    elsewhere.write_text("x")
    proc = subprocess.run(
        [str(env / "bin" / "python"), "-c", f"import os; os.chmod({str(elsewhere)!r}, 0o700)"],
        capture_output=True,
        text=True,
    )
    assert "Function not implemented" in proc.stderr, (
        "ENOSYS off the env's filesystem is not hidden"
    )


def test_no_shim_where_chmod_works(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    assert read_pyvenv_cfg(env)["anyvenv-mode-shim"] == "false"
    assert not list(env.glob(f"lib/python*/site-packages/{SHIM_PTH}"))


@pytest.mark.parametrize("lab_kind", ["exfat", "faultfs:cifs-like"])
def test_no_shim_where_chmod_is_ignored_but_every_file_is_executable(target: Path) -> None:
    """Nothing is lost to an ignored chmod there, and the shim would cost every start; what
    pip installs still runs (test_venv.py's pip test covers these kinds too)."""
    env = make_env(target)
    assert read_pyvenv_cfg(env)["anyvenv-mode-shim"] == "false"
    assert not list(env.glob(f"lib/python*/site-packages/{SHIM_PTH}"))
    assert_made_executable_file_runs(env, target)


DIRECTORY_AND_LINK = (
    "import os, shutil, sys\n"
    "where = sys.argv[1]\n"
    "os.mkdir(os.path.join(where, 'tree'))\n"
    "os.chmod(os.path.join(where, 'tree'), 0o755)  # (pip's wheel builder, copytree)\n"
    "with open(os.path.join(where, 'tree', 'f'), 'w') as f: f.write('x')\n"
    "shutil.copytree(os.path.join(where, 'tree'), os.path.join(where, 'copy'))\n"
    "with open(os.path.join(where, 'tool'), 'w') as f: f.write('#!/bin/sh\\necho ran\\n')\n"
    "try:\n"
    "    os.symlink('tool', os.path.join(where, 'link'))\n"
    "except OSError:  # (FAT has no links)\n"
    "    os.chmod(os.path.join(where, 'tool'), 0o755)\n"
    "else:\n"
    "    os.chmod(os.path.join(where, 'link'), 0o755)\n"
    "    assert os.path.islink(os.path.join(where, 'link'))\n"
    "print(os.access(os.path.join(where, 'tool'), os.X_OK))\n"
)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_directories_and_links_through_the_shim(target: Path) -> None:
    """chmod of a directory where chmod fails is the no-op the filesystem would do (it
    failed: shutil.copytree, pip's wheel builder); chmod through a link gives its target the
    mode and leaves the link a link (it was replaced by a copy)."""
    env = make_env(target)
    proc = subprocess.run(
        [str(env / "bin" / "python"), "-c", DIRECTORY_AND_LINK, str(target)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True"]
    assert (target / "copy" / "f").read_text() == "x"


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_anyvenv_run_from_an_env_with_the_shim_measures_chmod_as_it_is(target: Path) -> None:
    """anyvenv installed into such an env (its python loads the shim): its probe of that
    filesystem still sees chmod fail, so the envs it makes there get the shim and uv
    installs through a shadow env, as from anyvenv installed anywhere else."""
    env = make_env(target)
    probed = subprocess.run(
        [str(env / "bin" / "python"), "-c",
         "import os, sys; from anyvenv.fs.probe import probe; "
         "print(os.chmod.__module__, probe(sys.argv[1]).chmod)", str(target)],
        capture_output=True, text=True, env=cli_env(), check=True,
    )  # fmt: skip
    assert probed.stdout.split() == ["_anyvenv_modes", "ENOSYS"], probed


CHMOD_TWO_FILES = (
    "import os, sys\n"
    "where = sys.argv[1]\n"
    "inodes = []\n"
    "for name in ('one.so', 'two.so'):\n"
    "    path = os.path.join(where, name)\n"
    "    with open(path, 'wb') as f: f.write(b'x' * 4096)\n"
    "    before = os.stat(path).st_ino\n"
    "    os.chmod(path, 0o755)\n"
    "    inodes.append(os.stat(path).st_ino == before)\n"
    "print(*inodes, *(os.access(os.path.join(where, n), os.X_OK) for n in ('one.so', 'two.so')))\n"
)


@pytest.mark.parametrize(
    ("lab_kind", "umask", "kept"),
    [
        ("fat", 0o022, "False True"),
        ("faultfs:chmod-ignored", 0o022, "False False"),
        ("faultfs:chmod-ignored", 0o027, "False False"),
        ("faultfs:chmod-ignored", 0o077, "False False"),
    ],
)
def test_a_file_is_rewritten_only_where_that_gives_it_its_mode(
    lab_kind: str, umask: int, kept: str, target: Path
) -> None:
    """fusefat shows every file 0700 whatever it was made with: once a rewrite has shown
    that, the shim stops rewriting files (pip's chmod of each .so of numpy cost seconds);
    where the mode given at creation sticks, each file is rewritten with it, under a umask
    that takes the group's or others' bits too (not taken for a mode that did not stick)."""
    env = make_env(target)
    proc = subprocess.run(
        [str(env / "bin" / "python"), "-c", CHMOD_TWO_FILES, str(target)],
        capture_output=True, text=True, check=True, preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert proc.stdout.split() == [*kept.split(), "True", "True"], proc


RECREATE_ON_A_FULL_DISK = (
    "import os, sys\n"
    "namespace = {}\n"
    "exec(sys.argv[2], namespace)\n"
    "path = os.path.join(sys.argv[1], 'big.so')\n"
    "try:\n"
    "    namespace['_recreate_with_mode'](path, 0o755)\n"
    "except OSError as exc:\n"
    "    print(exc.errno == 28, sorted(os.listdir(sys.argv[1])))\n"
)


def test_a_rewrite_that_fills_the_disk_leaves_nothing_behind(lab: Lab) -> None:
    """No space for the copy: the error is the caller's (chmod's, which the shim keeps to
    itself), and no half-written temp file stays beside the file, which no RECORD lists."""
    from anyvenv.envbuild.modeshim import SHIM_SOURCE

    small = lab.small_target(512)
    (small / "big.so").write_bytes(b"x" * 300 * 1024)
    proc = subprocess.run(
        [sys.executable, "-c", RECREATE_ON_A_FULL_DISK, str(small), SHIM_SOURCE],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert proc.stdout.strip().split(maxsplit=1) == ["True", "['big.so']"], proc


PATH_CHMOD = (
    "import os, pathlib, shutil, sys, subprocess\n"
    "tool = pathlib.Path(sys.argv[1])\n"
    "tool.write_text('#!/bin/sh\\necho ran\\n')\n"
    "tool.chmod(0o755)\n"
    "local = pathlib.Path(sys.argv[2])\n"
    "local.write_text('x')\n"
    "local.chmod(0o640)\n"
    "shutil.copymode(str(local), str(local))\n"
    "print(subprocess.run([str(tool)], capture_output=True, text=True).stdout.strip(),"
    " oct(local.stat().st_mode & 0o777))\n"
)


@pytest.mark.parametrize("minor", ["3.8", "3.9", "3.10", "3.12"])
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "faultfs:chmod-enosys"])
def test_path_chmod_goes_through_the_shim_in_every_python(
    minor: str, target: Path, tmp_path: Path
) -> None:
    """pathlib before 3.11 keeps os.chmod as a class attribute of its accessor: a shim that
    put a function there broke every Path.chmod in the env, on any disk."""
    from repair_support import base_python

    env = target / "env"
    made = run_cli("venv", str(env), "--python", str(base_python(minor)))
    assert made.returncode == 0, made.stderr
    assert (env / "lib" / f"python{minor}" / "site-packages" / SHIM_PTH).is_file()
    proc = subprocess.run(
        [str(env / "bin" / "python"), "-c", PATH_CHMOD, str(target / "tool"), str(tmp_path / "f")],
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stdout) == (0, "ran 0o640\n"), proc.stderr


def test_the_shim_is_added_once_and_kept_in_the_sets_shutil_asks(tmp_path: Path) -> None:
    """add_mode_shim gives an env's site-packages the shim where it has none, and leaves one
    that is there as it is; the stand-in is in os.supports_* wherever os.chmod was, so
    shutil passes it what it would pass os.chmod."""
    from anyvenv.envbuild.modeshim import SHIM_MODULE, SHIM_SOURCE, add_mode_shim

    site = tmp_path / "site-packages"
    site.mkdir()
    assert add_mode_shim(str(site))
    module = site / f"{SHIM_MODULE}.py"
    first = module.stat().st_ino
    assert not add_mode_shim(str(site)) and module.stat().st_ino == first
    code = (
        SHIM_SOURCE
        + "\nassert _os.chmod is chmod and chmod in _os.supports_dir_fd"
        + "\nassert (chmod in _os.supports_follow_symlinks)"
        + " == (_REAL_CHMOD in _os.supports_follow_symlinks)\nprint('in')\n"
    )
    (tmp_path / "shim.py").write_text(code)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "shim.py")], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "in\n"), done.stderr
