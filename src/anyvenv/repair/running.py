"""Start an environment's python once and ask it where it stands: prefix, base, version,
the libpython it loaded and which standard compiled modules it cannot load."""

from __future__ import annotations

import os

from anyvenv.envbuild.validate import RUNNING_FACTS_CODE
from anyvenv.fs.outcome import errno_name
from anyvenv.record import record
from anyvenv.spawn import SpawnTimeout, run_captured

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from pathlib import Path

# Compiled modules every CPython on Linux has, built in or in lib-dynload: one that does not
# load means the standard library found (from pyvenv.cfg's home) is another build's.
STDLIB_PROBES = ("math", "_struct", "_socket", "select", "binascii")
# -I: no user site, no PYTHON* variables; -B: write no .pyc (check changes nothing).
# The answer: NUL-separated fields (exact for any path; no json on either side): prefix,
# base prefix, version, "t" for a free-threaded build (else empty), the number of libpython
# paths, those paths, the number of standard modules that do not load, those (with why).
_SCRIPT = RUNNING_FACTS_CODE + (
    "import os\n"
    "libs = FACTS['libpython']\n"
    "failed = []\n"
    f"for name in {STDLIB_PROBES!r}:\n"
    "    try:\n"
    "        __import__(name)\n"
    "    except ImportError as exc:\n"
    "        failed.append(f'{name} ({exc})')\n"
    "fields = [FACTS['prefix'], FACTS['base_prefix'], '.'.join(map(str, FACTS['version'])),"
    " 't' if 't' in getattr(sys, 'abiflags', '') else '', str(len(libs)), *libs,"
    " str(len(failed)), *failed]\n"
    "sys.stdout.buffer.write(b'\\0'.join(map(os.fsencode, fields)))\n"
)
TIMEOUT = 60.0


@record
class Started:
    """What the env's python said of itself."""

    prefix: str
    base_prefix: str
    version: tuple[int, int, int]
    libpython: tuple[str, ...]
    unloadable: tuple[str, ...] = ()  # standard compiled modules that failed, with why
    free_threaded: bool = False  # (sys.abiflags has "t": it looks in lib/pythonX.Yt)

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


@record
class Failed:
    """Why it did not start: an errno from exec, or an exit code and the last stderr line."""

    errno: str | None
    returncode: int | None
    detail: str


def start(python: Path, timeout: float = TIMEOUT) -> Started | Failed:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    try:
        done = run_captured([python, "-I", "-B", "-c", _SCRIPT], timeout=timeout, env=env)
    except OSError as exc:
        return Failed(errno_name(exc.errno), None, exc.strerror or str(exc))
    except SpawnTimeout:
        return Failed("ETIMEDOUT", None, f"did not finish within {timeout:g} s")
    if done.returncode != 0:
        from anyvenv.interpreter.query import failure_line

        why = failure_line(done.stderr.decode(errors="replace"), done.returncode)
        return Failed(None, done.returncode, why)
    started = parse_answer(done.stdout)
    if started is None:
        return Failed(None, done.returncode, "printed something that is not the expected answer")
    return started


def parse_answer(stdout: bytes) -> Started | None:
    """The facts the check script printed, or ``None`` if that is not what it printed."""
    fields = [os.fsdecode(field) for field in stdout.split(b"\0")]
    try:
        prefix, base_prefix, version, threaded, count, *rest = fields
        major, minor, micro = (int(part) for part in version.split("."))
        libs = int(count)
    except ValueError:
        return None
    if threaded not in ("", "t"):
        return None
    if not 0 <= libs < len(rest):
        return None
    try:
        failed = int(rest[libs])
    except ValueError:
        return None
    after = rest[libs + 1 :]
    if failed != len(after):
        return None
    return Started(
        prefix=prefix,
        base_prefix=base_prefix,
        version=(major, minor, micro),
        libpython=tuple(rest[:libs]),
        unloadable=tuple(after),
        free_threaded=threaded == "t",
    )
