"""Entry point for ``python -m anyvenv`` and the ``anyvenv`` console script."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import Any, NoReturn


def entry() -> NoReturn:
    """The ``anyvenv`` console script and ``python -m anyvenv``: :func:`main`, then the
    process ends. Ctrl-C outside a command's own guard (while the arguments are read, or a
    no-op sync is recognised) ends it as inside: one line, exit code 130."""
    try:
        code = main()
    except KeyboardInterrupt:
        from anyvenv.cli.guard import interrupted

        code = interrupted()
    end_process(code)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    _usable_standard_streams()
    try:  # flushed now, not at exit: a full disk under the output is one line, no traceback
        code = _answer(args)
        sys.stdout.flush()
    except OSError as exc:
        from anyvenv.cli.guard import said_in_one_line

        said = said_in_one_line(exc)
        if said is None:
            raise
        return said
    # a child's return code passed on (uv's), killed by signal N: as a shell says it, 128 + N
    return 128 - code if code < 0 else code


def _answer(args: list[str]) -> int:
    if args == ["--version"]:  # what argparse would print, without building every parser
        from anyvenv import __version__

        print(f"anyvenv {__version__}")
        return 0
    if args and args[0].startswith("-") and args[0] not in ("-h", "--help"):
        from anyvenv.cli.uvargs import hoist_global_options
        from anyvenv.errors import AnyvenvError

        try:
            args = hoist_global_options(args)  # uv's `uv --directory D sync`
        except AnyvenvError as exc:  # one of uv's options before a command that takes none
            from anyvenv.cli.guard import report

            return report(exc)
    from anyvenv.cli.fastpath import answer

    code = answer(args)  # a no-op sync or run, before argparse is even imported
    if code is not None:
        return code
    from anyvenv.cli.main import run

    return run(args)


def _usable_standard_streams() -> None:
    """A closed stdin, stdout or stderr (``>&-``) reads and writes as ``/dev/null`` rather
    than crashing on ``None``, for anyvenv and the programs it starts; an output whose
    reader is gone (``| head``) is let go of, as uv does, and the command finishes; what the
    output's encoding cannot say of a path is written as the bytes it stands for."""
    import codecs

    for fd, (name, mode) in enumerate((("stdin", "r"), ("stdout", "w"), ("stderr", "w"))):
        if getattr(sys, name) is None:
            stream = open(os.devnull, mode, encoding="locale")  # noqa: SIM115 (lives as long as we do)
            setattr(sys, name, stream)
            if stream.fileno() == fd:  # (the closed fd itself: what uv and the command run by
                os.set_inheritable(fd, True)  # `anyvenv run` get, as under uv run)
    codecs.register_error(_AS_BYTES, _as_bytes)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=_AS_BYTES)
        if not isinstance(stream, _LetGoWhenGone):
            setattr(sys, name, _LetGoWhenGone(stream))


_AS_BYTES = "anyvenv-as-bytes"


def _as_bytes(error: UnicodeError) -> tuple[bytes, int]:
    """What the output's encoding cannot say (a path not UTF-8, ``é`` under an ASCII
    ``PYTHONIOENCODING``) is written as the bytes it stands for, as uv writes a path."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    try:
        data = os.fsencode(text)
    except UnicodeError:  # (a lone surrogate no path decodes to)
        data = text.encode("utf-8", "backslashreplace")
    return data, error.end


class _LetGoWhenGone:
    """stdout or stderr, which writes to ``/dev/null`` once its reader has gone (EPIPE): what
    is left to say is dropped, and the work and its exit code stand, as with uv. The file
    descriptor itself is left as it is until the process ends: a program ``run`` starts meets
    the closed pipe as under ``uv run`` (and ends of SIGPIPE), rather than writing on into
    ``/dev/null`` for ever."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._gone: Any = None  # the stream whose reader went, once it has

    def write(self, text: str) -> int:
        try:
            written: int = self._stream.write(text)
        except BrokenPipeError:
            self._let_go()
            return len(text)
        return written

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._let_go()

    def fileno(self) -> int:
        return int((self._gone or self._stream).fileno())

    def isatty(self) -> bool:
        return bool((self._gone or self._stream).isatty())

    def _let_go(self) -> None:
        if self._gone is None:
            self._gone = self._stream
            self._stream = open(os.devnull, "w", encoding="locale")  # noqa: SIM115 (lives as long as we do)

    def discard(self) -> None:
        """At the end: what the stream whose reader went still holds goes nowhere (it would
        be tried again, with a traceback, by the interpreter's teardown)."""
        if self._gone is None:
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, self._gone.fileno())
        finally:
            os.close(null)
        try:  # noqa: SIM105 - contextlib costs start-up time
            self._gone.flush()
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def end_process(code: int) -> NoReturn:
    """Exit with ``code``. Where nothing is left for the interpreter's teardown to do (no
    atexit callback, no thread to wait for, no ``-i``), the process ends at once once the
    output is flushed: tearing down the modules a command loaded takes 2-4 ms, as long as
    some commands take to do their work. Every file anyvenv writes is closed where it is
    written, and child processes are waited for where they are started."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _LetGoWhenGone):
            stream.discard()
    if not _teardown_needed():
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # the slow way reports it as it always has
            pass
        else:
            os._exit(code)
    sys.exit(code)


def _teardown_needed() -> bool:
    import atexit

    callbacks = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere, tear down
    if sys.flags.inspect or callbacks is None or callbacks():
        return True
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    main_thread = threading.main_thread()
    return any(
        thread is not main_thread and not thread.daemon and thread.is_alive()
        for thread in threading.enumerate()
    )


if __name__ == "__main__":
    entry()
