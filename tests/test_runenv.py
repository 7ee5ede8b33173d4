"""The project env as ``anyvenv run --no-sync`` uses it (anyvenv.project.runenv)."""

from __future__ import annotations

from pathlib import Path

from anyvenv.project.runenv import hand_over_to_uv_run, project_env


def _project(root: Path, version: str, threaded: bool = False) -> Path:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.10"\n'
    )
    env = root / ".venv"
    minor = ".".join(version.split(".")[:2]) + ("t" if threaded else "")
    (env / "lib" / f"python{minor}" / "site-packages").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python").write_text("")
    (env / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion_info = {version}\n")
    return env


def test_the_env_is_found_as_it_is_whatever_its_python(tmp_path: Path) -> None:
    """Which Python the env is for is uv run's to judge (it warns, and uses it): the env and
    the path the project declares it at are all that is looked up."""
    env = _project(tmp_path, "3.13.1", threaded=True)
    assert project_env([], str(tmp_path), {}) == (str(env), str(env))


def test_uv_is_told_of_the_env_only_where_it_cannot_find_it(tmp_path: Path) -> None:
    env = tmp_path / ".venv"
    env.mkdir()
    assert hand_over_to_uv_run(str(env), str(env), {"A": "1"}) == ({"A": "1"}, [])
    home = {"A": "1", "PYTHONHOME": "/anyvenvs/own"}  # (not for the env's python)
    assert hand_over_to_uv_run(str(env), str(env), home) == ({"A": "1"}, [])
    elsewhere = tmp_path / "elsewhere"
    pointer = tmp_path / "pointer"
    pointer.write_text("")
    told = hand_over_to_uv_run(str(elsewhere), str(pointer), {"A": "1", "VIRTUAL_ENV": "x"})
    assert told == ({"A": "1", "VIRTUAL_ENV": str(elsewhere)}, ["--active"])
