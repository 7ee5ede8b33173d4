"""uv.lock where chmod fails: uv cannot replace it there (it copies the old file's mode onto the
new one, and that fchmod fails with ENOSYS on FAT), so when it must change it is set aside."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from anyvenv.project.uvcall import READ_ONLY_SYNC_FLAGS
from anyvenv.project.uvrules import has_flag

LOCK_WRITE_FREE_FLAGS = ("--locked", "--frozen", *READ_ONLY_SYNC_FLAGS)
LOCK_ASIDE_NAME = ".uv.lock.anyvenv-old"


def _may_rewrite_lock(uv_args: Sequence[str], environ: Mapping[str, str]) -> bool:
    if has_flag(uv_args, *LOCK_WRITE_FREE_FLAGS):
        return False
    return not any(
        environ.get(key, "").lower() not in ("", "0", "false", "no")
        for key in ("UV_LOCKED", "UV_FROZEN")
    )


def lock_is_current(command: Sequence[str], uv_env: Mapping[str, str], cwd: Path) -> bool:
    """``uv sync --locked --dry-run`` with the same options: does uv.lock need no change?"""
    import subprocess  # here: only where chmod fails

    proc = subprocess.run(
        [*command, "--locked", "--dry-run"],
        env=dict(uv_env),
        cwd=cwd,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode == 0


@contextlib.contextmanager
def lockfile_rewritable(
    lockfile: Path,
    chmod_fails: bool,
    notes: list[str],
    command: Sequence[str],
    uv_env: Mapping[str, str],
    uv_args: Sequence[str],
    cwd: Path,
) -> Iterator[None]:
    """Where chmod fails (``chmod_fails``) and ``lockfile`` must change, set it aside so that
    uv writes a new one (resolved afresh; a note says so), and put it back if uv fails."""
    if (
        not chmod_fails
        or not _may_rewrite_lock(uv_args, uv_env)
        or not lockfile.is_file()
        or lock_is_current(command, uv_env, cwd)
    ):
        yield
        return
    aside = lockfile.with_name(LOCK_ASIDE_NAME)
    os.replace(lockfile, aside)
    succeeded = False
    try:
        yield
        succeeded = lockfile.is_file()
    finally:
        if succeeded:
            with contextlib.suppress(OSError):
                aside.unlink()
            notes.append(
                "uv cannot replace uv.lock on this filesystem (chmod fails), so it was written "
                "anew: versions were resolved again"
            )
        else:
            os.replace(aside, lockfile)
