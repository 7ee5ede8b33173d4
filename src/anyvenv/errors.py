"""Typed errors. Nothing below the CLI prints: it raises these, the CLI turns them into
one-line messages and exit codes."""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_MOUNT_NOT_ANSWERING = 3


class OptionWords:
    """How a front end names its options in the hints of the errors raised under it: the
    command line's ``--python 3.12`` and ``--clear``, create()'s ``python='3.12'`` and
    ``clear=True``. A hint below the front ends names an option only through the words its
    caller passed down (never a default front end's): where none were passed
    (:data:`NO_OPTIONS`), or the front end has no such option, the hint names none.

    An option is known by create()'s keyword for it (``python``, ``clear``, ``strategy``,
    ``seed``, ``python_downloads``) or, for the command line's alone, by its name in
    Python (``install_dir``, ``offline``, ``reinstall``)."""

    __slots__ = ("_keywords", "_names")

    def __init__(self, names: dict[str, str], *, keywords: bool) -> None:
        self._names = dict(names)
        self._keywords = keywords

    @classmethod
    def command_line(cls, *names: str, **spelled: str) -> OptionWords:
        """A command's options ``names``, each said ``--NAME`` (``-`` for ``_``); ``spelled``:
        one said otherwise (``python_downloads="--allow-python-downloads"``)."""
        names_said = {name: "--" + name.replace("_", "-") for name in names}
        return cls({**names_said, **spelled}, keywords=False)

    @classmethod
    def function_keywords(cls, *names: str) -> OptionWords:
        """A function's keyword arguments ``names``, said ``name=value``."""
        return cls({name: name for name in names}, keywords=True)

    def option(
        self, name: str, value: str | None = None, *, placeholder: bool = False
    ) -> str | None:
        """Option ``name`` given ``value`` (``None``: a flag turned on), as this front end's
        user writes it: ``--strategy copy`` or ``strategy='copy'``, ``--clear`` or
        ``clear=True``; a ``placeholder`` value stands for one (``--python PATH`` or
        ``python=PATH``). ``None`` where the front end has no such option."""
        spelled = self._names.get(name)
        if spelled is None:
            return None
        if value is None:
            return f"{spelled}=True" if self._keywords else spelled
        if placeholder:
            return f"{spelled}={value}" if self._keywords else f"{spelled} {value}"
        if self._keywords:
            return f"{spelled}={value!r}"
        import shlex  # (only to say an error)

        return f"{spelled} {shlex.quote(value)}"

    def __repr__(self) -> str:
        kind = "function_keywords" if self._keywords else "command_line"
        return f"OptionWords.{kind}({', '.join(map(repr, self._names.values()))})"


# the words of a caller that names no option (its options are not ours to name)
NO_OPTIONS = OptionWords({}, keywords=False)


