"""Where things go inside a POSIX virtual environment."""

from __future__ import annotations

import os

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
        return os.path.join(self.root, "pyvenv.cfg")

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
