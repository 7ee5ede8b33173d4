"""Find an interpreter for a request: managed installs (anyvenv's, uv's), then PATH."""

from __future__ import annotations

import os

from anyvenv.errors import (
    NO_OPTIONS,
    AnyvenvError,
    InterpreterNotFound,
    OptionWords,
    ProcessLimit,
    UnsupportedPython,
    UsageError,
)
from anyvenv.fs import is_virtual_environment
from anyvenv.interpreter.query import InterpreterInfo, NotPython3, query_interpreter
from anyvenv.interpreter.request import PythonRequest, parse_request
from anyvenv.userdirs import data_home, own_dir

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from anyvenv.interpreter.buildtarget import Platform

# Paths are strings here, and re and shutil are imported where a search needs them (re only
# for managed installs to read, shutil for a name to look up): start-up time.

INSTALL_DIR_ENV = "ANYVENV_PYTHON_INSTALL_DIR"
_MANAGED_NAME = r"^cpython-(\d+)\.(\d+)\.(\d+)(t?)(\+freethreaded)?[+-]"


def anyvenv_install_dir() -> Path:
    """Where ``anyvenv python install`` puts Pythons (``ANYVENV_PYTHON_INSTALL_DIR`` overrides)."""
    from pathlib import Path

    return Path(_anyvenv_install_root())


def _anyvenv_install_root() -> str:
    given = own_dir(INSTALL_DIR_ENV)  # a relative value is refused, as python install does
    return given or os.path.join(data_home(), "anyvenv", "python")


def _managed_roots() -> list[str]:
    """The install roots of anyvenv's and uv's managed Pythons, in that order; one that
    would be under a home directory there is not (``NoHomeDirectory``) is left out: no
    install can be there."""
    from anyvenv.errors import NoHomeDirectory

    roots: list[str] = []
    for root in (_anyvenv_install_root, uv_install_root):
        try:
            roots.append(root())
        except NoHomeDirectory:
            continue
    return roots


def uv_install_root() -> str:
    """Where ``uv python install`` puts Pythons (``UV_PYTHON_INSTALL_DIR`` overrides)."""
    return os.environ.get("UV_PYTHON_INSTALL_DIR") or os.path.join(data_home(), "uv", "python")


def is_managed(executable: str) -> bool:
    """Whether ``executable`` is of a managed install (anyvenv's or uv's), as uv's
    python-preference tells managed Pythons from the system's."""
    from anyvenv.fs.paths import is_below

    roots = [os.path.realpath(root) for root in _managed_roots()]
    # (uv's bin-dir links lead into an install: a hop on the way counts)
    return any(any(is_below(hop, root) for root in roots) for hop in _link_hops(executable))


def _link_hops(path: str) -> Iterator[str]:
    """``path`` and each file its links lead to in turn, each with its directory resolved."""
    for _ in range(40):  # (as the kernel's bound on links followed)
        path = os.path.join(
            os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path)
        )
        yield path
        try:
            target = os.readlink(path)
        except OSError:
            return
        path = os.path.join(os.path.dirname(path), target)


def minor_link_name(install_name: str, version: tuple[int, int, int], threaded: bool) -> str:
    """The name of uv's link to the newest patch of an install's minor version:
    ``cpython-3.12-linux-x86_64-gnu`` for ``cpython-3.12.9-linux-x86_64-gnu``
    (``cpython-3.13+freethreaded-...`` for a free-threaded build)."""
    platform = install_name.split("-", 2)[2]
    return f"cpython-{version[0]}.{version[1]}{'+freethreaded' if threaded else ''}-{platform}"


def through_minor_link(executable: str) -> str | None:
    """``executable`` of a managed install, by way of uv's minor-version link to that install
    (``.../cpython-3.12-linux-x86_64-gnu/bin/python3.12``), as uv names the base of a venv it
    makes from one: after ``uv python upgrade`` the link, and the venv, lead to the new
    patch. ``None`` where there is no such link, or it leads to another install."""
    real = os.path.realpath(executable)
    install = os.path.dirname(os.path.dirname(real))
    root, name = os.path.split(install)
    parsed = parse_managed_name(name)
    if parsed is None or len(name.split("-", 2)) < 3:  # (no platform in the name)
        return None
    if not any(os.path.realpath(where) == root for where in _managed_roots()):
        return None
    link = os.path.join(root, minor_link_name(name, *parsed))
    if not os.path.islink(link) or os.path.realpath(link) != install:
        return None
    return os.path.join(link, os.path.relpath(real, install))


