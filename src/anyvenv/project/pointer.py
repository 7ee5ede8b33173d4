"""Which env a project's declared path stands for: itself, or the env its pointer file names
(the file's form is :mod:`anyvenv.envbuild.pointerfile`), and when a pointer is not followed:
a copied project's, naming an env another project still uses."""

from __future__ import annotations

import os

from anyvenv.envbuild.pointerfile import read_pointer
from anyvenv.errors import UsageError


def resolve_env(declared: str) -> str:
    """The env a project's declared path stands for: itself, or where its pointer file points.
    For ``anyvenv run``, ``anyvenv pip`` and ``anyvenv check``."""
    target = read_pointer(declared)
    return target if target is not None else declared


def resolve_existing_env(declared: str) -> str:
    """:func:`resolve_own_env`, with a :class:`UsageError` naming the pointer when the env it
    points to is gone (``check`` and ``repair`` would name only the missing env)."""
    target = resolve_own_env(declared)
    if target != declared and not os.path.lexists(target):
        raise UsageError(
            f"{declared} points to the environment {target}, which does not exist",
            "run 'anyvenv sync' in its project to make it again",
        )
    return target


def resolve_own_env(declared: str) -> str:
    """:func:`resolve_env`, with a :class:`CopiedPointer` when the pointer at ``declared``
    names an env that sync put elsewhere for another project, which still uses it: a copied
    project's pointer, which ``sync`` does not follow either (it makes the copy an env of its
    own). A pointer written by hand to a project's own ``.venv`` is followed."""
    target = resolve_env(declared)
    if target == declared:
        return target
    from anyvenv.project.owners import project_still_served, read_owner

    owner = read_owner(target)  # (none: not an env sync put elsewhere, a hand-written redirect)
    other = None if owner is None else project_still_served(owner, target, declared)
    if other is not None:
        from anyvenv.errors import CopiedPointer

        raise CopiedPointer(
            f"{declared} names the environment of {other}, which that project still uses (a "
            "copy of its pointer), not one of this directory's",
            f"pass {target} to look at that env; in a project, 'anyvenv sync' makes its own",
        )
    return target
