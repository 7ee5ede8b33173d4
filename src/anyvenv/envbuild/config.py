"""pyvenv.cfg: read any tool's (uv, venv, virtualenv, anyvenv), write ours."""

from __future__ import annotations

import os
from pathlib import Path

from anyvenv.errors import EnvironmentBroken, UsageError

CFG_NAME = "pyvenv.cfg"


def parse_pyvenv_cfg(text: str) -> dict[str, str]:
    """``key = value`` lines; others are ignored, as CPython's getpath does. Only "\n" ends a
    line there (not the other characters ``str.splitlines`` splits at, which a path may hold)."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep and key.strip():
            values[key.strip().lower()] = value.strip()
    return values


def read_pyvenv_cfg(env: Path) -> dict[str, str]:
    """The config of the env at ``env``; :class:`EnvironmentBroken` if unreadable or not one."""
    path = env / CFG_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise EnvironmentBroken(
            f"{env} has no {CFG_NAME}", "it is not a virtual environment"
        ) from exc
    except OSError as exc:
        raise EnvironmentBroken(f"cannot read {path}: {exc.strerror}") from exc
    return parse_pyvenv_cfg(raw.decode("utf-8", "surrogateescape"))


def render_pyvenv_cfg(values: dict[str, str]) -> bytes:
    """The file for ``values``; :class:`UsageError` for a key or value that holds a line end
    (a prompt or path with a newline would add lines of its own, e.g. another ``home``)."""
    for key, value in values.items():
        if any(char in key + value for char in "\n\r"):
            raise UsageError(
                f"the pyvenv.cfg value of {key!r} holds a line break: {value!r}",
                "choose a prompt and paths without newlines",
            )
    lines = [f"{key} = {value}" for key, value in values.items()]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def is_virtual_environment(path: Path) -> bool:
    """A directory holding a pyvenv.cfg file (what every tool writes)."""
    return os.path.isfile(path / CFG_NAME)
