"""Let build backends run where the project's filesystem has no chmod (FAT: ENOSYS).

uv builds the project (and path sources) with their build backend in an isolated build env
of its own, with the source tree as the working directory. setuptools 68 and later writes
``PKG-INFO`` into the project's ``*.egg-info`` through a temp file whose mode it then sets
with ``os.chmod``, and distutils keeps modes with ``os.chmod`` when it copies; where chmod
fails the build fails with it. anyvenv's env shim (:mod:`anyvenv.envbuild.modeshim`) is in
the project env, not in uv's build env; what reaches the backend is the environment: uv
passes ``PYTHONPATH`` on. So for uv's run only, anyvenv puts a directory holding a
``sitecustomize`` in front of ``PYTHONPATH``. In every Python uv starts, it makes ENOSYS or
EOPNOTSUPP from ``os.chmod``/``os.fchmod`` the no-op such a filesystem would do if it had
one, for files and directories on the devices named in :data:`DEVICES_VARIABLE` only, and
then runs the ``sitecustomize`` it hides, if any (Debian's, the user's).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from anyvenv.project.model import Project

DEVICES_VARIABLE = "ANYVENV_CHMOD_NOOP_DEVICES"  # (written out in SHIM_SOURCE too)
CACHE_KIND = "build-shim"  # cleared by cache clean (anyvenv.caches.OWN_KINDS)

# Runs in whatever Python uv builds with, which may be any CPython 3: keep to old syntax.
SHIM_SOURCE = '''\
"""anyvenv: chmod where the project's filesystem has none (see anyvenv.project.buildshim)."""
import errno as _errno
import os as _os
import stat as _stat
import sys as _sys

_TOLERATED = (_errno.ENOSYS, _errno.EOPNOTSUPP)
_DEVICES = frozenset(
    int(word) for word in _os.environ.get("ANYVENV_CHMOD_NOOP_DEVICES", "").split(",") if word.isdigit()
)


