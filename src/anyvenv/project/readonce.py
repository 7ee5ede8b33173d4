"""A project's input files read once per stretch of a command in which nothing writes them.

Before uv runs, a sync reads pyproject.toml for the project (:func:`~anyvenv.project.model.
discover`), for uv's settings (each setting anyvenv acts on looks again), for the cache dir,
for the build shim's source directories, for what cannot be fingerprinted, and for the
record's fingerprint (its content, where the times do not tell an edit): on a share each read
is round trips (an open, a read, a close). A :class:`FileMemo` keeps the bytes of each file
read while it is active, so that the others are served from it.

It never crosses a run of uv, which writes uv.lock (and, for add and remove, pyproject.toml):
a memo is active only in a ``with memo.active():`` block of code that writes none of the
files it keeps, and :func:`~anyvenv.project.uvcall.run_uv` drops the active memo's files
(should a block ever hold a run of uv). What a sync reads after uv ran is read afresh, into a
memo of its own. The content the record is taken from is served only for a file that is still
the one read: the same device, inode, size, mtime and ctime (:meth:`FileMemo.same_file`).

The active memo is the calling thread's (others read their files themselves); there is none
outside a block, so nothing is kept past the call that made it.
"""

from __future__ import annotations

import errno
import os
import stat
from _thread import get_ident  # (threading's own: importing threading costs start-up time)

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    # device, inode, size, mtime and ctime of the file that was read (fstat of the open file)
    FileKey = tuple[int, int, int, int, int]

# files larger than this are read as before, not kept (the uv binary, when it is an input)
MAX_KEPT_BYTES = 4 * 1024 * 1024
_MISSING_ERRORS = (errno.ENOENT, errno.ENOTDIR)

_active: dict[int, FileMemo] = {}  # thread id -> its memo, while a block is active


def key_of(st: os.stat_result) -> FileKey:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileMemo:
    """The bytes of the files read while it was active, by absolute path (or the errno that
    said one is missing)."""

    __slots__ = ("_files", "reads")

    def __init__(self) -> None:
        self._files: dict[str, tuple[FileKey, bytes] | int] = {}  # an int: the errno of a miss
        self.reads = 0  # files opened through the memo (for tests)

    def read(self, path: str) -> bytes:
        """The bytes of ``path``, read once: :class:`OSError` as ``open`` raises it (a missing
        file is remembered as missing; other errors are not remembered)."""
        absolute = os.path.abspath(path)
        kept = self._files.get(absolute)
        if isinstance(kept, int):
            raise OSError(kept, os.strerror(kept), path)  # (FileNotFoundError, NotADirectoryError)
        if kept is not None:
            return kept[1]
        try:
            key, data = self._load(path)
        except OSError as exc:
            if exc.errno in _MISSING_ERRORS:
                self._files[absolute] = exc.errno
            raise
        if key is not None and len(data) <= MAX_KEPT_BYTES:
            self._files[absolute] = (key, data)
        return data

    def same_file(self, path: str, st: os.stat_result) -> bytes | None:
        """The bytes of ``path`` as ``st`` (a stat made a moment ago) shows it: the kept ones when
        they were read from that very file, else read now and kept if nothing was; ``None``
        where it is to be read as before (another file than the one kept, which stays for
        :meth:`changed` to tell, or a file too large to keep)."""
        kept = self._files.get(os.path.abspath(path))
        if isinstance(kept, tuple):
            return kept[1] if kept[0] == key_of(st) else None
        if kept is not None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_KEPT_BYTES:
            return None
        try:
            return self.read(path)
        except OSError:
            return None

    def is_file(self, path: str) -> bool:
        """``os.path.isfile(path)``, answered from what was read (a file kept, or one found
        missing) without a lookup; a file found missing here is remembered as missing."""
        kept = self._files.get(os.path.abspath(path))
        if kept is not None:
            return not isinstance(kept, int)
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno in _MISSING_ERRORS:
                self._files[os.path.abspath(path)] = exc.errno
            return False
        return stat.S_ISREG(st.st_mode)

    def changed(self, path: str, entry: tuple[int, int, int, object] | None) -> bool:
        """Whether ``path``, read through the memo, is no longer what was read: ``entry`` (its
        fingerprint now, :func:`~anyvenv.project.inputs.entry_of`; ``None``: missing) shows
        another size, mtime or ctime, or it appeared or went. No file is looked at."""
        kept = self._files.get(os.path.abspath(path))
        if kept is None:
            return False  # (not read through the memo)
        if isinstance(kept, int):
            return entry is not None
        return entry is None or (entry[0], entry[1], entry[2]) != kept[0][2:]

    def forget(self) -> None:
        """Drop every file kept (what uv is about to run on may change)."""
        self._files.clear()

    def _load(self, path: str) -> tuple[FileKey | None, bytes]:
        self.reads += 1
        with open(path, "rb") as stream:
            st = os.fstat(stream.fileno())
            data = stream.read()
        return (key_of(st) if stat.S_ISREG(st.st_mode) else None), data

    def active(self) -> _Active:
        """``with memo.active():`` this thread's reads through :func:`read_bytes` go through
        the memo until the block ends (blocks nest: the inner memo serves inside it)."""
        return _Active(self)


class _Active:
    __slots__ = ("_memo", "_outer", "_thread")

    def __init__(self, memo: FileMemo) -> None:
        self._memo = memo
        self._thread = 0
        self._outer: FileMemo | None = None

    def __enter__(self) -> FileMemo:
        self._thread = get_ident()
        self._outer = _active.get(self._thread)
        _active[self._thread] = self._memo
        return self._memo

    def __exit__(self, *exc_info: object) -> None:
        if self._outer is None:
            _active.pop(self._thread, None)
        else:
            _active[self._thread] = self._outer


def current() -> FileMemo | None:
    """The memo active in this thread, if any."""
    return _active.get(get_ident()) if _active else None


def read_bytes(path: str) -> bytes:
    """The bytes of ``path``, through the active memo if there is one; :class:`OSError` as
    ``open`` raises it."""
    memo = current()
    if memo is not None:
        return memo.read(path)
    with open(path, "rb") as stream:
        return stream.read()


def is_file(path: str) -> bool:
    """``os.path.isfile(path)``, through the active memo if there is one."""
    memo = current()
    return memo.is_file(path) if memo is not None else os.path.isfile(path)


def uv_runs() -> None:
    """uv is about to run, and may write what the active memo kept: it is dropped."""
    memo = current()
    if memo is not None:
        memo.forget()
