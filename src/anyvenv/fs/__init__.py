"""Filesystem primitives: probing what a filesystem does, placing files, atomic writes,
locks, bounded calls.

This layer imports nothing of the layers above it. What it knows of environments is names
only: the env lock's file and pyvenv.cfg (here: the file whose presence makes a directory an
env, :func:`is_virtual_environment`, which the tree commits of :mod:`anyvenv.fs.atomic` and
:mod:`anyvenv.fs.inplace` move in last and take out first, and :mod:`anyvenv.fs.leftovers`
looks for), and the probe's one-line advice (``ProbeResult.verdict``)."""

from __future__ import annotations

import os

# An env's config file, every tool's (uv, venv, virtualenv, anyvenv): with it there, a tree
# is a whole env.
CFG_NAME = "pyvenv.cfg"


def is_virtual_environment(path: str | os.PathLike[str]) -> bool:
    """A directory holding a pyvenv.cfg file (what every tool writes)."""
    return os.path.isfile(os.path.join(path, CFG_NAME))


# PATH + this: the lock file of every change made at PATH (an env, by those who change it).
# Here, not in fs.lock, so that the import-light no-op check can look for it.
ENV_LOCK_SUFFIX = ".anyvenv.lock"


def env_lock_path(path: str) -> str:
    """The lock file of the env declared at ``path``: one name for all who take it (venv,
    sync, repair, prune) and for the no-op check that looks for it."""
    return os.path.abspath(path) + ENV_LOCK_SUFFIX