def parse_managed_name(name: str) -> tuple[tuple[int, int, int], bool] | None:
    """(version, free-threaded) of an install dir named like uv's, e.g.
    ``cpython-3.12.9-linux-x86_64-gnu`` or ``cpython-3.13.0+freethreaded-linux-x86_64-gnu``."""
    if not name.startswith("cpython-"):
        return None
    import re

    match = re.match(_MANAGED_NAME, name + "-")
    if not match:
        return None
    version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return version, bool(match.group(4) or match.group(5))


def this_machines_installs(root: str) -> list[tuple[str, tuple[int, int, int], bool]]:
    """(name, version, free-threaded) of the managed installs in ``root`` built for this
    machine's platform (a shared install dir may hold other machines' builds; uv leaves them
    out), by name; whether each has its interpreter is the caller's question."""
    try:
        names = sorted(os.listdir(root), reverse=True)
    except OSError:
        return []
    found = []
    here: Platform | None = None
    for name in names:
        parsed = parse_managed_name(name)
        if parsed is None:
            continue
        if here is None:
            from anyvenv.interpreter.buildtarget import current_platform

            here = current_platform()
        platform = name.split("-", 2)[2:]  # (none: a directory named by a version alone)
        if platform and here.runs(platform[0]):
            found.append((name, *parsed))
    return found


def managed_interpreters() -> Iterator[tuple[tuple[int, int, int], bool, str]]:
    """(version, free-threaded, executable) of managed installs, anyvenv's and uv's together,
    newest first (anyvenv's first of two of one version)."""
    found: list[tuple[tuple[int, int, int], bool, str]] = []
    for root in _managed_roots():
        for name, version, threaded in this_machines_installs(root):
            executable = f"python{version[0]}.{version[1]}{'t' if threaded else ''}"
            exe = os.path.join(root, name, "bin", executable)
            if os.path.exists(exe):
                found.append((version, threaded, exe))
    yield from sorted(found, key=lambda item: item[0], reverse=True)  # (a stable sort)


def _path_candidates(request: PythonRequest) -> Iterator[str]:
    """Executables on PATH that may answer ``request``, directory by directory as uv looks:
    ``python3.X`` for a request that pins X, then ``python3`` and ``python``, then, for any
    other request (a range such as ``>=3.12``, a bare major, none), every ``python3.N`` there
    that it allows. An
    env's ``bin`` (an activated env) is passed over, as uv passes it over for a base."""
    names = ["python3", "python"]
    hint = request.minor_hint()
    if hint is not None:
        names.insert(0, f"python{hint[0]}.{hint[1]}")
    every_minor = hint is None
    for directory in _base_directories():
        for name in names:
            candidate = os.path.join(directory, name)
            if _is_executable_file(candidate):
                yield candidate
        if every_minor:  # (a free-threaded build only when asked for)
            yield from _versioned_pythons(directory, request, threaded=not request.is_any)


def path_interpreters() -> Iterator[str]:
    """Every interpreter name on PATH, directory by directory, as ``uv python list`` finds
    them: ``python3.N`` (newest first), ``python3``, ``python``; a directory once (``/bin``
    is often ``/usr/bin``), a path once, an env's ``bin`` not at all (base interpreters)."""
    seen: set[str] = set()
    directories: set[tuple[int, int]] = set()
    for directory in _base_directories():
        try:
            st = os.stat(directory)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in directories:
            continue
        directories.add((st.st_dev, st.st_ino))
        names = [*_versioned_pythons(directory, parse_request(None))]
        names += [os.path.join(directory, name) for name in ("python3", "python")]
        for candidate in names:
            if candidate not in seen and _is_executable_file(candidate):
                seen.add(candidate)
                yield candidate


