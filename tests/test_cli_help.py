"""Every command's ``--help``: it prints, and it names every option the command takes."""

from __future__ import annotations

import argparse
import re
import subprocess

from anyvenv.cli.main import build_parser
from support import ANYVENV, cli_env


def _commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(the words that name it, its parser) for each command and subcommand."""
    found = [(words, parser)] if words else []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*words, name))
    return found


def test_every_help_prints_and_names_every_option_taken() -> None:
    """uv's options taken with no effect are named too (in a closing paragraph): an error
    that points to the help must find the option there."""
    commands = _commands(build_parser())
    assert len(commands) >= 18
    for words, parser in commands:
        shown = subprocess.run(
            [*ANYVENV, *words, "--help"], env=cli_env(), capture_output=True, text=True
        )
        assert shown.returncode == 0, (words, shown.stderr[-500:])
        assert shown.stdout.startswith(f"usage: anyvenv {' '.join(words)}"), words
        text = " ".join(shown.stdout.split()).replace("- ", "-")  # (lines broken at hyphens)
        taken = {name for action in parser._actions for name in action.option_strings}
        missing = sorted(  # (as a word: -p is not found in --python)
            name for name in taken if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
        )
        assert not missing, (words, missing)
