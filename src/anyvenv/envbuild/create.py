"""The Python API: ``anyvenv.create(path, python=None, ...)``."""

from __future__ import annotations

import os

from anyvenv.envbuild.builder import EnvInfo, EnvOptions, build_environment
from anyvenv.fs.place import Strategy
from anyvenv.interpreter.discovery import find_interpreter

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def create(
    path: str | os.PathLike[str],
    python: str | None = None,
    *,
    prompt: str | None = None,
    system_site_packages: bool = False,
    seed: bool = False,
    clear: bool = False,
    strategy: str | Strategy | None = None,
    python_preference: str | None = None,
    confirm_replace: Callable[[str], bool] | None = None,
    on_lock_wait: Callable[[str], object] | None = None,
    seed_index_args: Sequence[str] = (),
) -> EnvInfo:
    """Create a virtual environment at ``path`` that runs on the filesystem it lands on.

    ``python`` is a version (``"3.12"``), a path or an executable name; ``None`` takes any
    Python, as uv finds one (the newest managed install, else ``python3`` on PATH). An
    existing environment at ``path`` is replaced only with ``clear=True``; a directory that is
    not an environment never is. Paths in the result are strings. ``prompt="."`` is the
    working directory's name. ``strategy`` forces symlink/hardlink/copy (default: decided from
    a probe of the target). ``python_preference`` is uv's (``"managed"``, ``"only-managed"``,
    ``"system"``, ``"only-system"``; default: ``UV_PYTHON_PREFERENCE``, else managed).
    ``confirm_replace(path)``, without ``clear``, decides whether an environment found at
    ``path`` is replaced (``anyvenv venv`` asks the user on a terminal). ``on_lock_wait`` is
    told when a sync of that env holds its lock and this waits. ``seed_index_args``: uv's
    index options (``--index-url U``, ``--find-links D``, ``--no-index``, ``--offline``...)
    for ``seed`` where the base bundles no pip wheel. Raises
    :class:`anyvenv.errors.AnyvenvError` subclasses.
    """
    target = os.fspath(path)
    if prompt == ".":  # as venv and uv: the name of the working directory
        prompt = os.path.basename(os.getcwd())
    info = find_interpreter(python, python_preference)
    forced = Strategy(strategy) if strategy not in (None, "auto") else None
    options = EnvOptions(
        prompt=prompt,
        system_site_packages=system_site_packages,
        seed=seed,
        seed_index_args=tuple(seed_index_args),
        strategy=forced,
        clear=clear,
        confirm_replace=confirm_replace,
    )
    # a sync of a project whose env this is waits (and this waits for it)
    from anyvenv.fs.lock import try_env_lock

    lock = try_env_lock(target, on_lock_wait)
    try:
        return build_environment(target, info, options)
    finally:
        if lock is not None:
            lock.release()
