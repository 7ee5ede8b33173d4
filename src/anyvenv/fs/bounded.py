"""Calls that may block forever on a network or FUSE mount, run so that we can give up.

A filesystem call on a hung mount sleeps in the kernel until the mount answers, and once a
FUSE server has taken the request not even SIGKILL ends that wait (the task sits in D state
in ``request_wait_answer``). A *thread* stuck so keeps the whole process from exiting: its
exit waits for every thread. So the call runs in a forked child process: the caller stops
waiting after the bound, reports the mount as not answering, and can exit; the stuck child
is left to the kernel (it ends when the mount answers or is aborted). Where ``fork`` does not
exist, a daemon thread is used instead.
"""

from __future__ import annotations

import errno
import os
import time

from anyvenv.errors import MountNotAnswering
from anyvenv.fs.place import write_all
from anyvenv.killpoints import serving

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Generic, TypeVar

    T = TypeVar("T")
else:  # BoundedCall[T] at run time without importing typing
    T = None

    class Generic:
        def __class_getitem__(cls, item):
            return cls


DEFAULT_TIMEOUT_ENV = "ANYVENV_FS_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 30.0


def default_timeout() -> float:
    """The bound on one filesystem operation (a bounded call that makes many, the probe, says
    it is alive after each step: see :func:`beat`); ``ANYVENV_FS_TIMEOUT`` overrides it."""
    raw = os.environ.get(DEFAULT_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):  # nan, inf, 0 or less: no bound, or none that can hold
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{DEFAULT_TIMEOUT_ENV}={raw!r} is not a number of seconds above 0",
            f"set {DEFAULT_TIMEOUT_ENV} to e.g. 60, or unset it for {DEFAULT_TIMEOUT_SECONDS:g}",
        )
    return value


def check_timeout_setting() -> None:
    """A bad ``ANYVENV_FS_TIMEOUT`` is a usage error whatever the command does (read only
    when a mount is bounded, it passed silently on local disks)."""
    if os.environ.get(DEFAULT_TIMEOUT_ENV):
        default_timeout()


def _not_answering(what: str, where: str, limit: float) -> MountNotAnswering:
    return MountNotAnswering(
        f"the filesystem at {where} is not answering: no reply within {limit:g}s ({what})",
        "check the mount (a hung sshfs/FUSE/network mount); "
        f"raise the bound with {DEFAULT_TIMEOUT_ENV}=SECONDS",
    )


def call_bounded(
    func: Callable[[], T], *, what: str, where: str, timeout: float | None = None
) -> T:
    """Run ``func`` and return its result, or raise :class:`MountNotAnswering` after ``timeout``.

    Exceptions raised by ``func`` propagate unchanged. ``func`` runs in a child process
    (where ``fork`` exists): its result and exceptions must pickle, its side effects on this
    process's memory are lost.
    """
    return start_bounded(func, what=what, where=where, timeout=timeout).result()


# In a bounded call's child: where it says it is alive (see beat); None elsewhere.
_beat_fd: int | None = None
# In a bounded call's child: what it does once it has answered (see after_answer).
_after: list[Callable[[], object]] = []
_BEAT = b"."  # (an answer starts with one of the _MARSHAL_VALUE... bytes, never this one)


def beat() -> None:
    """Say, from a bounded call that makes many filesystem operations (each answered, on a
    slow share), that it has made another step: its bound counts again from now, so that it
    bounds each step, not the sum of them. Nothing outside a bounded call's child."""
    if _beat_fd is not None:
        try:
            os.write(_beat_fd, _BEAT)
        except OSError:
            pass


def after_answer(work: Callable[[], object]) -> None:
    """From a bounded call started with ``finishing`` (see :func:`start_bounded`): do
    ``work`` once the answer is sent, while the caller goes on (a probe's clean-up, each call
    a round trip on a share); the caller waits for it with :meth:`BoundedCall.finish`.
    Outside a bounded call's child, done at once."""
    if _beat_fd is None:
        work()
    else:
        _after.append(work)


