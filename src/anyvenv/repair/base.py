"""Find the base interpreter an environment was made from: pyvenv.cfg's ``base-executable``,
``executable`` and ``home``, else any interpreter of the same X.Y found by discovery."""

from __future__ import annotations

import os

from anyvenv.envbuild.config import config_candidates
from anyvenv.errors import AnyvenvError, EnvironmentBroken, InterpreterNotFound
from anyvenv.interpreter.discovery import find_interpreter
from anyvenv.interpreter.query import InterpreterInfo, query_interpreter
from anyvenv.record import field, record


@record
class BaseLookup:
    """The base named by the config, or why none of its candidates works."""

    info: InterpreterInfo | None
    candidates: tuple[str, ...] = ()  # paths the config names, in the order tried
    failures: dict[str, str] = field(default_factory=dict)  # path -> why it is not usable

    @property
    def found(self) -> bool:
        return self.info is not None


def why_not_base(
    info: InterpreterInfo, version: tuple[int, ...] | None, free_threaded: bool
) -> str | None:
    """Why ``info`` cannot be the base of an env of ``version`` (X.Y) and build, or ``None``:
    a free-threaded build reads lib/pythonX.Yt, a default build lib/pythonX.Y."""
    if version is None or len(version) < 2:
        return None
    if tuple(info.version[:2]) != tuple(version[:2]):
        return f"is Python {info.version_text}"
    if info.free_threaded != free_threaded:
        build = "a free-threaded build" if info.free_threaded else "not a free-threaded build"
        return f"is Python {info.version_text}, {build}"
    return None


def base_from_config(
    cfg: dict[str, str], version: tuple[int, ...] | None, free_threaded: bool
) -> BaseLookup:
    """The first candidate named by the config that runs and has the env's X.Y."""
    candidates = config_candidates(cfg, version, free_threaded)
    failures: dict[str, str] = {}
    for path in candidates:
        if not os.path.exists(path):
            failures[path] = "does not exist"
            continue
        try:
            info = query_interpreter(path)
        except AnyvenvError as exc:
            failures[path] = exc.message
            continue
        mismatch = why_not_base(info, version, free_threaded)
        if mismatch is not None:
            failures[path] = mismatch
            continue
        return BaseLookup(info, tuple(candidates), failures)
    return BaseLookup(None, tuple(candidates), failures)


def version_request(version: tuple[int, ...], free_threaded: bool) -> str:
    return f"{version[0]}.{version[1]}{'t' if free_threaded else ''}"


def discover_base(
    version: tuple[int, ...], free_threaded: bool, preference: str | None = None
) -> InterpreterInfo:
    """Another interpreter of the env's X.Y (managed installs, then PATH, as uv's
    python-preference ``preference`` orders them; ``None``: uv's default). Raises
    :class:`anyvenv.errors.EnvironmentBroken` (the env's state, not the command's mistake:
    exit 1, as for what else repair cannot mend) with what can be done (repair has no
    ``--python``: the env's X.Y is the request)."""
    request = version_request(version, free_threaded)
    try:
        return find_interpreter(request, preference)
    except InterpreterNotFound as exc:
        raise EnvironmentBroken(
            f"the environment has no base to run on: {exc.message}",
            f"install one with 'anyvenv python install {request}' or put a Python {request} "
            "on PATH, then run repair again",
        ) from exc
