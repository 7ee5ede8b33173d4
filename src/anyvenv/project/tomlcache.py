"""Parsed TOML, remembered by content.

Importing Python's TOML parser costs a sync more start-up time (tomllib imports typing, re
and datetime: about 12 ms here) than all the sync's own work before uv runs, and a project's
pyproject.toml rarely changes between syncs. So what a file parsed to is kept in
``$XDG_CACHE_HOME/anyvenv/toml``, one marshal entry per path, holding the exact bytes that
were parsed. An entry is used only for the very same bytes, under the same Python (whose
tomllib parsed them; with tomli, on Python 3.10, nothing is kept), so the answer is always
what parsing would give. Anything else (changed bytes, a checksum collision with another
path, a corrupt or foreign entry, a value marshal cannot hold such as a TOML date) means
parsing, as without the cache; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import marshal
import os
import sys

from anyvenv.userdirs import cache_entry_path

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any

ENTRY_FORMAT = 1
_ENTRY_SUFFIX = ".toml-entry"


def entry_path(path: str) -> str:
    """The entry for ``path`` (absolute); it holds the path too, checked on reading."""
    return cache_entry_path("toml", os.fsencode(path), _ENTRY_SUFFIX)


def _entry_key(path: str) -> tuple[int, str, str]:
    return (ENTRY_FORMAT, sys.version, path)


# With tomli (Python 3.10) the parser's version is not the interpreter's: nothing is kept.
ENABLED = sys.version_info >= (3, 11)


def recall(path: str, raw: bytes) -> dict[str, Any] | None:
    """What ``raw``, the bytes of ``path``, parsed to when they were last parsed; ``None`` if
    they were not (or the entry is not one of ours)."""
    if not ENABLED:
        return None
    try:
        with open(entry_path(path), "rb") as stream:
            entry = marshal.load(stream)
        key, parsed_bytes, data = entry
    except (OSError, ValueError, TypeError, EOFError):
        return None
    if key != _entry_key(path) or parsed_bytes != raw or not isinstance(data, dict):
        return None
    return data


def remember(path: str, raw: bytes, data: dict[str, Any]) -> None:
    """Keep what ``raw`` parsed to (quietly not, where it cannot be kept: only a cache)."""
    if not ENABLED:
        return
    try:
        entry = marshal.dumps((_entry_key(path), raw, data))
    except ValueError:  # a TOML date or time: marshal holds no datetime
        return
    from anyvenv.fs.atomic import atomic_write

    try:
        target = entry_path(path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        atomic_write(target, entry, mode=0o600)
    except OSError:
        pass
