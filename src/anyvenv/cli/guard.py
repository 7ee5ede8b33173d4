"""How every command ends: an :class:`AnyvenvError` becomes one line on stderr and its exit
code, Ctrl-C exit code 130, a closed output pipe exit code 1. No traceback for a user's
mistake. (Its own module, without argparse, for the paths that skip argparse.)"""

from __future__ import annotations

import errno  # (a builtin module: no start-up cost)
import os
import sys

from anyvenv.errors import EXIT_FAILURE, AnyvenvError

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable


def report(exc: AnyvenvError) -> int:
    _clear_progress()
    print(f"anyvenv: error: {exc.one_line()}", file=sys.stderr)
    return exc.exit_code


def _clear_progress() -> None:
    """A progress bar left drawn by the work that failed is not to be written after (on a
    terminal that may be gone: SIGHUP)."""
    output = sys.modules.get("anyvenv.cli.output")  # (none was drawn if it is not loaded)
    if output is not None:
        try:
            output.clear_progress()
        except (OSError, ValueError):
            pass


class Terminated(BaseException):
    """SIGTERM or SIGHUP (``signum``), raised where the process is, so that what it holds is
    released in order: a child uv is stopped and waited for before the project lock is let
    go, a lock file set aside is put back (a supervisor or ``timeout`` that ends anyvenv, a
    closed terminal or SSH session, must not leave uv running unlocked or a project without
    its uv.lock)."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    if isinstance(sys.exc_info()[1], (Terminated, KeyboardInterrupt)):
        return  # stopping for a signal already (cleaning up, or saying so): a second one
        # (timeout's TERM after a closed terminal's HUP) stops nothing more, and would
        # stop the clean-up or the last line half-way, with a traceback
    raise Terminated(signum)


_SIGHUP = 1  # on every POSIX system (signal's constant would import enum)


def _settle_probes() -> None:
    """The probes a command began early (:func:`anyvenv.fs.probe.start_probe`) are over, and
    what they made removed, when it ends (looked up: a command that began none never
    imports the probe)."""
    probe = sys.modules.get("anyvenv.fs.probe")
    if probe is not None:
        try:
            probe.settle_started()
        except (KeyboardInterrupt, Terminated):  # (a second stop: the first one's code stands)
            pass


def guarded(command: Callable[[], int]) -> int:
    """Run ``command`` and turn the ways it can fail into exit codes."""
    import _signal  # type: ignore[import-not-found]  # not signal: it imports enum (start-up)

    previous: list[tuple[int, object]] = []
    try:
        for signum in (_signal.SIGTERM, _SIGHUP):
            handler = _signal.getsignal(signum)
            if handler != _signal.SIG_DFL:
                continue  # nohup's SIG_IGN, a caller's (the command run inherits it, as under
                # uv run), or a host's own handler is kept
            _signal.signal(signum, _raise_terminated)
            previous.append((signum, handler))
    except ValueError:  # not the main thread (an embedding program's): leave signals be
        pass
    lost: list[BaseException] = []
    hook = sys.unraisablehook

    def keep_stops(unraisable: sys.UnraisableHookArgs) -> None:
        # a signal's exception raised inside a __del__ or a weakref callback is dropped by
        # Python, with a traceback: kept instead, and raised once the command returns
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)):
            lost.append(unraisable.exc_value)
        else:
            hook(unraisable)

    def command_then_stops() -> int:
        code = command()
        if lost:
            raise lost[0]
        return code

    sys.unraisablehook = keep_stops
    try:
        return _exit_code_of(command_then_stops)
    finally:
        _settle_probes()
        sys.unraisablehook = hook
        for signum, handler in previous:  # as they were, for a host that called main()
            _signal.signal(signum, handler)


def _exit_code_of(command: Callable[[], int]) -> int:
    try:
        return command()
    except AnyvenvError as exc:
        return report(exc)
    except KeyboardInterrupt:
        return interrupted()
    except Terminated as stop:
        _clear_progress()
        _say("anyvenv: hung up" if stop.signum == _SIGHUP else "anyvenv: terminated")
        return 128 + stop.signum
    except BrokenPipeError:
        return EXIT_FAILURE
    except UnicodeError:
        encoding = sys.getfilesystemencoding()
        if encoding.lower().replace("-", "") == "utf8":
            raise  # (no locale to blame: a fault of anyvenv's, shown as one)
        from anyvenv.errors import UsageError

        return report(
            UsageError(
                f"a path here cannot be said in this process's filesystem encoding ({encoding}, "
                "from the locale)",
                "run anyvenv with a UTF-8 locale (LC_ALL=C.UTF-8) or PYTHONUTF8=1",
            )
        )
    except FileNotFoundError as exc:
        if exc.filename is not None or _cwd_exists():
            raise
        from anyvenv.errors import UsageError

        return report(
            UsageError("the current directory does not exist", "cd to a directory that does")
        )
    except OSError as exc:
        said = said_in_one_line(exc)
        if said is None:
            raise
        return said


def interrupted() -> int:
    """Ctrl-C: one line (on a line of its own after a prompt), exit code 130."""
    _clear_progress()
    output = sys.modules.get("anyvenv.cli.output")
    after_prompt = output is not None and output.prompt_open()
    _say(("\n" if after_prompt else "") + "anyvenv: interrupted")
    return 130


def _say(line: str) -> None:
    """A last line on stderr, which a closed terminal (SIGHUP) may no longer take."""
    try:
        print(line, file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


# what the machine, not anyvenv, is short of: said in one line wherever it shows
_NO_ROOM_OR_BROKEN = (errno.ENOSPC, errno.EDQUOT, errno.EIO)


# what a full filesystem says instead of ENOSPC: EPERM (some FUSE filesystems), EFBIG
_FULL_SAID_OTHERWISE = (errno.EPERM, errno.EFBIG)


def _full_filesystem(exc: OSError) -> str | None:
    """What to say where the filesystem of the file ``exc`` names has next to no room left
    (so that is the likely cause); ``None`` where it has room or cannot tell."""
    from anyvenv.fs.atomic import NEARLY_FULL_BYTES, room_left

    left = room_left(os.fsdecode(exc.filename))
    if left is None or left >= NEARLY_FULL_BYTES:
        return None
    return f"its filesystem is full ({left // 1024} KiB left): free space on it"


def said_in_one_line(exc: OSError) -> int | None:
    """The exit code after one line on stderr, when ``exc`` is a full disk or an I/O error
    (writing the output, or a file), a limit this process or user ran into (processes,
    memory, open files), or any refusal that names its file (a filesystem that will not,
    not a fault of anyvenv's to show a traceback for); ``None`` for anything else."""
    if isinstance(exc, BrokenPipeError):
        drop_output()
        return EXIT_FAILURE
    from anyvenv.errors import LIMIT_FIXES

    limit_fix = LIMIT_FIXES.get(exc.errno or 0)
    if limit_fix is not None:
        from anyvenv.fs.outcome import errno_name

        print(
            f"anyvenv: error: cannot go on: {exc.strerror} ({errno_name(exc.errno)}); {limit_fix}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    if exc.errno not in _NO_ROOM_OR_BROKEN:
        if exc.filename is None or exc.errno is None:
            return None
        from anyvenv.fs.outcome import errno_name, write_error_fix

        full = _full_filesystem(exc) if exc.errno in _FULL_SAID_OTHERWISE else None
        fix = full or write_error_fix(exc.errno, "check that filesystem and what holds that file")
        print(
            f"anyvenv: error: {os.fsdecode(exc.filename)}: {exc.strerror} "
            f"({errno_name(exc.errno)}); {fix}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    drop_output()  # (if it was the output, what is left of it must not be tried again)
    if exc.filename is not None:
        if exc.errno != errno.EIO:
            fix = "free space on that filesystem"
        else:  # (a full sshfs says EIO)
            fix = _full_filesystem(exc) or "check that device and its connection"
        print(
            f"anyvenv: error: {os.fsdecode(exc.filename)}: {exc.strerror}; {fix}", file=sys.stderr
        )
    else:  # a write without a name: the output, or a file being copied
        print(
            f"anyvenv: error: writing failed: {exc.strerror}; free space where anyvenv writes"
            " and where its output goes, or check that device",
            file=sys.stderr,
        )
    return EXIT_FAILURE


def drop_output() -> None:
    """Point stdout at /dev/null, so that what could not be written is not tried again (with
    a traceback) when the interpreter exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True
