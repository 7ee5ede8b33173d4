"""The per-user base directories (XDG) under which anyvenv keeps its caches and data."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Mapping


def home_dir(environ: Mapping[str, str] | None = None) -> str:
    """``$HOME`` when it is an absolute path, else the user's home from the password database
    (an empty or relative ``HOME`` must not put anyvenv's files in ``/`` or the project).
    :class:`anyvenv.errors.NoHomeDirectory` where there is neither (``docker run --user N``):
    a ``~`` left as it is would put them in a directory named ``~`` wherever the command
    runs."""
    values = os.environ if environ is None else environ
    home = values.get("HOME", "")
    if os.path.isabs(home):
        return home
    import pwd

    try:
        found = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        found = ""
    if os.path.isabs(found):
        return found
    from anyvenv.errors import NoHomeDirectory

    said = "unset" if not home else f"{home!r}, not an absolute path"
    raise NoHomeDirectory(
        f"no home directory for anyvenv's per-user directories: HOME is {said}, and uid "
        f"{os.getuid()} has none in the password database",
        "set HOME to an absolute path (or XDG_DATA_HOME and XDG_CACHE_HOME)",
    )


def xdg_dir(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """``$NAME`` (e.g. ``XDG_CACHE_HOME``) when it is an absolute path, else ``default`` under
    the home directory: the XDG spec says a relative value is invalid and is to be ignored,
    and uv ignores it."""
    values = os.environ if environ is None else environ
    value = values.get(name, "")
    if os.path.isabs(value):
        return value
    return os.path.join(home_dir(values), default)


def own_dir(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """anyvenv's own directory variable (``ANYVENV_CACHE_DIR``, ``ANYVENV_ENVS_DIR``,
    ``ANYVENV_SHADOW_DIR``, ``ANYVENV_PYTHON_INSTALL_DIR``), ``~`` expanded; ``None`` when
    unset. A relative value is a usage error: ``cache clean``, ``cache prune`` and ``python
    uninstall`` remove things there, and a relative path would make that the working
    directory. So is one that names a file."""
    value = (os.environ if environ is None else environ).get(name, "")
    if not value:
        return None
    expanded = os.path.expanduser(value)
    if not os.path.isabs(expanded):
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{name}={value!r} is a relative path", f"set {name} to an absolute path, or unset it"
        )
    if os.path.exists(expanded) and not os.path.isdir(expanded):
        from anyvenv.errors import UsageError

        raise UsageError(
            f"{name}={value!r} is not a directory", f"set {name} to a directory, or unset it"
        )
    return expanded


def cache_home(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    return xdg_dir("XDG_CACHE_HOME", ".cache", environ)


def cache_entry_path(kind: str, key: bytes, suffix: str) -> str:
    """The file of one entry of anyvenv's cache ``kind`` (``$XDG_CACHE_HOME/anyvenv/KIND``),
    named by a cheap hash of ``key`` (hashlib would load OpenSSL at start-up, zlib is a
    shared library to load too): the entry must hold its key too and be checked on reading,
    so a collision costs a miss."""
    from anyvenv.errors import NoHomeDirectory

    try:
        cache = cache_home()
    except NoHomeDirectory as exc:  # (a lookup cache is passed over: its callers read OSError)
        raise FileNotFoundError(exc.message) from exc
    return os.path.join(cache, "anyvenv", kind, f"{fnv1a_64(key):016x}{suffix}")


def fnv1a_64(data: bytes) -> int:
    """FNV-1a, 64 bits: a few microseconds for a path."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def data_home(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME``, else ``~/.local/share``."""
    return xdg_dir("XDG_DATA_HOME", os.path.join(".local", "share"), environ)
