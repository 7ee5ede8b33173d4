"""Where uv keeps its cache for one invocation: the link mode depends on whether that cache and
the env share a filesystem.

The command line (``--no-cache``, ``--cache-dir``) and the environment (``UV_NO_CACHE``,
``UV_CACHE_DIR``) win over uv's config. Where no uv config file exists that could name a cache
dir, uv's own default applies (``$XDG_CACHE_HOME/uv``, else ``~/.cache/uv``). Only otherwise
is ``uv cache dir`` asked, which costs about as much as a small ``uv sync``.
"""

from __future__ import annotations

import os

from anyvenv.errors import AnyvenvError
from anyvenv.fs.paths import upward
from anyvenv.project.readonce import read_bytes
from anyvenv.project.uvcall import is_working_directory
from anyvenv.project.uvrules import (
    env_flag,
    given_config_files,
    has_flag,
    option_value,
    start_dir,
    user_and_system_config_files,
)
from anyvenv.spawn import Child

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_NO_CACHE_FLAGS = ("--no-cache", "-n")
# Words that may set the cache dir in a uv.toml or a pyproject.toml's [tool.uv] table.
_CONFIG_KEYS = (b"cache-dir", b"cache_dir")


def cache_dir_arguments(
    args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    sources: list[str] | None = None,
) -> list[str]:
    """What decides uv's cache dir: the command line, the environment, and each config file
    that may name it (by size, mtime and ctime: an edit of the same size whose mtime was put
    back still moves the ctime), so that a decision kept with this key is made again when any
    of them changes. ``sources``: :func:`config_sources` of these arguments, when
    already found (a :class:`CacheDirLookup` found them)."""
    parts = [f"{key}={environ.get(key, '')}" for key in ("UV_CACHE_DIR", "UV_NO_CACHE")]
    parts += [
        f"XDG_CACHE_HOME={environ.get('XDG_CACHE_HOME', '')}",
        f"HOME={environ.get('HOME', '')}",
    ]
    value = option_value(args, "--cache-dir")
    if value:
        parts.append(f"--cache-dir={value}")
    if has_flag(args, *_NO_CACHE_FLAGS):
        parts.append("--no-cache")
    for path in config_sources(args, environ, cwd) if sources is None else sources:
        try:
            st = os.stat(path)
            parts.append(f"config={path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}")
        except OSError:
            parts.append(f"config={path}:missing")
    return parts


def given_cache_dir(args: Sequence[str], environ: Mapping[str, str], cwd: str) -> str | None:
    """uv's cache dir when the command line or environment says it (uv takes it as given);
    ``None`` when uv's config or its default decide."""
    if has_flag(args, *_NO_CACHE_FLAGS) or env_flag(environ, "UV_NO_CACHE"):
        import tempfile

        return tempfile.gettempdir()  # uv uses a temporary cache there
    given = option_value(args, "--cache-dir") or environ.get("UV_CACHE_DIR")
    return os.path.join(cwd, given) if given else None


def config_sources(args: Sequence[str], environ: Mapping[str, str], cwd: str) -> list[str]:
    """The files that may name uv's cache dir for this invocation: ``--config-file`` or
    ``UV_CONFIG_FILE``, the user's and the system's ``uv.toml``, and from the working and the
    project directory up, each ``uv.toml`` and each ``pyproject.toml`` that mentions a cache
    dir (or cannot be read). None: uv's default applies."""
    found = given_config_files(args, environ, cwd)
    found += [path for path in user_and_system_config_files(environ) if os.path.lexists(path)]
    seen: set[str] = set()
    for start in (cwd, start_dir(args, cwd, environ)):
        for directory in upward(os.path.abspath(start)):
            if directory in seen:
                break  # the rest of the way up was looked at from the other start
            seen.add(directory)
            found += _cache_configs_in(directory)
    return found


def default_cache_dir(environ: Mapping[str, str]) -> str | None:
    """uv's default cache dir, for when no uv config file could name another one
    (:func:`config_sources` found none); ``None`` when the default is not plain: then uv must
    be asked."""
    xdg_cache = environ.get("XDG_CACHE_HOME")
    if xdg_cache:  # uv ignores a relative one; leave that rare case to uv
        return os.path.join(xdg_cache, "uv") if os.path.isabs(xdg_cache) else None
    home = environ.get("HOME")
    return os.path.join(home, ".cache", "uv") if home and os.path.isabs(home) else None


