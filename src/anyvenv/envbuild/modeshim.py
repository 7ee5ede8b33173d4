"""Make ``os.chmod`` do what it can inside an env on a filesystem where chmod is broken.

pip (and anything else running in the env) marks files executable with ``os.chmod`` after
writing them. Where chmod fails with ENOSYS (FAT through fusefat) pip aborts; where chmod is
accepted and ignored (files keep the mode they were created with: bindfs ``--chmod-ignore``,
some CIFS mounts) console scripts stay non-executable. On such filesystems anyvenv writes a
``.pth`` file that loads :data:`SHIM_SOURCE` in every interpreter start of the env. For paths
on the env's own filesystem only, it:

- treats ENOSYS/EOPNOTSUPP from chmod as the no-op the filesystem would do if it had one;
- when the exec bits asked for are then missing, re-creates the file with the mode at
  creation (the only way such filesystems record a mode) and renames it over.

Nothing else is changed; envs on filesystems where chmod works get no shim.
"""

from __future__ import annotations

SHIM_MODULE = "_anyvenv_modes"
SHIM_PTH = "_anyvenv_modes.pth"

# Runs in the env's interpreter, which may be any CPython 3 (3.6 too): keep to old syntax.
SHIM_SOURCE = '''\
"""anyvenv: chmod on a filesystem that cannot store modes afterwards (see anyvenv docs)."""
import errno as _errno
import os as _os
import stat as _stat
import sys as _sys

_REAL_CHMOD = _os.chmod
_TOLERATED = (_errno.ENOSYS, _errno.EOPNOTSUPP)
_ENV_DEVICE = []  # measured at the first chmod, not at every start (a round trip on a share)


def _env_device():
    if not _ENV_DEVICE:
        try:
            _ENV_DEVICE.append(_os.stat(_sys.prefix).st_dev)
        except OSError:
            _ENV_DEVICE.append(None)
    return _ENV_DEVICE[0]


def _on_env_filesystem(path, dir_fd, follow_symlinks, kinds=(_stat.S_ISREG,)):
    """Whether ``path`` is a file (or of one of ``kinds``) on the env's filesystem."""
    device = _env_device()
    if device is None or isinstance(path, int):
        return False
    try:
        st = _os.stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    except (OSError, TypeError, ValueError):
        return False
    return st.st_dev == device and any(kind(st.st_mode) for kind in kinds)


def _recreate_with_mode(path, mode):
    """Copy the file into a new one created with ``mode`` and rename it over the old; the
    new file's mode (what the filesystem gave it). Nothing is left behind on a failure (a
    full disk)."""
    path = _os.fspath(path)
    folder, name = _os.path.split(path)
    temp = _os.path.join(folder, ".%s.anyvenv-mode-%d" % (name, _os.getpid()))
    source = _os.open(path, _os.O_RDONLY)
    try:
        fd = _os.open(temp, _os.O_WRONLY | _os.O_CREAT | _os.O_EXCL, mode & 0o7777)
        try:
            try:
                while True:
                    chunk = _os.read(source, 1 << 20)
                    if not chunk:
                        break
                    view = memoryview(chunk)
                    while view:
                        view = view[_os.write(fd, view):]
            finally:
                _os.close(fd)
            _os.replace(temp, path)
        except BaseException:
            try:
                _os.unlink(temp)
            except OSError:
                pass
            raise
    finally:
        _os.close(source)
    return _os.stat(path).st_mode


_MODES_FIXED = []  # [True] once a file made with exec bits did not show them: the mount sets modes


def _umask():
    """This process's umask (from /proc: setting it to read it races with other threads)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = _os.umask(0o022)
    _os.umask(mask)
    return mask


def _chmod(path, mode, dir_fd=None, follow_symlinks=True):
    try:
        _REAL_CHMOD(path, mode, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    except OSError as exc:
        kinds = (_stat.S_ISREG, _stat.S_ISDIR)  # (a directory there has no mode to set)
        if exc.errno not in _TOLERATED or not _on_env_filesystem(
            path, dir_fd, follow_symlinks, kinds
        ):
            raise
    wanted_exec = mode & 0o111
    if not wanted_exec or dir_fd is not None or _MODES_FIXED:
        return
    if not _on_env_filesystem(path, None, follow_symlinks):
        return
    wanted = wanted_exec & ~_umask()  # (what a file made with ``mode`` gets)
    if wanted and _os.stat(path).st_mode & wanted != wanted:
        try:  # the file a link names, not the link: it stays a link
            made = _recreate_with_mode(_os.path.realpath(path), mode)
        except OSError:
            return
        if made & wanted != wanted:  # (fusefat: every file 0700, whatever it is made with)
            _MODES_FIXED.append(True)  # rewriting files gains nothing here: no more of it


class _Chmod(object):
    """os.chmod's stand-in. An object, not a function: a function kept as a class attribute
    binds (pathlib's accessor keeps os.chmod so before Python 3.11, and Path.chmod then
    passed the path twice), a builtin does not."""

    __name__ = "chmod"

    def __init__(self):
        self.__doc__ = _REAL_CHMOD.__doc__

    def __call__(self, path, mode, *, dir_fd=None, follow_symlinks=True):
        return _chmod(path, mode, dir_fd, follow_symlinks)


chmod = _Chmod()
for _supports in ("supports_dir_fd", "supports_follow_symlinks"):
    _found = getattr(_os, _supports, None)  # (shutil asks these what os.chmod takes)
    if _found is not None and _REAL_CHMOD in _found:
        _found.add(chmod)
_os.chmod = chmod
'''

SHIM_PTH_LINE = f"import {SHIM_MODULE}\n"


def add_mode_shim(site_packages: str) -> bool:
    """Give an existing env whose site-packages is ``site_packages`` the shim, where it has
    none: the module, then the .pth that loads it (a kill between leaves no .pth naming a
    missing module). Whether it was added."""
    import os

    from anyvenv.fs.atomic import atomic_write

    pth = os.path.join(site_packages, SHIM_PTH)
    if os.path.lexists(pth):
        return False
    atomic_write(os.path.join(site_packages, f"{SHIM_MODULE}.py"), SHIM_SOURCE.encode())
    atomic_write(pth, SHIM_PTH_LINE.encode())
    return True
