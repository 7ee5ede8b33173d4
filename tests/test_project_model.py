"""Finding the project and its workspace, and the Python it asks for, as uv does."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyvenv.errors import UsageError
from anyvenv.project.model import choose_python, discover, python_for_venv, release


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed pyproject.toml files are remembered in the user cache: keep these out of it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _project(root: Path, name: str, requires: str | None = None, extra: str = "") -> Path:
    requires_line = f'requires-python = "{requires}"\n' if requires else ""
    _write(
        root / "pyproject.toml",
        f'[project]\nname = "{name}"\nversion = "1"\n{requires_line}{extra}',
    )
    return root


def test_nearest_pyproject_is_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "p", ">=3.10")
    (root / "src" / "deep").mkdir(parents=True)
    project = discover(root / "src" / "deep")
    assert (project.root, project.workspace_root, project.name) == (str(root), str(root), "p")
    assert project.requires_python_text == ">=3.10"
    assert project.allows((3, 10, 0)) and not project.allows((3, 9, 18))


def test_workspace_root_covers_its_members(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "ws",
        "root",
        ">=3.10",
        '[tool.uv.workspace]\nmembers = ["packages/*"]\nexclude = ["packages/skipped"]\n',
    )
    member = _project(root / "packages" / "app", "app", "<3.13")
    skipped = _project(root / "packages" / "skipped", "skipped")
    project = discover(member)
    assert project.workspace_root == str(root)
    assert set(project.members) == {str(root), str(member)}
    assert project.name == "app" and project.env_name == "root"  # the env is the workspace's
    assert project.allows((3, 12, 1)) and not project.allows((3, 13, 0))  # intersected
    assert not project.allows((3, 9, 0))
    assert discover(skipped).workspace_root == str(skipped)  # excluded: stands alone


def test_a_virtual_workspace_root(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "ws" / "pyproject.toml", '[tool.uv.workspace]\nmembers = ["a"]\n'
    ).parent
    member = _project(root / "a", "a")
    assert discover(member).workspace_root == str(root)
    assert discover(root).name is None
    assert discover(member).env_name == discover(root).env_name == "ws"  # the directory's


def test_a_project_inside_another_project_stands_alone(tmp_path: Path) -> None:
    outer = _project(tmp_path / "outer", "outer")
    inner = _project(outer / "examples" / "inner", "inner")
    assert discover(inner).workspace_root == str(inner)


def test_no_pyproject_and_invalid_toml_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no pyproject\.toml"):
        discover(tmp_path)
    _write(tmp_path / "pyproject.toml", "[project\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        discover(tmp_path)
    # as uv: a pyproject.toml without [project] is a workspace root of its own, no members
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "pyproject.toml", "[tool.black]\n")
    _write(tmp_path / "pyproject.toml", '[tool.uv.workspace]\nmembers = ["sub"]\n')
    alone = discover(tmp_path / "sub")
    assert (alone.workspace_root, alone.members, alone.name) == (str(tmp_path / "sub"), (), None)
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nrequires-python = "three"\n')
    with pytest.raises(UsageError, match="requires-python"):
        discover(tmp_path)


def test_python_request_order(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "p", ">=3.10")
    project = discover(root)
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    assert choose_python(project, None, config).source == "requires-python >=3.10"
    _write(tmp_path / "config" / "uv" / ".python-version", "3.11\n")
    assert choose_python(project, None, config).request.raw == "3.11"  # the global pin
    _write(root / ".python-version", "# pinned\n3.12\n")
    choice = choose_python(project, None, config)
    assert (choice.request.raw, choice.source) == ("3.12", str(root / ".python-version"))
    assert choose_python(project, None, {**config, "UV_PYTHON": "3.13"}).request.raw == "3.13"
    assert choose_python(project, "3.10", {**config, "UV_PYTHON": "3.13"}).request.raw == "3.10"
    no_files = choose_python(project, None, config, use_version_files=False)
    assert no_files.request.raw == ">=3.10"


def test_version_file_search_stops_at_the_workspace_root(tmp_path: Path) -> None:
    _write(tmp_path / ".python-version", "3.11\n")  # above the project: uv does not read it
    root = _project(tmp_path / "p", "p")
    assert choose_python(
        discover(root), None, {"XDG_CONFIG_HOME": str(tmp_path / "c")}
    ).request.is_any


def test_global_pin_outside_requires_python_is_ignored(tmp_path: Path) -> None:
    project = discover(_project(tmp_path / "p", "p", ">=3.12"))
    _write(tmp_path / "config" / "uv" / ".python-version", "3.10\n")
    choice = choose_python(project, None, {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert choice.request.raw == ">=3.12"


def test_the_version_file_search_starts_where_uv_starts(tmp_path: Path) -> None:
    """uv looks from its project directory (the working directory, or --directory/--project),
    not from the project's root: a .python-version in a subdirectory counts when run there."""
    root = _project(tmp_path / "p", "p")
    _write(root / "docs" / ".python-version", "3.12\n")
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    inside = choose_python(discover(root / "docs"), None, config, start=str(root / "docs"))
    assert (inside.request.raw, inside.source) == ("3.12", str(root / "docs" / ".python-version"))
    assert choose_python(discover(root), None, config, start=str(root)).request.is_any


