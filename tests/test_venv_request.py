"""``anyvenv venv`` without ``--python`` asks for the Python ``uv venv`` would: ``UV_PYTHON``,
the nearest ``.python-version``, the project's ``requires-python``, else the default."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from project_support import pyenv_python, uv_binary

from support import cli_env, one_line_error, run_cli

PYTHONS = {minor: pyenv_python(minor) for minor in ("3.10", "3.11", "3.12")}
pytestmark = pytest.mark.skipif(
    None in PYTHONS.values(), reason="needs pyenv's 3.10, 3.11 and 3.12"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A PATH whose python3 is 3.11 and which has python3.10 and python3.12 too, and no
    managed Pythons or uv config of the user's."""
    bin_dir = tmp_path / "pythons"
    bin_dir.mkdir()
    for minor, path in PYTHONS.items():
        assert path is not None
        (bin_dir / f"python{minor}").symlink_to(path)
    (bin_dir / "python3").symlink_to(bin_dir / "python3.11")
    return cli_env(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )


def _version(env_dir: Path) -> str:
    cfg = (env_dir / "pyvenv.cfg").read_text()
    return next(
        line.split("=")[1].strip() for line in cfg.splitlines() if line.startswith("version_info")
    )


def _no_uv_python(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in ("UV_PYTHON", "UV_NO_CONFIG")}


