"""Entry point for ``python -m anyvenv`` and the ``anyvenv`` console script."""

from __future__ import annotations

import sys


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
    from anyvenv.cli.fastpath import answer

    code = answer(args)  # a no-op sync or run, before argparse is even imported
    if code is not None:
        return code
    from anyvenv.cli.main import run

    return run(args)


def _usable_standard_streams() -> None:
    """A closed stdin, stdout or stderr (``>&-``) reads and writes as ``/dev/null`` rather
    than crashing on ``None``; paths that are not UTF-8 are printed as the bytes they are."""
    import os

    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode))  # noqa: SIM115 (lives as long as we do)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")


if __name__ == "__main__":
    sys.exit(main())
