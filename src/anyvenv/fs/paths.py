"""Path arithmetic on strings, for the start-up paths: pathlib costs more start-up time (it
imports re, fnmatch and urllib) than the work those paths do."""

from __future__ import annotations

import os


def parents(path: str) -> list[str]:
    """The directories above ``path`` (absolute and normalised), nearest first, as
    ``PurePath.parents`` lists them."""
    found: list[str] = []
    parent = os.path.dirname(path)
    while parent != path:
        found.append(parent)
        path, parent = parent, os.path.dirname(parent)
    return found


def upward(path: str) -> list[str]:
    """``path`` and the directories above it, nearest first."""
    return [path, *parents(path)]


def missing_directories(directory: str) -> list[str]:
    """``directory`` and those above it that are not there yet, the deepest first: what a
    ``makedirs`` of it makes, and :func:`remove_while_empty` takes away again."""
    missing: list[str] = []
    for path in upward(os.path.abspath(directory)):
        if os.path.lexists(path):
            break
        missing.append(path)
    return missing


def remove_while_empty(directories: list[str]) -> None:
    """Remove ``directories`` (the deepest first) while they are empty (quietly)."""
    for directory in directories:
        try:
            os.rmdir(directory)
        except OSError:
            return


def same_place(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two paths lead to the same place, links followed, by their resolved text
    (no stat of the paths themselves: right for one that is gone; resolving reads the links
    on the way, so a hung mount on the way still blocks)."""
    return os.path.realpath(first) == os.path.realpath(second)


def same_file(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two paths are the same file (same device and inode); by their resolved text
    where either cannot be stat'ed."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return same_place(first, second)


def through_directory_link(path: str) -> str:
    """The directory a link at ``path`` names, when it names one (an env is built in it, as
    uv builds through such a link); else ``path`` itself."""
    if os.path.islink(path) and os.path.isdir(path):
        return os.path.realpath(path)
    return path


def same_entry(first: str, second: str) -> bool:
    """Whether two paths name the same directory entry: the same text, or the same name in
    one directory reached two ways (by device and inode: another spelling on a
    case-insensitive filesystem, a bind mount); the entries themselves are not followed,
    but for a name spelled in another case (``.VENV`` for ``.venv`` on FAT), which is one
    only as a directory that its parent lists once."""
    if first == second:
        return True
    first_name, second_name = os.path.basename(first), os.path.basename(second)
    if first_name != second_name:
        return first_name.casefold() == second_name.casefold() and _one_directory_in_any_case(
            os.path.abspath(first), os.path.abspath(second)
        )
    first, second = os.path.dirname(first), os.path.dirname(second)
    return same_file(first, second) or _one_directory_in_any_case(first, second)


def same_directory(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """:func:`same_file` for two directories, which are also one where two spellings differ
    only in case on a filesystem that ignores it (FAT and exFAT through FUSE give each
    spelling an inode number of its own)."""
    if same_file(first, second):
        return True
    return _one_directory_in_any_case(os.path.abspath(first), os.path.abspath(second))


def _one_directory_in_any_case(first: str, second: str) -> bool:
    """Whether two spellings that differ only in case lead to one directory: where they
    differ, the directory lists one of the names, and both can be looked up (a filesystem
    that ignores case, such as FAT, whose FUSE inode numbers differ by spelling)."""
    first_parts, second_parts = first.split("/"), second.split("/")
    if len(first_parts) != len(second_parts):
        return False
    for index, (one, other) in enumerate(zip(first_parts, second_parts, strict=True)):
        if one == other:
            continue
        if one.casefold() != other.casefold():
            return False
        parent = "/".join(first_parts[:index]) or "/"
        try:
            names = os.listdir(parent)
        except OSError:
            return False
        if one in names and other in names:  # two entries: the filesystem minds case
            return False
        if not (
            os.path.isdir(os.path.join(parent, one)) and os.path.isdir(os.path.join(parent, other))
        ):
            return False
    return True


def is_empty_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file of no bytes (a link is not followed): what a crash
    leaves of a file whose name reached the disk and whose bytes did not."""
    import stat

    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == 0


def is_utf8(path: str | bytes | os.PathLike[str]) -> bool:
    """Whether the bytes of ``path`` (as the filesystem has them, whatever the locale's
    encoding) are valid UTF-8, which uv and pip take no path without."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def is_below(path: str, directory: str) -> bool:
    """Whether ``path`` lies strictly under ``directory`` (by their normalised text)."""
    return os.path.normpath(path).startswith(os.path.normpath(directory).rstrip("/") + "/")


def name_max(path: str | os.PathLike[str]) -> int:
    """The longest name, in bytes, that the filesystem of ``path`` (or of the nearest
    directory above it that is there) takes: its ``PC_NAME_MAX``; 255 where it does not say."""
    return _limit(path, "PC_NAME_MAX", 255)


def path_max(path: str | os.PathLike[str]) -> int:
    """The limit of a path's length, in bytes, on the filesystem of ``path`` (or of the
    nearest directory above it that is there): its ``PC_PATH_MAX``, the terminating NUL
    counted (a path must be shorter); 4096, Linux's, where it does not say."""
    return _limit(path, "PC_PATH_MAX", 4096)


