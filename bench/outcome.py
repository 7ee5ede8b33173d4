"""What became of a command that should have made an environment: works, fails (with its
error), broken python (made, but its python does not run as the env's), no exec."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from harness import Outcome, Status, Timed

_ERRNO_PATTERNS = (
    re.compile(r"\[Errno (\d+)\]"),
    re.compile(r"\(os error (\d+)\)"),
    re.compile(r"errno[ =:]+(\d+)", re.IGNORECASE),
)
_PREFERRED_NAMES = {
    errno.EOPNOTSUPP: "EOPNOTSUPP",
    errno.EDEADLK: "EDEADLK",
    errno.EAGAIN: "EAGAIN",
}
_ERRNO_WORDS = {os.strerror(number): number for number in errno.errorcode}
_CHECK_SCRIPT = "import sys; print(sys.prefix)"


def errno_name(number: int) -> str:
    return _PREFERRED_NAMES.get(number) or errno.errorcode.get(number, f"errno {number}")


def errno_label(text: str) -> str | None:
    """``EOPNOTSUPP (95)`` from ``[Errno 95]``, ``(os error 95)`` or a strerror text."""
    for pattern in _ERRNO_PATTERNS:
        match = pattern.search(text)
        if match:
            number = int(match.group(1))
            return f"{errno_name(number)} ({number})"
    for words, number in _ERRNO_WORDS.items():
        if words in text:
            return f"{errno_name(number)} ({number})"
    return None


def error_line(text: str, shorten: Mapping[str, str] | None = None) -> str:
    """The most telling line of an error output: the first naming an errno, else the first
    line saying error, else the first line. Long paths are shortened by ``shorten``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "(no output)"
    chosen = next((line for line in lines if errno_label(line)), None)
    chosen = chosen or next((line for line in lines if "error" in line.lower()), lines[0])
    for long, short in (shorten or {}).items():
        chosen = chosen.replace(long, short)
    return chosen if len(chosen) <= 160 else chosen[:157] + "..."


def short_failure(detail: str, width: int = 60) -> str:
    """A table cell for an error: its errno, else its line without prefixes and paths."""
    label = errno_label(detail)
    if label:
        return label
    line = detail
    for prefix in ("anyvenv: error: ", "error: "):
        line = line.removeprefix(prefix)
    for cut in (" at <", " `<", " <"):
        line = line.split(cut)[0]
    return line if len(line) <= width else line[: width - 3] + "..."


def failure(timed: Timed, shorten: Mapping[str, str] | None = None) -> Outcome:
    label = errno_label(timed.output)
    line = error_line(timed.output, shorten)
    if timed.returncode == -1:
        return Outcome(Status.FAILS, timed.seconds, line, timed.cpu)
    return Outcome(Status.FAILS, timed.seconds, f"{label}: {line}" if label else line, timed.cpu)


def timed_outcome(timed: Timed, checked: Outcome) -> Outcome:
    """``checked``'s verdict with the time and CPU of the command that made the thing checked."""
    return Outcome(checked.status, timed.seconds, checked.detail, timed.cpu)


def check_env_python(env_dir: Path, environ: Mapping[str, str]) -> Outcome:
    """Does ``<env>/bin/python`` start, and is it the env's (sys.prefix is the env)?"""
    python = env_dir / "bin" / "python"
    try:
        done = subprocess.run(
            [str(python), "-c", _CHECK_SCRIPT],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env=dict(environ),
            timeout=120,
            check=False,
        )
    except OSError as exc:
        name = errno_name(exc.errno) if exc.errno else type(exc).__name__
        return Outcome(Status.BROKEN, None, f"bin/python cannot be started: {name}")
    except subprocess.TimeoutExpired:
        return Outcome(Status.BROKEN, None, "bin/python hangs")
    if done.returncode != 0:
        return Outcome(Status.BROKEN, None, f"rc {done.returncode}: {error_line(done.stderr)}")
    prefix = done.stdout.strip()
    if os.path.realpath(prefix) != os.path.realpath(env_dir):
        return Outcome(Status.BROKEN, None, f"runs outside the env (sys.prefix {prefix})")
    return Outcome(Status.WORKS)


def created_outcome(
    timed: Timed,
    env_dir: Path,
    environ: Mapping[str, str],
    can_execute: bool = True,
    shorten: Mapping[str, str] | None = None,
) -> Outcome:
    """The outcome of a creating command that ran: its time, and what it left behind."""
    if timed.returncode != 0:
        return failure(timed, shorten)
    checked = check_env_python(env_dir, environ)
    if checked.status is Status.BROKEN and not can_execute:
        checked = Outcome(Status.NO_EXEC, None, checked.detail)
    return timed_outcome(timed, checked)


def placement_of(env: Path) -> str:
    """anyvenv's pyvenv.cfg keys (strategy, libpython), or how the interpreter entry looks."""
    values: dict[str, str] = {}
    cfg = env / "pyvenv.cfg"
    if cfg.is_file():
        for line in cfg.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    if "anyvenv-strategy" in values:
        library = values.get("anyvenv-libpython", "none")
        return values["anyvenv-strategy"] + ("" if library == "none" else f", libpython {library}")
    python = env / "bin" / "python"
    return "symlink" if python.is_symlink() else "copy"
