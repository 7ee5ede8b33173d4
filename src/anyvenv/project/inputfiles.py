"""The paths a sync of a project reads, for its fingerprint (:mod:`anyvenv.project.inputs`).

Where anyvenv or uv look for a file, the path is listed whether or not it exists (a file that
appears is a change too):

- from the start directory up to /: ``pyproject.toml`` (the project and its workspace are found
  there), ``uv.toml`` (uv's config search), ``.python-version`` and ``.python-versions``;
- each workspace member's and local package's (editable, directory or path source in uv.lock)
  ``pyproject.toml``, ``setup.py``, ``setup.cfg`` and ``src`` (uv's default cache keys), and
  the directories the member globs list (a new member makes them change);
- ``uv.lock``; uv's user and system ``uv.toml``, the global ``.python-version``, a
  ``--config-file`` or ``UV_CONFIG_FILE``; the uv binary;
- the env's site-packages, the shadow env's site-packages, pyvenv.cfg and python, and the
  pointer file when the env lives elsewhere.

Some projects cannot be fingerprinted: uv decides by more than these files when a package
sets ``tool.uv.cache-keys`` or the config sets ``exclude-newer`` (dates relative to now).
"""

from __future__ import annotations

import os

from anyvenv.fs import CFG_NAME
from anyvenv.fs.paths import upward
from anyvenv.project.model import PYPROJECT, VERSION_FILES, Project
from anyvenv.project.readonce import read_bytes
from anyvenv.project.uvrules import (
    given_config_files,
    user_and_system_config_files,
    user_config_dir,
)

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

LOCKFILE = "uv.lock"
UV_CONFIG = "uv.toml"
CACHE_KEY_FILES = (PYPROJECT, "setup.py", "setup.cfg", "src")
# uv.lock: `source = { editable = "packages/app" }` and the like, for packages on local disk
_LOCAL_SOURCE = r'^source = \{ (editable|directory|virtual|path) = "((?:[^"\\]|\\.)*)"'
_LOCAL_KINDS = ("editable", "directory", "virtual", "path")


class NotFingerprintable(Exception):
    """uv reads more than files for this project (the message says what)."""


def _along_the_way(start: str) -> list[str]:
    names = (PYPROJECT, UV_CONFIG, *VERSION_FILES)
    return [os.path.join(d, name) for d in upward(start) for name in names]


def _has_magic(part: str) -> bool:
    return any(char in part for char in "*?[")


def _pattern_parts(pattern: str) -> list[str]:
    """``pattern`` split as PurePosixPath.parts splits it (a leading ``/`` is a part)."""
    parts = [part for part in pattern.split("/") if part and part != "."]
    return ["/", *parts] if pattern.startswith("/") else parts


def glob_listing(root: str, pattern: str) -> tuple[list[str], list[str]]:
    """(the directories a glob of ``pattern`` lists and the literal paths it passes through,
    the directories it matches)."""
    import fnmatch  # here: only workspaces glob (fnmatch imports re: start-up time)

    watched: list[str] = []
    frontier = [root]
    for part in _pattern_parts(pattern):
        if part == "**":
            below = [d for base in frontier for d, _, _ in os.walk(base)]
            watched += below
            frontier = below
        elif _has_magic(part):
            watched += frontier
            frontier = [
                os.path.join(base, name)
                for base in frontier
                if os.path.isdir(base)
                for name in sorted(os.listdir(base))
                if fnmatch.fnmatchcase(name, part) and os.path.isdir(os.path.join(base, name))
            ]
        else:
            frontier = [os.path.join(base, part) for base in frontier]
            watched += frontier
            frontier = [path for path in frontier if os.path.isdir(path)]
    return watched, frontier


def _workspace(project: Project) -> list[str]:
    paths: list[str] = []
    for member in project.members:
        paths += [os.path.join(member, name) for name in CACHE_KEY_FILES]
    for pattern in project.member_globs:
        watched, matched = glob_listing(project.workspace_root, pattern)
        paths += watched
        paths += [os.path.join(directory, PYPROJECT) for directory in matched]
    return paths


def _unescape(text: str) -> str:
    """A TOML basic string's body (the escapes uv writes are JSON's)."""
    if "\\" not in text:
        return text
    import json

    try:
        value = json.loads(f'"{text}"')
    except ValueError as exc:
        raise NotFingerprintable(f"uv.lock names a path anyvenv cannot read: {text}") from exc
    return str(value)


