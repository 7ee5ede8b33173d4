"""A small uv project with real local wheels, and running ``anyvenv``/``uv`` on it offline."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from support import ANYVENV
from wheels import build_wheel

SRC = Path(__file__).resolve().parent.parent / "src"


def pyenv_python(minor: str) -> Path | None:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{minor}.*/bin/python{minor}"))
    return Path(found[-1]) if found else None


PY_MAIN = pyenv_python("3.12")
PY_OTHER = pyenv_python("3.11")
needs_pythons = pytest.mark.skipif(
    PY_MAIN is None or PY_OTHER is None, reason="needs pyenv's 3.12 and 3.11"
)


def build_index(directory: Path) -> Path:
    """alpha (console script, needs beta), beta (package data, a data-scheme file and a
    script), gamma (plain), devtool (the dev group's, with a console script)."""
    build_wheel(
        directory,
        "alpha",
        modules={"alpha/__init__.py": "def main():\n    print('alpha says hi')\n"},
        console_scripts={"alpha-hello": "alpha:main"},
        requires=["beta"],
    )
    build_wheel(
        directory,
        "beta",
        modules={
            "beta/__init__.py": (
                "import pathlib\nDATA = (pathlib.Path(__file__).parent / 'data.json').read_text()\n"
            )
        },
        data_files={
            "beta/data.json": b'{"beta": 1}\n',
            "beta-1.0.data/data/share/beta/readme.txt": b"beta readme\n",
            "beta-1.0.data/scripts/beta-tool": b"#!python\nimport beta\nprint(beta.DATA.strip())\n",
        },
    )
    build_wheel(directory, "gamma", modules={"gamma/__init__.py": "VALUE = 3\n"})
    build_wheel(
        directory,
        "devtool",
        modules={"devtool/__init__.py": "def main():\n    print('devtool ok')\n"},
        console_scripts={"devtool": "devtool:main"},
    )
    return directory


def write_project(
    root: Path,
    dependencies: Sequence[str] = ("alpha",),
    requires_python: str = ">=3.10",
    python_version: str | None = "3.12",
    name: str = "demo",
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    deps = ", ".join(json.dumps(d) for d in dependencies)
    text = (
        f'[project]\nname = "{name}"\nversion = "0.1"\nrequires-python = "{requires_python}"\n'
        f'dependencies = [{deps}]\n\n[dependency-groups]\ndev = ["devtool"]\n'
    )
    replace_file(root / "pyproject.toml", text.encode())
    if python_version is not None:
        replace_file(root / ".python-version", f"{python_version}\n".encode())
    return root


def replace_file(path: Path, data: bytes) -> None:
    """Write a new file and rename it over the old one: fusefat corrupts a file rewritten in
    place (its truncate frees the cluster the file still names)."""
    temp = path.with_name(path.name + ".new")
    temp.write_bytes(data)
    os.replace(temp, path)


def project_environ(home: Path, **extra: str) -> dict[str, str]:
    """Offline, isolated from the user's uv config; our pyenv Pythons first on PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("UV_") and key not in ("VIRTUAL_ENV", "PYTHONHOME")
    }
    dirs = [str(p.parent) for p in (PY_MAIN, PY_OTHER) if p is not None]
    env.update(
        PYTHONPATH=str(SRC),
        PATH=os.pathsep.join([*dirs, env.get("PATH", os.defpath)]),
        UV_CACHE_DIR=str(home / "uv-cache"),
        UV_OFFLINE="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    env.update(extra)
    return env


def run(
    command: Sequence[str | os.PathLike[str]], cwd: Path, env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fspath(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def anyvenv(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return run([*ANYVENV, *args], cwd, env, timeout)


def alpha_says_hi(project: Path, env: dict[str, str]) -> None:
    """The console script of the test index's alpha runs in ``project``'s env, unsynced."""
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr


def uv_binary() -> str:
    from uv import find_uv_bin

    return os.fspath(find_uv_bin())


def index_args(index: Path) -> list[str]:
    return ["--find-links", str(index), "--no-index"]


def sync_json(
    project: Path, env: dict[str, str], index: Path, *extra: str
) -> tuple[dict[str, object], subprocess.CompletedProcess[str]]:
    proc = anyvenv("sync", "--json", *index_args(index), *extra, cwd=project, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc


def syncs_at_once(
    project: Path, env: dict[str, str], index: Path, count: int = 2
) -> list[subprocess.CompletedProcess[str]]:
    """``anyvenv sync`` started ``count`` times at once on one project."""
    results: list[subprocess.CompletedProcess[str]] = []

    def one() -> None:
        results.append(anyvenv("sync", *index_args(index), cwd=project, env=env))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
