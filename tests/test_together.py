"""``anyvenv.fs.together``: calls made at once (on a share) give what calls in turn give."""

from __future__ import annotations

import threading
import time

import pytest

from anyvenv.fs.together import map_together, run_together


@pytest.mark.parametrize("at_once", [False, True])
def test_every_call_is_made_and_the_first_in_the_callers_thread(at_once: bool) -> None:
    threads: dict[int, threading.Thread] = {}

    def call(number: int) -> None:
        threads[number] = threading.current_thread()

    run_together([lambda n=n: call(n) for n in range(5)], at_once)  # type: ignore[misc]
    assert sorted(threads) == list(range(5))
    here = threading.current_thread()
    assert threads[0] is here
    others = [threads[n] for n in range(1, 5)]
    if at_once:  # each of the others in a thread of its own
        assert here not in others and len({id(thread) for thread in others}) == 4
    else:
        assert all(thread is here for thread in others)


def test_calls_at_once_are_under_way_together() -> None:
    """Made at once, a call waiting on another is not blocked by it (in turn, this hangs)."""
    first_in = threading.Event()

    def first() -> None:
        first_in.set()

    def second() -> None:
        assert first_in.wait(10)

    run_together([second, first], at_once=True)


@pytest.mark.parametrize("at_once", [False, True])
def test_the_first_error_is_raised_once_every_call_is_over(at_once: bool) -> None:
    done: list[str] = []

    def slow() -> None:
        time.sleep(0.05)
        done.append("slow")

    def failing() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        run_together([failing, slow], at_once)
    assert raised.value.errno == 28
    assert done == ([] if not at_once else ["slow"])  # (in turn: the calls after it not made)


@pytest.mark.parametrize("threads", [1, 3, 8, 50])
def test_map_together_keeps_the_order_of_its_items(threads: int) -> None:
    items = list(range(40))

    def square(number: int) -> int:
        time.sleep(0.001 * (number % 3))
        return number * number

    assert map_together(square, items, threads) == [n * n for n in items]
    assert map_together(square, [], threads) == []


def test_map_together_uses_its_threads_and_stops_taking_items_after_a_failure() -> None:
    seen: set[int] = set()
    taken: list[int] = []
    lock = threading.Lock()

    def look(number: int) -> int:
        with lock:
            seen.add(threading.get_ident())
            taken.append(number)
        if number == 3:
            raise PermissionError(13, "Permission denied")
        time.sleep(0.01)
        return number

    with pytest.raises(PermissionError):
        map_together(look, list(range(200)), 4)
    assert 1 < len(seen) <= 4
    assert len(taken) < 200


def test_the_error_raised_is_the_one_met_first() -> None:
    """The second call fails at once, the first (in this thread) only after it: the second's
    error is the one raised."""
    second_failed = threading.Event()

    def first() -> None:
        assert second_failed.wait(10)
        time.sleep(0.05)
        raise OSError(5, "Input/output error")

    def second() -> None:
        second_failed.set()
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as raised:
        run_together([first, second], at_once=True)
    assert raised.value.errno == 28


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_map_together_asks_with_as_many_threads_as_it_is_given(threads: int) -> None:
    """Each item waits for ``threads`` of them to be under way at once: this finishes only
    if that many threads ask."""
    barrier = threading.Barrier(threads, timeout=10)
    seen: set[int] = set()

    def look(number: int) -> int:
        seen.add(threading.get_ident())
        barrier.wait()
        return number

    assert map_together(look, list(range(threads * 3)), threads) == list(range(threads * 3))
    assert len(seen) == threads
