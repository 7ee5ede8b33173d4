"""Ask an interpreter about itself, once per binary: the answer is cached on disk.

The probe script runs in the interpreter with ``-I -S`` (no site, no user env) and prints one
JSON document. The cache key is the resolved path with its size and mtime, as uv does, so a
rebuilt interpreter is asked again. Cache entries are NUL-separated text, not JSON: reading
one must not cost the start-up time of importing ``json`` (and ``re`` with it).
"""

from __future__ import annotations

import os

from anyvenv.errors import AnyvenvError
from anyvenv.record import as_dict, fields_of, record

CACHE_VERSION = 6


class NotPython3(AnyvenvError):
    """The interpreter is Python 2, or a Python 3 older than 3.4 (it has no ``-I``): no
    environment of anyvenv's is made from it. Its hint names no option: a caller that has
    one for a Python names it (see :func:`anyvenv.interpreter.discovery.find_interpreter`)."""


# Runs inside a python (3.6+ syntax, stdlib only): ``libs``, the libpython files the loader
# really mapped (Linux), whatever the path's directories are called; /proc/self/maps writes a
# newline in a path as \012. Shared by the query, the env check and the install check.
LOADED_LIBPYTHONS_CODE = r"""
libs = []
try:
    import sys as _sys  # (paths as this python decodes its others: its filesystem encoding)
    with open("/proc/self/maps", encoding=_sys.getfilesystemencoding(),
              errors=_sys.getfilesystemencodeerrors()) as maps:
        paths = {l.split(None, 5)[-1].strip().replace("\\012", "\n") for l in maps if "/" in l}
    libs = sorted(p for p in paths if p.rsplit("/", 1)[-1].startswith("libpython"))
except OSError:
    pass
"""

# Runs inside the queried interpreter (3.6+ syntax, stdlib only, no site).
_QUERY_SCRIPT = (
    r"""
import json, os, sys, sysconfig, platform
base_exe = getattr(sys, "_base_executable", None) or sys.executable
here = os.path.dirname(sys.executable)
# a venv's python: before 3.11, with -S its prefix is already the base's (site makes it the
# env's) and _base_executable is itself; its pyvenv.cfg is where getpath looks for it (a link
# to the base is the base: followed below)
if (sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
        or (sys.version_info < (3, 11) and not os.path.islink(sys.executable)
            and any(os.path.isfile(os.path.join(d, "pyvenv.cfg"))
                    for d in (here, os.path.dirname(here))))):
    home = os.path.join(getattr(sys, "base_prefix", sys.prefix), "bin")
    # the X.Y name first: bin/python there may be another Python (python-is-python3)
    names = ("python%d.%d" % sys.version_info[:2], os.path.basename(base_exe), "python3")
    cand = next((c for c in (os.path.join(home, n) for n in names) if os.path.exists(c)), None)
    base_exe = cand or base_exe
cfg = sysconfig.get_config_vars()
"""
    + LOADED_LIBPYTHONS_CODE
    + r"""
lib = libs[0] if libs else ""  # the libpython really loaded, whose file holds its version
try:
    scheme = sysconfig.get_paths(scheme="venv", vars={"base": "{base}", "platbase": "{base}"})
except KeyError:
    scheme = sysconfig.get_paths(scheme="posix_prefix", vars={"base": "{base}", "platbase": "{base}", "installed_base": "{base}", "installed_platbase": "{base}"})
print(json.dumps({
    "executable": os.path.realpath(base_exe),
    "implementation": platform.python_implementation(),
    "version": list(sys.version_info[:3]),
    "releaselevel": sys.version_info[3],
    "serial": sys.version_info[4],
    "prefix": getattr(sys, "base_prefix", sys.prefix),
    "exec_prefix": getattr(sys, "base_exec_prefix", sys.exec_prefix),
    "free_threaded": bool(cfg.get("Py_GIL_DISABLED")),
    "purelib": scheme["purelib"],
    "platlib": scheme["platlib"],
    "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
    "platform": sys.platform,
    "loaded_libpython": lib,
}))
"""
)


@record
class InterpreterInfo:
    """What a base interpreter says of itself. Paths in the scheme use ``{base}``."""

    executable: str
    implementation: str
    version: tuple[int, int, int]
    releaselevel: str
    serial: int
    prefix: str
    exec_prefix: str  # (virtualenv's pyvenv.cfg names both: base-prefix, base-exec-prefix)
    free_threaded: bool
    purelib: str
    platlib: str
    pointer_bits: int
    platform: str

    @property
    def version_text(self) -> str:
        text = ".".join(map(str, self.version))
        if self.releaselevel != "final":
            text += {"alpha": "a", "beta": "b", "candidate": "rc"}.get(self.releaselevel, "") + str(
                self.serial
            )
        return text

    @property
    def home(self) -> str:
        """The directory holding the base executable: pyvenv.cfg's ``home``."""
        return os.path.dirname(self.executable)

    def relative_path(self, scheme_path: str) -> str:
        """A scheme path (``{base}/lib/python3.X/site-packages``) relative to the env root."""
        return scheme_path.replace("{base}/", "").replace("{base}", "")


