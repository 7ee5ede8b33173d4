"""Helpers shared by the test modules: run the real CLI in a child process."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anyvenv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from lab import LabMount

ANYVENV = [sys.executable, "-m", "anyvenv"]


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **extra}


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``anyvenv ARGS`` with no standard input, as a user would run it."""
    return subprocess.run(
        [*ANYVENV, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or cli_env(),
        stdin=subprocess.DEVNULL,
    )


def run_cli_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as uid 65534 (see :func:`run_python_as_nobody`)."""
    return run_python_as_nobody("-m", "anyvenv", *args)


def run_python_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    """``python3 ARGS`` as uid 65534 (see :func:`as_nobody`)."""
    with as_nobody() as (command, env):
        return subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            cwd="/",
        )


@contextlib.contextmanager
def as_nobody(
    with_uv: bool = False, uid: int = 65534
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """The command that runs the system Python as uid 65534 (or ``uid``: one with no passwd
    entry stands for a container run as an arbitrary user) and its environment, with a
    world-readable copy of the package (the test interpreter may live under /root, which
    nobody cannot enter), and of the uv package and binary ``with_uv``, removed afterwards."""
    package = Path(anyvenv.__file__).parent
    copy = Path(tempfile.mkdtemp(prefix="anyvenv-pkg-", dir="/tmp"))
    try:
        shutil.copytree(package, copy / "anyvenv", ignore=shutil.ignore_patterns("__pycache__"))
        if with_uv:  # found as the uv package finds it beside a --target install: bin/uv
            import uv

            shutil.copytree(Path(uv.__file__).parent, copy / "uv")
            (copy / "bin").mkdir()
            shutil.copy2(uv.find_uv_bin(), copy / "bin" / "uv")
        for path in [copy, *copy.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() or path.name == "uv" else 0o644)
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        yield [*command, "/usr/bin/python3"], {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)}
    finally:
        shutil.rmtree(copy)


@contextlib.contextmanager
def tmpfs_mounted(mount_point: Path, options: str, source: str = "tmpfs") -> Iterator[Path]:
    """A tmpfs mounted at ``mount_point`` (made if missing) with ``options`` (``noexec``,
    ``size=64k``), unmounted after. Needs root, as CI runs."""
    if os.geteuid() != 0:
        raise AssertionError("mounting a tmpfs needs root (CI runs as root)")
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, source, str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def can_run_as_nobody() -> bool:
    return (
        os.geteuid() == 0
        and shutil.which("setpriv") is not None
        and os.path.exists("/usr/bin/python3")
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The error a command printed, checked to be one line with no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("anyvenv: error: "), proc.stderr
    return lines[0]


def entry_names(directory: Path) -> list[str]:
    """Sorted names in ``directory``, without libfuse's transient ``.fuse_hidden*`` files (a
    file unlinked before the kernel's asynchronous release reached the FUSE server)."""
    return sorted(name for name in os.listdir(directory) if not name.startswith(".fuse_hidden"))


RCLONE_WRITE_BACK = 5.0
"""Seconds after its close that rclone uploads a file (its ``--vfs-write-back`` default)."""


def on_rclone_remote(mount: LabMount, directory: Path) -> list[str]:
    """The entries of ``directory`` (on the lab's rclone mount ``mount``) on rclone's remote
    (the lab's source directory), once what rclone had to upload when asked is uploaded."""
    import time

    time.sleep(RCLONE_WRITE_BACK + 3)
    return entry_names(Path(mount.source) / directory.relative_to(mount.root))


def argparse_reading(command: str, argv: list[str]) -> dict[str, object] | None:
    """What argparse makes of ``anyvenv COMMAND ARGV`` (the namespace as a dict), or ``None``
    when it refuses it: the reference the commands' argparse-free readers are compared with."""
    from anyvenv.cli.main import build_parser

    try:
        args = build_parser(only=command).parse_args([command, *argv])
    except Exception:  # _Parser raises AnyvenvError for what argparse refuses
        return None
    values = vars(args)
    values.pop("_module")
    values.pop("command")
    return values


def fake_install(root: Path, name: str, exe: str, record: dict[str, str] | None = None) -> Path:
    """A directory laid out as a Python install (a fake interpreter): for listing and removal."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / exe).write_bytes(b"#!/bin/sh\n")
    with contextlib.suppress(OSError):  # (FAT: chmod fails, every file shows executable)
        (home / "bin" / exe).chmod(0o755)
    (home / "lib").mkdir()
    (home / "lib" / "payload").write_bytes(b"x" * 1000)
    if record is not None:
        from anyvenv.pythons.installed import RECORD_NAME

        (home / RECORD_NAME).write_text(json.dumps(record))
    return home


# the base interpreter of most tests: pyenv's 3.11 (shared libpython) where there is one
PYENV_311 = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
DEBIAN_311 = Path("/usr/bin/python3.11")
BASE = PYENV_311 if PYENV_311.exists() else DEBIAN_311


def read_until_closed(controller: int) -> bytes:
    """Everything written to a pseudo-terminal until its other end is closed (EIO or EOF)."""
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def waits_told(stderr: str) -> list[str]:
    """The lines saying that a command waits for a lock another process holds."""
    return [line for line in stderr.splitlines() if line.startswith("anyvenv: waiting for ")]


def run_while_locked(
    lock_path: str | os.PathLike[str],
    args: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``anyvenv ARGS`` started while another process holds the lock at ``lock_path`` (held
    for 1.5 s, longer than the wait notice's delay; the command must still be waiting then),
    finished once it is released."""
    import time

    from anyvenv.fs.lock import ShareLock

    holder = ShareLock(lock_path)
    holder.acquire()
    try:
        waiting = subprocess.Popen(
            [*ANYVENV, *args],
            cwd=cwd,
            env=env or cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        assert waiting.poll() is None, "it went on (or answered) while the lock was held"
    finally:
        holder.release()
    out, err = waiting.communicate(timeout=120)
    return subprocess.CompletedProcess(waiting.args, waiting.returncode, out, err)


def path_and_managed_pythons(root: Path, path_name: str) -> tuple[dict[str, str], dict[str, Path]]:
    """An environment where pyenv's 3.11 is on PATH (as ``path_name``) and its 3.12 is a
    Python uv manages (under ``XDG_DATA_HOME``), nothing else managed or asked for: the
    environment and the two pythons. Skips the test without them."""
    import pytest

    pythons = {minor: Path(f"/root/.pyenv/versions/{v}/bin/python{minor}") for minor, v in
               (("3.11", "3.11.7"), ("3.12", "3.12.1"))}  # fmt: skip
    if not all(path.exists() for path in pythons.values()):
        pytest.skip("needs pyenv's 3.11 and 3.12")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / path_name).symlink_to(pythons["3.11"])
    managed = root / "data" / "uv" / "python" / "cpython-3.12.1-linux-x86_64-gnu" / "bin"
    managed.mkdir(parents=True)
    (managed / "python3.12").symlink_to(pythons["3.12"])
    env = cli_env(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        XDG_DATA_HOME=str(root / "data"),
        XDG_CONFIG_HOME=str(root / "config"),
        ANYVENV_PYTHON_INSTALL_DIR=str(root / "none"),
    )
    for name in ("UV_PYTHON_INSTALL_DIR", "UV_PYTHON", "UV_PYTHON_PREFERENCE"):
        env.pop(name, None)
    return env, pythons


def traced_calls(
    command: list[str], syscalls: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> list[str]:
    """The system calls ``syscalls`` (strace's ``trace=`` list) that ``command`` and its
    children made, in order, as strace writes them with paths of descriptors shown
    (``fsync(3</dir/file>) = 0``), run with ``env`` (else :func:`cli_env`); skips the test
    where strace is missing (fails under ANYVENV_LAB_REQUIRED=1: CI installs it)."""
    import pytest

    strace = shutil.which("strace")
    if strace is None:
        if os.environ.get("ANYVENV_LAB_REQUIRED") == "1":
            pytest.fail("strace is missing (Debian's strace)")
        pytest.skip("needs strace")
    with tempfile.TemporaryDirectory() as scratch:
        trace = Path(scratch) / "trace"
        done = subprocess.run(
            [strace, "-f", "-y", "-e", f"trace={syscalls}", "-o", str(trace), *command],
            cwd=cwd,
            env={**(env or cli_env()), "PYTHONDONTWRITEBYTECODE": "1"},  # (a .pyc is traced)
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        lines = trace.read_text().splitlines()
    calls = [line.split(None, 1)[1] for line in lines if " " in line]
    return [call for call in calls if not call.startswith(("+++", "---"))]
