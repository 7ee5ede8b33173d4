"""``anyvenv remove [--python X] [--link-mode M] [--json] PACKAGES... [uv remove options]``."""

from __future__ import annotations

from anyvenv.cli.edit import run

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from anyvenv.cli.edit import add_arguments as edit_arguments

    edit_arguments(parser, "remove")
