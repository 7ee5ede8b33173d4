"""Helpers of the reliability tests: run the CLI traced or killed at a checkpoint (see
``anyvenv.killpoints``), find what runs leave behind, and count what was tried."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from support import cli_env

ANYVENV = [sys.executable, "-m", "anyvenv"]
LEFTOVER_MARKS = (
    ".anyvenv-staging-",
    ".anyvenv-old-",
    ".anyvenv-removing-",
    ".anyvenv-tmp-",
    ".anyvenv-probe-",
    ".anyvenv-rename-probe-",
    ".anyvenv-moving-",
)
PYENV = Path("/root/.pyenv/versions")


def base_python(minor: str = "3.11") -> Path:
    """A pyenv build of ``minor`` (``--enable-shared``), else Debian's, else this Python."""
    for version in sorted(PYENV.glob(f"{minor}.*"), reverse=True):
        exe = version / "bin" / f"python{minor}"
        if exe.exists():
            return exe
    debian = Path(f"/usr/bin/python{minor}")
    return debian if debian.exists() else Path(sys.executable)


@dataclass(frozen=True)
class Checkpoint:
    number: int
    name: str
    seconds: float


def _arguments(args: Sequence[str | os.PathLike[str] | bytes]) -> list[str | bytes]:
    return [arg if isinstance(arg, bytes) else os.fspath(arg) for arg in args]


def run_anyvenv(
    *args: str | os.PathLike[str] | bytes,
    cwd: Path | None = None,
    timeout: float = 300,
    **extra_env: str,
) -> subprocess.CompletedProcess[bytes]:
    """``anyvenv ARGS`` in its own session (a kill takes its children too), no stdin."""
    return subprocess.run(
        [*ANYVENV, *_arguments(args)],
        capture_output=True,
        cwd=cwd,
        env=cli_env(**extra_env),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        timeout=timeout,
    )


def traced(
    *args: str | os.PathLike[str] | bytes, trace: Path, cwd: Path | None = None, **extra_env: str
) -> tuple[subprocess.CompletedProcess[bytes], list[Checkpoint]]:
    """Run to the end, recording the checkpoints reached."""
    trace.unlink(missing_ok=True)
    proc = run_anyvenv(*args, cwd=cwd, ANYVENV_TEST_TRACE=str(trace), **extra_env)
    return proc, read_trace(trace)


def read_trace(trace: Path) -> list[Checkpoint]:
    if not trace.exists():
        return []
    points = []
    for line in trace.read_bytes().decode("utf-8", "surrogateescape").splitlines():
        number, rest = line.split(" ", 1)
        name, seconds = rest.rsplit(" ", 1)
        points.append(Checkpoint(int(number), name, float(seconds)))
    return points


def killed(
    *args: str | os.PathLike[str] | bytes, at: str, cwd: Path | None = None, **extra_env: str
) -> subprocess.CompletedProcess[bytes]:
    """Run with ``ANYVENV_TEST_KILL_AT=at``; returncode -9 when the kill happened."""
    return run_anyvenv(*args, cwd=cwd, ANYVENV_TEST_KILL_AT=at, **extra_env)


def spread(items: Sequence[int], want: int) -> list[int]:
    """``want`` items evenly spread over ``items`` (all of them if there are fewer)."""
    if len(items) <= want:
        return list(items)
    if want == 1:
        return [items[len(items) // 2]]
    step = (len(items) - 1) / (want - 1)
    return sorted({items[round(index * step)] for index in range(want)})


def longest_gap(points: Sequence[Checkpoint]) -> tuple[Checkpoint, float]:
    """The checkpoint after which the run went longest without one (a child running:
    uv, a validation run of the new interpreter), and how long that was."""
    best = max(range(len(points) - 1), key=lambda i: points[i + 1].seconds - points[i].seconds)
    return points[best], points[best + 1].seconds - points[best].seconds


def leftovers(*roots: Path, depth: int = 3) -> list[Path]:
    """Entries below ``roots`` (to ``depth``) whose names mark them as anyvenv's temporaries."""
    found: list[Path] = []
    for root in roots:
        found += _leftovers_below(root, depth)
    return found


def _leftovers_below(directory: Path, depth: int) -> list[Path]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    found: list[Path] = []
    for entry in entries:
        if any(mark in entry.name for mark in LEFTOVER_MARKS):
            found.append(Path(entry.path))
        elif depth > 1 and entry.is_dir(follow_symlinks=False):
            found += _leftovers_below(Path(entry.path), depth - 1)
    return found


def python_prefix(env: Path) -> str | None:
    """``sys.prefix`` as the env's python reports it; ``None`` if it does not run."""
    python = env / "bin" / "python"
    try:
        proc = subprocess.run(
            [python, "-c", "import sys, os; sys.stdout.buffer.write(os.fsencode(sys.prefix))"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    except OSError:
        return None
    return os.fsdecode(proc.stdout) if proc.returncode == 0 else None


def tree_digest(root: Path, skip: Iterable[str] = ("__pycache__",)) -> dict[str, object]:
    """Every entry below ``root``: file bytes, link text or directory (for "untouched")."""
    skipped = set(skip)
    found: dict[str, object] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skipped]
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                found[rel] = "dir"
            else:
                with open(path, "rb") as handle:
                    found[rel] = ("file", handle.read())
    return found
