"""Where things go inside a POSIX virtual environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anyvenv.interpreter.query import InterpreterInfo


@dataclass(frozen=True)
class EnvLayout:
    """Paths of an env rooted at ``root`` for a given base interpreter."""

    root: Path
    info: InterpreterInfo

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def lib(self) -> Path:
        return self.root / "lib"

    @property
    def site_packages(self) -> Path:
        return self.root / self.info.relative_path(self.info.purelib)

    @property
    def platlib(self) -> Path:
        return self.root / self.info.relative_path(self.info.platlib)

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def config(self) -> Path:
        return self.root / "pyvenv.cfg"

    def executable_names(self) -> list[str]:
        """``python``, ``python3``, ``python3.X`` (and ``python3.Xt`` for free-threaded builds)."""
        major, minor = self.info.version[0], self.info.version[1]
        names = ["python", f"python{major}", f"python{major}.{minor}"]
        if self.info.free_threaded:
            names.append(f"python{major}.{minor}t")
        return names
