"""One project on a share, synced in turn from two machines (a host and the VM it mounts the
project into, or two users): here two homes, each with its own per-user directories, the one
not there while the other syncs. The env or shadow env one machine keeps in its own home is
not taken for the other's, and neither is destroyed by the other's sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from project_support import (
    PY_OTHER,
    anyvenv,
    index_args,
    needs_pythons,
    project_environ,
    sync_json,
    write_project,
)

from anyvenv.project import state as state_store

pytestmark = [needs_pythons, pytest.mark.timeout(300)]


def _pruned(environ: dict[str, str]) -> dict[str, str]:
    """``cache prune``'s verdict on each env in this user's directories."""
    done = anyvenv("cache", "prune", "--json", cwd=Path("/"), env=environ)
    assert done.returncode == 0, done.stderr
    return {
        str(entry["path"]): str(entry["verdict"]) for entry in json.loads(done.stdout)["entries"]
    }


def away(home: Path) -> Path:
    """``home`` as on the other machine, where it is not: a file stands at its path, so that
    nothing can be made under it either."""
    moved = home.with_name(home.name + "-away")
    home.rename(moved)
    home.write_text("not a directory on this machine\n")
    return moved


def back(home: Path, moved: Path) -> None:
    home.unlink()
    moved.rename(home)


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_pointer_the_other_machine_wrote_leads_back_to_this_machines_env(
    target: Path, index: Path, tmp_path: Path
) -> None:
    """Nothing runs on the share, so each machine keeps the env in its own home and the
    pointer names the last one synced. Back on A, the pointer names B's env, which is not
    here: A's own env is used again, with what was installed in it by hand, not made anew."""
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    on_a, on_b = project_environ(home_a), project_environ(home_b)
    project = write_project(target / "demo")
    first, _ = sync_json(project, on_a, index)
    env_a = Path(str(first["env"]))
    added = anyvenv("pip", "install", "gamma", *index_args(index), cwd=project, env=on_a)
    assert added.returncode == 0, added.stderr
    inode = env_a.stat().st_ino

    moved = away(home_a)
    on_b_first, _ = sync_json(project, on_b, index)
    env_b = Path(str(on_b_first["env"]))
    assert env_b.is_relative_to(home_b) and on_b_first["action"] == "created"
    assert (project / ".venv").read_text() == f"{env_b}\n"
    back(home_a, moved)
    moved = away(home_b)
    # A's cache prune, before any sync here: the pointer names B's env, which is not here,
    # and the next sync comes back to A's own, with what was installed in it
    assert _pruned(on_a)[str(env_a)] == "kept"
    assert env_a.is_dir()

    code = "import gamma, sys; print(sys.prefix)"
    ran = anyvenv("run", "--", "python", "-c", code, cwd=project, env=on_a)
    assert (ran.returncode, ran.stdout) == (0, f"{env_a}\n"), ran.stderr
    assert f"{project / '.venv'} named {env_b}, which is not here" in ran.stderr
    assert env_a.stat().st_ino == inode, "A's env was made again"
    assert (project / ".venv").read_text() == f"{env_a}\n"
    again, _ = sync_json(project, on_a, index)
    assert (again["action"], again["env"]) == ("reused", str(env_a))
    back(home_b, moved)
    # on B, a reading pip names the pointer to A's env, which is not there (plain uv pip
    # would list the base interpreter's packages); sync goes back to B's own env
    moved = away(home_a)
    listed = anyvenv("pip", "list", cwd=project, env=on_b)
    assert listed.returncode == 2 and listed.stdout == "", listed.stderr
    assert listed.stderr == (
        f"anyvenv: error: {project / '.venv'} points to the environment {env_a}, which does "
        "not exist; run 'anyvenv sync' in its project to make it again\n"
    )
    on_b_again, _ = sync_json(project, on_b, index)
    assert (on_b_again["action"], on_b_again["env"]) == ("reused", str(env_b))
    back(home_a, moved)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_each_machine_installs_through_a_shadow_env_of_its_own(
    target: Path, index: Path, tmp_path: Path
) -> None:
    """chmod fails on the share, so uv installs through a shadow env in the user cache. The
    env's saved state names A's shadow, under a home that is not on B: B makes and uses one
    of its own (it failed, unable to make A's path), and A's is left to A."""
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    on_a, on_b = project_environ(home_a), project_environ(home_b)
    project = write_project(target / "demo")
    first, _ = sync_json(project, on_a, index)
    shadow_a = Path(str(first["shadow"]))
    assert shadow_a.is_relative_to(home_a)

    moved = away(home_a)
    # uv pip on the env named from outside its project, the state still naming A's shadow:
    # through one of B's own
    added = anyvenv(
        "pip", "install", "gamma", *index_args(index), "--python", str(project / ".venv"),
        cwd=tmp_path, env=on_b,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert list(home_b.glob("cache/anyvenv/shadow/*/lib/python3.*/site-packages/gamma"))
    on_b_first, proc = sync_json(project, on_b, index, "--inexact")
    assert on_b_first["action"] == "reused", proc.stderr
    shadow_b = Path(str(on_b_first["shadow"]))
    assert shadow_b.is_relative_to(home_b)
    saved = state_store.load(str(project / ".venv"))
    assert saved is not None and saved.shadow == str(shadow_b)  # (what check and pip read)
    back(home_a, moved)

    assert (shadow_a / "pyvenv.cfg").is_file(), "B removed A's shadow env"
    # A's cache prune, B's home not here: the state names B's shadow, which is not on this
    # machine; A's own is used again by a sync here
    moved_b = away(home_b)
    assert _pruned(on_a)[str(shadow_a)] == "kept"
    back(home_b, moved_b)
    again, proc = sync_json(project, on_a, index, "--inexact")
    assert Path(str(again["shadow"])) == shadow_a, proc.stderr
    assert (shadow_b / "pyvenv.cfg").is_file(), "A removed B's shadow env"
    code = "import gamma, alpha"
    ran = anyvenv("run", "--no-sync", "--", "python", "-c", code, cwd=project, env=on_a)
    assert ran.returncode == 0, ran.stderr
    # B rebuilds the env for another Python, A's home there too (two users of one machine):
    # the shadow the old state named is A's, and stays
    rebuilt, proc = sync_json(project, on_b, index, "--python", str(PY_OTHER))
    assert rebuilt["action"] == "rebuilt", proc.stderr
    assert Path(str(rebuilt["shadow"])).is_relative_to(home_b)
    assert (shadow_a / "pyvenv.cfg").is_file(), "B removed A's shadow env"


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_this_machines_own_env_is_made_again_when_it_does_not_run(
    target: Path, index: Path, tmp_path: Path
) -> None:
    """Back on A, the pointer names B's env, and A's own no longer runs (its python gone):
    it is made again for the project, not reused as it is."""
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    on_a, on_b = project_environ(home_a), project_environ(home_b)
    project = write_project(target / "demo")
    env_a = Path(str(sync_json(project, on_a, index)[0]["env"]))
    moved = away(home_a)
    sync_json(project, on_b, index)
    back(home_a, moved)
    moved = away(home_b)
    for name in ("python", "python3", "python3.12"):
        (env_a / "bin" / name).unlink()
    report, proc = sync_json(project, on_a, index)
    assert (report["env"], report["action"]) == (str(env_a), "created"), proc.stderr
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=on_a)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    back(home_b, moved)
