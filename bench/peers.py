"""The programs compared, and the command line each uses to create an environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_PYTHON = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
_LEAKY = (
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "PYTHONHOME",
    "CONDA_PREFIX",
    "UV_PROJECT_ENVIRONMENT",
    "UV_CACHE_DIR",
    "UV_CONFIG_FILE",
)

ANYVENV = "anyvenv venv"
UV = "uv venv"
VENV = "python -m venv --without-pip"
VENV_COPIES = "python -m venv --without-pip --copies"
VIRTUALENV = "virtualenv --no-seed"
VIRTUALENV_COPIES = "virtualenv --no-seed --copies"
VIRTUALENV_DEFAULT = "virtualenv (default: seeds pip)"

Creator = Callable[[Path], list[str]]


@dataclass(frozen=True)
class Tools:
    """Where each compared program is, the base interpreter, and the environment they run in."""

    anyvenv: str
    uv: str
    virtualenv: str
    base: Path
    environ: dict[str, str] = field(default_factory=dict)

    def version_of(self, program: str, *args: str) -> str:
        done = subprocess.run(
            [program, *args], capture_output=True, text=True, env=self.environ, check=False
        )
        return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def find_tools(work: Path, base: Path = BASE_PYTHON) -> Tools:
    """The programs beside this interpreter (the bench venv), with a private uv cache where
    uv puts it by default (``$XDG_CACHE_HOME/uv``): no UV_CACHE_DIR, as for most users."""
    here = Path(sys.executable).parent
    found = {
        name: shutil.which(name, path=str(here)) or shutil.which(name)
        for name in ("anyvenv", "uv", "virtualenv")
    }
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise SystemExit(f"bench: not found: {', '.join(missing)} (run bench/run)")
    environ = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    environ.update(
        XDG_CACHE_HOME=str(work / "xdg-cache"),
        XDG_CONFIG_HOME=str(work / "xdg-config"),  # no uv.toml of this machine's user
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
    )
    return Tools(
        anyvenv=str(found["anyvenv"]),
        uv=str(found["uv"]),
        virtualenv=str(found["virtualenv"]),
        base=base,
        environ=environ,
    )


def creators(tools: Tools, python: Path | None = None) -> dict[str, Creator]:
    """Name -> command line creating an env at a path, for the benchmark's peers."""
    base = str(python or tools.base)
    return {
        ANYVENV: lambda p: [tools.anyvenv, "venv", "-q", "-p", base, str(p)],
        UV: lambda p: [tools.uv, "venv", "-q", "-p", base, str(p)],
        VENV: lambda p: [base, "-m", "venv", "--without-pip", str(p)],
        VENV_COPIES: lambda p: [base, "-m", "venv", "--without-pip", "--copies", str(p)],
        VIRTUALENV: lambda p: [tools.virtualenv, "--no-seed", "-p", base, str(p)],
        VIRTUALENV_COPIES: lambda p: [
            tools.virtualenv,
            "--no-seed",
            "--copies",
            "-p",
            base,
            str(p),
        ],
    }


def matrix_creators(tools: Tools) -> dict[str, Creator]:
    """The compatibility matrix's columns (virtualenv's default seeds pip)."""
    mine = creators(tools)
    base = str(tools.base)
    return {
        UV: mine[UV],
        VENV: mine[VENV],
        VENV_COPIES: mine[VENV_COPIES],
        VIRTUALENV_COPIES: mine[VIRTUALENV_COPIES],
        VIRTUALENV_DEFAULT: lambda p: [tools.virtualenv, "-p", base, str(p)],
        ANYVENV: mine[ANYVENV],
    }


def anyvenv_has(tools: Tools, *command: str) -> bool:
    """Is ``anyvenv <command>`` in the installed version (its --help exits 0)?"""
    done = subprocess.run(
        [tools.anyvenv, *command, "--help"],
        capture_output=True,
        env=tools.environ,
        check=False,
    )
    return done.returncode == 0
