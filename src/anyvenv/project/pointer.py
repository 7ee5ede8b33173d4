"""Which env a project's declared path stands for: itself, or the env its pointer file names
(the file's form is :mod:`anyvenv.envbuild.pointerfile`), and when a pointer is not followed:
a copied project's, naming an env another project still uses; another user's, naming an env
kept off the share that is not this user's (an env kept off a share is per user: this
user's own for the project is used instead, and the pointer is left to its owner)."""

from __future__ import annotations

import os

from anyvenv.envbuild.pointerfile import read_pointer
from anyvenv.errors import UsageError
from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping


def resolve_env(declared: str) -> str:
    """The env a project's declared path stands for: itself, or where its pointer file points.
    For ``anyvenv run``, ``anyvenv pip`` and ``anyvenv check``."""
    target = read_pointer(declared)
    return target if target is not None else declared


def resolve_existing_env(declared: str, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """:func:`resolve_for_user`, with a :class:`UsageError` naming the pointer when the env it
    points to is gone (``check`` and ``repair`` would name only the missing env), and naming
    its owner when it is another user's and this user has none of their own. The env, and
    the line that says the pointer names another user's (``None`` where it does not)."""
    from anyvenv.envbuild.pointerfile import EMPTY_POINTER, is_empty_pointer

    if is_empty_pointer(declared):
        raise UsageError(
            f"{declared} {EMPTY_POINTER}",
            "run 'anyvenv sync' in its project to write it again",
        )
    found = resolve_for_user(declared, environ)
    if found.env is None:
        raise UsageError(
            f"{found.anothers}; you have none of your own",
            f"{PER_USER}: 'anyvenv sync' in the project makes yours",
        )
    if found.anothers is None and found.env != declared and not os.path.lexists(found.env):
        raise UsageError(
            f"{declared} points to the environment {found.env}, which does not exist",
            "run 'anyvenv sync' in its project to make it again",
        )
    return found.env, found.anothers


@record
class UserEnv:
    """The env a project's declared path stands for, for this user (:func:`resolve_for_user`)."""

    env: str | None  # None: the pointer names another user's env, and this user has none
    # where the pointer names another user's env: the line that says so (:func:`anothers_env`)
    anothers: str | None = None


def resolve_for_user(declared: str, environ: Mapping[str, str]) -> UserEnv:
    """:func:`resolve_own_env` for this user: where the pointer names an env that is another
    user's, this user's own for the project (``None`` where they have none yet), with the
    line that says so."""
    target = resolve_env(declared)
    if target != declared:
        anothers = anothers_env(declared, target, environ)
        if anothers is not None:
            from anyvenv.project.envchoice import envs_dir
            from anyvenv.project.owners import own_env_for

            return UserEnv(own_env_for(declared, envs_dir(environ)), anothers)
    return UserEnv(resolve_own_env(declared))


PER_USER = "an env kept off a share is per user"


def anothers_env(declared: str, target: str, environ: Mapping[str, str]) -> str | None:
    """Where the pointer at ``declared`` names ``target``, an env that is not this user's
    (:func:`not_yours`): the line that says so (``.venv names the environment /home/alice/...,
    which belongs to alice (uid 1500)``); else ``None``."""
    why = not_yours(target)
    if why is None:
        return None
    from anyvenv.fs.paths import is_below
    from anyvenv.project.envchoice import envs_dir

    if is_below(target, envs_dir(environ)):  # (this user's envs dir: whoever a share says
        return None  # owns what is in it, an env there is theirs)
    return f"{declared} names the environment {target}, which {why}"


def not_yours(env: str) -> str | None:
    """Why ``env``, which a pointer names, is not this user's, as words to follow its path:
    another user's env kept off a share (``belongs to alice (uid 1500)``), or one this user
    cannot read (``cannot be read by you: ...; EACCES``). ``None`` where it is this user's;
    where it is not there (this user's, removed, or another machine's: made again or found
    by sync); and where it is another user's that no sync put elsewhere (no owner record: a
    redirect written by hand to an env a team shares, followed as uv follows it). One
    ``lstat`` where it is this user's (a no-op sync asks)."""
    import errno

    try:
        uid = os.lstat(env).st_uid
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM):
            return None
        from anyvenv.fs.paths import first_unenterable
        from anyvenv.fs.remove import ownership

        code = errno.errorcode[exc.errno]
        blocked = first_unenterable(env)
        if blocked is None:
            return f"cannot be read by you ({code})"
        return f"cannot be read by you: you may not enter {blocked} ({ownership(blocked)}; {code})"
    if uid == os.geteuid():
        return None
    if not os.access(env, os.R_OK | os.X_OK):
        from anyvenv.fs.remove import ownership

        return f"cannot be read by you ({ownership(env)}; EACCES)"
    from anyvenv.project.owners import read_owner

    if read_owner(env) is None:
        return None
    from anyvenv.fs.remove import user_name

    name = user_name(uid)
    return f"belongs to {name} (uid {uid})" if name != f"uid {uid}" else f"belongs to uid {uid}"


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
