"""uv.lock where uv cannot write it in place: where chmod fails it cannot replace it (it copies
the old file's mode onto the new one, and that fchmod fails with ENOSYS on FAT), so when it
must change it is set aside (or locked in a copy: :mod:`anyvenv.project.localcopy`); where a
file held open cannot be renamed (SMB through libsmbclient) it can write none, so a lock that
is missing or must change is made in a copy."""

from __future__ import annotations

import os

from anyvenv.fs.outcome import NO_REWRITES, ONLY_NEW_FILES
from anyvenv.project.uvcall import READ_ONLY_SYNC_FLAGS
from anyvenv.project.uvrules import env_flag, has_flag

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

LOCK_WRITE_FREE_FLAGS = ("--locked", "--frozen", *READ_ONLY_SYNC_FLAGS)
LOCK_ASIDE_NAME = ".uv.lock.anyvenv-old"


def may_rewrite_lock(uv_args: Sequence[str], environ: Mapping[str, str]) -> bool:
    if has_flag(uv_args, *LOCK_WRITE_FREE_FLAGS):
        return False
    return not any(env_flag(environ, key) for key in ("UV_LOCKED", "UV_FROZEN"))


SYNC_CHECK = ("--locked", "--dry-run")  # uv sync: is the lock current, changing nothing?
LOCK_CHECK = ("--check",)  # uv lock's own


def lock_is_current(
    command: Sequence[str], uv_env: Mapping[str, str], cwd: str, check: Sequence[str] = SYNC_CHECK
) -> bool:
    """``command`` (``uv sync`` or ``uv lock`` with the same options) asked whether uv.lock
    needs no change."""
    import subprocess  # here: only where uv cannot write uv.lock in place

    from anyvenv.uvbinary import in_utf8_locale

    proc = subprocess.run(
        [*command, *check],
        env=dict(in_utf8_locale(uv_env)),  # (see there: else uv misreads the env's prefix)
        cwd=cwd,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode == 0


class RewritableLockfile:
    """``lockfile`` where uv cannot replace it (``rewrites``: ``ProbeResult.rewrites`` there).
    Where only new files can be written (chmod fails) and it must change, it is set aside so
    that uv writes a new one (resolved afresh; a note says so), and put back if uv fails.
    Where no file can be written as uv writes one (a file held open cannot be renamed), it
    must be locked in a copy (``in_copy_only``) if it is missing or must change."""

    def __init__(
        self,
        lockfile: str,
        rewrites: str,
        notes: list[str],
        command: Sequence[str],
        uv_env: Mapping[str, str],
        uv_args: Sequence[str],
        cwd: str,
        check: Sequence[str] = SYNC_CHECK,
    ) -> None:
        self.lockfile = lockfile
        self.notes = notes
        self.aside: str | None = None
        self.why_not_in_copy: str | None = None  # why it could not be locked in a copy
        exists = os.path.isfile(lockfile)
        # (where new files can be written, uv writes a missing lock itself)
        concerned = rewrites == NO_REWRITES or (rewrites == ONLY_NEW_FILES and exists)
        changes = (
            concerned
            and may_rewrite_lock(uv_args, uv_env)
            and not (exists and lock_is_current(command, uv_env, cwd, check))
        )
        self.set_aside = changes and rewrites == ONLY_NEW_FILES
        self.in_copy_only = changes and rewrites == NO_REWRITES

    def __enter__(self) -> None:
        if self.set_aside:
            self.aside = os.path.join(os.path.dirname(self.lockfile), LOCK_ASIDE_NAME)
            os.replace(self.lockfile, self.aside)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.aside is None:
            return
        if kind is None and os.path.isfile(self.lockfile):
            try:
                os.unlink(self.aside)
            except OSError:
                pass
            why = f" (it cannot be locked in a copy: {self.why_not_in_copy})"
            self.notes.append(
                "uv cannot replace uv.lock on this filesystem (chmod fails), so it was written "
                f"anew: versions were resolved again{why if self.why_not_in_copy else ''}"
            )
        else:
            os.replace(self.aside, self.lockfile)
