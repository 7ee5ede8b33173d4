"""Ctrl-C, SIGTERM and SIGHUP held off while a short step finishes whole.

A few renames that move an env into place, or the removal of a lock's files, must not stop
half-way: a Ctrl-C there would leave the old env beside the new one, a half-moved tree, or
lock files of no one. Inside :class:`held_signals` those signals wait; the first one that
came is delivered on leaving, by the handler that was there (``KeyboardInterrupt``, the
CLI's ``Terminated``, or the default action). SIGKILL cannot be held: what a kill leaves is
for the next run to clear.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # not signal: it imports enum (start-up time)
import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from types import TracebackType

HELD = (2, 15, 1)  # SIGINT, SIGTERM, SIGHUP: the same numbers on every POSIX system


class held_signals:
    """Hold SIGINT, SIGTERM and SIGHUP for the ``with`` block (in the main thread only: others
    cannot set handlers, and their blocks run as they are). Signals ignored stay ignored."""

    def __init__(self) -> None:
        self._previous: list[tuple[int, object]] = []
        self._came: int | None = None

    def _record(self, signum: int, frame: object) -> None:
        if self._came is None:
            self._came = signum

    def __enter__(self) -> held_signals:
        try:
            for signum in HELD:
                handler = _signal.getsignal(signum)
                if handler is _signal.SIG_IGN or handler is None:
                    continue  # (nohup's; None: a handler not set from Python)
                _signal.signal(signum, self._record)
                self._previous.append((signum, handler))
        except ValueError:  # not the main thread
            self._restore()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handlers = dict(self._previous)
        self._restore()
        came, self._came = self._came, None
        if came is None:
            return
        handler = handlers.get(came)
        if callable(handler):
            handler(came, None)  # raises, as it would have in the block
        elif handler == _signal.SIG_DFL:
            os.kill(os.getpid(), came)

    def _restore(self) -> None:
        for signum, handler in reversed(self._previous):
            _signal.signal(signum, handler)
        self._previous.clear()
