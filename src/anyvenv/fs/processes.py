"""What this host says about a process: whether it still runs, and when it started.

Leftover names and lock files name the process that made them; these answers decide whether
that process is gone (its leftovers are ours to clear, its lock ours to take)."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host. A process killed and not yet reaped (a zombie,
    which ``kill(pid, 0)`` still reaches) does not: it holds nothing and writes nothing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's: it runs
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """Dead but not yet reaped by its parent (Linux; False where /proc does not say)."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] in (b"Z", b"X")


def process_start_time(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (Linux), "" elsewhere or if gone."""
    fields = _stat_fields(pid)
    return fields[19].decode() if len(fields) > 19 else ""


def _stat_fields(pid: int) -> list[bytes]:
    """The fields of /proc/PID/stat after the command name (state first); [] if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return raw[raw.rfind(b")") + 2 :].split()
