"""Splitting anyvenv's options from uv's: uv's stay in order, with their values."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from anyvenv.cli.run import OWN as RUN
from anyvenv.cli.sync import OWN as SYNC
from anyvenv.cli.uvargs import hoist_global_options
from anyvenv.project.pip import targets_another_env
from anyvenv.project.uvcall import pip_command, sync_command
from anyvenv.project.uvrules import option_value, reinstall_in_args, start_dir, unclustered


def test_sync_keeps_uv_options_in_order() -> None:
    argv = [
        "--group",
        "dev",
        "-p",
        "3.12",
        "--frozen",
        "--extra=x",
        "--link-mode",
        "copy",
        "--json",
    ]
    ours, uv, command = SYNC.split(argv)
    assert ours == ["-p", "3.12", "--link-mode", "copy", "--json"]
    assert uv == ["--group", "dev", "--frozen", "--extra=x"]
    assert command == []
    assert SYNC.split(["--python=3.11", "-p3.10"])[0] == ["--python=3.11", "-p3.10"]


def test_our_short_option_clustered_after_uv_flags_is_ours() -> None:
    """``-qp 3.12`` is uv's ``-q`` and our ``-p 3.12``, as uv reads it; a cluster with a
    letter that is not a plain flag of uv's stays uv's, whole."""
    assert SYNC.split(["-qp", "3.12", "--frozen"]) == (["-p", "3.12"], ["-q", "--frozen"], [])
    assert SYNC.split(["-vvp3.11"]) == (["-p3.11"], ["-vv"], [])
    assert SYNC.split(["-nUqp=3.10"]) == (["-p=3.10"], ["-nUq"], [])
    assert SYNC.split(["-Pp", "x"]) == ([], ["-Pp", "x"], [])  # -P takes a value: "p"
    assert RUN.split(["-qp", "3.12", "python", "-qp"]) == (
        ["-p", "3.12"], ["-q"], ["python", "-qp"]
    )  # fmt: skip
    assert unclustered("-qp", "p") == ("-q", "-p")
    assert unclustered("-p", "p") is None and unclustered("--qp", "p") is None
    assert unclustered("-xp", "p") is None


def test_run_splits_at_the_command() -> None:
    assert RUN.split(["--no-sync", "pytest", "-x", "--python", "3"]) == (
        ["--no-sync"], [], ["pytest", "-x", "--python", "3"]
    )  # fmt: skip
    assert RUN.split(["--extra", "x", "--", "python", "-V"]) == (
        [],
        ["--extra", "x"],
        ["python", "-V"],
    )
    assert RUN.split(["-p", "3.12", "--frozen", "tool"]) == (["-p", "3.12"], ["--frozen"], ["tool"])


def test_uv_command_lines(tmp_path: object) -> None:

    python = "/e/bin/python"
    assert sync_command("uv", ["--frozen"], python, "copy") == [
        "uv", "sync", "--frozen", "--python", "/e/bin/python", "--link-mode", "copy"
    ]  # fmt: skip
    assert pip_command("uv", ["install", "x"], python) == [
        "uv", "pip", "install", "--python", "/e/bin/python", "x"
    ]  # fmt: skip
    assert pip_command("uv", ["--help"], python) == ["uv", "pip", "--help"]
    assert option_value(["--cache-dir", "a", "--cache-dir=b"], "--cache-dir") == "b"
    assert start_dir(["--directory", "d", "--project", "p"], "/w", {}) == "/w/d/p"
    assert start_dir(["--project", "/abs"], "/w", {}) == "/abs"
    from_variables = {"UV_WORKING_DIR": "d", "UV_PROJECT": "p"}
    assert start_dir([], "/w", from_variables) == "/w/d/p"
    assert start_dir(["--project", "q"], "/w", from_variables) == "/w/d/q"  # the option wins
    assert start_dir([], "/w", from_variables, project=False) == "/w/d"
    assert start_dir([], "/w", {"UV_WORKING_DIRECTORY": "old"}) == "/w/old"


def test_pip_arguments_keep_their_order(tmp_path: object) -> None:
    import argparse

    from anyvenv.cli import pip

    parser = argparse.ArgumentParser()
    pip.add_arguments(parser)
    for argv in (["install", "-q", "x"], ["-q", "list"], ["install", "x", "--", "y"]):
        args = parser.parse_args(argv)
        words = (
            [*args.uv_args, "--", *args.command]
            if args.separated
            else [*args.uv_args, *args.command]
        )
        assert words == argv


def test_the_no_op_shortcut_reads_our_options_as_argparse_does() -> None:
    from anyvenv.cli.fastpath import own_values
    from anyvenv.cli.main import build_parser

    for argv in (
        ["-p", "3.12", "--frozen"],
        ["-p3.11", "--link-mode=copy", "--python=3.10"],
        ["-p=3.12", "--link-mode", "clone", "--json", "--extra", "x"],
        ["--group", "dev"],
    ):
        parsed = build_parser(only="sync").parse_args(["sync", *argv])
        values = own_values(SYNC.split(argv)[0])
        assert values is not None
        assert (values.get("--python"), values.get("--link-mode")) == (
            parsed.python,
            parsed.link_mode,
        ), argv
        assert ("--json" in values) == parsed.json
    assert own_values(["--help"]) is None and own_values(["-p"]) is None


def test_sync_and_run_without_argparse_get_the_arguments_argparse_gives() -> None:
    """A sync that needs uv skips argparse too: the namespace it hands the command must match."""
    from anyvenv.cli.fastpath import QuickArgs, own_values
    from anyvenv.cli.main import build_parser

    cases = {
        "sync": (
            ["-p", "3.12", "--frozen"],
            ["-p3.11", "--link-mode=copy", "--python=3.10", "--extra", "x", "--json"],
            ["--group", "dev", "--no-dev", "-q"],
        ),
        "run": (
            ["-p", "3.12", "--frozen", "--", "python", "-V"],
            ["--link-mode", "copy", "python", "-c", "pass"],
            ["--extra", "x", "--", "tool", "--json"],
        ),
    }
    for name, own in (("sync", SYNC), ("run", RUN)):
        for argv in cases[name]:
            parsed = build_parser(only=name).parse_args([name, *argv])
            ours, uv_args, command = own.split(argv)
            values = own_values(ours)
            assert values is not None, argv
            quick = QuickArgs(values, uv_args, command)
            for field in ("python", "link_mode", "uv_args", "command"):
                assert getattr(quick, field) == getattr(parsed, field), (argv, field)
            assert quick.json == getattr(parsed, "json", False), argv
            assert quick.no_sync == getattr(parsed, "no_sync", False), argv


def test_active_env_is_virtual_env_under_active_only() -> None:
    from anyvenv.project.uvrules import active_env, project_env_path

    environ = {"VIRTUAL_ENV": "venvs/a"}
    assert active_env(["--active"], environ, "/w") == "/w/venvs/a"
    assert active_env(["--directory", "d", "--active"], environ, "/w") == "/w/d/venvs/a"
    assert active_env(["--active", "--no-active"], environ, "/w") is None
    assert active_env([], environ, "/w") is None
    assert active_env(["--active"], {}, "/w") is None  # uv falls back to the project env
    assert project_env_path("/p", ["--active"], {}, "/w") == "/p/.venv"
    assert project_env_path("/p", ["--active"], {"VIRTUAL_ENV": "/v"}, "/w") == "/v"


def test_without_options_drops_them_with_their_values() -> None:
    from anyvenv.project.uvrules import without_options

    args = ["--color", "never", "-q", "--color=auto", "--colorful", "x", "--color"]
    assert without_options(args, ("--color",)) == ["-q", "--colorful", "x"]


def test_pip_with_a_clustered_python_acts_on_another_env(tmp_path: Path) -> None:
    """``anyvenv pip list -qp 3.13`` names another interpreter: plain uv pip, not the project's."""
    assert targets_another_env(["list", "-qp", "3.13"], {}, str(tmp_path))
    assert targets_another_env(["list", "-p3.13"], {}, str(tmp_path))
    assert not targets_another_env(["list", "-q", "--", "-qp"], {}, str(tmp_path))