class BoundedCall(Generic[T]):
    """A :func:`call_bounded` under way: started in a child, answered by :meth:`result`, so
    the caller can do other work meanwhile. The bound counts from the start, and again from
    each :func:`beat` of the call."""

    def __init__(
        self, func: Callable[[], T], what: str, where: str, limit: float, finishing: bool = False
    ) -> None:
        self.what, self.where, self.limit = what, where, limit
        self.finishing = finishing  # (its child may go on after answering: after_answer)
        self._answered = False  # (by its child, through the pipe)
        self.deadline = time.monotonic() + limit
        self._done: tuple[bool, Any] | None = None
        if not hasattr(os, "fork"):
            try:
                self._done = (True, _call_in_thread(func, what, where, limit))
            except BaseException as exc:
                self._done = (False, exc)
            return
        reap_ended()
        read_fd, write_fd = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError as exc:  # (EAGAIN: as many processes as this user may run; ENOMEM)
            os.close(read_fd)
            os.close(write_fd)
            from anyvenv.errors import ProcessLimit

            refused = ProcessLimit.from_error(exc, f"a process for {what} at {where}")
            if refused is None:
                raise
            raise refused from exc
        if pid == 0:  # the child: answer through the pipe, never return into the caller's code
            try:
                global _beat_fd
                _ignore_stops()
                serving(parent)
                _beat_fd = _keep_only(write_fd)
                try:
                    write_all(_beat_fd, _outcome(func))
                finally:  # (also where the caller is gone: what it would wait for is done)
                    if _after:
                        os.close(_beat_fd)  # (answered: the caller reads to the end)
                        for work in _after:
                            work()
            finally:
                os._exit(0)
        os.close(write_fd)
        self.pid, self.read_fd = pid, read_fd
        self._read: list[bytes] = []  # (what :meth:`wait_alive` read of the answer)

    def wait_alive(self) -> None:
        """Wait until the call has made its first step (a :func:`beat`, or its answer):
        raise :class:`MountNotAnswering` where the bound passes first."""
        if self._done is not None:
            return
        import select

        ready, _, _ = select.select(
            [self.read_fd], [], [], max(self.deadline - time.monotonic(), 0)
        )
        if ready:
            self._read.append(os.read(self.read_fd, 1 << 16))
            self.deadline = time.monotonic() + self.limit
            return
        os.close(self.read_fd)
        self._kill_child()
        self._done = (False, _not_answering(self.what, self.where, self.limit))
        self.result()

    def _end_child(self) -> None:
        """Give the child a moment to finish its call (it removes what it made), then kill it
        (one stuck on a hung mount ends once the mount lets go) and reap it if it can be."""
        deadline = time.monotonic() + _END_GRACE
        try:
            while time.monotonic() < deadline:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
                time.sleep(0.01)
        except OSError:
            return
        self._kill_child()

    def _kill_child(self) -> None:
        """SIGKILL the child: it ends once the mount lets go; reaped if it already has, else
        by a later call (:func:`reap_ended`), not waited for."""
        try:
            os.kill(self.pid, _SIGKILL)
            if not os.waitpid(self.pid, os.WNOHANG)[0]:
                _unreaped.append(self.pid)
        except OSError:
            pass

    def result(self) -> T:
        """The answer (or the exception ``func`` raised); :class:`MountNotAnswering` when the
        bound passes first (the child is then left to the kernel)."""
        if self._done is None:
            self._done = self._collect()
        ok, value = self._done
        if ok:
            result: T = value
            return result
        raise value

    def finish(self) -> None:
        """Wait until the child of an answered call, ``finishing`` what it does after its
        answer, has ended, within the bound (else it is left to the kernel, as a stuck one)."""
        if not self._answered:
            return  # (not yet, or never: one killed is left to the kernel; or a thread's)
        deadline = time.monotonic() + self.limit
        try:
            while not os.waitpid(self.pid, os.WNOHANG)[0]:
                if time.monotonic() > deadline:
                    self._kill_child()
                    return
                time.sleep(0.002)
        except ChildProcessError:
            pass  # (reaped already: one that did not answer, killed)

    def _collect(self) -> tuple[bool, Any]:
        try:
            payload = _read_until(self.read_fd, self.deadline, self.limit, self._read)
        except BaseException:  # Ctrl-C, SIGTERM: the child (which ignores them) is ended
            self._end_child()
            raise
        finally:
            os.close(self.read_fd)
        if payload is None:
            self._kill_child()
            return False, _not_answering(self.what, self.where, self.limit)
        self._answered = True
        if not self.finishing:
            try:
                os.waitpid(self.pid, 0)  # it has answered: it exits at once
            except ChildProcessError:
                pass
        if not payload:
            return False, OSError(
                errno.EIO, f"the process doing {self.what} at {self.where} ended without an answer"
            )
        return _decode(payload)


# children killed while stuck on a hung mount, not yet reaped: a process that lives on (a
# library's host) would keep them as zombies once the mount lets them go
_unreaped: list[int] = []


def reap_ended() -> list[int]:
    """Reap the killed children that have ended since; returns their pids."""
    reaped = []
    for pid in list(_unreaped):
        try:
            ended = os.waitpid(pid, os.WNOHANG)[0] != 0
        except ChildProcessError:
            ended = True  # (reaped by someone else: a host's own SIGCHLD handling)
        if ended and pid in _unreaped:  # (another thread may have taken it meanwhile)
            _unreaped.remove(pid)
            reaped.append(pid)
    return reaped


def start_bounded(
    func: Callable[[], T],
    *,
    what: str,
    where: str,
    timeout: float | None = None,
    finishing: bool = False,
) -> BoundedCall[T]:
    """Start ``func`` as :func:`call_bounded` does, without waiting for it; ``finishing``: it
    may leave work for after its answer (:func:`after_answer`), which the caller waits for
    with :meth:`BoundedCall.finish`."""
    limit = default_timeout() if timeout is None else timeout
    return BoundedCall(func, what, where, limit, finishing)


