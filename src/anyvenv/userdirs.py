"""The per-user base directories (XDG) under which anyvenv keeps its caches and data."""

from __future__ import annotations

import os
import zlib

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping


def cache_home(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    values = os.environ if environ is None else environ
    return values.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def cache_entry_path(kind: str, key: bytes, suffix: str) -> str:
    """The file of one entry of anyvenv's cache ``kind`` (``$XDG_CACHE_HOME/anyvenv/KIND``),
    named by two cheap checksums of ``key`` (hashlib would load OpenSSL at start-up): the
    entry must hold its key too and be checked on reading, so a collision costs a miss."""
    name = f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}{suffix}"
    return os.path.join(cache_home(), "anyvenv", kind, name)


def data_home(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME``, else ``~/.local/share``."""
    values = os.environ if environ is None else environ
    return values.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