class AnyvenvError(Exception):
    """A problem the user can act on: ``message`` says what, ``hint`` says what to do."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple[object, ...]:
        # pickled with its attributes, whatever its __init__ takes (a process pool sends
        # errors back this way; the default would call __init__ with the message alone)
        return (_rebuilt, (type(self), self.message, dict(self.__dict__)))

    def reworded(self, message: str) -> AnyvenvError:
        """The same error (its class, hint and other attributes) saying ``message``."""
        return _rebuilt(type(self), message, {**self.__dict__, "message": message})

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message}; {self.hint}"
        lines = text.splitlines()
        if len(lines) <= 1:
            return text  # as it is: a path's own spaces and tabs are part of it
        return " ".join(line.strip() for line in lines if line.strip())


def _rebuilt(cls: type[AnyvenvError], message: str, state: dict[str, object]) -> AnyvenvError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class UsageError(AnyvenvError):
    """Bad arguments or a bad path given on the command line."""

    exit_code = EXIT_USAGE


class DirectoryNotWritable(UsageError):
    """A directory on a read-only filesystem (``read_only``), or one the user may not write
    to. ``reason`` says which, as a clause (``"it is on a read-only mount (/mnt)"``)."""

    def __init__(self, message: str, hint: str | None, *, reason: str, read_only: bool) -> None:
        super().__init__(message, hint)
        self.reason = reason
        self.read_only = read_only

    @classmethod
    def refusing(cls, error: OSError, doing: str) -> DirectoryNotWritable | None:
        """The error for a write that ``error`` refused while ``doing`` (``"cannot create
        /x"``): the filesystem's (EROFS) or the permissions' (EACCES, EPERM); ``None`` when it
        was refused for another reason."""
        import errno

        if error.errno == errno.EROFS:
            reason = "it is on a read-only filesystem"
            return cls(
                f"{doing}: {reason}",
                "pass a directory on a writable filesystem",
                reason=reason,
                read_only=True,
            )
        if error.errno in (errno.EACCES, errno.EPERM):
            reason = f"you may not write to it ({errno.errorcode[error.errno]})"
            return cls(
                f"{doing}: {reason}",
                "pass a directory you can write to",
                reason=reason,
                read_only=False,
            )
        return None


class MountNotAnswering(AnyvenvError):
    """A filesystem call did not return in time: the mount is hung."""

    exit_code = EXIT_MOUNT_NOT_ANSWERING


# what to do when this process or user ran out of something (by errno): no filesystem's
# doing, and nothing anyvenv could have done otherwise
LIMIT_FIXES = {
    11: "this user runs as many processes as it may (ulimit -u): end some, or raise the limit",
    12: "too little memory is left to start a process (ulimit -v, or the machine)",
    24: "this process has as many files open as it may (ulimit -n): raise the limit",
    23: "the system has as many files open as it may: close some, then retry",
}  # (EAGAIN, ENOMEM, EMFILE, ENFILE: importing errno costs start-up time)


class ProcessLimit(AnyvenvError):
    """No process could be started (too many processes for this user, too little memory):
    never a verdict on a filesystem or an interpreter."""

    @classmethod
    def from_error(cls, exc: OSError, what: str) -> ProcessLimit | None:
        """The error for ``exc`` where it is such a limit (starting ``what``); else None."""
        fix = LIMIT_FIXES.get(exc.errno or 0)
        if fix is None or exc.errno in (23, 24):  # (open files: not a process's start)
            return None
        import errno  # (only on this path)

        name = errno.errorcode.get(exc.errno or 0, f"E{exc.errno}")
        return cls(f"cannot start {what}: {exc.strerror} ({name})", fix)


class NothingExecutableHere(AnyvenvError):
    """No file on the target filesystem can be executed (noexec, fixed 0644 modes)."""


class WritesLostHere(AnyvenvError):
    """Files written as uv installs them (through a second open of a temp file held open) come
    out empty on the target filesystem (rclone without its VFS cache): no environment can be
    installed into there, though files can be made and executed."""


class UnfitUserDir(AnyvenvError):
    """One of anyvenv's per-user directories (envs kept outside projects, shadow envs) is on a
    filesystem that cannot hold the env it is needed for: a home directory on a share."""


class NoHomeDirectory(UsageError):
    """No home directory to put anyvenv's per-user directories under: ``HOME`` unset (or not
    absolute) and no password database entry for this uid (a container run as an arbitrary
    uid). What needs one says so; lookup caches are passed over."""


class MadeOnWindows(UsageError):
    """An env made on Windows, on a drive this system shares (its ``Scripts\\python.exe``
    cannot run here): named as such by ``check`` and ``repair``, which leave it alone."""


class NotAProject(UsageError):
    """No pyproject.toml above a directory, or none that declares a project or a workspace."""


class ProjectFileUnreadable(UsageError):
    """A pyproject.toml that is there but cannot be read (EACCES, a directory): uv stops
    there, where it goes on past one that is not valid TOML."""


class InterpreterNotFound(AnyvenvError):
    """No interpreter matches the request."""

    exit_code = EXIT_USAGE


class UnsupportedPython(InterpreterNotFound):
    """No CPython 3 for this platform can answer the request (``2.7``, ``>=4``,
    ``>=3.11,<3.5``, another platform's build): no install nor download will."""


class EnvironmentBroken(AnyvenvError):
    """An environment exists but cannot run."""


class BaseOutOfReach(AnyvenvError):
    """An env whose base interpreter this user cannot reach (a directory on the way they may
    not enter), though it may well be there: left as it is, not called broken and replaced
    (as uv refuses it: "failed to canonicalize path", EACCES)."""


class CopiedPointer(EnvironmentBroken):
    """A project's pointer file names the env of another project, which still uses it (the
    project was copied with its pointer): that env is not this project's."""

    exit_code = EXIT_USAGE


class CannotEditHere(AnyvenvError):
    """uv cannot write the project's files where they are (chmod fails, or a file held open
    cannot be renamed), and they cannot be edited or locked through a copy either."""
