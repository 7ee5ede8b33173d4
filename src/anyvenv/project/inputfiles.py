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

import fnmatch
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from anyvenv.project.model import PYPROJECT, VERSION_FILES, Project
from anyvenv.project.uvrules import option_value, system_config_dirs, user_config_dir

LOCKFILE = "uv.lock"
UV_CONFIG = "uv.toml"
CACHE_KEY_FILES = (PYPROJECT, "setup.py", "setup.cfg", "src")
# uv.lock: `source = { editable = "packages/app" }` and the like, for packages on local disk
_LOCAL_SOURCE = re.compile(
    r'^source = \{ (editable|directory|virtual|path) = "((?:[^"\\]|\\.)*)"', re.MULTILINE
)


class NotFingerprintable(Exception):
    """uv reads more than files for this project (the message says what)."""


def _ancestors(start: Path) -> Iterator[Path]:
    yield start
    yield from start.parents


def _along_the_way(start: Path) -> list[Path]:
    names = (PYPROJECT, UV_CONFIG, *VERSION_FILES)
    return [directory / name for directory in _ancestors(start) for name in names]


def _has_magic(part: str) -> bool:
    return any(char in part for char in "*?[")


def glob_listing(root: Path, pattern: str) -> tuple[list[Path], list[Path]]:
    """(the directories a glob of ``pattern`` lists and the literal paths it passes through,
    the directories it matches)."""
    watched: list[Path] = []
    frontier = [root]
    for part in Path(pattern).parts:
        if part == "**":
            below = [Path(d) for base in frontier for d, _, _ in os.walk(base)]
            watched += below
            frontier = below
        elif _has_magic(part):
            watched += frontier
            frontier = [
                base / name
                for base in frontier
                if base.is_dir()
                for name in sorted(os.listdir(base))
                if fnmatch.fnmatchcase(name, part) and (base / name).is_dir()
            ]
        else:
            frontier = [base / part for base in frontier]
            watched += frontier
            frontier = [path for path in frontier if path.is_dir()]
    return watched, frontier


def _workspace(project: Project) -> list[Path]:
    paths: list[Path] = []
    for member in project.members:
        paths += [member / name for name in CACHE_KEY_FILES]
    for pattern in project.member_globs:
        watched, matched = glob_listing(project.workspace_root, pattern)
        paths += watched
        paths += [directory / PYPROJECT for directory in matched]
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


def local_sources(workspace_root: Path, lock_text: str) -> list[Path]:
    """What uv.lock's local packages are read from: their cache-key files, or the archive."""
    paths: list[Path] = []
    for kind, raw in _LOCAL_SOURCE.findall(lock_text):
        source = workspace_root / os.path.expanduser(_unescape(raw))
        if kind == "path":
            paths.append(source)
        else:
            paths += [source / name for name in CACHE_KEY_FILES]
    return paths


def _config_files(uv_args: Sequence[str], environ: Mapping[str, str], cwd: Path) -> list[Path]:
    user = Path(user_config_dir(environ))
    paths = [user / UV_CONFIG, *(user / name for name in VERSION_FILES)]
    paths += [Path(directory, UV_CONFIG) for directory in system_config_dirs(environ)]
    for given in (option_value(uv_args, "--config-file"), environ.get("UV_CONFIG_FILE")):
        if given:
            paths.append(cwd / os.path.expanduser(given))
    return paths


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _refuse_uncacheable(paths: Sequence[Path]) -> None:
    """:class:`NotFingerprintable` when a pyproject.toml sets cache-keys or a config file sets
    exclude-newer (a substring search: a false alarm only costs a run of uv)."""
    for path in paths:
        if path.name not in (PYPROJECT, UV_CONFIG, LOCKFILE):
            continue
        data = _read(path)
        if data is None:
            continue
        if path.name == PYPROJECT and b"cache-keys" in data:
            raise NotFingerprintable(f"{path} sets tool.uv.cache-keys")
        if b"exclude-newer" in data:
            raise NotFingerprintable(f"{path} sets exclude-newer")


def sync_inputs(
    project: Project,
    start: Path,
    uv: str,
    uv_args: Sequence[str],
    environ: Mapping[str, str],
    cwd: Path,
) -> list[str]:
    """Every path a sync of ``project`` from ``start`` reads outside the env;
    :class:`NotFingerprintable` when that is not all uv decides by."""
    lockfile = project.workspace_root / LOCKFILE
    lock_text = (_read(lockfile) or b"").decode("utf-8", "surrogateescape")
    paths = [
        *_along_the_way(start),
        *_workspace(project),
        lockfile,
        *local_sources(project.workspace_root, lock_text),
        *_config_files(uv_args, environ, cwd),
        Path(uv),
    ]
    _refuse_uncacheable(paths)
    return list(dict.fromkeys(os.fspath(path) for path in paths))


def env_inputs(
    env: Path, site_packages: str, shadow: Path | None, pointer: Path | None
) -> list[str]:
    """The paths of the env (and its shadow, and the pointer to it) that uv's work changes."""
    paths = [env / site_packages]
    if shadow is not None:
        paths += [shadow / site_packages, shadow / "pyvenv.cfg", shadow / "bin" / "python"]
    if pointer is not None:
        paths.append(pointer)
    return [os.fspath(path) for path in paths]
