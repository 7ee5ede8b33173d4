"""Where things go inside a POSIX virtual environment."""

from __future__ import annotations

import os

from anyvenv.fs import CFG_NAME
from anyvenv.interpreter.query import InterpreterInfo
from anyvenv.record import record

# Paths are strings: importing pathlib costs more start-up time than creating an environment.


@record
class EnvLayout:
    """Paths of an env rooted at ``root`` for a given base interpreter."""

    root: str
    info: InterpreterInfo

    @property
    def bin(self) -> str:
        return os.path.join(self.root, "bin")

    @property
    def lib(self) -> str:
        return os.path.join(self.root, "lib")

    @property
    def site_packages(self) -> str:
        return os.path.join(self.root, self.info.relative_path(self.info.purelib))

    @property
    def platlib(self) -> str:
        return os.path.join(self.root, self.info.relative_path(self.info.platlib))

    @property
    def python(self) -> str:
        return os.path.join(self.bin, "python")

    @property
    def config(self) -> str:
        return os.path.join(self.root, CFG_NAME)

    def executable_names(self) -> list[str]:
        """``python``, ``python3``, ``python3.X`` (and ``python3.Xt`` for free-threaded builds)."""
        return interpreter_names(self.info.version, self.info.free_threaded)


def interpreter_names(version: tuple[int, ...] | None, free_threaded: bool) -> list[str]:
    """What a POSIX env's bin/ should hold: python, python3, python3.X[t] (python and python3
    where the version is not known)."""
    if version is None or len(version) < 2:
        return ["python", "python3"]
    names = ["python", f"python{version[0]}", f"python{version[0]}.{version[1]}"]
    if free_threaded:
        names.append(f"python{version[0]}.{version[1]}t")
    return names


def site_packages_path(version: tuple[int, ...], free_threaded: bool) -> str:
    """``lib/pythonX.Y[t]/site-packages``, relative to the env root: where CPython's site
    looks for an env's packages, for an env whose interpreter is not asked (check and
    repair read the version from pyvenv.cfg or lib/). :attr:`EnvLayout.site_packages`, for
    an env being made, is the interpreter's own answer (its ``venv`` install scheme)."""
    threaded = "t" if free_threaded else ""
    return os.path.join("lib", f"python{version[0]}.{version[1]}{threaded}", "site-packages")
