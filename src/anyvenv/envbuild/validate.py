"""Run a new env's python and check that it is what we built: prefix, base, version, libpython."""

from __future__ import annotations

import os

from anyvenv.errors import EnvironmentBroken
from anyvenv.fs.paths import same_file
from anyvenv.interpreter.query import LOADED_LIBPYTHONS_CODE, InterpreterInfo, failure_line
from anyvenv.record import record
from anyvenv.spawn import Child, SpawnTimeout

# Run inside an env's python: ``FACTS`` (a dict) of where it stands, ready to print as JSON;
# ``libpython`` is what the loader really mapped (Linux), not what sysconfig claims.
RUNNING_FACTS_CODE = (
    "import sys\n"
    + LOADED_LIBPYTHONS_CODE
    + "FACTS = {'prefix': sys.prefix, 'base_prefix': sys.base_prefix,"
    " 'version': list(sys.version_info[:3]), 'libpython': libs}\n"
)
# The answer: NUL-separated fields, as bytes (exact for any path; no json to import here).
_CHECK_SCRIPT = RUNNING_FACTS_CODE + (
    "import os\n"
    "fields = [FACTS['prefix'], FACTS['base_prefix'], '.'.join(map(str, FACTS['version']))]\n"
    "sys.stdout.buffer.write(b'\\0'.join(map(os.fsencode, fields + FACTS['libpython'])))\n"
)


@record
class RunningFacts:
    """What the env's python says when it runs."""

    prefix: str
    base_prefix: str
    version: tuple[int, int, int]
    libpython: tuple[str, ...]


def start_check(python: str | os.PathLike[str]) -> Child:
    """Start the check in the background so the caller can keep writing files meanwhile."""
    # -I: no user site, no PYTHON* variables; site must run, as it sets sys.prefix to the env;
    # -B: a check writes nothing into the env (no .pyc of the mode shim)
    try:
        return Child([python, "-I", "-B", "-c", _CHECK_SCRIPT])
    except OSError as exc:
        raise EnvironmentBroken(
            f"the new environment's python cannot be started: {exc.strerror}"
        ) from exc


def finish_check(process: Child, timeout: float = 120.0) -> RunningFacts:
    try:
        done = process.wait(timeout)
    except SpawnTimeout as exc:
        raise EnvironmentBroken(
            "the new environment's python did not finish its start-up check"
        ) from exc
    if done.returncode != 0:
        why = failure_line(done.stderr.decode(errors="replace"), done.returncode)
        raise EnvironmentBroken(f"the new environment's python does not run: {why}")
    fields = [os.fsdecode(field) for field in done.stdout.split(b"\0")]
    try:
        prefix, base_prefix, version, *libpython = fields
        major, minor, micro = (int(part) for part in version.split("."))
    except ValueError as exc:
        raise EnvironmentBroken(
            f"the new environment's python gave an answer we cannot read: {done.stdout[:200]!r}"
        ) from exc
    return RunningFacts(prefix, base_prefix, (major, minor, micro), tuple(libpython))


def verify(
    facts: RunningFacts,
    env: str | os.PathLike[str],
    info: InterpreterInfo,
    expected_libpython: str | None,
) -> None:
    """Raise :class:`EnvironmentBroken` naming the first thing that is not as built."""
    if not same_file(facts.prefix, env):
        raise EnvironmentBroken(f"the new python's sys.prefix is {facts.prefix}, not {env}")
    if not same_file(facts.base_prefix, info.prefix):
        raise EnvironmentBroken(
            f"the new python's sys.base_prefix is {facts.base_prefix}, not {info.prefix}"
        )
    if facts.version != info.version:
        raise EnvironmentBroken(
            f"the new python is version {'.'.join(map(str, facts.version))}, expected {info.version_text}"
        )
    loaded_expected = any(same_file(lib, expected_libpython or "") for lib in facts.libpython)
    if expected_libpython is not None and facts.libpython and not loaded_expected:
        raise EnvironmentBroken(
            f"the new python loaded {', '.join(facts.libpython)} instead of {expected_libpython}"
        )
