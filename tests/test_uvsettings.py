"""uv's settings files found as uv finds them (anyvenv.project.uvsettings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyvenv.errors import UsageError
from anyvenv.project.uvsettings import (
    compiles_bytecode,
    preference_in_args,
    project_settings_file,
    python_preference,
    reinstalls,
    reruns_every_sync,
    setting,
    settings_files,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/uv.toml; root/a/pyproject.toml with [tool.uv]; root/a/b/pyproject.toml without;
    root/a/b/c/pyproject.toml that is not TOML. Returns root/a/b/c."""
    (tmp_path / "uv.toml").write_text('python-preference = "system"\n')
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text(
        '[project]\nname = "a"\n[tool.uv]\nmanaged = true\n'
    )
    (tmp_path / "a" / "b" / "pyproject.toml").write_text('[project]\nname = "b"\n')
    (tmp_path / "a" / "b" / "c" / "pyproject.toml").write_text("[project\n")
    return tmp_path / "a" / "b" / "c"


def no_user_config(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "user"), "XDG_CONFIG_DIRS": str(tmp_path / "sys")}


def test_the_nearest_file_with_uv_settings_wins_and_hides_those_above(
    tree: Path, tmp_path: Path
) -> None:
    """Unreadable and [tool.uv]-less pyproject.toml files are passed over; the first with
    [tool.uv] is the project's settings, though it does not set the key (uv.toml above is
    not read)."""
    assert project_settings_file(str(tree)) == str(tmp_path / "a" / "pyproject.toml")
    files = settings_files(str(tree), (), no_user_config(tmp_path), str(tree))
    assert files == [str(tmp_path / "a" / "pyproject.toml")]
    assert setting("managed", files) == (True, files[0])
    assert setting("python-preference", files) is None
    assert project_settings_file(str(tmp_path)) == str(tmp_path / "uv.toml")


def test_user_and_system_files_fill_in_after_the_project(tree: Path, tmp_path: Path) -> None:
    environ = no_user_config(tmp_path)
    (tmp_path / "user" / "uv").mkdir(parents=True)
    (tmp_path / "user" / "uv" / "uv.toml").write_text('python-preference = "only-system"\n')
    (tmp_path / "sys" / "uv").mkdir(parents=True)
    (tmp_path / "sys" / "uv" / "uv.toml").write_text('python-preference = "managed"\n')
    files = settings_files(str(tree), (), environ, str(tree))
    assert setting("python-preference", files) == (
        "only-system",
        str(tmp_path / "user" / "uv" / "uv.toml"),
    )
    assert python_preference(None, str(tree), (), environ, str(tree)) == "only-system"
    # the variables come before the files, the command line before them
    assert python_preference(None, str(tree), (), {**environ, "UV_MANAGED_PYTHON": "1"}, "/") == (
        "only-managed"
    )
    with_variable = {**environ, "UV_PYTHON_PREFERENCE": "system"}
    assert python_preference(None, str(tree), (), with_variable, "/") == "system"
    assert python_preference("managed", str(tree), (), with_variable, "/") == "managed"


def test_a_given_config_file_is_read_alone_and_no_config_reads_none(
    tree: Path, tmp_path: Path
) -> None:
    given = tmp_path / "given.toml"
    given.write_text('python-preference = "only-managed"\n')
    environ = {**no_user_config(tmp_path), "UV_CONFIG_FILE": "given.toml"}
    assert settings_files(str(tree), (), environ, str(tmp_path)) == [str(given)]
    assert settings_files(str(tree), ("--no-config",), no_user_config(tmp_path), "/") == []
    # uv refuses a config file it cannot open; the error names where the path came from
    with pytest.raises(UsageError, match=r"^--config-file names .*nope\.toml, which does not"):
        settings_files(str(tree), ("--config-file", "nope.toml"), {}, str(tmp_path))
    with pytest.raises(UsageError, match=r"^UV_CONFIG_FILE names .*nope\.toml"):
        settings_files(str(tree), (), {"UV_CONFIG_FILE": "nope.toml"}, str(tmp_path))
    unreadable = tmp_path / "dir.toml"
    unreadable.mkdir()  # there, but not a file: reading it says so
    found = settings_files(str(tree), ("--config-file", str(unreadable)), {}, str(tmp_path))
    with pytest.raises(UsageError, match=r"dir\.toml"):
        setting("python-preference", found)