def test_venv_outside_a_project_reads_version_files_up_to_the_root(tmp_path: Path) -> None:
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert python_for_venv(str(deep), config).choice.request.is_any
    _write(tmp_path / ".python-versions", "# first listed wins\n3.11\n3.12\n")
    found = python_for_venv(str(deep), config)
    assert (found.choice.request.raw, found.choice.source) == (
        "3.11",
        str(tmp_path / ".python-versions"),
    )
    _write(tmp_path / "a" / ".python-version", "3.10\n")
    assert python_for_venv(str(deep), config).choice.request.raw == "3.10"
    assert python_for_venv(str(deep), {**config, "UV_NO_CONFIG": "1"}).choice.request.is_any
    assert python_for_venv(str(deep), {**config, "UV_PYTHON": "3.13"}).choice.source == (
        "UV_PYTHON=3.13"
    )


def test_venv_in_a_project_follows_its_requires_python_and_workspace(tmp_path: Path) -> None:
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    _write(tmp_path / ".python-version", "3.10\n")  # above the project: uv does not read it
    root = _project(tmp_path / "p", "p", ">=3.12")
    found = python_for_venv(str(root), config)
    assert (found.choice.request.raw, found.choice.source) == (">=3.12", "requires-python >=3.12")
    assert found.warning is None
    _write(tmp_path / "config" / "uv" / ".python-version", "3.11\n")  # not allowed: ignored
    assert python_for_venv(str(root), config).choice.request.raw == ">=3.12"
    _write(root / ".python-version", "3.13\n")
    assert python_for_venv(str(root), config).choice.request.raw == "3.13"