def _base_directories() -> Iterator[str]:
    """The directories of PATH in order (an empty entry is ``.``), an env's ``bin`` (an
    activated env's) left out: base interpreters are looked for there."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        directory = directory or "."
        if not _is_env_bin(directory):
            yield directory


def _is_env_bin(directory: str) -> bool:
    """Whether ``directory`` holds an env's executables (``pyvenv.cfg`` in it or its parent)."""
    directory = os.path.abspath(directory)
    return any(is_virtual_environment(where) for where in (directory, os.path.dirname(directory)))


def _versioned_pythons(
    directory: str, request: PythonRequest, threaded: bool = True
) -> Iterator[str]:
    """``python3.N`` and (with ``threaded``) ``python3.Nt`` in ``directory`` whose minor
    ``request`` may accept (N >= 6, as uv), newest first."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    found: list[tuple[int, bool, str]] = []
    for name in names:
        minor = versioned_python_minor(name)
        if minor is None or minor < 6 or not request.may_match_minor(3, minor):
            continue
        if name.endswith("t") and not threaded:
            continue
        path = os.path.join(directory, name)
        if _is_executable_file(path):
            found.append((minor, name.endswith("t"), path))
    for _, _, path in sorted(found, key=lambda item: (-item[0], item[1])):
        yield path


def versioned_python_minor(name: str) -> int | None:
    """N of an executable named ``python3.N`` or ``python3.Nt`` (N of one or two digits)."""
    if not name.startswith("python3."):
        return None
    digits = name[len("python3.") :].removesuffix("t")
    if not (1 <= len(digits) <= 2 and digits.isdecimal() and digits.isascii()):
        return None
    return int(digits)


def _is_executable_file(path: str) -> bool:
    return os.access(path, os.X_OK) and os.path.isfile(path)


def _satisfies(request: PythonRequest, info: InterpreterInfo) -> bool:
    return info.implementation == "CPython" and request.matches_version(
        info.version, info.free_threaded
    )


def _query_asked_for(path: str, words: OptionWords) -> InterpreterInfo:
    """The interpreter the user named; one that does not run or answer is their request
    failing (exit 2, as in uv), not anyvenv's."""
    from anyvenv.errors import MountNotAnswering

    try:
        return query_interpreter(path)
    except (InterpreterNotFound, MountNotAnswering, ProcessLimit):
        raise
    except NotPython3 as exc:
        example = words.option("python", "3.12")
        raise UnsupportedPython(
            exc.message, f"pass a Python 3 ({example}, or its path)" if example else exc.hint
        ) from exc
    except AnyvenvError as exc:
        raise InterpreterNotFound(exc.message, exc.hint) from exc


def _interpreter_in(directory: str, given: str) -> str:
    """The python of an install's or an env's directory: ``bin/python3`` or ``bin/python``,
    else (those links unreadable or dangling where the tree was copied: an sshfs mount that
    does not read links back) the one ``bin/python3.X`` file."""
    bin_dir = os.path.join(directory, "bin")
    inside = [os.path.join(bin_dir, name) for name in ("python3", "python")]
    found = next((exe for exe in inside if os.path.exists(exe)), None)
    if found is not None:
        return found
    try:
        names = os.listdir(bin_dir)
    except OSError:
        names = []
    versioned = sorted(
        path
        for path in (os.path.join(bin_dir, name) for name in names if _is_versioned_name(name))
        if not os.path.islink(path) and _is_executable_file(path)
    )
    if len(versioned) == 1:
        return versioned[0]
    for exe in inside:
        _refuse_unfollowable(exe, os.path.join(given, "bin", os.path.basename(exe)))
    raise InterpreterNotFound(
        f"{given} is a directory without bin/python3 or bin/python",
        "pass the path of a Python executable, or of the directory of an install",
    )


def _is_versioned_name(name: str) -> bool:
    """``python3.12`` (not ``python3.12-config``)."""
    minor = name[len("python3.") :]
    return name.startswith("python3.") and minor.isdigit()


