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
        major, minor = self.info.version[0], self.info.version[1]
        names = ["python", f"python{major}", f"python{major}.{minor}"]
        if self.info.free_threaded:
            names.append(f"python{major}.{minor}t")
        return names