_SCRIPT, _PYENV_SHIM = "script", "pyenv-shim"


def _launcher_kind(path: str) -> str | None:
    """A launcher script (a version manager's shim): ``_PYENV_SHIM`` for pyenv's, whose
    choice hangs on nothing of the directory it runs in but the version files
    :func:`_shim_inputs` reads; ``_SCRIPT`` for another's; ``None`` for a binary."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    return _PYENV_SHIM if b'/libexec/pyenv" exec' in head else _SCRIPT


def _cache_file(path: str, real: str, launcher: str | None) -> str:
    """The cache entry for ``real`` (run as ``path``); it holds the path it describes,
    checked on reading. A launcher's entry also hangs on the name it is run by (pyenv's
    shims choose by it) and on what its choice hangs on: the version files, and the working
    directory for another launcher than pyenv's (it may read a file there that
    :func:`_shim_inputs` does not know)."""
    from anyvenv.userdirs import cache_entry_path

    st = os.stat(real)
    raw = f"{CACHE_VERSION}:{real}:{st.st_size}:{st.st_mtime_ns}"
    if launcher is not None:
        where = "" if launcher == _PYENV_SHIM else os.getcwd()
        raw += f":{os.path.abspath(path)}:{where}:{_shim_inputs(real)}"
    return cache_entry_path("interpreters", raw.encode("utf-8", "surrogateescape"), ".entry")


# what version managers' shims (pyenv, asdf, mise) read to choose the interpreter they run
_SHIM_VARIABLES = ("PYENV_VERSION", "PYENV_DIR", "ASDF_PYTHON_VERSION", "MISE_PYTHON_VERSION")
_VERSION_FILES = (".python-version", ".tool-versions", ".mise.toml", "mise.toml")


def _shim_inputs(shim: str) -> str:
    """What a shim's choice hangs on: the version variables, the version files of the
    directory it is run from (pyenv's ``PYENV_DIR``) and of each directory above, the global
    ones (pyenv's ``<root>/version`` beside its ``shims``, ``~/.tool-versions``) and the
    versions installed there. A changed file asks the shim again."""
    from contextlib import suppress

    from anyvenv.errors import NoHomeDirectory
    from anyvenv.userdirs import home_dir

    root = os.path.dirname(os.path.dirname(shim))  # (<root>/shims/python3)
    files = [os.path.join(root, "version")]
    with suppress(NoHomeDirectory):  # (no home: no ~/.tool-versions)
        files.append(os.path.join(home_dir(), ".tool-versions"))
    here = os.path.normpath(os.path.join(_logical_cwd(), os.environ.get("PYENV_DIR") or "."))
    while True:
        files += [os.path.join(here, name) for name in _VERSION_FILES]
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    parts = [os.environ.get(name, "") for name in _SHIM_VARIABLES]
    for path in files:
        try:
            with open(path, "rb") as handle:
                parts.append(os.fsdecode(handle.read(65536)))
        except OSError:
            parts.append("-")
    try:
        parts.append(str(os.stat(os.path.join(root, "versions")).st_mtime_ns))
    except OSError:
        parts.append("-")
    return "\0".join(parts)


def _logical_cwd() -> str:
    """The working directory as the shell names it (``$PWD``, through the links it was
    reached by), where that names it, as pyenv walks up from it; else the physical one."""
    cwd = os.getcwd()
    logical = os.environ.get("PWD", "")
    try:
        if os.path.isabs(logical) and os.path.samefile(logical, cwd):
            return os.path.normpath(logical)
    except OSError:
        pass
    return cwd


def _stat_text(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}"


# An entry: NAME NUL VALUE NUL ... with the queried path, the executable's size:mtime, its
# libpython's (shared builds), and every InterpreterInfo field (tuples joined by ".",
# booleans as 0/1). No path holds a NUL.
_QUERIED, _EXECUTABLE_STAT, _LIBRARY_STAT = "queried", "executable_stat", "library_stat"


def _library_stat(library: str) -> str:
    """``PATH:size:mtime`` of the libpython a shared build loaded ('' for none): its version
    is there, not in the executable (a libpython replaced under an unchanged binary changes
    the answer)."""
    if not library:
        return ""
    try:
        return f"{library}:{_stat_text(library)}"
    except OSError:
        return ""


def _encode_entry(real: str, info: InterpreterInfo, library: str) -> bytes:
    items = [_QUERIED, real, _EXECUTABLE_STAT, _stat_text(info.executable)]
    items += [_LIBRARY_STAT, _library_stat(library)]
    for name, value in as_dict(info).items():
        if isinstance(value, tuple):
            value = ".".join(map(str, value))
        elif isinstance(value, bool):
            value = int(value)
        items += [name, str(value)]
    return os.fsencode("\0".join(items))


def _decode_entry(data: bytes) -> dict[str, str]:
    items = os.fsdecode(data).split("\0")
    if len(items) % 2:
        raise ValueError("not name/value pairs")
    return dict(zip(items[::2], items[1::2], strict=True))


def _read_cache(cache_file: str, real: str) -> InterpreterInfo | None:
    """The cached answer, if it is for ``real`` and the interpreter it names is unchanged."""
    try:
        with open(cache_file, "rb") as handle:
            entry = _decode_entry(handle.read())
        if entry.get(_QUERIED) != real:
            return None
        info = _from_text(entry)
        if _stat_text(info.executable) != entry[_EXECUTABLE_STAT]:
            return None
        library = entry[_LIBRARY_STAT].rsplit(":", 2)[0]  # (KeyError: an older entry)
        if _library_stat(library) != entry[_LIBRARY_STAT]:
            return None
        return info
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_cache(cache_file: str, real: str, info: InterpreterInfo, library: str) -> None:
    from anyvenv.fs.atomic import atomic_write

    try:
        data = _encode_entry(real, info, library)
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        atomic_write(cache_file, data)
    except OSError:
        pass


_BOOLS = ("free_threaded",)


def _from_text(entry: dict[str, str]) -> InterpreterInfo:
    values: dict[str, object] = {}
    for name in fields_of(InterpreterInfo):
        text = entry[name]
        if name == "version":
            major, minor, micro = text.split(".")
            values[name] = (int(major), int(minor), int(micro))
        elif name in ("serial", "pointer_bits"):
            values[name] = int(text)
        elif name in _BOOLS:
            values[name] = {"1": True, "0": False}[text]
        else:
            values[name] = text
    return InterpreterInfo(**values)  # type: ignore[arg-type]


def _from_json(data: dict[str, object]) -> InterpreterInfo:
    values = dict(data)
    version = values["version"]
    if not isinstance(version, list) or len(version) != 3:
        raise ValueError("no version")
    values["version"] = (int(version[0]), int(version[1]), int(version[2]))
    return InterpreterInfo(**values)  # type: ignore[arg-type]


def failure_line(stderr: str, returncode: int) -> str:
    """The line of a failed start that says why: CPython's ``Fatal Python error`` (between
    its path configuration and its thread dump), a traceback's last (its exception), else the
    first (a launcher's own message, as a pyenv shim's ``command not found`` before its
    notes); the exit code where nothing was said."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return f"exit code {returncode}, no output"
    fatal = [line for line in lines if line.startswith("Fatal Python error")]
    if fatal:
        return fatal[0]
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def _shortened(line: str, limit: int = 300) -> str:
    """A line of another program's output, cut to fit in one line of ours."""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def query_interpreter(
    executable: str | os.PathLike[str], *, use_cache: bool = True
) -> InterpreterInfo:
    """The facts of the interpreter at ``executable`` (which may be a venv's python)."""
    path = os.fspath(executable)
    real = os.path.realpath(path)
    cache_file: str | None = None
    launcher = _launcher_kind(real) if use_cache else None
    if use_cache:
        try:
            cache_file = _cache_file(path, real, launcher)
        except OSError:
            pass
        else:
            cached = _read_cache(cache_file, real)
            # (one that can no longer be run, its mount remounted noexec, is asked anew: the
            # cache must not vouch for it)
            if cached is not None and os.access(real, os.X_OK):
                return cached
    from anyvenv.spawn import SpawnTimeout, run_captured

    try:
        proc = run_captured([path, "-I", "-S", "-c", _QUERY_SCRIPT], timeout=60)
    except (OSError, SpawnTimeout) as exc:
        raise AnyvenvError(
            f"cannot run the interpreter {path}: {exc}", "pass a working Python"
        ) from exc
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        if "Unknown option: -I" in stderr:  # Python 2 (and 3 before 3.4) has no -I
            raise NotPython3(
                f"the interpreter {path} is Python 2 or older than 3.4: anyvenv makes "
                "environments for CPython 3",
                "pass a Python 3 (a version such as 3.12, or its path)",
            )
        echoed = _QUERY_SCRIPT.splitlines()[1] in stderr  # (a traceback shows it too: 3.13+)
        if echoed and "Traceback (most recent call last)" not in stderr:  # not a python
            raise AnyvenvError(
                f"{path} is not a Python interpreter: it does not take Python's options (exit "
                f"code {proc.returncode})",
                "pass a CPython 3 executable",
            )
        raise AnyvenvError(
            f"the interpreter {path} failed to start: {_shortened(failure_line(stderr, proc.returncode))}",
            "pass a working Python",
        )
    import json

    try:
        answer = json.loads(proc.stdout)
        library = str(answer.pop("loaded_libpython", ""))
        info = _from_json(answer)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise AnyvenvError(
            f"{path} did not answer like a Python interpreter", "pass a CPython 3 executable"
        ) from exc
    # the binary itself, or a launcher script; not a venv's copy, whose answer hangs on its
    # pyvenv.cfg (those are asked each time)
    if cache_file is not None and (os.path.realpath(info.executable) == real or launcher):
        _write_cache(cache_file, real, info, library)
    return info
