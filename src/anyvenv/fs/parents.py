"""The missing directories above something about to be made: made, and removed again when
making it fails. Another process may make the same ones at the same time (``tox -p``, two
``anyvenv venv`` under one new directory): a directory that appears meanwhile is taken as it
is, and is never this process's to remove."""

from __future__ import annotations

import os

__all__ = ["make_missing", "remove_made"]


def make_missing(directory: str) -> list[str]:
    """Create ``directory`` and the directories above it that do not exist; return those this
    call created, outermost first. Raises the ``OSError`` of a directory that cannot be made,
    after removing the ones it made."""
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
        except FileExistsError:
            if os.path.isdir(path):
                continue  # made meanwhile by another run: its, not ours
            remove_made(made)
            raise
        except OSError:
            remove_made(made)
            raise
        made.append(path)
    return made


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
