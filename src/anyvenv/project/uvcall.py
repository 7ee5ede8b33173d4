"""Find uv, and build the command lines and environment it runs with.

uv is told exactly which env to use (``UV_PROJECT_ENVIRONMENT``), which interpreter (``--python``:
the env's own, so it reuses the env and never downloads a Python) and how to link
(``--link-mode``). Everything else the user typed goes to uv unchanged.
"""

from __future__ import annotations

import os
import sys

from anyvenv.errors import AnyvenvError
from anyvenv.uvbinary import find_uv, in_utf8_locale

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn


# Global flags after which uv changes nothing: no mirroring is due.
READ_ONLY_SYNC_FLAGS = ("--dry-run", "--check")
# uv's exit code for an error: a command it refuses, a file it cannot install (1 is a command
# that failed: a resolution with no solution)
UV_ERROR_EXIT = 2
# `uv pip` subcommands that change the env.
MUTATING_PIP_COMMANDS = frozenset({"install", "uninstall", "sync"})


def uv_environment(
    environ: Mapping[str, str], env: str, declared: str | None = None
) -> dict[str, str]:
    """The environment uv runs with: our env as the project env, our choices not overridden."""
    result = dict(environ)
    result["UV_PROJECT_ENVIRONMENT"] = env
    for key in ("UV_PYTHON", "UV_LINK_MODE"):
        result.pop(key, None)  # given on the command line instead
    active = result.get("VIRTUAL_ENV")
    if active and declared is not None and os.path.abspath(active) == os.path.abspath(declared):
        result["VIRTUAL_ENV"] = env
    return result


def python_as_chosen(uv_env: dict[str, str]) -> dict[str, str]:
    """``uv_env`` for uv syncing an env whose Python anyvenv chose (by the request and the
    python-preference): uv is not to judge it by the preference again, which it does by
    other rules for an existing env (it replaces one made from a Python asked for by path
    under only-managed, each time). Settings files' preference is overridden too."""
    for key in ("UV_MANAGED_PYTHON", "UV_NO_MANAGED_PYTHON"):
        uv_env.pop(key, None)
    uv_env["UV_PYTHON_PREFERENCE"] = "system"
    return uv_env


def sync_command(
    uv: str, passthrough: Sequence[str], python: str, link_mode: str, subcommand: str = "sync"
) -> list[str]:
    """``uv sync`` (or ``uv add``/``uv remove``, which sync too) into the env of ``python``,
    which anyvenv chose: uv's python-preference options are left out (see
    :func:`python_as_chosen`)."""
    from anyvenv.project.uvrules import without_options

    kept = without_options(passthrough, ("--python-preference",))
    return [
        uv,
        subcommand,
        *[arg for arg in kept if arg not in ("--managed-python", "--no-managed-python")],
        "--python",
        python,
        "--link-mode",
        link_mode,
    ]


def pip_command(uv: str, args: Sequence[str], python: str) -> list[str]:
    """``uv pip SUBCOMMAND --python PY ARGS...`` (uv wants ``--python`` after the subcommand)."""
    if not args or args[0].startswith("-"):
        return [uv, "pip", *args]
    return [uv, "pip", args[0], "--python", python, *args[1:]]


def run_uv(command: Sequence[str], environ: Mapping[str, str], cwd: str) -> int:
    """Run uv with our stdio (its output is the user's to see); returns its exit code.
    (Under a UTF-8 locale: see :func:`in_utf8_locale`; it runs no program of the user's.)
    uv may write what a memo of this command's reads kept: it is dropped (see readonce)."""
    from anyvenv.project.readonce import uv_runs

    uv_runs()
    environ = in_utf8_locale(environ)
    try:
        if is_working_directory(cwd):
            from anyvenv.spawn import run_inheriting

            return run_inheriting(command, env=environ)
        import subprocess  # a working directory of its own (the Python API's cwd)

        return subprocess.run(list(command), env=dict(environ), cwd=cwd).returncode
    except OSError as exc:
        raise AnyvenvError(f"cannot run uv ({command[0]}): {exc.strerror}") from exc


def exec_uv(
    words: Sequence[str], environ: Mapping[str, str], stdin: bytes | None = None
) -> NoReturn:
    """Replace this process with ``uv WORDS...``: for what uv does without anyvenv's env.
    ``stdin``: what uv reads on its standard input instead of ours (already read: a script
    given on it)."""
    uv = find_uv()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if stdin is not None:
            _feed_standard_input(stdin)
        from anyvenv.spawn import exec_replacing

        exec_replacing(uv, [uv, *words], environ)
    except OSError as exc:
        raise AnyvenvError(f"cannot run uv ({uv}): {exc.strerror}") from exc


def _feed_standard_input(data: bytes) -> None:
    """Make ``data`` this process's standard input, for the program it execs next: a pipe
    that a forked grandchild fills (however large ``data`` is) and then leaves. The child
    between ends at once and is reaped here: the writer is init's to reap, not a zombie of
    the program, which would never wait for it."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # never back into the caller's code from here
        try:
            if os.fork() == 0:
                os.close(read_fd)
                view = memoryview(data)
                while view:
                    view = view[os.write(write_fd, view) :]
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    os.close(write_fd)
    os.dup2(read_fd, 0)
    os.close(read_fd)


def names_script(uv_args: Sequence[str]) -> bool:
    """``--script FILE``: uv works on that PEP 723 script and the env of its own, not on the
    project (``uv sync``, ``uv add`` and ``uv remove`` take it)."""
    return any(arg == "--script" or arg.startswith("--script=") for arg in uv_args)


def is_working_directory(path: str) -> bool:
    try:
        return os.path.samestat(os.stat(path), os.stat("."))
    except OSError:
        return False