def test_venv_beside_a_pyproject_that_is_no_project_is_quiet(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.black]\nline-length = 100\n")
    found = python_for_venv(str(tmp_path), {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert found.choice.request.is_any and found.warning is None


def test_venv_beside_a_broken_pyproject_warns_and_goes_on(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[project\n")
    _write(tmp_path / ".python-version", "3.12\n")
    found = python_for_venv(str(tmp_path), {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert found.choice.request.raw == "3.12"
    assert found.warning is not None and "is not valid TOML" in found.warning


def test_an_empty_local_version_file_hides_the_global_pin(tmp_path: Path) -> None:
    """uv reads the global pin only when no local file is found; an empty one is still found."""
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    _write(tmp_path / "config" / "uv" / ".python-version", "3.11\n")
    work = tmp_path / "work"
    work.mkdir()
    assert python_for_venv(str(work), config).choice.request.raw == "3.11"
    _write(work / ".python-version", "# nothing pinned\n")
    assert python_for_venv(str(work), config).choice.request.is_any


def test_release_reads_the_leading_numbers_of_a_version() -> None:
    assert release("3.11.7") == (3, 11, 7)
    assert release("3.13.0rc1") == (3, 13, 0)
    assert release("3.14.0a7+") == (3, 14, 0)
    assert release("3.12") == (3, 12)


def test_the_incompatibility_warning_names_the_request_and_requires_python(
    tmp_path: Path,
) -> None:
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    root = _project(tmp_path / "p", "p", ">=3.12")
    found = python_for_venv(str(root), config, explicit="3.11")
    assert found.default_path == str(root / ".venv")
    assert found.incompatibility("3.12.1") is None
    assert found.incompatibility("3.11.7") == (
        "--python 3.11 resolved to Python 3.11.7, which the project's requires-python >=3.12 "
        "does not allow"
    )
    assert python_for_venv(str(root), config, explicit="3.11", no_project=True).project is None


def test_a_directory_this_user_may_not_enter_is_named_not_taken_for_no_project(
    nobody_scratch: Path,
) -> None:
    """A project directory (the working one) that this user may not enter: sync and run say
    so and how to get in, not "no pyproject.toml found"; probe and check name that directory,
    not "a directory above"."""
    import os

    from support import one_line_error, run_cli_as_nobody

    project = nobody_scratch / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    os.chown(project, 65534, 65534)
    os.chmod(project, 0)
    for command in ("sync", "run"):
        proc = run_cli_as_nobody(command, "--directory", str(project), "true")
        assert proc.returncode == 2, proc.stderr
        assert one_line_error(proc) == (
            f"anyvenv: error: cannot look for pyproject.toml in {project}: you may not enter "
            f"{project} (owned by nobody, mode 0000); chmod u+rx {project}"
        )
    for command, path in (("probe", f"{project}/."), ("check", f"{project}/.venv")):
        proc = run_cli_as_nobody(command, path)
        assert proc.returncode == 2, proc.stderr
        assert (
            f"cannot be reached: you may not enter {project} (owned by nobody, mode 0000; "
            "EACCES)" in one_line_error(proc)
        )


def test_a_directory_above_the_project_this_user_may_not_enter_is_named(
    nobody_scratch: Path,
) -> None:
    """Working in a project of one's own below a directory one may not enter (root's 0700):
    sync, venv and probe name that directory, not "does not exist" or "not writable"."""
    import os
    import subprocess

    from support import as_nobody, one_line_error

    locked = nobody_scratch / "lock"
    project = locked / "proj"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    os.chown(project, 65534, 65534)
    os.chmod(locked, 0o700)
    with as_nobody(with_uv=True) as (command, env):
        for args in (["sync"], ["venv", "e"], ["probe", "."]):
            proc = subprocess.run(  # (started in it by root, the user is in it: cd'ed before)
                [*command, "-m", "anyvenv", *args], cwd=project,
                capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            assert proc.returncode == 2, (args, proc.stderr)
            said = one_line_error(proc)
            assert f"you may not enter {locked} (owned by root, mode 0700)" in said, (args, said)
    assert sorted(os.listdir(project)) == ["pyproject.toml"]


def test_a_pyproject_linked_past_a_closed_directory_is_one_line(nobody_scratch: Path) -> None:
    """Every directory on the way may be entered, but pyproject.toml is a link into one that
    may not: "cannot read" (exit 2), not the raw error of the guard."""
    import os

    from support import one_line_error, run_cli_as_nobody

    secret = nobody_scratch / "secret"
    secret.mkdir()
    (secret / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    os.chmod(secret, 0o700)
    project = nobody_scratch / "proj"
    project.mkdir()
    (project / "pyproject.toml").symlink_to(secret / "pyproject.toml")
    proc = run_cli_as_nobody("sync", "--directory", str(project))
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: cannot read {project / 'pyproject.toml'}: Permission denied; check "
        "its permissions and those of what it links to"
    )


def test_a_version_file_line_uv_reads_as_a_name_is_passed_over_with_its_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``.myenv`` (a dotted name, nothing there) and ``system`` are names uv ignores, with a
    warning each; the next line is the request. ``.venv`` where it exists is a path, kept."""
    monkeypatch.chdir(tmp_path)
    pin = _write(tmp_path / "dir" / ".python-version", ".myenv\nsystem\n3.11\n")
    choice = choose_python(None, None, {}, start=str(pin.parent))
    assert choice.request.raw == "3.11"
    assert choice.warnings == tuple(
        f"Ignoring unsupported Python request `{line}` in version file: {pin}"
        for line in (".myenv", "system")
    )
    (tmp_path / ".venv").mkdir()
    pin.write_text(".venv\n3.11\n")  # (as uv: a path, read from the working directory)
    kept = choose_python(None, None, {}, start=str(pin.parent))
    assert kept.request.raw == ".venv" and kept.warnings == ()
