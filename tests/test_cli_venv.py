"""``anyvenv venv``'s command line read without argparse (anyvenv.cli.venv.quick_args) must
mean what argparse reads, or be left to argparse."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import support
from anyvenv.cli.main import build_parser
from anyvenv.cli.venv import (
    FLAGS,
    IGNORED_FLAGS,
    IGNORED_VALUE_OPTIONS,
    REFUSED,
    SEED_INDEX_FLAGS,
    SEED_INDEX_VALUE_OPTIONS,
    VALUE_OPTIONS,
    quick_args,
)


def argparse_reading(argv: list[str]) -> dict[str, object] | None:
    return support.argparse_reading("venv", argv)


def quick_reading(argv: list[str]) -> dict[str, object] | None:
    args = quick_args(argv)
    return None if args is None else vars(args)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["env"],
        ["-q", "env", "-p", "3.12"],
        ["--python=/usr/bin/python3", "--prompt", "my env", "--clear", "--seed", "x"],
        ["--strategy", "copy", "--system-site-packages", "--json", "a b"],
        ["--prompt=", "e"],
        ["--prompt=-dash", "e"],
        ["-p", "3.11", "-p", "3.12"],
        ["--directory", "d", "--project=p/pyproject.toml", "e"],
        ["--python-preference", "only-system", "--no-config", "e"],
        ["--managed-python", "e"],
        ["--managed-python", "--no-managed-python", "e"],
        ["--no-managed-python", "-q", "--managed-python", "e"],
        ["--offline", "--no-progress", "-v", "--color", "never", "--link-mode=copy", "e"],
        ["--config-file", "uv.toml", "--cache-dir=/c", "--no-cache", "e"],
        ["--seed", "-f", "/w", "--index-url=https://i", "--no-index", "--offline", "e"],
    ],
)
def test_ordinary_command_lines_read_as_argparse_reads_them(argv: list[str]) -> None:
    expected = argparse_reading(argv)
    assert expected is not None
    assert quick_reading(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["--sys"],  # argparse accepts abbreviations
        ["-p"],
        ["-p", "-q"],
        ["-p3.12"],
        ["--strategy", "bogus"],
        ["--strategy", "env", "--strategy=symlink"],  # argparse refuses each wrong choice
        ["--strategy=auto", "--", "-weird"],
        ["--python-preference", "sometimes"],
        ["a", "b"],
        ["--json=yes"],
        ["--unknown"],
        ["--color", "bogus"],
        ["--link-mode", "bogus"],  # (uv refuses a value it does not take, even here)
        ["--force"],
        ["--relocatable"],
        ["-vv"],
    ],
)
def test_anything_unusual_is_left_to_argparse(argv: list[str]) -> None:
    assert quick_args(argv) is None


def test_the_table_and_the_parser_know_the_same_options() -> None:
    parser = build_parser(only="venv")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    venv = sub.choices["venv"]
    known = {name for action in venv._actions for name in action.option_strings}
    table = {name for names in (*VALUE_OPTIONS, *FLAGS) for name in names}
    others = IGNORED_VALUE_OPTIONS | IGNORED_FLAGS | set(REFUSED)
    others |= SEED_INDEX_VALUE_OPTIONS | SEED_INDEX_FLAGS
    assert known - {"-h", "--help"} == table | others


TOKENS = st.sampled_from(
    [
        "env",
        "other",
        "-p",
        "--python",
        "--python=3.12",
        "3.12",
        "--prompt",
        "--prompt=x",
        "--strategy",
        "copy",
        "auto",
        "--strategy=symlink",
        "--seed",
        "--clear",
        "-q",
        "--quiet",
        "--json",
        "--system-site-packages",
        "--sys",
        "-h",
        "--",
        "-x",
        "",
        "--offline",
        "--managed-python",
        "--no-managed-python",
        "--color",
        "never",
        "--force",
        "-v",
        "--find-links",
        "--index-url=https://i",
        "--no-index",
    ]
)


@given(st.lists(TOKENS, max_size=7))
def test_whatever_quick_args_reads_argparse_reads_the_same(argv: list[str]) -> None:
    quick = quick_reading(argv)
    if quick is not None:
        assert quick == argparse_reading(argv)


def test_a_value_uv_refuses_for_an_option_without_effect_is_refused(tmp_path: Path) -> None:
    """``--link-mode bogus`` changes nothing for venv, but uv venv refuses it: so does venv
    (exit 2), as sync does."""
    from support import one_line_error, run_cli

    proc = run_cli("venv", str(tmp_path / "env"), "--link-mode", "bogus")
    assert proc.returncode == 2
    assert "invalid choice: 'bogus'" in one_line_error(proc)
    for value in ("bogus", "COPY", " copy"):  # (uv takes its values as they are spelled)
        variable = run_cli("venv", str(tmp_path / "env"), env=support.cli_env(UV_LINK_MODE=value))
        assert variable.returncode == 2
        assert f"UV_LINK_MODE {value!r} is not a link mode" in one_line_error(variable)
    assert not (tmp_path / "env").exists()


def test_an_env_at_a_path_that_is_not_utf8_is_made_with_a_warning_that_uv_refuses_it(
    tmp_path: Path,
) -> None:
    """uv venv refuses such a path and uv pip refuses the env: anyvenv makes one whose python
    runs, and says uv will not work on it."""
    import json
    import os
    import subprocess

    from project_support import uv_binary

    env_dir = os.path.join(os.fsdecode(tmp_path), os.fsdecode(b"x\xffy"))
    made = support.run_cli("venv", env_dir, "--json")
    assert made.returncode == 0, made.stderr
    warning = "uv cannot work on this env: its path is not valid UTF-8"
    assert [w for w in json.loads(made.stdout)["warnings"] if w.startswith(warning)]
    assert f"anyvenv: warning: {warning}" in made.stderr
    python = os.path.join(env_dir, "bin", "python")
    ran = subprocess.run([python, "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert ran.stdout.strip() == "True", ran.stderr
    by_uv = subprocess.run([uv_binary(), "pip", "list", "--python", python],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert by_uv.returncode != 0  # (what the warning says)
    plain = support.run_cli("venv", str(tmp_path / "plain"), "--json")
    assert json.loads(plain.stdout)["warnings"] == []
    # valid UTF-8 under a locale whose encoding is ASCII (the path arrives as surrogates)
    c_locale = support.cli_env(PYTHONUTF8="0", LC_ALL="C")
    c_locale.pop("PYTHONIOENCODING", None)
    accented = support.run_cli("venv", str(tmp_path / "café"), "--json", env=c_locale)
    assert accented.returncode == 0, accented.stderr
    assert json.loads(accented.stdout)["warnings"] == []