_SIGKILL = 9  # signal.SIGKILL on every POSIX system; importing signal costs start-up time
# the stops that reach a whole process group: Ctrl-C, a closed terminal's SIGHUP, the SIGTERM
# of `timeout` (and of a session's end)
_GROUP_STOPS = (2, 1, 15)  # SIGINT, SIGHUP, SIGTERM on every POSIX system
_END_GRACE = 0.5  # seconds a child whose caller was stopped gets to finish (and clean up)


def _ignore_stops() -> None:
    """In the child: a stop sent to the whole process group (Ctrl-C, SIGHUP, SIGTERM) is the
    caller's to handle; the caller stops waiting, and the child finishes its call and what
    it does after its answer, which remove what it made (stopped there, it would leave a
    scratch directory behind). The caller ends it after a grace (:meth:`BoundedCall.
    _end_child`), or waits for it (:meth:`BoundedCall.finish`); SIGKILL ends it at once."""
    import _signal  # type: ignore[import-not-found]  # not signal: it imports enum

    for signum in _GROUP_STOPS:
        _signal.signal(signum, _signal.SIG_IGN)


def _keep_only(fd: int) -> int:
    """In the child: hold nothing of the parent's but ``fd``, and return where it is now. A
    child stuck on a hung mount must not keep the caller's output pipes open (whoever reads
    them would wait for it) nor its locks (flock locks belong to the open file, which the
    child would share). A caller running with 0, 1 or 2 closed (a daemon) may have been given
    the pipe there: it is moved above 2 first, or /dev/null put on 0-2 would close it."""
    while fd <= 2:
        fd = os.dup(fd)  # (the copies left at 0-2 are replaced by /dev/null below)
    null = os.open(os.devnull, os.O_RDWR)
    for standard in (0, 1, 2):
        os.dup2(null, standard)
    keep = sorted({fd, null})
    os.closerange(3, keep[0])
    if len(keep) > 1:
        os.closerange(keep[0] + 1, keep[1])
    os.closerange(keep[-1] + 1, 1 << 20)
    if null not in (fd, 0, 1, 2):
        os.close(null)
    return fd


# The answer's encoding: plain data and OSErrors through marshal (a builtin module: pickle
# would import re and more, which costs start-up time on every mount that is not local);
# anything else through pickle.
_MARSHAL_VALUE, _MARSHAL_OSERROR, _PICKLE = b"v", b"e", b"p"


def _outcome(func: Callable[[], Any]) -> bytes:
    import marshal

    try:
        value = func()
    except OSError as exc:  # re-raised in the caller, as the same subclass
        fields = (exc.errno, exc.strerror, exc.filename, exc.filename2)
        try:
            return _MARSHAL_OSERROR + marshal.dumps(fields)
        except ValueError:
            return _pickled(False, exc)
    except BaseException as exc:
        return _pickled(False, exc)
    try:
        return _MARSHAL_VALUE + marshal.dumps(value)
    except ValueError:  # not plain data
        return _pickled(True, value)


def _pickled(ok: bool, value: object) -> bytes:
    import pickle

    try:
        return _PICKLE + pickle.dumps((ok, value))
    except Exception:
        return _PICKLE + pickle.dumps((False, OSError(f"{type(value).__name__}: {value}")))


def _decode(payload: bytes) -> tuple[bool, Any]:
    kind, body = payload[:1], payload[1:]
    if kind == _MARSHAL_VALUE:
        import marshal

        return True, marshal.loads(body)
    if kind == _MARSHAL_OSERROR:
        import marshal

        code, strerror, filename, filename2 = marshal.loads(body)
        if code is None:
            return False, OSError(strerror)
        return False, OSError(code, strerror, filename, None, filename2)
    import pickle

    ok, value = pickle.loads(body)
    return bool(ok), value


def _read_until(
    fd: int, deadline: float, limit: float, read: list[bytes] | None = None
) -> bytes | None:
    """The answer written to ``fd`` until its end (the beats before it left out; ``read``:
    what was read of it before), or ``None`` if the deadline comes first; each beat puts the
    deadline ``limit`` seconds from then. What was written while the caller did other work is
    read before the deadline counts."""
    import select

    chunks: list[bytes] = list(read or ())
    if chunks and not chunks[-1]:
        return b"".join(chunks).lstrip(_BEAT)  # (the end was read already)
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0.0))
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks).lstrip(_BEAT)
        chunks.append(chunk)
        deadline = time.monotonic() + limit  # (alive: a beat, or the answer under way)


def _call_in_thread(func: Callable[[], T], what: str, where: str, limit: float) -> T:
    result: list[T] = []
    error: list[BaseException] = []

    def worker() -> None:
        try:
            result.append(func())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    import threading

    thread = threading.Thread(target=worker, name=f"anyvenv-bounded-{what}", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise _not_answering(what, where, limit)
    if error:
        raise error[0]
    return result[0]
