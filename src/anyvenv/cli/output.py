"""Printing: JSON for ``--json``, aligned text otherwise, progress only on a terminal."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any


def print_json(data: Any) -> None:
    import json  # here: start-up time of the commands that print text

    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_table(rows: Iterable[tuple[str, str]], indent: str = "  ") -> None:
    materialised = list(rows)
    width = max((len(key) for key, _ in materialised), default=0)
    for key, value in materialised:
        print(f"{indent}{key.ljust(width)}  {value}")


def print_mapping(mapping: Mapping[str, Any], indent: str = "  ") -> None:
    print_table(((key, str(value)) for key, value in mapping.items()), indent)


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of text")


def tell_waiting(message: str) -> None:
    """A lock is held by someone else and this command waits: said once, on stderr."""
    print(f"anyvenv: {message}", file=sys.stderr, flush=True)
