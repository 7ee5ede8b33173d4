"""How the checks of an environment's contents (:mod:`scripts`, :mod:`packages`,
:mod:`package_files`) look at its files: several calls at once on a share that answers them
together (each a round trip), in turn elsewhere."""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import TypeVar

    R = TypeVar("R")
    T = TypeVar("T")


def for_each(func: Callable[[T], R], items: Sequence[T], at_once: bool) -> list[R]:
    """``func`` of each of ``items``, in their order: by :data:`STATS_AT_ONCE` threads where
    ``at_once`` (on a share that answers together), else in turn."""
    if not at_once:
        return [func(item) for item in items]
    from anyvenv.fs.together import map_together

    return map_together(func, items, STATS_AT_ONCE)


STATS_AT_ONCE = 8
"""Threads asking for sizes at once on a share (measured, 10 small packages: see README)."""


def how_to_look(site: Path) -> tuple[bool, bool]:
    """Whether the stats of the files of ``site`` are made several at once: on a share that
    answers calls together (each a round trip: 10 small packages on a FUSE mount answering
    in 20 ms, ``check`` 5.5 s in turn, 3.6 s with 8 threads); and whether their first bytes
    are read: on a local disk or device, where reading the first block of each is a small
    cost beside the stat each gets (on a share, each open and read is a round trip: some
    5,500 files, 0.4 s to stat on sshfs, 4 s more to read). Neither where the mount is not
    known."""
    from anyvenv.fs.mounts import mount_of

    mount = mount_of(site)
    if mount is None:
        return False, False
    return mount.answers_at_once, not mount.answers_from_afar


def asks_at_once(path: Path) -> bool:
    """Whether calls about the files at ``path`` are made several at once: it is on a share
    that answers them together (see :attr:`anyvenv.fs.mounts.MountInfo.answers_at_once`;
    :func:`how_to_look`'s first answer)."""
    return how_to_look(path)[0]


MISSING = -1
"""The size said of a file that is not there."""
NUL_CHECK_BYTES = 4096
"""The bytes read of a file at its start (and end) to see whether they are all NUL."""