def _on_devices(target, dir_fd=None, follow_symlinks=True):
    try:
        if isinstance(target, int):
            st = _os.fstat(target)
        else:
            st = _os.stat(target, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    except (OSError, TypeError, ValueError):
        return False
    kind = _stat.S_ISREG(st.st_mode) or _stat.S_ISDIR(st.st_mode)
    return kind and st.st_dev in _DEVICES


class _Tolerating(object):
    """os.chmod or os.fchmod, with ENOSYS on the named devices a no-op. An object, not a
    function: a function kept as a class attribute binds (pathlib's accessor keeps os.chmod
    so before Python 3.11, and Path.chmod then passed the path twice), a builtin does not."""

    def __init__(self, real, checks_path):
        self._real = real
        self._checks_path = checks_path
        self.__doc__ = real.__doc__
        self.__name__ = real.__name__

    def __call__(self, target, mode, *args, **kwargs):
        try:
            return self._real(target, mode, *args, **kwargs)
        except OSError as exc:
            if exc.errno not in _TOLERATED:
                raise
            if self._checks_path:
                where = _on_devices(target, **kwargs)
            else:
                where = _on_devices(target)
            if not where:
                raise
            return None


def _tolerating(real, checks_path):
    wrapper = _Tolerating(real, checks_path)
    for supports in ("supports_dir_fd", "supports_fd", "supports_follow_symlinks"):
        found = getattr(_os, supports, None)  # (shutil asks these what os.chmod takes)
        if found is not None and real in found:
            found.add(wrapper)
    return wrapper


def _run_hidden_sitecustomize():
    import importlib.machinery
    import importlib.util

    here = _os.path.dirname(_os.path.abspath(__file__))
    path = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    _sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


if _DEVICES:
    _os.chmod = _tolerating(_os.chmod, True)
    _os.fchmod = _tolerating(_os.fchmod, False)
_run_hidden_sitecustomize()
'''


def shim_directory(environ: Mapping[str, str]) -> str | None:
    """The directory holding the shim as ``sitecustomize.py`` (in anyvenv's cache, named by
    its contents), written when missing; ``None`` where it cannot be written."""
    from anyvenv.fs.atomic import atomic_write, read_small_file
    from anyvenv.fs.paths import missing_directories, remove_while_empty
    from anyvenv.userdirs import cache_home, fnv1a_64

    data = SHIM_SOURCE.encode()
    directory = os.path.join(cache_home(environ), "anyvenv", CACHE_KIND, f"{fnv1a_64(data):016x}")
    path = os.path.join(directory, "sitecustomize.py")
    if read_small_file(path, len(data) + 1) == data:
        return directory
    made = missing_directories(directory)
    try:
        os.makedirs(directory, exist_ok=True)
        atomic_write(path, data)
    except OSError:  # (a full disk: no empty directories left behind either)
        remove_while_empty(made)
        return None
    return directory


def with_build_shim(uv_env: Mapping[str, str], source_dirs: Iterable[str]) -> dict[str, str]:
    """``uv_env`` for a uv run whose builds may write into ``source_dirs``: where chmod fails
    on the filesystem of any of them (measured), the shim first on ``PYTHONPATH`` and those
    devices named; ``uv_env`` as it is elsewhere, or where the shim cannot be written (uv's
    own error then shows)."""
    result = dict(uv_env)
    devices = _devices_without_chmod(source_dirs)
    if not devices:
        return result
    directory = shim_directory(uv_env)
    if directory is None:
        return result
    earlier = result.get("PYTHONPATH", "")  # kept as it is: an empty entry has a meaning
    result["PYTHONPATH"] = directory + os.pathsep + earlier if earlier else directory
    result[DEVICES_VARIABLE] = ",".join(str(device) for device in devices)
    return result


def _devices_without_chmod(directories: Iterable[str]) -> list[int]:
    """The devices of ``directories`` whose chmod fails: measured by the probe, except on a
    local disk's own filesystems (ext4, xfs, tmpfs...), where it works (no probe there)."""
    from anyvenv.fs.mounts import mount_of, read_mounts
    from anyvenv.project.envchoice import probed_at

    mounts = None
    judged: dict[int, bool] = {}
    for directory in directories:
        try:
            device = os.stat(directory).st_dev
        except OSError:
            continue
        if device in judged:
            continue
        mounts = read_mounts() if mounts is None else mounts
        mount = mount_of(directory, mounts)
        probed = None if mount is not None and mount.is_local else probed_at(directory)
        judged[device] = probed is not None and probed.chmod_fails
    return sorted(device for device, fails in judged.items() if fails)


def project_source_dirs(project: Project) -> list[str]:
    """Where uv builds for ``project``: its workspace root and members, the directories their
    ``[tool.uv.sources]`` name by path (``../lib``) and their requirements name by a direct
    reference (``lib @ file:///srv/lib``), which may be on other filesystems."""
    from anyvenv.errors import UsageError
    from anyvenv.project.model import read_pyproject, uv_source_entries

    found = [project.workspace_root, *project.members]
    for member in [project.workspace_root, *project.members]:
        try:
            data = read_pyproject(os.path.join(member, "pyproject.toml"))
        except (OSError, UsageError):
            continue
        for entry in uv_source_entries(data):
            path = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(path, str):
                full = os.path.join(member, os.path.expanduser(path))
                found.append(full if os.path.isdir(full) else os.path.dirname(full))
        for requirement in _requirement_strings(data):
            _, at, url = requirement.partition("@")
            directory = _local_dir(url.partition(";")[0].strip(), member) if at else None
            if directory is not None:
                found.append(directory)
    return list(dict.fromkeys(found))


def _requirement_strings(data: dict[str, object]) -> list[str]:
    """The PEP 508 strings of a pyproject's dependencies, optional dependencies, dependency
    groups and uv's ``dev-dependencies``."""
    from anyvenv.project.model import uv_table

    project = data.get("project")
    uv = uv_table(data)
    lists: list[object] = []
    if isinstance(project, dict):
        lists.append(project.get("dependencies"))
        extras = project.get("optional-dependencies")
        lists += list(extras.values()) if isinstance(extras, dict) else []
    groups = data.get("dependency-groups")
    lists += list(groups.values()) if isinstance(groups, dict) else []
    if uv is not None:
        lists.append(uv.get("dev-dependencies"))
    return [
        item
        for listed in lists
        if isinstance(listed, list)
        for item in listed
        if isinstance(item, str)
    ]


def named_dirs(args: Iterable[str], cwd: str) -> list[str]:
    """The working directory and the local directories ``args`` name (``-e ../lib``,
    ``--editable=../lib``, ``./pkg[extra]``, ``name @ file:///path``, and the same in the
    requirements files given with ``-r``): what ``uv pip`` or ``uv add`` may build."""
    found = [cwd]
    words = list(args)
    for index, word in enumerate(words):
        value = _option_value(word, words[index + 1 : index + 2], ("-r", "--requirement"))
        if value is not None:
            found += _dirs_in_requirements(os.path.join(cwd, os.path.expanduser(value)))
            continue
        directory = _local_dir(word, cwd)
        if directory is not None:
            found.append(directory)
    return found


def _option_value(word: str, following: list[str], names: tuple[str, ...]) -> str | None:
    """The value ``word`` gives one of the options ``names`` (``-r F``, ``-rF``,
    ``--requirement=F``, ``--requirement F``)."""
    for name in names:
        if word == name:
            return following[0] if following else None
        if name.startswith("--") and word.startswith(name + "="):
            return word[len(name) + 1 :]
        if not name.startswith("--") and word.startswith(name) and len(word) > len(name):
            return word[len(name) :]
    return None


def _local_dir(word: str, base: str) -> str | None:
    """The directory on this machine that one word of a requirement names, if any."""
    for prefix in ("--editable=", "-e"):
        if word.startswith(prefix) and word != prefix:
            word = word[len(prefix) :]
            break
    if word.startswith("-"):
        return None
    if "file://" in word:
        from urllib.parse import unquote, urlsplit

        word = unquote(urlsplit(word[word.index("file://") :]).path)
    elif "://" in word:
        return None
    if word.endswith("]") and "[" in word:
        word = word[: word.index("[")]  # extras
    full = os.path.join(base, os.path.expanduser(word.strip()))
    return full if word.strip() and os.path.isdir(full) else None


def _dirs_in_requirements(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            lines = stream.read(1 << 20).splitlines()
    except OSError:
        return []
    base = os.path.dirname(path)
    found: list[str] = []
    for line in lines:
        for word in line.partition(" #")[0].split():
            directory = _local_dir(word, base)
            if directory is not None:
                found.append(directory)
    return found
