"""The options a uv subcommand takes, read from its ``--help``, to pass one command's options
on to another: the ``uv sync`` options of a sync that must first ``uv lock`` elsewhere.

Read from the uv that will run, so the answer is that uv's. Used only where uv cannot write
in place (see :mod:`anyvenv.project.localcopy`); costs one ``uv SUBCOMMAND --help``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


class UvOptions:
    """``--long`` names a subcommand takes, which of them take a value, and ``-x`` -> ``--long``."""

    __slots__ = ("long", "short", "with_value")

    def __init__(
        self, long: frozenset[str], with_value: frozenset[str], short: dict[str, str]
    ) -> None:
        self.long = long
        self.with_value = with_value
        self.short = short


def parse_help(text: str) -> UvOptions:
    """clap's ``--help``: option lines start ``  -x, --long <VALUE>`` or ``      --long``."""
    import re

    long: set[str] = set()
    with_value: set[str] = set()
    short: dict[str, str] = {}
    for match in re.finditer(r"^\s+(?:-(\w), )?(--[\w-]+)( <[A-Za-z_]+>)?", text, re.MULTILINE):
        letter, name, value = match.groups()
        long.add(name)
        if value:
            with_value.add(name)
        if letter:
            short[letter] = name
    return UvOptions(frozenset(long), frozenset(with_value), short)


def uv_options(uv: str, subcommand: str) -> UvOptions:
    import subprocess

    proc = subprocess.run(
        [uv, subcommand, "--help"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return parse_help(proc.stdout)


def carried_over(args: Sequence[str], source: UvOptions, target: UvOptions) -> list[str]:
    """The options of ``args`` (given to the ``source`` subcommand) that the ``target`` one
    takes too, with their values, in order. Words that are not options are dropped."""
    kept: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg.startswith("--"):
            name, joined, _ = arg.partition("=")
            words = [arg]
            if not joined and name in source.with_value and index < len(args):
                words.append(args[index])
                index += 1
            if name in target.long:
                kept += words
        elif arg.startswith("-") and len(arg) > 1:
            index = _carry_short(arg, args, index, source, target, kept)
    return kept


def _carry_short(
    arg: str,
    args: Sequence[str],
    index: int,
    source: UvOptions,
    target: UvOptions,
    kept: list[str],
) -> int:
    """A cluster such as ``-qU`` or ``-Pname``/``-P name``, as long options."""
    for position, letter in enumerate(arg[1:], start=1):
        name = source.short.get(letter)
        if name is None:
            return index
        if name in source.with_value:
            value = arg[position + 1 :]
            if not value and index < len(args):
                value, index = args[index], index + 1
            if name in target.long:
                kept += [name, value]
            return index
        if name in target.long:
            kept.append(name)
    return index
