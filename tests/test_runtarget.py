"""What ``anyvenv run CMD`` executes: CMD read the way ``uv run`` reads it, on real files."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from anyvenv.project.runargs import read_run_args
from anyvenv.project.runtarget import (
    IN_ENV,
    UV_ALONE,
    UV_ON_ENV,
    available_commands,
    has_inline_metadata,
    is_zipapp,
    plan_run,
    read_target,
)

ENV = "/e"
PY = "/e/bin/python"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    (tmp_path / "tool.py").write_text("print(1)\n")
    (tmp_path / "gui.PYW").write_text("print(1)\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text("print(1)\n")
    (tmp_path / "plain-dir").mkdir()
    (tmp_path / "notes.txt").write_text("x\n")
    with zipfile.ZipFile(tmp_path / "bundle.pyz", "w") as archive:
        archive.writestr("__main__.py", "print(1)\n")
    (tmp_path / "inline.py").write_text(
        '# /// script\n# dependencies = ["rich"]\n# ///\nimport rich\n'
    )
    return tmp_path


def argv(command: list[str], cwd: Path, **flags: bool) -> tuple[str, list[str]]:
    target = read_target(command, str(cwd), **flags)
    return target.kind, target.argv(ENV, b"print(2)")


def test_python_scripts_packages_and_zipapps_run_with_the_env_python(cwd: Path) -> None:
    assert argv(["python", "-V"], cwd) == ("python", [PY, "-V"])
    assert argv(["PYTHON"], cwd) == ("python", [PY])
    assert argv(["tool.py", "a"], cwd) == ("script", [PY, "tool.py", "a"])
    assert argv(["gui.PYW"], cwd) == ("script", [PY, "gui.PYW"])
    assert argv(["app", "x"], cwd) == ("package", [PY, "app", "x"])
    assert argv(["bundle.pyz"], cwd) == ("script", [PY, "bundle.pyz"])
    assert argv(["-", "a"], cwd) == ("stdin", [PY, "-c", "print(2)", "a"])


def test_anything_else_is_a_command(cwd: Path) -> None:
    assert argv(["missing.py"], cwd) == ("command", ["missing.py"])  # not a file: uv's rule
    assert argv(["plain-dir"], cwd) == ("command", ["plain-dir"])
    assert argv(["notes.txt"], cwd) == ("command", ["notes.txt"])
    assert argv(["pytest", "-x"], cwd) == ("command", ["pytest", "-x"])


def test_a_module_cannot_come_from_standard_input(cwd: Path) -> None:
    from anyvenv.errors import UsageError

    with pytest.raises(UsageError, match="standard input"):
        read_target(["-"], str(cwd), module=True)


def test_the_flags_decide_over_the_name(cwd: Path) -> None:
    assert argv(["json.tool", "-h"], cwd, module=True) == ("module", [PY, "-m", "json.tool", "-h"])
    assert argv(["notes.txt"], cwd, script=True) == ("script", [PY, "notes.txt"])
    assert argv(["tool.py"], cwd, gui_script=True) == ("script", [PY, "tool.py"])


def test_paths_are_read_from_where_the_command_runs(cwd: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert read_target(["tool.py"], str(elsewhere)).kind == "command"
    assert read_target(["../tool.py"], str(elsewhere)).kind == "script"


def test_an_installed_entry_point_wins_over_a_package_directory(cwd: Path, tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    tool = env / "bin" / "app"
    tool.write_text("#!/bin/sh\n")
    target = read_target(["app", "x"], str(cwd))
    assert target.argv(str(env)) == [str(env / "bin" / "python"), "app", "x"]  # not executable
    tool.chmod(0o755)
    assert target.argv(str(env)) == [str(tool), "x"]


def test_inline_metadata_and_remote_scripts_are_left_to_uv(cwd: Path) -> None:
    assert read_target(["inline.py"], str(cwd)).kind == "inline-script"
    assert read_target(["inline.py"], str(cwd), script=True).kind == "inline-script"
    assert read_target(["https://example.org/x.py"], str(cwd)).kind == "remote"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# /// script\n# dependencies = []\n# ///\n", True),
        ('"""doc"""\n# /// script\n#\n# requires-python = ">=3.11"\n# ///\n', True),
        ("# /// script\r\n# dependencies = []\r\n# ///\r\n", True),
        ("# /// script\n# ///\n", True),  # empty: uv's parser takes it (the PEP's regex not)
        ("# /// script\n# dependencies = []\nimport x\n# ///\n", False),  # not closed in time
        ("# /// pyproject\n# x = 1\n# ///\n", False),  # another type
        ("#/// script\n# x = 1\n# ///\n", False),
        ("print('# /// script')\n", False),
    ],
)
def test_inline_metadata_is_a_pep_723_script_block(
    tmp_path: Path, text: str, expected: bool
) -> None:
    path = tmp_path / "s.py"
    path.write_bytes(text.encode())
    assert has_inline_metadata(str(path)) is expected


def test_zipapps_need_a_main_module(tmp_path: Path) -> None:
    shebang = tmp_path / "shebang.pyz"
    with zipfile.ZipFile(tmp_path / "inner.zip", "w") as archive:
        archive.writestr("__main__.py", "print(1)\n")
    shebang.write_bytes(b"#!/usr/bin/env python3\n" + (tmp_path / "inner.zip").read_bytes())
    assert is_zipapp(str(shebang))
    without = tmp_path / "lib.zip"
    with zipfile.ZipFile(without, "w") as archive:
        archive.writestr("pkg/__main__.py", "")
    assert not is_zipapp(str(without))
    assert not is_zipapp(str(tmp_path / "missing.zip"))


def test_available_commands_are_the_executables_but_activation(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, mode in (("tool", 0o755), ("python", 0o755), ("activate", 0o755), ("data", 0o644)):
        (bin_dir / name).write_text("")
        os.chmod(bin_dir / name, mode)
    (bin_dir / "sub").mkdir()
    assert available_commands(str(tmp_path)) == ["python", "tool"]
    assert available_commands(str(tmp_path / "missing")) == []


@pytest.mark.parametrize(
    ("command", "uv_args", "environ", "project"),
    [
        (["sub/tool.py"], [], {}, "sub"),
        (["sub/app/"], [], {}, "sub"),  # a package directory: its parent, as uv
        (["sub/bundle.pyz"], [], {}, "sub"),
        (["-s", "sub/notes.txt"], [], {}, "sub"),
        (["tool.py"], [], {}, None),  # no directory part: where uv looks anyway
        (["./tool.py"], [], {}, None),
        (["app"], [], {}, None),
        (["sub/notes.txt"], [], {}, None),  # a command, not a script
        (["-m", "sub/tool.py"], [], {}, None),
        (["sub/tool.py"], ["--project", "elsewhere"], {}, None),  # --project wins
        (["sub/tool.py"], ["--project=elsewhere"], {}, None),
        (["sub/tool.py"], [], {"UV_PROJECT": "elsewhere"}, None),
        (["inner/tool.py"], [], {}, None),  # no pyproject.toml there: the same project as here
    ],
)
def test_a_script_names_its_project_as_in_uv_run(
    cwd: Path, command: list[str], uv_args: list[str], environ: dict[str, str], project: str | None
) -> None:
    sub = cwd / "sub"
    (sub / "app").mkdir(parents=True)
    (sub / "app" / "__main__.py").write_text("print(1)\n")
    (sub / "tool.py").write_text("print(1)\n")
    (sub / "notes.txt").write_text("x\n")
    os.link(cwd / "bundle.pyz", sub / "bundle.pyz")
    (sub / "pyproject.toml").write_text('[project]\nname = "sub"\nversion = "1"\n')
    (cwd / "inner").mkdir()
    (cwd / "inner" / "tool.py").write_text("print(1)\n")
    flags = {"script": command[0] == "-s", "module": command[0] == "-m"}
    target = read_target([c for c in command if c not in ("-s", "-m")], str(cwd), **flags)
    expected = uv_args + (["--project", str(cwd / project)] if project else [])
    assert target.project_args(str(cwd), uv_args, environ) == expected


INLINE_STDIN = b"# /// script\n# dependencies = []\n# ///\nprint(2)\n"


@pytest.mark.parametrize(
    ("uv_args", "command", "stdin", "variables", "route", "kind"),
    [
        ([], ["pytest", "-x"], None, {}, IN_ENV, "command"),
        ([], ["tool.py"], None, {}, IN_ENV, "script"),
        ([], ["inline.py"], None, {}, UV_ALONE, "inline-script"),
        (["--script"], ["inline.py"], None, {}, UV_ALONE, "inline-script"),
        (["--gui-script"], ["inline.py"], None, {}, UV_ALONE, "inline-script"),
        (["--script"], ["notes.txt"], None, {}, IN_ENV, "script"),
        (["--gui-script"], ["gui.PYW"], None, {}, IN_ENV, "script"),
        (["-m"], ["http.server"], None, {}, IN_ENV, "module"),
        ([], ["-"], b"print(2)\n", {}, IN_ENV, "stdin"),
        ([], ["-"], INLINE_STDIN, {}, UV_ALONE, "stdin"),
        ([], ["https://example.com/x.py"], None, {}, UV_ON_ENV, "remote"),
        (["--with", "rich"], ["python"], None, {}, UV_ON_ENV, "python"),
        (["--env-file", ".env"], ["python"], None, {}, UV_ON_ENV, "python"),
        ([], ["python"], None, {"UV_ENV_FILE": ".env"}, UV_ON_ENV, "python"),
        (["--isolated"], ["python"], None, {}, UV_ALONE, "python"),
        (["--no-project"], ["tool.py"], None, {}, UV_ALONE, "script"),
        ([], ["python"], None, {"UV_NO_PROJECT": "1"}, UV_ALONE, "python"),
        (["--isolated"], ["-"], INLINE_STDIN, {}, UV_ALONE, "stdin"),
        (["--with", "rich"], ["inline.py"], None, {}, UV_ALONE, "inline-script"),
        (["--show-settings"], [""], None, {}, UV_ALONE, None),  # (uv reads nothing of it)
        ([], [], None, {}, IN_ENV, None),  # (the env's commands are listed)
    ],
)
def test_one_plan_says_who_runs_what_anyvenv_run_was_given(
    cwd: Path,
    uv_args: list[str],
    command: list[str],
    stdin: bytes | None,
    variables: dict[str, str],
    route: str,
    kind: str | None,
) -> None:
    """uv alone (an env of its own), uv on the env anyvenv synced, or anyvenv in that env:
    decided in one place for the no-op shortcut and the ordinary way; standard input is read
    only for ``-``."""

    def stdin_script() -> bytes:
        assert stdin is not None, "standard input read for a command that is not -"
        return stdin

    request = read_run_args(uv_args, variables)
    plan = plan_run(request, uv_args, command, str(cwd), stdin_script)
    assert plan.route == route
    assert (None if plan.target is None else plan.target.kind) == kind
