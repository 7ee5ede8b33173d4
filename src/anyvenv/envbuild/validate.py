"""Run a new env's python and check that it is what we built: prefix, base, version, libpython."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from anyvenv.errors import EnvironmentBroken
from anyvenv.interpreter.query import InterpreterInfo

# Run inside an env's python: ``FACTS`` (a dict) of where it stands, ready to print as JSON;
# ``libpython`` is what the loader really mapped (Linux), not what sysconfig claims.
RUNNING_FACTS_CODE = (
    "import sys\n"
    "libs = []\n"
    "try:\n"
    "    with open('/proc/self/maps') as f:\n"
    "        libs = sorted({l.split(None, 5)[-1].strip() for l in f if 'libpython' in l and '/' in l})\n"
    "except OSError:\n"
    "    pass\n"
    "FACTS = {'prefix': sys.prefix, 'base_prefix': sys.base_prefix,"
    " 'version': list(sys.version_info[:3]), 'libpython': libs}\n"
)
_CHECK_SCRIPT = RUNNING_FACTS_CODE + "import json\nprint(json.dumps(FACTS))\n"


@dataclass(frozen=True)
class RunningFacts:
    """What the env's python says when it runs."""

    prefix: str
    base_prefix: str
    version: tuple[int, int, int]
    libpython: tuple[str, ...]


def start_check(python: Path, info: InterpreterInfo) -> subprocess.Popen[bytes]:
    """Start the check in the background so the caller can keep writing files meanwhile."""
    # -I: no user site, no PYTHON* variables; site must run, as it sets sys.prefix to the env
    args = [os.fspath(python), "-I", "-c", _CHECK_SCRIPT]
    try:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise EnvironmentBroken(
            f"the new environment's python cannot be started: {exc.strerror}"
        ) from exc


def finish_check(process: subprocess.Popen[bytes], timeout: float = 120.0) -> RunningFacts:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.communicate()
        raise EnvironmentBroken(
            "the new environment's python did not finish its start-up check"
        ) from exc
    if process.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or [
            f"exit code {process.returncode}"
        ]
        raise EnvironmentBroken(f"the new environment's python does not run: {last[0]}")
    data = json.loads(out)
    version = data["version"]
    return RunningFacts(
        prefix=data["prefix"],
        base_prefix=data["base_prefix"],
        version=(int(version[0]), int(version[1]), int(version[2])),
        libpython=tuple(data["libpython"]),
    )


def _same_path(a: str, b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def verify(
    facts: RunningFacts, env: Path, info: InterpreterInfo, expected_libpython: str | None
) -> None:
    """Raise :class:`EnvironmentBroken` naming the first thing that is not as built."""
    if not _same_path(facts.prefix, env):
        raise EnvironmentBroken(f"the new python's sys.prefix is {facts.prefix}, not {env}")
    if not _same_path(facts.base_prefix, info.prefix):
        raise EnvironmentBroken(
            f"the new python's sys.base_prefix is {facts.base_prefix}, not {info.prefix}"
        )
    if facts.version != info.version:
        raise EnvironmentBroken(
            f"the new python is version {'.'.join(map(str, facts.version))}, expected {info.version_text}"
        )
    loaded_expected = any(_same_path(lib, expected_libpython or "") for lib in facts.libpython)
    if expected_libpython is not None and facts.libpython and not loaded_expected:
        raise EnvironmentBroken(
            f"the new python loaded {', '.join(facts.libpython)} instead of {expected_libpython}"
        )