def test_wrong_values_are_usage_errors_naming_their_source(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "a" / "pyproject.toml").write_text('[tool.uv]\npython-preference = "often"\n')
    with pytest.raises(UsageError, match=r"pyproject\.toml"):
        python_preference(None, str(tree), (), no_user_config(tmp_path), "/")
    (tmp_path / "a" / "pyproject.toml").write_text("[tool.uv]\npython-preference = 3\n")
    with pytest.raises(UsageError, match=r"pyproject\.toml"):
        python_preference(None, str(tree), (), no_user_config(tmp_path), "/")
    (tmp_path / "uv.toml").write_text("python-preference = \n")
    with pytest.raises(UsageError, match=r"uv\.toml"):
        setting("python-preference", [str(tmp_path / "uv.toml")])
    assert preference_in_args(["--no-managed-python"]) == "only-system"
    assert preference_in_args(["--python-preference=system"]) == "system"
    with pytest.raises(UsageError, match="--python-preference"):
        preference_in_args(["--python-preference", "x"])


def test_bytecode_compilation_is_decided_as_uv_decides_it(tmp_path: Path) -> None:
    """The command line's last word, then UV_COMPILE_BYTECODE, then the settings
    ([tool.uv.pip]'s first for uv pip)."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\n[tool.uv]\ncompile-bytecode = true\n'
        "[tool.uv.pip]\ncompile-bytecode = false\n"
    )
    environ = no_user_config(tmp_path)
    start = str(project)

    def compiles(args: list[str], extra: dict[str, str] | None = None, pip: bool = False) -> bool:
        return compiles_bytecode(start, args, {**environ, **(extra or {})}, start, for_pip=pip)

    assert compiles([])  # [tool.uv]
    assert not compiles([], pip=True)  # [tool.uv.pip] first
    assert not compiles([], {"UV_COMPILE_BYTECODE": "0"})
    assert compiles([], {"UV_COMPILE_BYTECODE": "1"}, pip=True)
    assert not compiles(
        ["--compile-bytecode", "--no-compile-bytecode"], {"UV_COMPILE_BYTECODE": "1"}
    )
    assert compiles(["--no-compile", "--compile"], pip=True)
    assert not compiles(["--no-config"])  # no settings read


def test_reinstalls_are_combined_as_uv_combines_them(tmp_path: Path) -> None:
    """--reinstall/--no-reinstall decide alone; --reinstall-package names add to the
    settings' (all of them when the settings reinstall everything); [tool.uv.pip] first for
    uv pip."""
    project = tmp_path / "p"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    environ = no_user_config(tmp_path)
    start = str(project)

    def asked(args: list[str], pip: bool = False) -> bool | set[str]:
        return reinstalls(start, args, environ, start, for_pip=pip)

    pyproject.write_text('[project]\nname = "p"\n[tool.uv]\nreinstall-package = ["A_b"]\n')
    assert asked([]) == {"a-b"}
    assert asked(["--reinstall-package", "c"]) == {"a-b", "c"}
    assert asked(["--no-reinstall"]) is False
    assert asked(["--reinstall"]) is True
    assert asked(["--no-config"]) == set()
    pyproject.write_text(
        '[project]\nname = "p"\n[tool.uv]\nreinstall = true\n'
        '[tool.uv.pip]\nreinstall = false\nreinstall-package = ["d"]\n'
    )
    assert asked(["--reinstall-package", "c"]) is True
    assert asked(["--reinstall-package", "c"], pip=True) == {"c"}  # (false drops d, as uv)


def test_settings_that_reinstall_or_upgrade_make_every_sync_run_uv(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    environ = no_user_config(tmp_path)
    start = str(project)

    def reruns(table: str, args: tuple[str, ...] = ()) -> bool:
        pyproject.write_text(f'[project]\nname = "p"\n[tool.uv]\n{table}\n')
        return reruns_every_sync(start, args, environ, start)

    assert not reruns("")
    assert not reruns("reinstall = false\nupgrade = false\nupgrade-package = []")
    assert reruns("reinstall = true")
    assert reruns('reinstall-package = ["x"]')
    assert reruns("upgrade = true")
    assert reruns('upgrade-package = ["x"]')
    assert not reruns("upgrade = true", ("--no-upgrade",))
    assert not reruns("reinstall = true", ("--no-reinstall",))
