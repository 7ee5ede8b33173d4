"""Run a child program with captured output, cheaply.

``import subprocess`` costs several milliseconds (signal -> enum, threading, selectors,
contextlib...), too much for commands that must start fast. This module imports only
C-level modules (os, sys, select, time) and starts the child with
``os.posix_spawn``: stdin from /dev/null, stdout and stderr through two pipes read
with ``select.poll`` until EOF (no deadlock however much the child writes on both).

The program is ``args[0]``, an executable path (not searched on PATH). As with
subprocess, an exec failure (ENOENT, EACCES, ENOEXEC...) raises the ``OSError`` in the
caller, with ``filename`` set to the program path. Only fds 0, 1 and 2 reach the child,
as with subprocess's close_fds=True: Python's own fds are non-inheritable, and the child
closes those the parent inherited itself (every fd from 3 up with
``POSIX_SPAWN_CLOSEFROM`` on Python 3.13+, else the inheritable ones in /proc/self/fd).
"""

from __future__ import annotations

import os
import select
import sys
import time

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import NoReturn

__all__ = [
    "Child",
    "Finished",
    "SpawnTimeout",
    "before_exec",
    "exec_replacing",
    "run_captured",
    "run_inheriting",
]

_STOP_GRACE = 2.0  # seconds uv gets to end (and stop its build backends) when asked

# Signal numbers, without importing signal (enum). SIGKILL and SIGPIPE are the same on
# every Linux architecture; SIGXFSZ is 25 on the generic ABI (x86, ARM, RISC-V, PowerPC,
# s390); elsewhere resetting a wrong number to its default disposition is harmless.
_SIGKILL = 9
_SIGINT = 2
_SIGTERM = 15
_SIGPIPE = 13
_SIGXFSZ = 25
# Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec: restore their
# default in the child, as subprocess does (restore_signals=True).
_RESTORE_SIGNALS = (_SIGPIPE, _SIGXFSZ) if sys.platform == "linux" else (_SIGPIPE,)
_SIGHUP = 1
_STOP_SIGNALS = {_SIGINT, _SIGTERM, _SIGHUP}  # what stops a command (see cli.guard)

_READ_SIZE = 1 << 16  # the default pipe capacity on Linux


# what must be over before this process is replaced by another program (one that would not
# wait for our children): see before_exec
_before_exec: list[Callable[[], object]] = []


def before_exec(hook: Callable[[], object]) -> None:
    """Have ``hook`` called before :func:`exec_replacing` replaces this process (once)."""
    if hook not in _before_exec:
        _before_exec.append(hook)


def exec_replacing(
    path: str, argv: Sequence[str], env: Mapping[str, str], *, search: bool = False
) -> NoReturn:
    """Replace this process with ``argv`` (``path`` the program; ``search``: looked for on
    the ``PATH`` of ``env``), with SIGPIPE and SIGXFSZ back to their default as every child
    of ours gets them: ignored here, they would stay ignored in the program (``seq | head``
    printing "Broken pipe"). :class:`OSError` when it cannot start (the handlers are put back)."""
    import _signal  # type: ignore[import-not-found]  # not signal: it imports enum (start-up)

    while _before_exec:
        _before_exec.pop(0)()
    before = [(number, _signal.signal(number, _signal.SIG_DFL)) for number in _RESTORE_SIGNALS]
    try:
        if search:
            os.execvpe(path, list(argv), dict(env))
        os.execve(path, list(argv), env)
    except BaseException:
        for number, handler in before:
            _signal.signal(number, handler)
        raise


class SpawnTimeout(Exception):
    """The child did not finish in time (it has been killed and reaped).

    ``argv`` is the child's argument list and ``timeout`` the time allowed, in seconds
    (``args``, as for any exception, is the tuple ``(argv, timeout)``).
    """

    def __init__(self, argv: list[str], timeout: float) -> None:
        super().__init__(argv, timeout)
        self.argv = argv
        self.timeout = timeout

    def __str__(self) -> str:
        return f"command {self.argv!r} timed out after {self.timeout:g} seconds"


class Finished:
    """A finished child.

    ``returncode`` is the exit status, or minus the signal number if a signal killed the
    child (as with subprocess); ``stdout`` and ``stderr`` are everything it wrote there.
    """

    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return (
            f"Finished(returncode={self.returncode!r}, stdout={self.stdout!r}, "
            f"stderr={self.stderr!r})"
        )


