"""anyvenv: Python environments that work on filesystems where links or modes are broken.

The public API is imported lazily so that ``import anyvenv`` (and the CLI) stays cheap.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)

__version__ = "0.1.0"

__all__ = ["__version__", "create", "probe"]

if TYPE_CHECKING:
    from anyvenv.envbuild.create import create
    from anyvenv.fs.probe import probe


def __getattr__(name: str) -> object:
    if name == "create":
        from anyvenv.envbuild.create import create

        return create
    if name == "probe":
        from anyvenv.fs.probe import probe

        return probe
    raise AttributeError(f"module 'anyvenv' has no attribute {name!r}")