def _cache_configs_in(directory: str) -> list[str]:
    """A ``uv.toml`` here, and a ``pyproject.toml`` that names a cache dir (or cannot be read)."""
    found = []
    uv_toml = os.path.join(directory, "uv.toml")
    if os.path.lexists(uv_toml):
        found.append(uv_toml)
    pyproject = os.path.join(directory, "pyproject.toml")
    try:
        text = read_bytes(pyproject)
    except (FileNotFoundError, NotADirectoryError):
        return found
    except OSError:
        return [*found, pyproject]
    if any(key in text for key in _CONFIG_KEYS):
        found.append(pyproject)
    return found


def _project_options(args: Sequence[str]) -> list[str]:
    """``--directory`` and ``--project``: they move where uv looks for its config."""
    found: list[str] = []
    for name in ("--directory", "--project"):
        value = option_value(args, name)
        if value:
            found += [name, value]
    return found


class CacheDirLookup:
    """uv's cache dir for one invocation. When only ``uv cache dir`` can tell, it is started at
    once and read by :meth:`result`, so a sync can start it before building a new env and read
    the answer after."""

    def __init__(self, uv: str, args: Sequence[str], environ: Mapping[str, str], cwd: str) -> None:
        self.args = tuple(args)
        self._command = [uv, "cache", "dir", *_project_options(args)]
        self._environ = environ
        self._cwd = cwd
        given = given_cache_dir(args, environ, cwd)
        # the config files that may name it (None: the command line or environment did)
        self.sources = None if given else config_sources(args, environ, cwd)
        self._known = given or (None if self.sources else default_cache_dir(environ))
        self._child: Child | None = None
        if self._known is None and is_working_directory(cwd):
            try:
                self._child = Child(self._command, env=environ)
            except OSError:
                self._child = None  # result() runs it again and says what failed

    @property
    def asks_uv(self) -> bool:
        return self._known is None

    def result(self) -> str:
        if self._known is not None:
            return self._known
        child, self._child = self._child, None
        if child is not None:
            finished = child.wait()
            returncode, stdout, stderr = finished.returncode, finished.stdout, finished.stderr
        else:  # another working directory (the API's cwd), which only subprocess can give
            import subprocess

            proc = subprocess.run(
                self._command,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                cwd=self._cwd,
                env=dict(self._environ),
            )
            returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        text = stdout.decode(errors="surrogateescape").strip()
        if returncode != 0 or not text:
            detail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise AnyvenvError(f"'uv cache dir' failed: {detail[0]}", "check your uv configuration")
        self._known = os.path.join(self._cwd, text)  # asked once
        return self._known

    def cancel(self) -> None:
        """Stop ``uv cache dir`` if it is still running and its answer is not wanted."""
        child, self._child = self._child, None
        if child is not None:
            child.kill()


def uv_cache_dir(uv: str, args: Sequence[str], environ: Mapping[str, str], cwd: str) -> str:
    """Where uv keeps its cache for this invocation (see :class:`CacheDirLookup`)."""
    return CacheDirLookup(uv, args, environ, cwd).result()


def cache_trouble(cache_dir: str) -> str | None:
    """What uv's cache at ``cache_dir`` needs that its filesystem does not give, as a clause:
    on Unix uv links each cache entry to its archive by a relative symlink through ``..``,
    read back, puts its lock files in place by a hard link (a temp file persisted without
    replacing), and locks entries with flock. ``None`` when all work, or it cannot be
    probed."""
    from anyvenv.fs.outcome import OK
    from anyvenv.fs.probe import probe, probe_path_for

    try:
        result = probe(probe_path_for(cache_dir))
    except (OSError, AnyvenvError):
        return None
    failing = [
        f"{what} ({outcome})"
        for what, outcome in (
            ("symlinks", result.symlink_dotdot),
            ("hard links", result.hardlink),
            ("flock", result.flock),
        )
        if outcome != OK
    ]
    if not failing:
        return None
    where = f"{result.fstype or 'a filesystem'} at {result.mount_point or result.path}"
    return (
        f"uv's cache {cache_dir} is on {where}, where {' and '.join(failing)} fail, which uv needs"
    )
