"""The per-user base directories (XDG) under which anyvenv keeps its caches and data."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping


def cache_home(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    values = os.environ if environ is None else environ
    return values.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def data_home(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME``, else ``~/.local/share``."""
    values = os.environ if environ is None else environ
    return values.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