def test_pip_variables_that_name_another_env(tmp_path: Path) -> None:
    """As uv pip reads them: UV_SYSTEM_PYTHON is --system, UV_PYTHON with a path --python."""
    assert targets_another_env(["list"], {"UV_SYSTEM_PYTHON": "1"}, str(tmp_path))
    assert targets_another_env(["list"], {"UV_PYTHON": "/usr/bin/python3"}, str(tmp_path))
    assert not targets_another_env(["list"], {"UV_SYSTEM_PYTHON": "false"}, str(tmp_path))


def test_pip_finds_the_env_uv_pip_finds(tmp_path: Path) -> None:
    """A project's pointer .venv is its env even under a directory with a .venv of its own;
    an active conda env (not conda's base) is another env, as uv pip takes it."""
    from anyvenv.envbuild.pointerfile import render_pointer

    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / ".venv").write_bytes(render_pointer(str(elsewhere)))
    assert not targets_another_env(["list"], {}, str(project))
    conda = {"CONDA_PREFIX": str(tmp_path / "conda-env"), "CONDA_DEFAULT_ENV": "work"}
    assert targets_another_env(["list"], conda, str(project))
    assert not targets_another_env(["list"], {**conda, "CONDA_DEFAULT_ENV": "base"}, str(project))
    (project / ".venv").unlink()  # no env of its own: the parent's .venv is the one uv pip finds
    assert targets_another_env(["list"], {}, str(project))


@pytest.mark.parametrize(
    ("args", "quiet"),
    [
        (["-q"], True),
        (["--quiet"], True),
        (["-qq"], True),
        (["-vq"], True),
        (["-qp", "3.12"], True),
        (["--frozen", "-q"], True),
        (["-p3.12q"], False),  # q inside a value
        (["-v"], False),
        (["--", "-q"], False),
        ([], False),
    ],
)
def test_quiet_is_read_as_uv_reads_it(args: list[str], quiet: bool) -> None:
    from anyvenv.cli.sync import quiet_in

    assert quiet_in(args) is quiet


