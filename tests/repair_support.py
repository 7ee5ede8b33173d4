"""Helpers for the check/repair/doctor tests: real envs made by uv with a locally built
wheel installed, copies that keep links as links, and a fingerprint of a whole tree."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PYENV = Path("/root/.pyenv/versions")
DEMO_MODULE = "anyvenv_demo"
DEMO_SCRIPT = "demo-tool"
DEMO_EXTRA = "demo_extra"  # importable only through the wheel's .pth file


def base_python(minor: str = "3.12") -> Path:
    """A pyenv build (``--enable-shared``, absolute RUNPATH) of ``minor``."""
    for version in sorted(PYENV.glob(f"{minor}.*"), reverse=True):
        exe = version / "bin" / f"python{minor}"
        if exe.exists():
            return exe
    pytest.skip(f"no pyenv build of Python {minor} on this machine")


def uv_bin() -> str:
    from uv import find_uv_bin

    return os.fspath(find_uv_bin())


def _record(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def demo_wheel(directory: Path) -> Path:
    """A wheel with a module, a console script and a .pth file, written by hand."""
    info = "anyvenv_demo-1.0.dist-info"
    files = {
        f"{DEMO_MODULE}/__init__.py": b"def main():\n    print('demo-ok')\n    return 0\n",
        f"anyvenv_demo_extra/{DEMO_EXTRA}.py": b"VALUE = 42\n",
        "anyvenv_demo.pth": b"anyvenv_demo_extra\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: anyvenv-demo\nVersion: 1.0\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: anyvenv-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[console_scripts]\n{DEMO_SCRIPT} = {DEMO_MODULE}:main\n".encode(),
    }
    record = [_record(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "anyvenv_demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def run(args: list[str | os.PathLike[str]], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fspath(arg) for arg in args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        **kw,  # type: ignore[call-overload]
    )


def uv_venv(env: Path, python: Path) -> None:
    proc = run([uv_bin(), "venv", "--quiet", "--python", python, env])
    assert proc.returncode == 0, proc.stderr


def install_demo(env: Path, wheel_dir: Path) -> None:
    demo_wheel(wheel_dir)
    proc = run(
        [
            uv_bin(), "pip", "install", "--quiet", "--python", env / "bin" / "python",
            "--no-index", "--find-links", wheel_dir, "anyvenv-demo",
        ]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def env_with_demo(env: Path, python: Path, wheel_dir: Path) -> Path:
    """``uv venv`` + the demo wheel, on a disk where links work."""
    uv_venv(env, python)
    install_demo(env, wheel_dir)
    return env


def copy_keeping_links(source: Path, destination: Path) -> None:
    """Copy a tree; links are re-created with the same text (never followed, no stat
    copying, which some mounts refuse on links)."""
    os.mkdir(destination)
    for entry in os.scandir(source):
        target = destination / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir():
            copy_keeping_links(Path(entry.path), target)
        else:
            shutil.copy2(entry.path, target)


def move_env(source: Path, destination: Path) -> None:
    """What a user does with ``cp -a`` then ``rm -r``: the old paths are gone."""
    copy_keeping_links(source, destination)
    shutil.rmtree(source)


def fingerprint(root: Path) -> dict[str, tuple[object, ...]]:
    """Every file (sha256, mode), link (its text or the errno reading it) and directory."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                try:
                    found[rel] = ("link", os.readlink(path))
                except OSError as exc:
                    found[rel] = ("link", f"errno {exc.errno}")
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                found[rel] = ("file", digest, stat.S_IMODE(st.st_mode))
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(directory, d))]
    return found


def anyvenv(
    *args: str | os.PathLike[str], path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, as a user runs it (``path``: another PATH)."""
    src = Path(__file__).resolve().parent.parent / "src"
    env = dict(os.environ, PYTHONPATH=str(src))
    if path is not None:
        env["PATH"] = path
    return run([sys.executable, "-m", "anyvenv", *args], env=env)


_HEAVY = ("test", "tests", "idlelib", "tkinter", "turtledemo", "__pycache__", "site-packages")


def disposable_base(root: Path, minor: str = "3.12") -> Path:
    """A copy of a pyenv install (hard links where possible, no test suite) that a test may
    delete; returns its ``bin/pythonX.Y``."""
    real = base_python(minor)

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(
        real.parent.parent,
        root,
        symlinks=True,
        ignore=shutil.ignore_patterns(*_HEAVY),
        copy_function=link_or_copy,
    )
    return root / "bin" / real.name


def demo_works(env: Path) -> None:
    """The console script runs and both modules import, from this env (writing no bytecode:
    the tests compare the env's files before and after)."""
    quiet = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    script = run([env / "bin" / DEMO_SCRIPT], env=quiet)
    assert script.returncode == 0, script.stderr
    assert script.stdout.strip() == "demo-ok"
    code = f"import sys, {DEMO_MODULE}, {DEMO_EXTRA}; print({DEMO_EXTRA}.VALUE, sys.prefix)"
    imported = run([env / "bin" / "python", "-c", code], env=quiet)
    assert imported.returncode == 0, imported.stderr
    value, prefix = imported.stdout.split()
    assert value == "42"
    assert os.path.samefile(prefix, env)