def _refuse_unfollowable(path: str, given: str) -> None:
    """An :class:`InterpreterNotFound` naming why a link at ``path`` cannot be followed (a
    link sshfs or a FUSE mount will not read back: EACCES; a dangling one: ENOENT)."""
    if not os.path.islink(path):
        return
    from anyvenv.fs.outcome import errno_name

    try:
        target = os.readlink(path)
    except OSError as exc:
        raise InterpreterNotFound(
            f"{given} is a link that cannot be read here ({errno_name(exc.errno)})",
            "pass the interpreter it names (its bin/python3.X), or mount the filesystem so "
            "that links read back",
        ) from None
    import errno

    try:
        os.stat(path)
        return  # (there after all: made meanwhile)
    except OSError as exc:
        failure = exc.errno
    if failure == errno.ELOOP:
        what = "is in a loop of links (ELOOP)"
    elif failure == errno.EACCES:  # (the target is there, past a directory this user may not enter)
        from anyvenv.fs.paths import why_not_found

        what = why_not_found(os.path.realpath(path))  # (as far as the chain of links goes)
    else:
        what = "does not exist"
    raise InterpreterNotFound(
        f"{given} is a link to {target}, which {what}", "pass the path of a Python executable"
    )


def find_interpreter(
    raw_request: str | None, preference: str | None = None, *, words: OptionWords = NO_OPTIONS
) -> InterpreterInfo:
    """The base interpreter for ``--python`` (``None``: any Python, as uv finds one: the
    newest managed install, else the first ``python3`` on PATH). ``preference`` is uv's
    python-preference (default: ``UV_PYTHON_PREFERENCE``, else ``managed``). ``words``: how
    the caller's user passes a Python (its ``python`` option), for the hints (the default
    names no option)."""
    request = parse_request(raw_request)
    given = request.path
    if given is None and request.name is not None and os.path.isdir(request.name):
        given = request.name  # as uv: a directory here (``-p .venv``, ``-p pd``) is a path
    if given is not None:
        path = os.path.expanduser(given)
        if not os.path.exists(path):
            _refuse_unfollowable(path, given)
            from anyvenv.fs.paths import why_not_found

            why = why_not_found(path)  # (there, maybe, past a directory this user may not enter)
            if why == "does not exist":
                raise InterpreterNotFound(
                    f"no interpreter at {given}", "pass the path of a Python executable"
                )
            blocked = why.startswith("cannot be reached")
            hint = (
                "pass a Python you may run" if blocked else "pass the path of a Python executable"
            )
            raise InterpreterNotFound(f"{given} {why}", hint)
        if os.path.isdir(path):  # as uv: an install's or an env's directory, its bin/python3
            path = _interpreter_in(path, given)
        return _query_asked_for(path, words)
    if request.name is not None:
        import shutil

        found = shutil.which(request.name)
        if found is not None:
            return _query_asked_for(found, words)
        if not request.specifiers:
            if os.path.isfile(request.name):  # a file here, named as a command: as uv, not taken
                raise InterpreterNotFound(
                    f"no {request.name!r} on PATH (a name is looked up there, not here)",
                    f"pass it as a path: ./{request.name}",
                )
            example = words.option("python", "3.12")
            raise InterpreterNotFound(
                f"no {request.name!r} on PATH",
                f"install it, or pass a version or a path ({example})" if example else "install it",
            )
        # python3.12 not on PATH: any 3.12, as uv reads that name
    refuse_unsupported(request, words=words)
    preference = (
        checked_preference(preference, "the python preference")
        if preference
        else preference_of_variable(os.environ)
    )
    seen: set[str] = set()
    broken: list[str] = []
    for candidate in _ordered_candidates(request, preference):
        real = os.path.realpath(candidate)
        if real in seen:
            continue
        seen.add(real)
        try:
            info = query_interpreter(candidate)
        except ProcessLimit:  # (no candidate would start either: said as the limit it is)
            raise
        except AnyvenvError:  # a broken candidate (e.g. a pyenv shim of another version)
            broken.append(candidate)
            continue
        if _satisfies(request, info):
            return info
    wanted = repr(request.raw) if request.raw else "any Python"
    if preference == "only-system":  # (a managed install would not be taken either)
        install = "put one on PATH"
    elif request.is_any or (request.minor_hint() is not None and len(request.specifiers) == 1):
        install = f"install one with 'anyvenv python install {request.raw.strip() or '3'}'"
    else:  # a range: no version to name
        install = "install one that matches (see 'anyvenv python list --available')"
    skipped = f"; skipped, as they do not run: {', '.join(broken[:3])}" if broken else ""
    searched = {
        "only-managed": "managed installs only, as python-preference is only-managed",
        "only-system": "PATH only, as python-preference is only-system",
    }.get(preference, "managed installs and PATH")
    path_option = words.option("python", "PATH", placeholder=True)
    raise InterpreterNotFound(
        f"no Python matching {wanted} found (searched {searched}{skipped})"
        if request.raw
        else f"no Python found (searched {searched}{skipped})",
        f"{install} or pass {path_option}" if path_option else install,
    )


