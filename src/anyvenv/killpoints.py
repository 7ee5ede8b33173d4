"""Named step boundaries where the interruption tests kill anyvenv, deterministically.

``checkpoint("commit:renamed")`` is called between the steps of the filesystem primitives
(a file placed, a staging directory made, each rename of a commit). It does nothing unless
one of these variables was set when anyvenv started, so production pays one global lookup:

    ANYVENV_TEST_KILL_AT=N            SIGKILL at the N-th checkpoint reached (1-based)
    ANYVENV_TEST_KILL_AT=NAME         ... at the first checkpoint called NAME
    ANYVENV_TEST_KILL_AT=NAME@K       ... at the K-th checkpoint called NAME
    ANYVENV_TEST_KILL_AT=SPEC+SECONDS at that checkpoint start a timer that kills SECONDS later
                                      (whatever runs then: a child such as uv, a validation run)
    ANYVENV_TEST_TRACE=FILE           append "N NAME MONOTONIC-SECONDS" per checkpoint reached
    ANYVENV_TEST_KILL_SIGNAL=INT      send SIGINT (as Ctrl-C does) instead of SIGKILL; or TERM,
                                      HUP (the kill's spec as above)

The kill takes the whole process group when anyvenv leads it (the tests start it with a new
session, so children such as uv die with it, as on a closed terminal), else only itself.
"""

from __future__ import annotations

import os

KILL_ENV = "ANYVENV_TEST_KILL_AT"
TRACE_ENV = "ANYVENV_TEST_TRACE"
SIGNAL_ENV = "ANYVENV_TEST_KILL_SIGNAL"

_KILL_AT = os.environ.get(KILL_ENV) or None
_TRACE = os.environ.get(TRACE_ENV) or None
_ACTIVE = _KILL_AT is not None or _TRACE is not None

if _ACTIVE:  # (threading is imported only in tests: start-up time matters)
    import threading

    _COUNTING = threading.Lock()
_reached = 0
_by_name: dict[str, int] = {}
_parent: int | None = None  # the anyvenv a forked helper works for (see serving)


def checkpoint(name: str) -> None:
    """A step boundary called ``name``; a no-op unless a test asked for kills or a trace."""
    if not _ACTIVE:
        return
    _reached_checkpoint(name)


def _reached_checkpoint(name: str) -> None:
    import time

    global _reached
    with _COUNTING:  # (a mirror places files in several threads)
        _reached += 1
        count = _by_name[name] = _by_name.get(name, 0) + 1
        number = _reached
    if _TRACE is not None:
        line = f"{number} {name} {time.monotonic():.6f}\n".encode("utf-8", "surrogateescape")
        fd = os.open(_TRACE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    if _KILL_AT is None:
        return
    spec, plus, delay = _KILL_AT.partition("+")
    if not _matches(spec, name, number, count):
        return
    if plus:
        timer = threading.Timer(float(delay), kill_now)
        timer.daemon = True
        timer.start()
    else:
        kill_now()


def _matches(spec: str, name: str, number: int, count: int) -> bool:
    if spec.isdigit():
        return number == int(spec)
    wanted, _, nth = spec.rpartition("@") if "@" in spec else (spec, "", "1")
    return wanted == name and count == int(nth or "1")


def serving(parent: int) -> None:
    """Say that this process is a child forked by ``parent`` to do part of its work (see
    :mod:`anyvenv.fs.bounded`): a kill here takes ``parent`` too, as the step is the parent's."""
    global _parent
    _parent = parent


def kill_now() -> None:
    """SIGKILL this process (and its group when it leads one), after the anyvenv it serves;
    or the signal ``ANYVENV_TEST_KILL_SIGNAL`` names, which the process may handle."""
    import signal

    chosen = os.environ.get(SIGNAL_ENV)
    signum = getattr(signal, f"SIG{chosen}") if chosen else signal.SIGKILL
    for pid in (_parent, os.getpid()):
        if pid is None:
            continue
        if os.getpgrp() == pid:
            os.killpg(pid, signum)
        if signum == signal.SIGKILL or os.getpgrp() != pid:
            os.kill(pid, signum)
