"""Building a project's env with the env builder, and checking that it is still there."""

from __future__ import annotations

import os

from anyvenv.errors import EnvironmentBroken
from anyvenv.fs import is_virtual_environment

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from anyvenv.envbuild.builder import PendingCheck
    from anyvenv.interpreter.query import InterpreterInfo


def holds_an_env(env: str) -> None:
    """The env we just built still has its files (some FUSE filesystems lose a renamed tree)."""
    if not is_virtual_environment(env) or not os.path.exists(os.path.join(env, "bin", "python")):
        raise EnvironmentBroken(
            f"the environment built at {env} lost its files after it was moved in"
        )


def build_at(
    env: str,
    info: InterpreterInfo,
    defer_check: bool = False,
    prompt: str | None = None,
    notes: list[str] | None = None,
    keep_replaced: bool = False,
) -> tuple[PendingCheck | None, str | None]:
    """Build ``env``; what the user must know of it (an old env not wholly removed) is added
    to ``notes``. Returns the check still running (``defer_check``) and, with
    ``keep_replaced``, where the env it replaced was kept (see EnvOptions.keep_replaced)."""
    from anyvenv.envbuild.builder import EnvOptions, build_with_pending_check

    options = EnvOptions(prompt=prompt, defer_linked_check=defer_check, keep_replaced=keep_replaced)
    made, pending = build_with_pending_check(env, info, options)
    if made.old_env_remains and notes is not None:
        notes.append(made.old_env_remains)
    holds_an_env(env)
    return pending, made.kept_old
