"""Calls made together. Where a filesystem answers from afar (a share, a FUSE daemon: see
:attr:`anyvenv.fs.mounts.MountInfo.answers_at_once`) each call waits a round trip, and calls
asked from several threads at once are answered together. Threads, not processes: the calls
wait on the kernel, which lets go of the interpreter's lock meanwhile."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeVar

    R = TypeVar("R")
    T = TypeVar("T")


def run_together(calls: Sequence[Callable[[], None]], at_once: bool) -> None:
    """Run ``calls`` in turn, or each in a thread of its own where ``at_once`` (the first in
    the caller's thread: the one that may handle signals, or start a child); the first error
    one met (an :class:`OSError` such as ENOSPC, or a Ctrl-C) is raised once all are over."""
    if not at_once or len(calls) < 2:
        for call in calls:
            call()
        return
    import threading

    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as exc:  # (raised in the caller's thread, below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,), daemon=True) for call in calls[1:]]
    for thread in threads:
        thread.start()
    run(calls[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def map_together(func: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """``func`` of each of ``items``, in their order, asked by up to ``threads`` threads (this
    one among them), each taking the next item as it is done; once one fails, the others take
    no more, and its error is raised here when all are over."""
    if threads < 2 or len(items) < 2:
        return [func(item) for item in items]
    import threading

    found: dict[int, R] = {}
    failures: list[BaseException] = []
    taking = threading.Lock()
    indices = iter(range(len(items)))

    def work() -> None:
        try:
            while not failures:
                with taking:
                    index = next(indices, None)
                if index is None:
                    return
                found[index] = func(items[index])
        except BaseException as exc:  # (raised in the calling thread below)
            failures.append(exc)

    helpers = [
        threading.Thread(target=work, name="anyvenv-together", daemon=True)
        for _ in range(min(threads, len(items)) - 1)
    ]
    for helper in helpers:
        helper.start()
    work()
    for helper in helpers:
        helper.join()
    if failures:
        raise failures[0]
    return [found[index] for index in range(len(items))]
