"""Does an env's Python answer a request (as uv would reuse it)?"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from project_support import pyenv_python

from anyvenv.interpreter.request import parse_request
from anyvenv.project.health import EnvFacts, inspect_env, satisfies
from support import one_line_error

FACTS = EnvFacts(
    base_executable=sys.executable,
    version=(3, 12, 1),
    free_threaded=False,
    site_packages="lib/python3.12/site-packages",
    made_by_anyvenv=True,
    fingerprint={},
)


def test_versions_and_ranges() -> None:
    assert satisfies(parse_request("3.12"), FACTS)
    assert satisfies(parse_request(">=3.10,<3.13"), FACTS)
    assert not satisfies(parse_request("3.11"), FACTS)
    assert not satisfies(parse_request("3.12t"), FACTS)
    assert satisfies(parse_request(None), FACTS)


def test_paths_compare_the_base_interpreter() -> None:
    assert satisfies(parse_request(sys.executable), FACTS)
    assert not satisfies(parse_request("/usr/bin/python3-not-there"), FACTS)


def test_versioned_names_fall_back_to_the_version() -> None:
    assert satisfies(parse_request("python3.12"), FACTS)
    assert not satisfies(parse_request("python3.11"), FACTS)


def test_an_env_before_3_11_is_inspected_as_its_base(tmp_path: Path) -> None:
    """Before 3.11 the env's python reports itself as the executable; the base is read from
    pyvenv.cfg as repair reads it (venv writes no base-executable: home, then its X.Y)."""
    python = pyenv_python("3.10")
    if python is None:
        pytest.skip("needs a pyenv Python 3.10")
    env = tmp_path / "env"
    subprocess.run([python, "-m", "venv", "--without-pip", str(env)], check=True)
    facts, why = inspect_env(str(env), None)
    assert why is None and facts is not None
    assert os.path.realpath(facts.base_executable) == os.path.realpath(python)
    assert facts.version[:2] == (3, 10)


def test_a_dangling_link_is_named_where_its_last_hop_leads(tmp_path: Path) -> None:
    """Links followed hop by hop, each relative one against its own directory: the path that
    is missing is named, not one on the way that is there."""
    from anyvenv.project.health import _dangling_link

    base_bin = tmp_path / "base" / "bin"
    base_bin.mkdir(parents=True)
    (base_bin / "python3").symlink_to("python3.12")  # (relative: base/bin/python3.12)
    env_bin = tmp_path / "env" / "bin"
    env_bin.mkdir(parents=True)
    (env_bin / "python").symlink_to(base_bin / "python3")
    assert _dangling_link(str(env_bin / "python")) == str(base_bin / "python3.12")
    (base_bin / "python3.12").write_text("")
    assert _dangling_link(str(env_bin / "python")) is None
    assert _dangling_link(str(base_bin / "python3.12")) is None  # (no link at all)


def test_a_saved_state_is_trusted_only_where_it_fingerprints_the_envs_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state whose fingerprint still matches answers without the env's python being run;
    one that leaves out the env's python (an earlier release saved it over an env that had
    lost it) is not trusted: the env is inspected again, and found broken."""
    from anyvenv.interpreter import query
    from anyvenv.project import state as state_store
    from anyvenv.project.health import state_fields_of
    from anyvenv.project.state import SyncState

    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    facts, why = inspect_env(str(env), None)
    assert why is None and facts is not None
    saved = SyncState(env=str(env), placement="in-place", reason="", **state_fields_of(facts))

    def not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the env's python was run")

    monkeypatch.setattr(query, "query_interpreter", not_run)
    assert inspect_env(str(env), saved) == (facts, None)
    monkeypatch.undo()
    python = str(env / "bin" / "python")
    saved.fingerprint = {path: st for path, st in saved.fingerprint.items() if path != python}
    os.unlink(python)
    assert state_store.still_matches(saved.fingerprint)  # (what the vital files alone say)
    facts, why = inspect_env(str(env), saved)
    assert facts is None and why is not None


def test_another_users_env_this_user_may_not_list_is_said_as_theirs(
    nobody_scratch: Path,
) -> None:
    """A team's project whose .venv another user made with umask 077: sync and run say whose
    it is and what to do, as check says it (they said "Permission denied (EACCES); check that
    filesystem and what holds that file"); the env is left as it is."""
    from support import ANYVENV, as_nobody

    project = nobody_scratch / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.8"\n'
    )
    env = project / ".venv"
    made = subprocess.run([*ANYVENV, "venv", "-q", str(env)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    os.chmod(env, 0o700)
    before = sorted(path.name for path in env.iterdir())
    home = nobody_scratch / "home"
    home.mkdir(mode=0o777)
    os.chmod(home, 0o777)
    with as_nobody(with_uv=True) as (command, variables):
        for args in (["sync", "--offline"], ["run", "--no-sync", "true"]):
            proc = subprocess.run(
                [*command, "-m", "anyvenv", *args],
                env={**variables, "HOME": str(home)}, cwd=project,
                capture_output=True, text=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            assert proc.returncode == 1, (args, proc.stderr)
            assert one_line_error(proc) == (
                f"anyvenv: error: cannot read {env}: you may not list or enter it (owned by "
                "root, mode 0700); run this as its owner, or ask them to make it readable"
            ), args
    assert sorted(path.name for path in env.iterdir()) == before
