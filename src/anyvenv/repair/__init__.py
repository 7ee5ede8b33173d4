"""Diagnose and fix environments that others (uv, venv, virtualenv, a copy) left broken.

    diagnose (findings) -> fixes (a plan) -> apply (atomic per file)

``check(env)`` says whether an env is usable and why not; ``repair(env)`` fixes it in place
keeping its packages. (``anyvenv doctor``, advice for a directory, is :mod:`anyvenv.doctor`.)
"""

from __future__ import annotations

__all__ = ["check", "repair"]

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any

    from anyvenv.repair.apply import repair
    from anyvenv.repair.diagnose import check


def __getattr__(name: str) -> Any:
    if name == "check":
        from anyvenv.repair.diagnose import check

        return check
    if name == "repair":
        from anyvenv.repair.apply import repair

        return repair
    raise AttributeError(f"module 'anyvenv.repair' has no attribute {name!r}")