PREFERENCES = ("managed", "only-managed", "system", "only-system")


def refuse_unsupported(request: PythonRequest, *, words: OptionWords = NO_OPTIONS) -> None:
    """:class:`UnsupportedPython` for a request no CPython 3 of this platform answers (2.7,
    ``>=4``, bounds that exclude each other, another platform's build): nothing installed or
    downloadable will, so nothing is looked up. ``words``: how the caller's user passes a
    Python, for the hint's example (the default names no option)."""

    def example(value: str) -> str:
        return words.option("python", value) or value

    if request.platform:
        from anyvenv.interpreter.buildtarget import current_platform

        here = current_platform().key
        if not request.platform_matches(here):
            raise UnsupportedPython(
                f"{request.raw.strip()!r} names a build for another platform than this one "
                f"({here})",
                f"ask for the version alone ({example('3.12')})",
            )
    if request.specifiers and not any(request.may_match_minor(3, minor) for minor in range(100)):
        other_majors = (2, *range(4, 10))
        if not any(request.may_match_minor(m, n) for m in other_majors for n in range(100)):
            raise UnsupportedPython(  # (>=3.11,<3.5: its bounds exclude each other)
                f"no Python version satisfies {request.raw.strip()}",
                f"ask for a range some version is in ({example('>=3.11')})",
            )
        raise UnsupportedPython(
            f"Python {request.raw.strip()} is not supported: anyvenv makes environments for "
            "CPython 3",
            f"ask for a Python 3 ({example('3.12')})",
        )


def preference_of_variable(environ: Mapping[str, str]) -> str:
    """uv's ``UV_PYTHON_PREFERENCE`` (default ``managed``: managed installs before PATH)."""
    return checked_preference(
        environ.get("UV_PYTHON_PREFERENCE") or "managed", "UV_PYTHON_PREFERENCE"
    )


def checked_preference(value: str, source: str) -> str:
    """``value`` if it is one of uv's python-preference values; a usage error naming
    ``source`` (a variable, an option, a file) otherwise."""
    if value not in PREFERENCES:
        raise UsageError(
            f"python-preference {value!r} (from {source}) is not one of uv's preferences",
            f"use one of {', '.join(PREFERENCES)}",
        )
    return value


def _ordered_candidates(request: PythonRequest, preference: str) -> Iterator[str]:
    """As uv, by its python-preference: managed installs (newest first; a request for any
    Python leaves free-threaded builds out) before PATH, unless the preference says
    otherwise."""
    managed = (
        exe
        for version, threaded, exe in managed_interpreters()
        if request.matches_version(version, threaded) and not (request.is_any and threaded)
    )
    if preference == "system":
        yield from _path_candidates(request)
    if preference == "only-system":  # (uv's bin-dir links to managed installs are managed)
        yield from (exe for exe in _path_candidates(request) if not is_managed(exe))
    if preference != "only-system":
        yield from managed
    if preference == "managed":
        yield from _path_candidates(request)