def local_source_entries(lock_text: str) -> list[tuple[str, str]]:
    """``(kind, raw path)`` of each local package in uv.lock, in order: what ``_LOCAL_SOURCE``
    finds (``re.findall`` with MULTILINE), read without ``re`` (start-up time)."""
    starts: list[tuple[int, str, int]] = []  # (where the match starts, kind, where the body does)
    for kind in _LOCAL_KINDS:
        mark = f'source = {{ {kind} = "'
        index = lock_text.find(mark)
        while index != -1:
            if index == 0 or lock_text[index - 1] == "\n":
                starts.append((index, kind, index + len(mark)))
            index = lock_text.find(mark, index + 1)
    found: list[tuple[str, str]] = []
    consumed = 0  # findall's matches do not overlap
    for start, kind, body in sorted(starts):
        if start < consumed:
            continue
        end = _basic_string_end(lock_text, body)
        if end is not None:
            found.append((kind, lock_text[body:end]))
            consumed = end + 1
    return found


def _basic_string_end(text: str, index: int) -> int | None:
    """The index of the ``"`` closing the string body that starts at ``index``; the body holds
    any character but ``"`` and a backslash, or a backslash and a character but a newline."""
    while index < len(text):
        char = text[index]
        if char == '"':
            return index
        if char == "\\":
            if index + 1 >= len(text) or text[index + 1] == "\n":
                return None
            index += 2
        else:
            index += 1
    return None


def local_sources(workspace_root: str, lock_text: str) -> list[str]:
    """What uv.lock's local packages are read from: their cache-key files, or the archive."""
    paths: list[str] = []
    for kind, raw in local_source_entries(lock_text):
        source = _joined(workspace_root, os.path.expanduser(_unescape(raw)))
        if kind == "path":
            paths.append(source)
        else:
            paths += [os.path.join(source, name) for name in CACHE_KEY_FILES]
    return paths


def _joined(root: str, relative: str) -> str:
    """``relative`` (an absolute path as it is) from ``root``, its ``.`` parts left out: the
    workspace root's own ``virtual = "."`` is the root's paths, not ``root/./``'s twins (each
    a stat more at every no-op sync). ``..`` stays, as the kernel follows it after links."""
    joined = os.path.join(root, relative)
    parts = [part for part in joined.split("/") if part != "."]
    return "/".join(parts).rstrip("/") or "/"


def _config_files(uv_args: Sequence[str], environ: Mapping[str, str], cwd: str) -> list[str]:
    user = user_config_dir(environ)
    paths = user_and_system_config_files(environ)
    paths += [os.path.join(user, name) for name in VERSION_FILES] if user is not None else []
    return paths + given_config_files(uv_args, environ, cwd)


def _read(path: str) -> bytes | None:
    try:
        return read_bytes(path)  # (once a command: see readonce)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _refuse_uncacheable(
    paths: Sequence[str], read: Mapping[str, bytes | None], checked: Collection[str] = ()
) -> None:
    """:class:`NotFingerprintable` when a pyproject.toml sets cache-keys or a config file sets
    exclude-newer (a substring search: a false alarm only costs a run of uv). ``read``: the
    bytes of paths already read (uv.lock), not read again; ``checked``: paths checked before
    and found unchanged since, not read again."""
    for path in paths:
        name = os.path.basename(path)
        if name not in (PYPROJECT, UV_CONFIG, LOCKFILE) or path in checked:
            continue
        data = read[path] if path in read else _read(path)
        if data is None:
            continue
        if name == PYPROJECT and b"cache-keys" in data:
            raise NotFingerprintable(f"{path} sets tool.uv.cache-keys")
        if b"exclude-newer" in data:
            raise NotFingerprintable(f"{path} sets exclude-newer")


def sync_inputs(
    project: Project,
    start: str,
    uv: str,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: str,
    checked: Collection[str] = (),
) -> list[str]:
    """Every path a sync of ``project`` from ``start`` reads outside the env;
    :class:`NotFingerprintable` when that is not all uv decides by (``checked``: paths found
    to tell nothing of that before, and unchanged since)."""
    lockfile = os.path.join(project.workspace_root, LOCKFILE)
    lock_data = _read(lockfile)
    lock_text = (lock_data or b"").decode("utf-8", "surrogateescape")
    paths = list(
        dict.fromkeys(
            [
                *_along_the_way(start),
                *_workspace(project),
                lockfile,
                *local_sources(project.workspace_root, lock_text),
                *_config_files(uv_args, environ, cwd),
                uv,
            ]
        )
    )
    _refuse_uncacheable(paths, {lockfile: lock_data}, checked)
    return paths


def env_inputs(env: str, site_packages: str, shadow: str | None, pointer: str | None) -> list[str]:
    """The paths of the env (and its shadow, and the pointer to it) that uv's work changes."""
    paths = [os.path.join(env, site_packages)]
    if shadow is not None:
        paths += [
            os.path.join(shadow, site_packages),
            os.path.join(shadow, CFG_NAME),
            os.path.join(shadow, "bin", "python"),
        ]
    if pointer is not None:
        paths.append(pointer)
    return paths
