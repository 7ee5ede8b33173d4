"""Things the benchmarks need that are built here, offline: tiny wheels and a locked project
that uses them, and a base interpreter that finds libpython through ``$ORIGIN/../lib`` (as
python-build-standalone builds did before 2025-04), made from the pyenv build."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from wheels import build_wheel

PACKAGE_PREFIX = "benchpkg"


def package_names(count: int) -> list[str]:
    return [f"{PACKAGE_PREFIX}{index:03d}" for index in range(count)]


def build_wheels(directory: Path, count: int) -> Path:
    """``count`` tiny wheels (a package of two modules and a console script each)."""
    for name in package_names(count):
        build_wheel(
            directory,
            name,
            modules={
                f"{name}/__init__.py": f"NAME = {name!r}\n",
                f"{name}/cli.py": "def main() -> int:\n    print(__name__)\n    return 0\n",
            },
            console_scripts={f"{name}-cli": f"{name}.cli:main"},
        )
    return directory


def write_project(root: Path, count: int) -> Path:
    """A virtual project (no build system) depending on the first ``count`` packages."""
    root.mkdir(parents=True, exist_ok=True)
    deps = ", ".join(json.dumps(name) for name in package_names(count))
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "bench-{count}"\nversion = "0.1"\n'
        f'requires-python = ">=3.10"\ndependencies = [{deps}]\n'
    )
    return root


def offline_environ(environ: Mapping[str, str], wheels: Path) -> dict[str, str]:
    """uv reads only the local wheels: no index, ``--find-links`` from the environment."""
    return {**environ, "UV_NO_INDEX": "1", "UV_FIND_LINKS": str(wheels)}


def lock_project(uv: str, root: Path, python: Path, environ: Mapping[str, str]) -> Path:
    """``uv lock`` once; the lock names wheels by absolute path, so copies work anywhere."""
    subprocess.run(
        [uv, "lock", "-q", "-p", str(python)],
        cwd=root,
        env=dict(environ),
        check=True,
        capture_output=True,
    )
    return root / "uv.lock"


def copy_project(source: Path, destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(source / name, destination / name)
    return destination


def origin_linked_base(root: Path, base: Path) -> Path | None:
    """A copy of ``base`` (an --enable-shared build) whose executable finds libpython through
    RUNPATH ``$ORIGIN/../lib``, with its own libpython and the base's stdlib (a link).
    None without patchelf or without a shared libpython."""
    prefix = base.parent.parent
    minor = base.name.removeprefix("python")
    libpython = prefix / "lib" / f"libpython{minor}.so.1.0"
    patchelf = shutil.which("patchelf")
    if patchelf is None or not libpython.is_file():
        return None
    (root / "bin").mkdir(parents=True, exist_ok=True)
    (root / "lib").mkdir(exist_ok=True)
    executable = root / "bin" / base.name
    shutil.copy2(base, executable)
    subprocess.run([patchelf, "--set-rpath", "$ORIGIN/../lib", str(executable)], check=True)
    shutil.copy2(libpython, root / "lib" / libpython.name)
    (root / "lib" / f"python{minor}").symlink_to(prefix / "lib" / f"python{minor}")
    return executable