def test_a_python_version_file_above_is_followed(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    work = tmp_path / "work"
    work.mkdir()
    done = run_cli("venv", cwd=work, env=_no_uv_python(env))
    assert done.returncode == 0, done.stderr
    assert _version(work / ".venv").startswith("3.12.")
    assert f"python: asked for by {tmp_path / '.python-version'}" in done.stderr


def test_requires_python_is_followed_in_a_project(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.12"\n'
    )
    done = run_cli("venv", "--json", cwd=tmp_path, env=_no_uv_python(env))
    assert done.returncode == 0, done.stderr
    assert _version(tmp_path / ".venv").startswith("3.12.")
    assert '"python_request_source": "requires-python >=3.12"' in done.stdout


def test_uv_python_and_then_python_win(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / ".python-version").write_text("3.12\n")
    done = run_cli("venv", "a", cwd=tmp_path, env={**_no_uv_python(env), "UV_PYTHON": "3.10"})
    assert done.returncode == 0, done.stderr
    assert _version(tmp_path / "a").startswith("3.10.")
    assert "asked for by UV_PYTHON=3.10" in done.stderr
    done = run_cli("venv", "b", "-p", "3.11", cwd=tmp_path, env={**env, "UV_PYTHON": "3.10"})
    assert done.returncode == 0, done.stderr
    assert _version(tmp_path / "b").startswith("3.11.")
    assert "asked for by" not in done.stderr


def test_no_request_takes_python3_on_path(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli("venv", cwd=tmp_path, env=_no_uv_python(env))
    assert done.returncode == 0, done.stderr
    assert _version(tmp_path / ".venv").startswith("3.11.")
    assert "asked for by" not in done.stderr


def test_a_version_nobody_has_is_a_clear_error_naming_the_file(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / ".python-version").write_text("3.9\n")
    done = run_cli("venv", cwd=tmp_path, env=_no_uv_python(env))
    assert done.returncode == 2
    line = one_line_error(done)
    assert "3.9" in line and f"asked for by {tmp_path / '.python-version'}" in line
    assert not os.path.lexists(tmp_path / ".venv")


@pytest.mark.parametrize(
    ("request_text", "hint"),
    [
        ("2.7", "ask for a Python 3 (--python 3.12)"),
        (">=3.11,<3.5", "ask for a range some version is in (--python '>=3.11')"),
    ],
)
def test_a_python_no_cpython_3_answers_is_refused_with_the_fix_where_it_was_asked(
    tmp_path: Path, env: dict[str, str], request_text: str, hint: str
) -> None:
    """Given with --python, the fix names --python; written in a version file or in
    UV_PYTHON, the fix is to change it there too."""
    given = run_cli("venv", "--python", request_text, cwd=tmp_path, env=env)
    assert given.returncode == 2
    assert one_line_error(given).endswith(f"; {hint}")
    version_file = tmp_path / ".python-version"
    version_file.write_text(f"{request_text}\n")
    from_file = run_cli("venv", cwd=tmp_path, env=env)
    assert from_file.returncode == 2
    said = one_line_error(from_file)
    assert f", asked for by {version_file};" in said
    assert said.endswith(f"; {hint}, or change the version in {version_file}")  # as sync
    version_file.unlink()
    variable = run_cli("venv", cwd=tmp_path, env={**env, "UV_PYTHON": request_text})
    assert one_line_error(variable).endswith(f"; {hint}, or change UV_PYTHON")
    assert os.listdir(tmp_path) == ["pythons"]  # (the fixture's): no env, nothing made


def _project(root: Path, requires_python: str = ">=3.12") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "p"\nversion = "1"\nrequires-python = "{requires_python}"\n'
    )
    return root


def test_a_python_the_project_rules_out_is_used_with_uvs_warning(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """As ``uv venv -p 3.11`` in a project that wants >=3.12: the env is made, with a warning
    naming the request and requires-python; ``--no-project`` leaves the project out."""
    project = _project(tmp_path / "p")
    done = run_cli("venv", "-p", "3.11", cwd=project, env=_no_uv_python(env))
    assert done.returncode == 0, done.stderr
    assert _version(project / ".venv").startswith("3.11.")
    warning = done.stderr.splitlines()[0]
    assert warning.startswith("anyvenv: warning: --python 3.11 resolved to Python 3.11.")
    assert "requires-python >=3.12 does not allow" in warning
    done = run_cli("venv", "-p", "3.11", "--clear", "--no-project", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr


def test_a_version_file_the_project_rules_out_gets_the_pin_hint(
    tmp_path: Path, env: dict[str, str]
) -> None:
    project = _project(tmp_path / "p")
    (project / ".python-version").write_text("3.11\n")
    done = run_cli("venv", "--json", cwd=project, env=_no_uv_python(env))
    assert done.returncode == 0, done.stderr
    assert _version(project / ".venv").startswith("3.11.")
    assert f"{project / '.python-version'} resolved to Python 3.11." in done.stderr
    assert json.loads(done.stdout)["warnings"] == [
        done.stderr.strip().removeprefix("anyvenv: warning: ")
    ]
    assert "(uv python pin)" in done.stderr
    # --no-config: the file is not read, so requires-python picks 3.12 and all is quiet
    done = run_cli("venv", "--clear", "--no-config", cwd=project, env=_no_uv_python(env))
    assert done.returncode == 0, done.stderr
    assert _version(project / ".venv").startswith("3.12.")
    assert "asked for by requires-python >=3.12" in done.stderr and "warning" not in done.stderr


def test_from_the_workspace_root_the_env_goes_where_the_project_wants_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``uv venv`` with no path, run from the workspace root, makes the project's environment
    (``UV_PROJECT_ENVIRONMENT``); from elsewhere in the project, ``.venv`` there."""
    project = _project(tmp_path / "p")
    (project / "docs").mkdir()
    environ = {**_no_uv_python(env), "UV_PROJECT_ENVIRONMENT": "custom"}
    done = run_cli("venv", cwd=project, env=environ)
    assert done.returncode == 0, done.stderr
    assert (project / "custom" / "pyvenv.cfg").is_file()
    assert not os.path.lexists(project / ".venv")
    done = run_cli("venv", cwd=project / "docs", env=environ)
    assert done.returncode == 0, done.stderr
    assert (project / "docs" / ".venv" / "pyvenv.cfg").is_file()
    done = run_cli("venv", "--no-project", "-q", cwd=project, env=environ)
    assert done.returncode == 0, done.stderr
    assert (project / ".venv" / "pyvenv.cfg").is_file()
    # the prompt, as uv venv's: with no PATH the working directory's name, else none given
    assert "prompt = docs\n" in (project / "docs" / ".venv" / "pyvenv.cfg").read_text()
    assert "VIRTUAL_ENV_PROMPT='docs'" in (project / "docs" / ".venv/bin/activate").read_text()
    named = run_cli("venv", "-q", "named", cwd=project / "docs", env=environ)
    assert named.returncode == 0, named.stderr
    assert "prompt" not in (project / "docs" / "named" / "pyvenv.cfg").read_text()


def test_directory_and_project_are_read_as_uv_venv_reads_them(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``--directory`` (``UV_WORKING_DIR``) moves the working directory first: PATH and the
    default ``.venv`` are relative to it. ``--project`` (``UV_PROJECT``, or the path of its
    pyproject.toml) is where the project is looked for; from its workspace root the env is
    the project's."""
    project = _project(tmp_path / "p")
    (project / "sub").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    environ = _no_uv_python(env)
    moved = run_cli("venv", "--directory", "../p", "-q", cwd=outside, env=environ)
    assert moved.returncode == 0, moved.stderr
    assert _version(project / ".venv").startswith("3.12.")  # the project's requires-python
    named = run_cli("venv", "e", "-q", cwd=outside, env={**environ, "UV_WORKING_DIR": "../p/sub"})
    assert named.returncode == 0, named.stderr
    assert _version(project / "sub" / "e").startswith("3.12.")  # found from sub, upward
    by_project = run_cli(
        "venv", "--project", str(project / "pyproject.toml"), "--json", cwd=outside,
        env={**environ, "UV_PROJECT_ENVIRONMENT": "custom"},
    )  # fmt: skip
    assert by_project.returncode == 0, by_project.stderr
    assert json.loads(by_project.stdout)["path"] == str(project / "custom")
    by_variable = run_cli(
        "venv", "-q", "--clear", cwd=outside, env={**environ, "UV_PROJECT": str(project)}
    )
    assert by_variable.returncode == 0, by_variable.stderr
    assert _version(project / ".venv").startswith("3.12.")
    not_root = run_cli("venv", "--project", "../p/sub", "-q", cwd=outside, env=environ)
    assert not_root.returncode == 0, not_root.stderr
    assert _version(outside / ".venv").startswith("3.12.")  # .venv here, as uv venv
    before = sorted(os.listdir(outside))
    for option in ("--directory", "--project"):
        missing = run_cli("venv", option, "nowhere", cwd=outside, env=environ)
        assert missing.returncode == 2, missing.stderr
        assert str(outside / "nowhere") in one_line_error(missing), missing.stderr
        assert option in one_line_error(missing)
    assert sorted(os.listdir(outside)) == before


def test_uv_venv_variables_stand_for_their_flags(tmp_path: Path, env: dict[str, str]) -> None:
    """UV_VENV_CLEAR, UV_NO_PROJECT and UV_VENV_SEED, as uv venv reads them (boolish)."""
    project = _project(tmp_path / "p")
    environ = _no_uv_python(env)
    assert run_cli("venv", "-p", "3.12", "-q", cwd=project, env=environ).returncode == 0
    again = run_cli("venv", "-p", "3.12", cwd=project, env={**environ, "UV_VENV_CLEAR": "off"})
    assert again.returncode == 2 and "already exists" in one_line_error(again)
    cleared = run_cli(
        "venv",
        "-p",
        "3.11",
        cwd=project,
        env={**environ, "UV_VENV_CLEAR": "1", "UV_NO_PROJECT": "1"},
    )
    assert cleared.returncode == 0, cleared.stderr
    assert _version(project / ".venv").startswith("3.11.")
    assert "warning" not in cleared.stderr  # no requires-python warning: the project is left out
    short = run_cli("venv", "-p", "3.12", "-c", "--json", cwd=project, env=environ)
    assert short.returncode == 0, short.stderr
    assert '"replaced": true' in short.stdout
    seeded = run_cli("venv", "s", "--json", cwd=tmp_path, env={**environ, "UV_VENV_SEED": "true"})
    assert seeded.returncode == 0, seeded.stderr
    assert "pip" in json.loads(seeded.stdout)["seeded"]
    assert list((tmp_path / "s").glob("lib/python3.*/site-packages/pip"))


def test_uv_venv_options_that_change_nothing_are_taken_and_the_others_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A script passing uv's global options to every uv command works with anyvenv venv; the
    options anyvenv cannot honour are refused with the reason, and nothing is made."""
    taken = [
        "--offline", "--no-progress", "-v", "--color", "never", "--cache-dir", str(tmp_path),
        "--no-cache", "--link-mode", "copy", "--no-python-downloads", "--system-certs",
    ]  # fmt: skip
    done = run_cli("venv", "-p", "3.12", "e", *taken, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert _version(tmp_path / "e").startswith("3.12.")
    seeding = [  # --seed's index options, and uv's global ones: the value is not PATH
        "--find-links", "/opt/wheels", "-i", "https://example/simple", "--no-index",
        "--extra-index-url=https://e/x", "--index-strategy", "unsafe-best-match",
        "--keyring-provider", "subprocess", "--exclude-newer", "2024-01-01",
        "--allow-insecure-host", "h", "--refresh-package", "p",
    ]  # fmt: skip
    seeded = run_cli("venv", "-p", "3.12", *seeding, "s2", cwd=tmp_path, env=env)
    assert seeded.returncode == 0, seeded.stderr
    made = {"e", "s2", "p", "h", "subprocess", "2024-01-01", "unsafe-best-match"}
    assert set(os.listdir(tmp_path)) & made == {"e", "s2"}, "no env at an option's value"
    for option, why in (
        ("--force", "never removes a directory that is not a virtual environment"),
        ("--relocatable", "name its own path"),
        ("--allow-existing", "built aside"),
    ):
        refused = run_cli("venv", "-p", "3.12", "r", option, cwd=tmp_path, env=env)
        assert refused.returncode == 2 and why in one_line_error(refused), option
    relocatable = run_cli(
        "venv", "-p", "3.12", "r", cwd=tmp_path, env={**env, "UV_VENV_RELOCATABLE": "1"}
    )
    assert relocatable.returncode == 2
    assert "UV_VENV_RELOCATABLE is set" in one_line_error(relocatable)
    assert not (tmp_path / "r").exists()


def test_uvs_python_preference_is_read_as_uv_venv_reads_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``python-preference`` from the nearest uv settings file at or above the project (a
    pyproject.toml without ``[tool.uv]`` is passed over), from ``UV_CONFIG_FILE`` alone, or
    from the user's uv.toml; the command line wins. ``only-managed`` with no managed Python:
    uv venv refuses, and so does anyvenv, making nothing."""
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "uv.toml").write_text('python-preference = "only-managed"\n')
    project = tmp_path / "work" / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    quiet_uv = {**_no_uv_python(env), "UV_PYTHON_DOWNLOADS": "never"}

    refused = run_cli("venv", cwd=project, env=quiet_uv)
    assert refused.returncode == 2, refused.stderr
    assert "python-preference is only-managed" in one_line_error(refused)
    assert not (project / ".venv").exists()
    uv = subprocess.run(
        [uv_binary(), "venv", "--offline", str(tmp_path / "uv-env")],
        cwd=project,
        env=quiet_uv,
        capture_output=True,
        text=True,
    )
    assert uv.returncode != 0 and "managed" in uv.stderr, uv.stderr  # uv refuses too

    for wins in (["--python-preference", "system"], ["--no-managed-python"], ["--no-config"]):
        done = run_cli("venv", "--clear", *wins, cwd=project, env=quiet_uv)
        assert done.returncode == 0, (wins, done.stderr)
    # as uv's: of --managed-python and --no-managed-python, the last one given wins
    both = run_cli(
        "venv", "--clear", "--managed-python", "--no-managed-python", cwd=project, env=quiet_uv
    )
    assert both.returncode == 0, both.stderr
    turned = run_cli(
        "venv", "--clear", "--no-managed-python", "--managed-python", cwd=project, env=quiet_uv
    )
    assert turned.returncode == 2 and "only-managed" in one_line_error(turned)
    mixed = run_cli("venv", "--managed-python", "--python-preference", "system", cwd=project)
    assert mixed.returncode == 2 and "cannot be used with" in one_line_error(mixed)

    given = tmp_path / "given.toml"
    given.write_text('python-preference = "system"\n')
    alone = run_cli("venv", "--clear", cwd=project, env={**quiet_uv, "UV_CONFIG_FILE": str(given)})
    assert alone.returncode == 0, alone.stderr
    managed = tmp_path / "managed.toml"
    managed.write_text('python-preference = "only-managed"\n')
    by_option = run_cli("venv", "--clear", "--config-file", str(managed), cwd=project, env=quiet_uv)
    assert by_option.returncode == 2 and "only-managed" in one_line_error(by_option)

    (tmp_path / "work" / "uv.toml").unlink()
    user = tmp_path / "config" / "uv"
    user.mkdir(parents=True)
    (user / "uv.toml").write_text('python-preference = "only-managed"\n')
    by_user = run_cli("venv", "--clear", cwd=project, env=quiet_uv)
    assert by_user.returncode == 2 and "only-managed" in one_line_error(by_user)


def test_a_version_file_that_cannot_be_read_is_an_error_as_in_uv(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Not UTF-8: uv venv refuses it; anyvenv took another Python without saying so."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".python-version").write_bytes(b"\xff\xfe3.12\n")
    refused = run_cli("venv", cwd=work, env=_no_uv_python(env))
    assert refused.returncode == 2 and not (work / ".venv").exists()
    assert f"{work / '.python-version'}: it is not UTF-8 text" in one_line_error(refused)
    uv = subprocess.run(
        [uv_binary(), "venv", "--offline"], cwd=work, env=_no_uv_python(env),
        capture_output=True, text=True,
    )  # fmt: skip
    assert uv.returncode != 0 and "UTF-8" in uv.stderr, uv.stderr
    ignored = run_cli("venv", "--no-config", cwd=work, env=_no_uv_python(env))
    assert ignored.returncode == 0, ignored.stderr


def test_another_implementation_in_uvs_form_is_refused_as_such(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``pypy@3.10`` is uv's request for PyPy, not an unreadable one: refused because anyvenv
    makes CPython envs, naming the file it came from."""
    given = run_cli("venv", "--python", "pypy@3.10", cwd=tmp_path, env=env)
    assert given.returncode == 2
    assert "'pypy@3.10' asks for pypy: anyvenv makes environments for CPython 3" in (
        one_line_error(given)
    )
    version_file = tmp_path / ".python-version"
    version_file.write_text("graalpy@3.11\n")
    from_file = run_cli("venv", cwd=tmp_path, env=env)
    assert from_file.returncode == 2
    said = one_line_error(from_file)
    assert "asks for graalpy" in said and said.endswith(f"or change the version in {version_file}")
    assert sorted(os.listdir(tmp_path)) == [".python-version", "pythons"]
    version_file.unlink()
    for value, why in (("pypy@3.10", "asks for pypy"), ("3.x!", "cannot read")):
        from_variable = run_cli("venv", cwd=tmp_path, env={**env, "UV_PYTHON": value})
        assert from_variable.returncode == 2
        said = one_line_error(from_variable)
        assert why in said and "UV_PYTHON" in said, said
    assert sorted(os.listdir(tmp_path)) == ["pythons"]


def test_both_download_flags_are_refused_before_anything_is_made(tmp_path: Path) -> None:
    proc = run_cli(
        "venv", str(tmp_path / "env"), "--no-python-downloads", "--allow-python-downloads"
    )
    assert proc.returncode == 2
    assert "--no-python-downloads cannot be used with --allow-python-downloads" in proc.stderr
    assert os.listdir(tmp_path) == []