def _limit(path: str | os.PathLike[str], name: str, otherwise: int) -> int:
    directory = next((each for each in upward(os.path.abspath(path)) if os.path.isdir(each)), "/")
    try:
        found = os.pathconf(directory, name)
    except (OSError, ValueError):
        return otherwise
    return found if found > 0 else otherwise


def byte_length(path: str | os.PathLike[str]) -> int:
    """The length of ``path`` in bytes, as the filesystem counts it."""
    return len(os.fsencode(path))


def name_over_limit(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(its bytes, the filesystem's limit)`` where the name ``path`` ends in is longer than
    its filesystem takes (255 bytes on most, 143 on eCryptfs); ``None`` where it fits (one of
    143 bytes or less fits every Linux filesystem: no call to ask)."""
    size = byte_length(os.path.basename(path))
    if size <= 143:
        return None
    limit = name_max(os.path.dirname(os.fspath(path)))
    return (size, limit) if size > limit else None


def first_unenterable(path: str | os.PathLike[str]) -> str | None:
    """The first directory on the way to ``path`` (from ``/``; the working directory itself
    for ``.``) that is there and that this user may not enter, if one is."""
    text = os.fspath(path)
    absolute = os.path.abspath(text)
    chain: list[str] = []
    directory = absolute if os.path.basename(text) in (".", "..") else os.path.dirname(absolute)
    while True:
        chain.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for directory in reversed(chain):
        if not os.access(directory, os.X_OK):
            # (one that is not there is missing, not closed: nor is any below it)
            return directory if os.path.lexists(directory) else None
    return None


def why_not_found(path: str | os.PathLike[str]) -> str:
    """Why ``path`` is not there, in words to follow its name: nothing there is not the same
    as a directory above it that may not be entered, or too long a name."""
    import errno

    try:
        os.lstat(path)
    except OSError as exc:
        if exc.errno == errno.EACCES:
            blocked = first_unenterable(path)
            if blocked is None:
                return "cannot be reached: a directory above it may not be entered by you (EACCES)"
            from anyvenv.fs.remove import ownership

            return f"cannot be reached: you may not enter {blocked} ({ownership(blocked)}; EACCES)"
        if exc.errno == errno.ENAMETOOLONG:
            return "is too long a path (ENAMETOOLONG)"
        if exc.errno == errno.ENOTDIR:
            return "does not exist: a part of it above is a file (ENOTDIR)"
        if exc.errno == errno.ELOOP:
            return "cannot be reached: its links loop (ELOOP)"
    return "does not exist"


def temp_parent(purpose: str) -> str:
    """The temporary directory to make scratch files in for ``purpose`` (a phrase:
    "the project copy"): ``TMPDIR`` or a system one that can be written. Python's own
    search ends with the working directory, which may be the very share the scratch files
    are to stay off (a read-only container with the project on FAT): a
    :class:`anyvenv.errors.UsageError` instead."""
    import tempfile

    try:
        found = tempfile.gettempdir()
    except FileNotFoundError:  # (none of its candidates can be written)
        found = None
    named = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    candidates = {
        os.path.realpath(path) for path in [*named, "/tmp", "/var/tmp", "/usr/tmp"] if path
    }
    # (a tempfile.tempdir a host program set is its own choice: only the fallback is refused)
    fell_back = found is not None and os.path.realpath(found) == os.path.realpath(os.getcwd())
    if found is None or (fell_back and os.path.realpath(found) not in candidates):
        from anyvenv.errors import UsageError

        raise UsageError(
            f"no writable temporary directory for {purpose}: /tmp, /var/tmp and /usr/tmp "
            "cannot be written, and TMPDIR names none that can",
            "set TMPDIR to a writable directory on a local disk",
        )
    return os.path.abspath(found)  # (TMPDIR=. is kept relative by tempfile)
