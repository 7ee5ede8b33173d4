"""What this host says about a process: whether it still runs, and when it started.

Leftover names and lock files name the process that made them; these answers decide whether
that process is gone (its leftovers are ours to clear, its lock ours to take)."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Collection


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


def boot_time() -> int | None:
    """When this machine booted, in seconds since the epoch (``btime`` of /proc/stat);
    ``None`` where it does not say."""
    try:
        with open("/proc/stat", "rb") as handle:
            for line in handle:
                if line.startswith(b"btime "):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _stat_fields(pid: int) -> list[bytes]:
    """The fields of /proc/PID/stat after the command name (state first); [] if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return raw[raw.rfind(b")") + 2 :].split()


def holders_below(directory: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """The processes of this host (those this user may look into) that run a program below
    ``directory``, hold a file below it open, or map one (a library): ``(pid, command name)``
    by pid. What keeps a directory from being renamed on SMB (EACCES there), or emptied on
    a FUSE mount (libfuse hides a removed file still open as ``.fuse_hidden*``), or a file
    from being replaced (EBUSY); a holder on another machine is not seen. Reads /proc: for
    an error's hint or a step that is about to fail, not for a hot path."""
    prefix = os.path.join(os.path.realpath(directory), "")
    return _holders(lambda held: any(path.startswith(prefix) for path in held))


def holders_of(paths: Collection[str | os.PathLike[str]]) -> list[tuple[int, str]]:
    """As :func:`holders_below`, for the files ``paths`` themselves."""
    return sorted({holder for found in holders_by_path(paths).values() for holder in found})


def holders_by_path(
    paths: Collection[str | os.PathLike[str]], *, resolved: bool = False
) -> dict[str, list[tuple[int, str]]]:
    """Those of ``paths`` (as given) that processes of this host run, hold open or map, each
    with those processes (as :func:`holders_of`, in one look at each process): which files
    of many keep a step from being done, and who holds them. ``resolved``: the paths are
    real already (no link in them: not looked up again, a stat each on a share)."""
    given: dict[str, list[str]] = {}
    for path in paths:
        real = os.fspath(path) if resolved else os.path.realpath(path)
        given.setdefault(real, []).append(os.fspath(path))
    found: dict[str, list[tuple[int, str]]] = {}
    for pid in _other_pids() if given else []:
        held = given.keys() & _held_paths(pid)
        if held:
            holder = (pid, _command_name(pid))
            for path in (path for real in sorted(held) for path in given[real]):
                found.setdefault(path, []).append(holder)
    return found


def _holders(holds: Callable[[set[str]], bool]) -> list[tuple[int, str]]:
    return [(pid, _command_name(pid)) for pid in _other_pids() if holds(_held_paths(pid))]


def _other_pids() -> list[int]:
    """The processes of this host but this one, by pid (none where /proc cannot be read)."""
    me = os.getpid()
    try:
        return sorted(
            int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != me
        )
    except OSError:
        return []


def _held_paths(pid: int) -> set[str]:
    """The paths of the files process ``pid`` runs, holds open or maps (a removed one ends
    in `` (deleted)``); what this user may not look into is left out."""
    base = f"/proc/{pid}"
    try:
        fds = os.listdir(f"{base}/fd")
    except OSError:  # (another user's, or gone)
        fds = []
    held = set()
    for link in [f"{base}/exe", *(f"{base}/fd/{fd}" for fd in fds)]:
        try:
            held.add(os.readlink(link))
        except OSError:
            continue
    try:
        with open(f"{base}/maps", "rb") as handle:
            maps = handle.read()
    except OSError:
        return held
    for line in maps.splitlines():  # address perms offset device inode path
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith(b"/"):
            held.add(os.fsdecode(fields[5]))
    return held


def _command_name(pid: int) -> str:
    """The command name of ``pid`` (``comm``: at most 15 bytes), ``?`` if it is gone."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as handle:
            return os.fsdecode(handle.read().strip()) or "?"
    except OSError:
        return "?"


def holders_named(holders: list[tuple[int, str]], at_most: int = 3) -> str:
    """``python (process 12), bash (process 34) and 2 more``."""
    named = ", ".join(f"{name} (process {pid})" for pid, name in holders[:at_most])
    more = len(holders) - at_most
    return named + (f" and {more} more" if more > 0 else "")
