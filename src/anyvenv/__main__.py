"""Entry point for ``python -m anyvenv`` and the ``anyvenv`` console script."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from typing import NoReturn


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
    return code


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
    than crashing on ``None``, for anyvenv and the programs it starts; paths that are not
    UTF-8 are printed as the bytes they are."""
    import os

    for fd, (name, mode) in enumerate((("stdin", "r"), ("stdout", "w"), ("stderr", "w"))):
        if getattr(sys, name) is None:
            stream = open(os.devnull, mode)  # noqa: SIM115 (lives as long as we do)
            setattr(sys, name, stream)
            if stream.fileno() == fd:  # (the closed fd itself: what uv and the command run by
                os.set_inheritable(fd, True)  # `anyvenv run` get, as under uv run)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")


def end_process(code: int) -> NoReturn:
    """Exit with ``code``. Where nothing is left for the interpreter's teardown to do (no
    atexit callback, no thread to wait for, no ``-i``), the process ends at once once the
    output is flushed: tearing down the modules a command loaded takes 2-4 ms, as long as
    some commands take to do their work. Every file anyvenv writes is closed where it is
    written, and child processes are waited for where they are started."""
    if not _teardown_needed():
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # the slow way reports it as it always has
            pass
        else:
            import os

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
