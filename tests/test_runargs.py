"""``anyvenv run``'s command line read as ``uv run`` reads it: where the command starts, and
which options are uv sync's, which only uv run can carry out."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from project_support import uv_binary

from anyvenv.cli.run import OWN
from anyvenv.errors import UsageError
from anyvenv.project.runargs import (
    ALONE_FLAGS,
    LAYERED_WITH_VALUE,
    NO_ENV_FILE,
    SYNC_ONLY,
    TARGET_FLAGS,
    VALUE_OPTIONS,
    VALUE_SHORT,
    read_run_args,
    takes_value,
)
from support import one_line_error, run_cli


def uv_help(command: str) -> str:
    return subprocess.run(
        [uv_binary(), command, "--help"], capture_output=True, text=True, check=True
    ).stdout


def help_options(text: str) -> dict[str, tuple[str | None, bool]]:
    """``--long`` -> (its short letter, whether it takes a value), from clap's --help."""
    found: dict[str, tuple[str | None, bool]] = {}
    for match in re.finditer(r"^\s+(?:-(\w), )?(--[\w-]+)( <[A-Z_]+>)?", text, re.M):
        short, long, value = match.groups()
        found[long] = (short, value is not None)
    return found


def test_the_tables_cover_every_option_of_uv_run() -> None:
    options = help_options(uv_help("run"))
    assert len(options) > 60  # the help was read
    takes = {name for name, (_, value) in options.items() if value}
    assert takes <= VALUE_OPTIONS, takes - VALUE_OPTIONS
    flags = {name for name, (_, value) in options.items() if not value}
    assert not flags & VALUE_OPTIONS
    shorts = {short for short, value in options.values() if short and value}
    assert shorts == VALUE_SHORT
    # what uv sync does not take is taken out of its command line
    sync_options = set(help_options(uv_help("sync")))
    run_only = set(options) - sync_options
    ours = {"--no-sync"}  # anyvenv run's own
    handled = LAYERED_WITH_VALUE | {NO_ENV_FILE} | ALONE_FLAGS | set(TARGET_FLAGS) | {"--exact"}
    assert run_only - ours <= handled, run_only - ours - handled


@pytest.mark.parametrize(
    ("argv", "uv", "command"),
    [
        (["--extra", "dev", "pytest", "-x"], ["--extra", "dev"], ["pytest", "-x"]),
        (["--with", "rich", "python", "-V"], ["--with", "rich"], ["python", "-V"]),
        (["-w", "rich", "-m", "rich"], ["-w", "rich", "-m"], ["rich"]),
        (["-wrich", "tool"], ["-wrich"], ["tool"]),
        (["-qw", "rich", "tool"], ["-qw", "rich"], ["tool"]),
        (["--directory", "sub", "pwd"], ["--directory", "sub"], ["pwd"]),
        (["--group=dev", "tool", "--", "x"], ["--group=dev"], ["tool", "--", "x"]),
        (["pytest", "--", "-k", "x"], [], ["pytest", "--", "-k", "x"]),
        (["--frozen", "--", "-weird"], ["--frozen"], ["-weird"]),
        (["-", "a"], [], ["-", "a"]),
    ],
)
def test_the_command_starts_where_uv_run_starts_it(
    argv: list[str], uv: list[str], command: list[str]
) -> None:
    assert OWN.split(argv) == ([], uv, command)


def test_anyvenv_options_are_taken_out_before_the_command() -> None:
    assert OWN.split(["-p", "3.12", "--extra", "x", "--no-sync", "tool", "-p", "y"]) == (
        ["-p", "3.12", "--no-sync"],
        ["--extra", "x"],
        ["tool", "-p", "y"],
    )


def test_takes_value() -> None:
    assert takes_value("--extra") and takes_value("-w") and takes_value("-qP")
    assert not takes_value("--frozen") and not takes_value("-wrich") and not takes_value("-q")
    assert not takes_value("--extra=x") and not takes_value("-") and not takes_value("x")