class Child:
    """A running child: stdin from /dev/null, stdout and stderr captured through pipes.

    ``args[0]`` is the executable path (not searched on PATH); ``env`` None means
    ``os.environ``. Call ``wait`` to collect the output and reap the child, or ``kill``.
    """

    pid: int

    def __init__(
        self,
        args: Sequence[str | os.PathLike[str]],
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.argv = _argv(args)
        self._fds: list[int] = []  # the parent's open read ends
        self._chunks: dict[int, list[bytes]] = {}
        self._stdout: list[bytes] = []
        self._stderr: list[bytes] = []
        self._returncode: int | None = None
        opened: list[int] = []
        try:
            out_r, out_w = _pipe(opened)
            err_r, err_w = _pipe(opened)
            file_actions: list[tuple[object, ...]] = [
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
            ]
            self.pid = _spawn(self.argv, env, file_actions + _close_inherited())
        except BaseException:
            for fd in opened:
                os.close(fd)
            raise
        os.close(out_w)
        os.close(err_w)
        self._fds = [out_r, err_r]
        self._chunks = {out_r: self._stdout, err_r: self._stderr}

    def wait(self, timeout: float | None = None) -> Finished:
        """Read stdout and stderr until EOF, reap the child and return what it did.

        After ``timeout`` seconds (None: no limit) the child is killed and reaped and
        ``SpawnTimeout`` is raised. A wait that ends any other way than by its return (a
        KeyboardInterrupt in the caller) kills and reaps the child too: no zombie, no pipe
        left open in a process that goes on.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._returncode is None:
            try:
                if self._fds:
                    self._read_all(deadline, timeout)
                self._returncode = self._reap(deadline, timeout)
            except BaseException:
                self.kill()
                raise
        return Finished(self._returncode, b"".join(self._stdout), b"".join(self._stderr))

    def kill(self) -> None:
        """Kill the child with SIGKILL, reap it and close the pipes; idempotent."""
        try:
            if self._returncode is None:
                os.kill(self.pid, _SIGKILL)  # a zombie not yet reaped still accepts it
                self._returncode = _waitpid(self.pid)
        finally:
            self._close()

    def _read_all(self, deadline: float | None, timeout: float | None) -> None:
        poller = select.poll()
        for fd in self._fds:
            poller.register(fd, select.POLLIN)
        while self._fds:
            if deadline is None:
                wait_ms = None
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._timed_out(timeout)
                wait_ms = int(remaining * 1000) + 1  # round up: no busy loop at the end
            try:
                events = poller.poll(wait_ms)
            except InterruptedError:  # PEP 475 retries already; kept for safety
                continue
            for fd, _event in events:  # POLLIN or POLLHUP: read returns data or b"" (EOF)
                try:
                    data = os.read(fd, _READ_SIZE)
                except InterruptedError:  # PEP 475 retries already; kept for safety
                    continue
                if data:
                    self._chunks[fd].append(data)
                else:  # EOF: every writer (the child and its children) closed it
                    poller.unregister(fd)
                    self._fds.remove(fd)
                    os.close(fd)

    def _reap(self, deadline: float | None, timeout: float | None) -> int:
        if deadline is None:
            return _waitpid(self.pid)
        # The pipes are at EOF, so the child is normally exiting
        returncode = _reap_before(self.pid, deadline)
        if returncode is None:
            self._timed_out(timeout)
        return returncode

    def _timed_out(self, timeout: float | None) -> NoReturn:
        self.kill()
        raise SpawnTimeout(self.argv, 0.0 if timeout is None else timeout)

    def _close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)


def run_captured(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Run ``args`` (``args[0]`` an executable path) to completion; see ``Child``.

    If waiting fails in any way (timeout, KeyboardInterrupt...), the child is killed.
    """
    return Child(args, env=env).wait(timeout)


def run_inheriting(
    args: Sequence[str | os.PathLike[str]], *, env: Mapping[str, str] | None = None
) -> int:
    """Run ``args`` (``args[0]`` an executable path) with this process's stdin, stdout and
    stderr, in its working directory; the child's return code.

    Stopped itself (Ctrl-C, SIGTERM), this process passes the signal on (on Ctrl-C from a
    terminal the child, in the same process group, got it too; a SIGINT or SIGTERM sent to
    this process alone reaches only it): the child has a moment to end, then it is killed,
    and the exception goes on. The child is never left running behind.
    """
    import _signal  # not signal: it imports enum (start-up)

    # The stop signals wait (blocked) from before the spawn until its pid is held inside the
    # try below: one arriving in between would end this process and leave the child running.
    before = _signal.pthread_sigmask(_signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        pid = _spawn(_argv(args), env, _close_inherited(), sigmask=before)
    except BaseException:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, before)
        raise
    try:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, before)  # (one pending is handled here)
        return _waitpid(pid)
    except BaseException as exc:
        try:
            os.kill(pid, _SIGINT if isinstance(exc, KeyboardInterrupt) else _SIGTERM)
        except ProcessLookupError:
            pass
        if _reap_before(pid, time.monotonic() + _STOP_GRACE) is None:
            os.kill(pid, _SIGKILL)  # not reaped yet, so it is there to be killed
            _waitpid(pid)
        raise


def _argv(args: Sequence[str | os.PathLike[str]]) -> list[str]:
    argv = [os.fspath(arg) for arg in args]
    if not argv:
        raise ValueError("args must not be empty")
    return argv


