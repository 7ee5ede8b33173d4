"""``anyvenv check``'s command line read without argparse (anyvenv.cli.check.quick_args) must
mean what argparse reads, or be left to argparse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anyvenv.cli.check import quick_args
from anyvenv.cli.main import build_parser


def argparse_reading(argv: list[str]) -> dict[str, object] | None:
    try:
        args = build_parser(only="check").parse_args(["check", *argv])
    except Exception:  # _Parser raises AnyvenvError for what argparse refuses
        return None
    values = vars(args)
    values.pop("_module")
    values.pop("command")
    return values


def quick_reading(argv: list[str]) -> dict[str, object] | None:
    args = quick_args(argv)
    return None if args is None else vars(args)


@pytest.mark.parametrize("argv", [[], ["env"], ["--json"], ["--json", "a b"], ["e", "--json"]])
def test_ordinary_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    expected = argparse_reading(argv)
    assert expected is not None
    assert quick_reading(argv) == expected


@pytest.mark.parametrize(
    "argv", [["-h"], ["--help"], ["--js"], ["a", "b"], ["--", "-e"], ["--json=1"], ["-x"]]
)
def test_anything_unusual_is_left_to_argparse(argv: list[str]) -> None:
    assert quick_args(argv) is None


@given(st.lists(st.sampled_from(["env", "x", "--json", "--js", "-h", "--", "-e", ""]), max_size=4))
def test_whatever_quick_args_reads_argparse_reads_the_same(argv: list[str]) -> None:
    quick = quick_reading(argv)
    if quick is not None:
        assert quick == argparse_reading(argv)