def test_run_options_are_sorted_by_who_carries_them_out() -> None:
    request = read_run_args(
        ["--extra", "x", "-qm", "--with", "rich", "-w", "b", "--env-file", ".env", "--frozen"],
        {},
    )
    assert request.sync_args == ["--extra", "x", "-q", "--frozen", "--inexact"]
    assert request.layered == ["--with", "rich", "--with", "b", "--env-file", ".env"]
    assert request.module and not request.script and not request.alone
    assert request.needs_uv_run

    plain = read_run_args(["--group", "dev", "-s"], {})
    assert plain.sync_args == ["--group", "dev", "--inexact"]  # uv sync's -s takes a value
    assert plain.script and not plain.needs_uv_run

    exact = read_run_args(["--inexact", "--exact", "--with=x"], {})
    assert exact.exact and exact.sync_args == [] and exact.layered == ["--with=x"]
    assert read_run_args(["--exact", "--inexact"], {}).sync_args == ["--inexact"]

    assert read_run_args(["--isolated"], {}).alone
    assert read_run_args([], {"UV_ISOLATED": "1"}).alone
    assert not read_run_args([], {"UV_ISOLATED": "0"}).alone
    assert read_run_args([], {"UV_NO_PROJECT": "true"}).alone
    assert read_run_args([], {"UV_ENV_FILE": ".env"}).needs_uv_run
    assert not read_run_args([], {"UV_ENV_FILE": ".env", "UV_NO_ENV_FILE": "1"}).needs_uv_run
    no_file = read_run_args(["--no-env-file"], {"UV_ENV_FILE": ".env"})
    assert not no_file.needs_uv_run and no_file.sync_args == ["--inexact"]
    assert no_file.env_files == []
    # the env files uv run reads: the options' (UV_ENV_FILE only without one), none with
    # --no-env-file wherever it stands
    given = read_run_args(["--env-file", "a", "--env-file=b"], {"UV_ENV_FILE": "c"})
    assert given.env_files == ["a", "b"]
    assert read_run_args([], {"UV_ENV_FILE": "c"}).env_files == ["c"]
    assert read_run_args(["--env-file", "a", "--no-env-file"], {}).env_files == []
    # split as uv splits them: at whitespace, a backslash keeping the next character
    spaced = read_run_args([], {"UV_ENV_FILE": " a.env  b.env "})
    assert spaced.env_files == ["a.env", "b.env"]
    assert read_run_args(["--env-file", "my\\ vars.env c"], {}).env_files == ["my vars.env", "c"]
    assert read_run_args(["--gui-script"], {}).gui_script
    # uv's hidden aliases and flags: read as uv reads them, never passed to uv sync
    assert read_run_args(["--exact", "--no-exact"], {}).sync_args == ["--inexact"]
    assert read_run_args(["--no_workspace"], {}).alone
    assert read_run_args(["--show-resolution", "--frozen"], {}).sync_args == [
        "--frozen",
        "--inexact",
    ]


def test_options_of_uv_sync_that_uv_run_refuses_are_refused() -> None:
    """As uv run: a sync-only option is a usage error (passed on to the sync, ``--dry-run``
    changed nothing and the command still ran); the table is uv's own difference."""
    sync, run = help_options(uv_help("sync")), help_options(uv_help("run"))
    hidden = {  # hidden from uv sync --help: refused by uv run all the same
        "--only-install-local",
        "--only-install-package",
        "--only-install-project",
        "--only-install-workspace",
    }
    assert set(sync) - set(run) - {"--inexact"} == SYNC_ONLY - hidden
    for name in hidden:
        refused = subprocess.run(
            [uv_binary(), "run", name, "x", "true"], capture_output=True, text=True
        )
        assert refused.returncode == 2 and "unexpected argument" in refused.stderr
    for name in [*SYNC_ONLY, *hidden, "--json"]:
        with pytest.raises(UsageError) as caught:
            read_run_args([name], {})
        assert name in caught.value.one_line()
    assert read_run_args(["--inexact"], {}).sync_args == ["--inexact"]  # (run does anyway)


@pytest.mark.parametrize("words", [["--directory"], ["--cache-dir"], ["-q", "-w"], ["-qw"]])
def test_an_option_given_last_without_its_value_is_refused_before_anything(
    tmp_path: Path, words: list[str]
) -> None:
    """As uv run ("a value is required"), before a sync: it was given the ``--inexact``
    anyvenv adds to the sync, and said "the directory …/--inexact does not exist" (or blamed
    uv's cache at ./--inexact), or synced, then failed."""
    with pytest.raises(UsageError) as caught:
        read_run_args(words, {})
    option = "-w" if words[-1].endswith("w") else words[-1]
    assert caught.value.one_line() == (
        f"{option} needs a value, and none was given; give one after it ({option} VALUE), "
        "before the command"
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    proc = run_cli("run", *words, cwd=tmp_path)
    assert proc.returncode == 2 and "--inexact" not in proc.stderr, proc.stderr
    assert one_line_error(proc).startswith(f"anyvenv: error: {option} needs a value")
    assert sorted(os.listdir(tmp_path)) == ["pyproject.toml"]  # no env, no lock
