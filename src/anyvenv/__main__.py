"""Entry point for ``python -m anyvenv`` and the ``anyvenv`` console script."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from anyvenv.cli.fastpath import answer

    code = answer(args)  # a no-op sync or run, before argparse is even imported
    if code is not None:
        return code
    from anyvenv.cli.main import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
