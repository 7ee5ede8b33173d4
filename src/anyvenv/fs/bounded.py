"""Calls that may block forever on a network or FUSE mount, run so that we can give up.

A filesystem call on a hung mount can sleep in the kernel until the mount answers. Running
it in a daemon thread lets the caller stop waiting after a bound and report the mount as
not answering; the stuck thread is abandoned (FUSE waits are killable, so the process can
still exit).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from anyvenv.errors import MountNotAnswering

T = TypeVar("T")

DEFAULT_TIMEOUT_ENV = "ANYVENV_FS_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 30.0


def default_timeout() -> float:
    """The bound on one filesystem operation; ``ANYVENV_FS_TIMEOUT`` overrides it."""
    raw = os.environ.get(DEFAULT_TIMEOUT_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return DEFAULT_TIMEOUT_SECONDS
        if value > 0:
            return value
    return DEFAULT_TIMEOUT_SECONDS


def call_bounded(
    func: Callable[[], T], *, what: str, where: str, timeout: float | None = None
) -> T:
    """Run ``func`` and return its result, or raise :class:`MountNotAnswering` after ``timeout``.

    Exceptions raised by ``func`` propagate unchanged.
    """
    limit = default_timeout() if timeout is None else timeout
    result: list[T] = []
    error: list[BaseException] = []

    def worker() -> None:
        try:
            result.append(func())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=worker, name=f"anyvenv-bounded-{what}", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise MountNotAnswering(
            f"the filesystem at {where} did not answer within {limit:g}s ({what})",
            "check the mount (a hung sshfs/FUSE/network mount); "
            f"raise the bound with {DEFAULT_TIMEOUT_ENV}=SECONDS",
        )
    if error:
        raise error[0]
    return result[0]
