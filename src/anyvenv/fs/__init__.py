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

# The longest part of an env's name its lock file's name keeps: the lock's other files add
# ".break", a temp mark and HOST-PID-RAND to the lock file's name (see anyvenv.fs.lock), and
# each must fit in 255 bytes, the longest name a filesystem takes (tests/test_lock.py checks
# the sum). A constant: every process on every host that shares the env names its lock alike.
LONGEST_LOCK_STEM = 177


def fitted_name(name: str, longest: int) -> str:
    """``name`` where it is ``longest`` bytes at most; else a start of it then ``~`` and a
    checksum (CRC-32) of the whole, ``longest`` bytes in all: the same in every process, and
    two long names that start alike stay apart."""
    encoded = os.fsencode(name)
    if len(encoded) <= longest:
        return name
    import zlib

    check = f"~{zlib.crc32(encoded):08x}"
    cut = name
    while len(os.fsencode(cut)) > longest - len(check):
        cut = cut[:-1]
    return cut + check


def env_lock_path(path: str) -> str:
    """The lock file of the env declared at ``path``: one name for all who take it (venv,
    sync, repair, prune) and for the no-op check that looks for it. Beside it, named after it
    (a name too long to leave room for what the lock adds is cut: :func:`fitted_name`)."""
    parent, name = os.path.split(os.path.abspath(path))
    return os.path.join(parent, fitted_name(name, LONGEST_LOCK_STEM) + ENV_LOCK_SUFFIX)
