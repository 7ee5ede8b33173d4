"""The missing directories above something about to be made: made, and removed again when
making it fails. Another process may make the same ones at the same time (``tox -p``, two
``anyvenv venv`` under one new directory): a directory that appears meanwhile is taken as it
is, and is never this process's to remove."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

__all__ = ["make_missing", "remove_made"]


def make_missing(
    directory: str, judge: Callable[[str, OSError], BaseException | None] | None = None
) -> list[str]:
    """Create ``directory`` and the directories above it that do not exist; return those this
    call created, outermost first. Raises the ``OSError`` of a directory that cannot be made,
    after removing the ones it made; or what ``judge(path, error)`` returns for it, judged
    while those are still there (a name refused is told by making another beside it)."""
    missing: list[str] = []
    current = os.path.abspath(directory)
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    made: list[str] = []
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError as exc:
            if os.path.isdir(path):
                continue  # made meanwhile by another run: its, not ours
            _failed(made, path, exc, judge)
        except OSError as exc:
            _failed(made, path, exc, judge)
        made.append(path)
    return made


def _failed(
    made: list[str],
    path: str,
    error: OSError,
    judge: Callable[[str, OSError], BaseException | None] | None,
) -> NoReturn:
    """``error`` making ``path`` ends :func:`make_missing`: judged, then what it made removed."""
    try:
        judged = None if judge is None else judge(path, error)
    finally:
        remove_made(made)
    if judged is None:
        raise error
    raise judged from error


def remove_made(made: list[str]) -> None:
    """Remove the directories :func:`make_missing` made, innermost first, where they are
    still empty (another run may have put its own files in one meanwhile; a FUSE daemon may
    hold a file just closed there for a moment, and is waited for); ``made`` is emptied."""
    from anyvenv.fs.remove import while_fuse_holds

    for path in reversed(made):

        def remove(path: str = path) -> None:
            os.rmdir(path)

        try:
            while_fuse_holds(path, remove)
        except OSError:
            break  # the ones above it are not empty either
    made.clear()
