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


def test_a_free_threaded_env_answers_a_request_for_one(tmp_path: Path) -> None:
    env = _project(tmp_path, "3.13.1", threaded=True)
    assert project_env([], str(tmp_path), {}, "3.13t") == (str(env), str(env), None)
    assert project_env([], str(tmp_path), {}, "3.13")[2] is None  # either build answers
    _, _, mismatch = project_env([], str(tmp_path), {}, "3.12")
    assert mismatch == "its Python 3.13.1 does not satisfy the request 3.12"


def test_a_default_build_does_not_answer_a_free_threaded_request(tmp_path: Path) -> None:
    _project(tmp_path, "3.13.1")
    _, _, mismatch = project_env([], str(tmp_path), {}, "3.13t")
    assert mismatch == "its Python 3.13.1 does not satisfy the request 3.13t"


def test_a_pre_release_env_is_judged_by_its_numbers(tmp_path: Path) -> None:
    """pyvenv.cfg of a pre-release (anyvenv writes ``version_info = 3.13.0rc2``) still
    says which Python the env is for."""
    _project(tmp_path, "3.13.0rc2")
    _, _, mismatch = project_env([], str(tmp_path), {}, "3.12")
    assert mismatch == "its Python 3.13.0 does not satisfy the request 3.12"


def test_uv_is_told_of_the_env_only_where_it_cannot_find_it(tmp_path: Path) -> None:
    env = tmp_path / ".venv"
    env.mkdir()
    assert hand_over_to_uv_run(str(env), str(env), {"A": "1"}) == ({"A": "1"}, [])
    elsewhere = tmp_path / "elsewhere"
    pointer = tmp_path / "pointer"
    pointer.write_text("")
    told = hand_over_to_uv_run(str(elsewhere), str(pointer), {"A": "1", "VIRTUAL_ENV": "x"})
    assert told == ({"A": "1", "VIRTUAL_ENV": str(elsewhere)}, ["--active"])
