"""``anyvenv check`` and ``anyvenv probe`` command lines read without argparse
(anyvenv.cli.plainargs) must mean what argparse reads, or be left to argparse."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anyvenv.cli import check, probe
from support import argparse_reading

COMMANDS = {"check": check, "probe": probe}


def quick_reading(module: ModuleType, argv: list[str]) -> dict[str, object] | None:
    args = module.quick_args(argv)
    return None if args is None else vars(args)


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("argv", [[], ["env"], ["--json"], ["--json", "a b"], ["e", "--json"]])
def test_ordinary_command_lines_read_as_argparse_reads_them(name: str, argv: list[str]) -> None:
    expected = argparse_reading(name, argv)
    assert expected is not None
    assert quick_reading(COMMANDS[name], argv) == expected


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize(
    "argv", [["-h"], ["--help"], ["--js"], ["a", "b"], ["--", "-e"], ["--json=1"], ["-x"]]
)
def test_anything_unusual_is_left_to_argparse(name: str, argv: list[str]) -> None:
    assert COMMANDS[name].quick_args(argv) is None


@given(
    st.sampled_from(sorted(COMMANDS)),
    st.lists(st.sampled_from(["env", "x", "--json", "--js", "-h", "--", "-e", ""]), max_size=4),
)
def test_whatever_quick_args_reads_argparse_reads_the_same(name: str, argv: list[str]) -> None:
    quick = quick_reading(COMMANDS[name], argv)
    if quick is not None:
        assert quick == argparse_reading(name, argv)