@pytest.mark.parametrize(
    ("argv", "read"),
    [
        (["--directory", "d", "sync", "--frozen"], ["sync", "--directory", "d", "--frozen"]),
        (["-q", "--project=p", "run", "cmd", "-x"], ["run", "-q", "--project=p", "cmd", "-x"]),
        (["--offline", "pip", "install", "x"], ["pip", "install", "--offline", "x"]),
        (
            ["-q", "--directory", "d", "python", "find"],
            ["python", "find", "-q", "--directory", "d"],
        ),
        (["--no-cache", "venv", "e"], ["venv", "--no-cache", "e"]),
        (["-qq", "--no-preview", "sync"], ["sync", "-qq", "--no-preview"]),
        (["--bogus", "sync"], ["--bogus", "sync"]),
        (["--directory", "d"], ["--directory", "d"]),
        (["sync", "--directory", "d"], ["sync", "--directory", "d"]),
    ],
)
def test_uvs_global_options_before_the_command_are_read_after_it(
    argv: list[str], read: list[str]
) -> None:
    """As ``uv --directory D sync``: uv takes its global options before its subcommand."""
    assert hoist_global_options(argv) == read


def test_uvs_global_options_before_a_command_that_takes_none_are_refused_by_name() -> None:
    """Not "invalid choice" for the option's value: which option, and where it belongs."""
    from anyvenv.errors import UsageError

    for argv in (["-q", "cache", "dir"], ["--directory", "w", "check", "e"]):
        with pytest.raises(UsageError, match=rf"^{argv[0]} is one of uv's options"):
            hoist_global_options(argv)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], None),  # (uv's settings decide)
        (["--reinstall"], True),
        (["--force-reinstall"], True),  # uv pip's name for it
        (["--reinstall", "--no-reinstall"], False),
        (["--reinstall-package", "x", "--no-reinstall"], False),  # (as uv: nothing)
        (["--reinstall-package", "Foo.Bar", "--reinstall-package=baz_qux"], {"foo-bar", "baz-qux"}),
        (["--reinstall-package"], None),  # no value: uv refuses it
    ],
)
def test_what_uv_is_asked_to_reinstall(args: list[str], expected: bool | set[str] | None) -> None:
    assert reinstall_in_args(args) == expected


@pytest.mark.parametrize("option", ["--directory", "--project", "--config-file", "--cache-dir"])
@pytest.mark.parametrize(
    "command",
    [
        ["sync"],
        ["run"],
        ["lock"],
        ["add", "x"],
        ["venv"],
        ["python", "find"],
        ["pip", "install", "x"],
        ["--OPT", "sync"],
    ],
)
def test_an_empty_path_for_uvs_path_options_is_refused_as_uv_refuses_it(
    tmp_path: Path, command: list[str], option: str
) -> None:
    """``--project ''`` is not the working directory: uv refuses it (exit 2), and so does
    anyvenv, before anything is made, in both forms and on the no-op path too."""
    from support import one_line_error, run_cli

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    for given in ([option, ""], [f"{option}="]):
        if command[0] == "--OPT":
            argv = [*given, *command[1:]]
        else:
            argv = [*command, *given] + (["true"] if command == ["run"] else [])
        proc = run_cli(*argv, cwd=tmp_path)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert one_line_error(proc) == (
            f"anyvenv: error: {option} was given an empty value; pass a path to {option}, "
            "or leave it out"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


# uv 0.13's global options (some hidden from its help), each as a script passing it to every
# uv command would give it
UV_GLOBALS = [
    ["--no-native-tls"],
    ["--native-tls"],
    ["--system-certs"],
    ["--no-system-certs"],
    ["--offline"],
    ["--no-offline"],
    ["--no-color"],
    ["--color", "never"],
    ["--no-installer-metadata"],
    ["--preview"],
    ["--no-preview"],
    ["--preview-features", "python-upgrade"],
    ["--preview-features=python-upgrade"],
    ["--no-cache"],
    ["--no-progress"],
    ["--allow-insecure-host", "example.org"],
    ["-v"],
]


def test_every_global_option_uv_takes_is_taken_before_and_after_the_command(
    tmp_path: Path,
) -> None:
    """As uv: each of its global options (``--preview-features``, ``--no-system-certs``...)
    is taken by venv and python, and before the command (a script passing the same options
    to every uv command works)."""
    from project_support import uv_binary

    from support import cli_env, run_cli

    env = cli_env(UV_OFFLINE="1")
    for number, option in enumerate(UV_GLOBALS):
        by_uv = subprocess.run(
            [uv_binary(), "python", "dir", *option], capture_output=True, text=True, env=env
        )
        assert by_uv.returncode == 0, (option, by_uv.stderr)  # (uv 0.13 takes it)
        for argv in (
            ["python", "dir", *option],
            [*option, "python", "dir"],
            ["venv", *option, str(tmp_path / f"e{number}")],
            [*option, "venv", str(tmp_path / f"f{number}")],
        ):
            done = run_cli(*argv, env=env)
            assert done.returncode == 0, (argv, done.stderr)
