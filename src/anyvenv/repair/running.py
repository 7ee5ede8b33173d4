"""Start an environment's python once and ask it where it stands: prefix, base, version,
the libpython it loaded and whether its site-packages is on sys.path."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from anyvenv.envbuild.validate import RUNNING_FACTS_CODE
from anyvenv.fs.outcome import errno_name

# -I: no user site, no PYTHON* variables; -B: write no .pyc (check changes nothing)
_SCRIPT = RUNNING_FACTS_CODE + (
    "import json, sysconfig\n"
    "FACTS.update(purelib=sysconfig.get_paths()['purelib'], path=sys.path)\n"
    "print(json.dumps(FACTS))\n"
)
TIMEOUT = 60.0


@dataclass(frozen=True)
class Started:
    """What the env's python said of itself."""

    prefix: str
    base_prefix: str
    version: tuple[int, int, int]
    libpython: tuple[str, ...]
    purelib: str
    path: tuple[str, ...]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def site_packages_on_path(self) -> bool:
        return self.purelib in self.path


@dataclass(frozen=True)
class Failed:
    """Why it did not start: an errno from exec, or an exit code and the last stderr line."""

    errno: str | None
    returncode: int | None
    detail: str


def start(python: Path, timeout: float = TIMEOUT) -> Started | Failed:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    try:
        proc = subprocess.run(
            [os.fspath(python), "-I", "-B", "-c", _SCRIPT],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
        )
    except OSError as exc:
        return Failed(errno_name(exc.errno), None, exc.strerror or str(exc))
    except subprocess.TimeoutExpired:
        return Failed("ETIMEDOUT", None, f"did not finish within {timeout:.0f}s")
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        return Failed(None, proc.returncode, lines[-1] if lines else "no output")
    try:
        data = json.loads(proc.stdout)
        version = data["version"]
        return Started(
            prefix=data["prefix"],
            base_prefix=data["base_prefix"],
            version=(int(version[0]), int(version[1]), int(version[2])),
            libpython=tuple(data["libpython"]),
            purelib=data["purelib"],
            path=tuple(data["path"]),
        )
    except (ValueError, KeyError, TypeError, IndexError):
        return Failed(None, proc.returncode, "printed something that is not the expected answer")