def _spawn(
    argv: list[str],
    env: Mapping[str, str] | None,
    file_actions: list[tuple[object, ...]],
    sigmask: set[int] | None = None,
) -> int:
    """posix_spawn ``argv`` (``sigmask``: the child's blocked signals, where this process
    blocks others meanwhile); an exec failure raises its OSError naming the program."""
    # (no sigmask: the child's is this process's, as posix_spawn leaves it by default)
    mask = _signal_mask() if sigmask is None else sigmask
    try:
        return os.posix_spawn(
            argv[0],
            argv,
            os.environ if env is None else env,
            file_actions=file_actions,
            setsigdef=_RESTORE_SIGNALS,
            setsigmask=mask,
        )
    except OSError as exc:
        from anyvenv.errors import ProcessLimit

        limit = ProcessLimit.from_error(exc, argv[0])
        if limit is not None:  # (EAGAIN, ENOMEM: no verdict on the program, nor its filesystem)
            raise limit from exc
        if exc.filename is None:
            exc.filename = argv[0]
        raise


def _signal_mask() -> set[int]:
    import _signal  # not signal: it imports enum (start-up)

    mask: set[int] = _signal.pthread_sigmask(_signal.SIG_BLOCK, ())
    return mask


def _reap_before(pid: int, deadline: float) -> int | None:
    """Reap ``pid`` if it ends before ``deadline`` (polled, with a short backoff): its
    return code, or None if it still runs."""
    delay = 0.0005
    while True:
        returncode = _waitpid_nohang(pid)
        if returncode is not None:
            return returncode
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)


def _pipe(opened: list[int]) -> tuple[int, int]:
    """A pipe whose two fds are above 2 (so the dup2 onto 1 and 2 cannot clobber them)."""
    read_fd, write_fd = os.pipe()
    opened += (read_fd, write_fd)
    return _above_stdio(read_fd, opened), _above_stdio(write_fd, opened)


def _above_stdio(fd: int, opened: list[int]) -> int:
    """``fd``, or a duplicate of it above 2 if the parent runs with 0, 1 or 2 closed."""
    if fd > 2:
        return fd
    low = []
    while fd <= 2:
        low.append(fd)
        fd = os.dup(fd)  # non-inheritable, like os.pipe()'s fds
        opened.append(fd)
    for low_fd in low:
        opened.remove(low_fd)
        os.close(low_fd)
    return fd


def _close_inherited() -> list[tuple[object, ...]]:
    """The spawn file actions that keep every fd above 2 from the child."""
    closefrom: int | None = getattr(os, "POSIX_SPAWN_CLOSEFROM", None)  # 3.13+
    if closefrom is not None:
        return [(closefrom, 3)]
    return [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds()]


def _inheritable_fds() -> list[int]:
    """The parent's inheritable fds above 2: those it inherited itself (a shell's, a
    make jobserver's...) or made inheritable; subprocess closes them (close_fds=True)."""
    try:
        names = os.listdir("/proc/self/fd")  # the listing's own fd is closed by now
    except OSError:
        return []  # no /proc: leave them, as a plain exec would
    # glibc refuses a close action for an fd at or above the soft RLIMIT_NOFILE (EBADF, and
    # nothing is started): one inherited from before a lower `ulimit -n` is left to the child
    limit = os.sysconf("SC_OPEN_MAX")
    fds = []
    for name in names:
        fd = int(name)
        if 2 < fd < limit:
            try:
                if os.get_inheritable(fd):
                    fds.append(fd)
            except OSError:  # closed meanwhile (the listing's own fd, another thread)
                pass
    return fds


def _waitpid(pid: int) -> int:
    """Wait for ``pid`` to end and reap it: its return code."""
    returncode = _reap_pid(pid, 0)
    assert returncode is not None  # waitpid without WNOHANG returns only when reaped
    return returncode


def _waitpid_nohang(pid: int) -> int | None:
    """Reap ``pid`` if it has ended: its return code, or None if it is still running."""
    return _reap_pid(pid, os.WNOHANG)


def _reap_pid(pid: int, options: int) -> int | None:
    while True:
        try:
            reaped, status = os.waitpid(pid, options)
        except InterruptedError:  # PEP 475 retries already; kept for safety
            continue
        except ChildProcessError:
            return 0  # someone else reaped it (SIGCHLD ignored...): as subprocess does
        if reaped == 0:
            return None
        return os.waitstatus_to_exitcode(status)


# what a signal that ends a program most often says of the machine, not of the program
_SIGNAL_CAUSES = {"SIGXFSZ": "a file size limit: ulimit -f", "SIGKILL": "out of memory, or killed"}


def killed_by(returncode: int) -> str | None:
    """``SIGSEGV`` (with its likely cause, where one is usual) for a return code that says
    the process was killed by a signal (negative); ``None`` for one that exited."""
    if returncode >= 0:
        return None
    import signal  # (only on this path: it imports enum)

    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
    cause = _SIGNAL_CAUSES.get(name)
    return f"{name} ({cause})" if cause else name
