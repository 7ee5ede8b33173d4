"""``anyvenv doctor``: advice from the probe, each claim with its errno, and the claim about
``uv venv`` checked against what uv really does on the same mount."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from repair_support import anyvenv, base_python, run, uv_bin

from anyvenv.doctor import ToolOutcome, doctor
from anyvenv.fs.probe import clear_cache
from anyvenv.repair.diagnose import check
from lab import Lab
from support import one_line_error

VERDICT_KINDS = [
    "local",
    "faultfs:readlink-eacces",
    "faultfs:symlink-eopnotsupp",
    "faultfs:cifs-like",
    "faultfs:mode-0644",
    "sshfs",
    "sshfs-nosymlink",
    "fat",
    "smb",
]


def _advice(target: Path) -> dict[str, object]:
    proc = anyvenv("doctor", target, "--json", "--python", base_python())
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def _tools(data: dict[str, object]) -> dict[str, dict[str, object]]:
    tools = data["tools"]
    assert isinstance(tools, list)
    return {str(tool["tool"]).split(" (")[0]: tool for tool in tools}


def _options(data: dict[str, object]) -> list[dict[str, object]]:
    options = data["options"]
    assert isinstance(options, list)
    return options


@pytest.mark.parametrize("lab_kind", VERDICT_KINDS)
def test_uv_venv_verdict_matches_what_uv_does(lab_kind: str, target: Path) -> None:
    clear_cache()
    os.utime(target, ns=(10**18, 10**18))  # (whole, even seconds: sshfs's and FAT's times)
    verdict = doctor(target, str(base_python()))
    assert os.stat(target).st_mtime_ns == 10**18  # advice leaves no trace, not even a time
    uv_claim = next(tool for tool in verdict.tools if tool.tool == "uv venv")
    env = target / ".venv"
    made = run([uv_bin(), "venv", "--quiet", "--python", base_python(), env])
    if uv_claim.outcome is ToolOutcome.FAILS:
        assert made.returncode != 0
        return
    assert made.returncode == 0, made.stderr
    usable = check(env).usable
    assert usable is (uv_claim.outcome is ToolOutcome.WORKS), uv_claim.reason


def test_local_disk_needs_nothing(tmp_path: Path) -> None:
    data = _advice(tmp_path)
    assert all(tool["outcome"] == "works" for tool in _tools(data).values())
    assert _options(data) == []
    anyvenv_plan = data["anyvenv"]
    assert isinstance(anyvenv_plan, dict) and anyvenv_plan["strategy"] == "symlink"
    text = anyvenv("doctor", tmp_path)
    assert text.returncode == 0 and "everything works here" in text.stdout


def test_the_plan_is_for_the_python_venv_would_use_there(tmp_path: Path) -> None:
    """Without --python, doctor plans for the Python ``anyvenv venv`` would take in DIR (its
    .python-version here), not for whichever python3 comes first."""
    from project_support import pyenv_python

    wanted, first = pyenv_python("3.12"), pyenv_python("3.11")
    if wanted is None or first is None:
        pytest.skip("needs pyenv's 3.11 and 3.12")
    (tmp_path / ".python-version").write_text("3.12\n")
    path = f"{Path(first).parent}:{Path(wanted).parent}:/usr/bin:/bin"  # python3: 3.11
    proc = anyvenv("doctor", tmp_path, "--json", path=path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)["anyvenv"]
    assert Path(plan["base"]).name.startswith("python3.12"), plan
    (tmp_path / ".python-version").write_text("pypy@3.10\n")  # venv refuses it: doctor says so
    told = json.loads(anyvenv("doctor", tmp_path, "--json", path=path).stdout)
    refused = told["anyvenv"]
    assert refused["base"] is None
    said = f"'pypy@3.10' asks for pypy: anyvenv makes environments for CPython 3, asked for by {tmp_path / '.python-version'}"
    assert said in refused["reason"], refused
    assert said in refused["stopped"], refused
    # not "everything works here": what stops venv is the first thing to change
    assert told["options"][0]["advice"].startswith("'anyvenv venv' here would stop: ")
    text = anyvenv("doctor", tmp_path, path=path).stdout
    assert "everything works here" not in text and "'anyvenv venv' here would stop" in text


@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces"])
def test_unreadable_links_advice(target: Path) -> None:
    data = _advice(target)
    tools = _tools(data)
    assert tools["uv venv"]["outcome"] == "breaks"
    assert tools["uv venv"]["evidence"] == {
        "symlink_relative": "EACCES",
        "symlink_dotdot": "EACCES",
        "symlink_absolute": "EACCES",
    }
    assert tools["virtualenv"]["outcome"] == "breaks"
    plan = data["anyvenv"]
    assert isinstance(plan, dict) and plan["strategy"] == "copy"
    advice = " ".join(str(option["advice"]) for option in _options(data))
    assert "native" in advice and "UV_PROJECT_ENVIRONMENT" in advice


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_sshfs_absolute_links_advice(target: Path) -> None:
    data = _advice(target)
    options = _options(data)
    contain = [o for o in options if "no_contain_symlinks" in str(o["advice"])]
    assert contain and contain[0]["evidence"] == {
        "symlink_dotdot": "EPERM",
        "symlink_absolute": "EPERM",
    }


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_no_symlinks_advice(target: Path) -> None:
    data = _advice(target)
    tools = _tools(data)
    assert tools["uv venv"]["outcome"] == "fails"
    assert tools["python -m venv"]["outcome"] == "fails"  # lib64 even with --copies
    assert tools["uv venv"]["evidence"] == {"symlink_create": "EOPNOTSUPP"}
    mfsymlinks = [o for o in _options(data) if "mfsymlinks" in str(o["advice"])]
    assert mfsymlinks and mfsymlinks[0]["evidence"] == {"symlink_create": "EOPNOTSUPP"}


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_nothing_executable_advice(target: Path) -> None:
    data = _advice(target)
    plan = data["anyvenv"]
    assert isinstance(plan, dict) and plan["strategy"] == "none"
    tools = _tools(data)
    # a link to the base elsewhere still runs; whatever lands here as a file cannot
    assert tools["uv venv"]["outcome"] == "works"
    assert "console scripts" in str(tools["uv venv"]["reason"])
    assert tools["uv sync"]["outcome"] == "breaks"
    assert tools["uv python install"]["outcome"] == "breaks"
    assert tools["uv sync"]["evidence"] == {"exec": "EACCES"}
    modes = [o for o in _options(data) if "file_mode" in str(o["advice"])]
    assert modes and modes[0]["evidence"] == {"exec": "EACCES"}
    # what anyvenv sync does here: the env elsewhere (sync works where uv sync breaks)
    assert data["anyvenv_sync"] == {
        "placement": "elsewhere",
        "reason": f"no file can be executed on fuse.faultfs at {target.parent} (exec: EACCES)",
        "stopped": None,  # the per-user directory is on local disk
    }
    said = anyvenv("doctor", target, "--python", base_python())
    assert "anyvenv sync: elsewhere (no file can be executed" in said.stdout


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_the_env_is_not_sent_under_a_home_on_the_same_share(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: Lab
) -> None:
    """``~/.venvs`` is the way out where the home is elsewhere; not where it is on the same
    share (a university's SMB home), where it would fail as the project's .venv does, nor on
    another share where it fails."""

    def elsewhere_advice() -> str:
        clear_cache()
        advice = [o.advice for o in doctor(target, str(base_python())).options]
        found = [text for text in advice if "UV_PROJECT_ENVIRONMENT=" in text]
        assert len(found) == 1, advice
        return found[0]

    monkeypatch.setenv("HOME", str(tmp_path))
    assert "UV_PROJECT_ENVIRONMENT=~/.venvs/NAME uv sync" in elsewhere_advice()
    share_home = target / "home"
    share_home.mkdir()
    monkeypatch.setenv("HOME", str(share_home))
    said = elsewhere_advice()
    assert "~/.venvs" not in said, said
    assert "(not under your home: it is on this filesystem too)" in said
    assert "UV_PROJECT_ENVIRONMENT=/PATH/ON/A/LOCAL/DISK/NAME uv sync" in said
    # a home on another share where uv sync fails too: not there either
    monkeypatch.setenv("HOME", str(lab.target("faultfs:chmod-enosys", "home")))
    said = elsewhere_advice()
    assert "(not under your home: uv sync fails there too: uv sets the mode" in said, said
    assert "UV_PROJECT_ENVIRONMENT=/PATH/ON/A/LOCAL/DISK/NAME uv sync" in said


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_a_uv_cache_uv_cannot_keep_is_pointed_out(
    target: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory is on local disk, but uv's cache is on a share where its links fail (a
    home on SMB): doctor does not say that everything works, and names the cache's fix."""
    monkeypatch.setenv("UV_CACHE_DIR", str(target / "uv-cache"))
    text = anyvenv("doctor", tmp_path)
    assert text.returncode == 0, text.stderr
    assert "everything works here" not in text.stdout
    assert f"uv's cache {target / 'uv-cache'} is on " in text.stdout
    assert "set UV_CACHE_DIR to a directory on a local disk" in text.stdout
    (option,) = _options(_advice(tmp_path))
    assert option["evidence"] == {"uv_cache_dir": str(target / "uv-cache")}
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    assert _options(_advice(tmp_path)) == []
    # where uv cannot say where its cache is (a uv.toml it refuses), doctor still advises
    monkeypatch.delenv("UV_CACHE_DIR")
    (tmp_path / "uv.toml").write_text("cache-dir = [\n")
    proc = anyvenv("doctor", tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_chmod_failure_stops_uv_sync(target: Path) -> None:
    data = _advice(target)
    tools = _tools(data)
    assert tools["uv sync"]["outcome"] == "fails"
    assert tools["uv sync"]["evidence"] == {"chmod": "ENOSYS"}
    assert data["anyvenv_sync"]["placement"] == "shadow"  # type: ignore[index]
    assert tools["uv add"]["outcome"] == "fails"
    assert "left torn" in str(tools["uv add"]["reason"])
    assert tools["uv add"]["evidence"] == {"chmod": "ENOSYS"}
    assert tools["uv lock"]["outcome"] == "fails"
    assert tools["uv lock"]["evidence"] == {"chmod": "ENOSYS"}


def test_doctor_on_a_bad_path(tmp_path: Path) -> None:
    missing = anyvenv("doctor", tmp_path / "nope")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    file = tmp_path / "file"
    file.write_text("x")
    proc = anyvenv("doctor", file)
    assert proc.returncode == 2 and "is not a directory" in proc.stderr
    for python in ("9.9", str(tmp_path / "no-python")):  # asked for and not there: an error
        asked = anyvenv("doctor", tmp_path, "--python", python, "--json")
        assert asked.returncode == 2 and asked.stdout == "", asked.stdout
        assert asked.stderr.startswith("anyvenv: error:") and len(asked.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "lab_kind", ["local", "faultfs:chmod-enosys", "faultfs:chmod-ignored", "faultfs:cifs-like"]
)
@pytest.mark.parametrize("tool", ["python -m venv", "virtualenv"])
def test_venv_and_virtualenv_verdicts_match_what_they_do(
    lab_kind: str, tool: str, target: Path
) -> None:
    """Run each for real: "fails" exits non-zero; "breaks" leaves an env whose python or pip
    does not run; "works" leaves both running."""
    import os
    import sys

    clear_cache()
    claim = next(item for item in doctor(target, str(base_python())).tools if item.tool == tool)
    env = target / "env"
    if tool == "python -m venv":
        command = [str(base_python()), "-m", "venv", str(env)]
    else:
        virtualenv = Path(sys.executable).with_name("virtualenv")
        command = [str(virtualenv), "--quiet", "-p", str(base_python()), str(env)]
    made = run(command)
    if claim.outcome is ToolOutcome.FAILS:
        assert made.returncode != 0, claim.reason
        return
    assert made.returncode == 0, (claim.reason, made.stderr)
    pip = env / "bin" / "pip"
    runs = check(env).usable and os.access(pip, os.X_OK) and run([pip, "--version"]).returncode == 0
    assert runs is (claim.outcome is ToolOutcome.WORKS), claim.reason


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_the_copies_hint_for_virtualenv_is_what_copies_do(target: Path) -> None:
    """Where chmod fails, virtualenv --copies fails too (seeding pip sets modes): the verdict
    says so, instead of sending the user to it."""
    import sys

    clear_cache()
    claim = next(
        item for item in doctor(target, str(base_python())).tools if item.tool == "virtualenv"
    )
    assert "'virtualenv --copies' fails too when it seeds pip: chmod ENOSYS" in claim.reason
    virtualenv = Path(sys.executable).with_name("virtualenv")
    made = run(
        [str(virtualenv), "--quiet", "--copies", "-p", str(base_python()), str(target / "e")]
    )
    assert made.returncode != 0


def test_a_broken_env_in_the_directory_is_pointed_out(tmp_path: Path) -> None:
    """doctor in a project whose .venv does not run: not "everything works", but what check
    found first and the command that mends it."""
    env = tmp_path / ".venv"
    assert anyvenv("venv", env, "--python", base_python()).returncode == 0
    assert "everything works here" in anyvenv("doctor", tmp_path).stdout
    (env / "bin" / "python").unlink()
    advice = _advice(tmp_path)
    said = [option["advice"] for option in _options(advice)]
    assert any(f"anyvenv repair {env}" in text for text in said), said
    text = anyvenv("doctor", tmp_path)
    assert "everything works here" not in text.stdout and "is not usable" in text.stdout


@pytest.mark.parametrize("shape", ["conda", "file"])
def test_a_venv_path_sync_refuses_is_pointed_out_with_syncs_own_words(
    tmp_path: Path, shape: str
) -> None:
    """A .venv that is no env sync may replace (a conda env's directory; a file holding a name,
    no pointer): doctor says the line sync stops with, not "everything works"."""
    from project_support import anyvenv as run_anyvenv
    from project_support import project_environ, write_project

    project = write_project(tmp_path / "demo", dependencies=(), python_version=None)
    env = project / ".venv"
    if shape == "conda":
        (env / "conda-meta").mkdir(parents=True)
        (env / "conda-meta" / "history").write_text("")
        (env / "bin").mkdir()
        (env / "bin" / "python").symlink_to(base_python())
    else:
        env.write_text("myenv\n")
    environ = project_environ(tmp_path / "home")
    synced = run_anyvenv("sync", cwd=project, env=environ)
    assert synced.returncode == 2, synced.stderr
    stopped = one_line_error(synced).removeprefix("anyvenv: error: ")
    text = run_anyvenv("doctor", cwd=project, env=environ)
    assert "everything works here" not in text.stdout, text.stdout
    said = [str(option["advice"]) for option in _options(_advice(project))]
    kind = " (a conda environment: conda-meta/)" if shape == "conda" else ""
    assert f"'anyvenv sync', 'run' and 'venv' here would stop{kind}: {stopped}" in said, said


def test_an_empty_pointer_is_said_to_be_written_again_by_sync(tmp_path: Path) -> None:
    """An empty .venv file (a pointer a crash emptied) is no refusal: sync writes it again
    (test_sync_mounts), and doctor says so, not that sync would stop."""
    from project_support import write_project

    project = write_project(tmp_path / "demo", dependencies=(), python_version=None)
    (project / ".venv").write_bytes(b"")
    said = [str(option["advice"]) for option in _options(_advice(project))]
    assert f"{project / '.venv'} is an empty pointer file" in " ".join(said), said
    assert not any("would stop" in line for line in said), said


def test_the_plan_follows_uvs_python_preference_as_venv_does(tmp_path: Path) -> None:
    """doctor names the base ``anyvenv venv`` takes in DIR under uv's python preference
    (its variables, its settings files), not the default preference's."""
    from support import path_and_managed_pythons, run_cli

    env, pythons = path_and_managed_pythons(tmp_path, "python3")
    work = tmp_path / "work"
    work.mkdir()

    def doctor_base(**extra: str) -> str:
        proc = run_cli("doctor", str(work), "--json", env={**env, **extra})
        assert proc.returncode == 0, proc.stderr
        return os.path.realpath(json.loads(proc.stdout)["anyvenv"]["base"])

    def venv_base(**extra: str) -> str:
        made = work / ".venv"  # (run there: venv reads uv's settings where it runs)
        proc = run_cli("venv", "-q", "--clear", str(made), cwd=work, env={**env, **extra})
        assert proc.returncode == 0, proc.stderr
        return (made / "pyvenv.cfg").read_text()

    bogus = run_cli("doctor", str(work), "--json", env={**env, "UV_PYTHON_PREFERENCE": "bogus"})
    assert "python-preference 'bogus'" in json.loads(bogus.stdout)["anyvenv"]["stopped"]
    assert "python3.12" in doctor_base()  # managed first, as uv's default preference
    assert "version_info = 3.12" in venv_base()
    assert doctor_base(UV_NO_MANAGED_PYTHON="1") == str(pythons["3.11"].resolve())
    assert "version_info = 3.11" in venv_base(UV_NO_MANAGED_PYTHON="1")
    (work / "uv.toml").write_text('python-preference = "only-system"\n')
    assert doctor_base() == str(pythons["3.11"].resolve())
    assert "version_info = 3.11" in venv_base()


def test_without_a_base_the_plan_says_how_links_would_go() -> None:
    """No base to plan for (venv would refuse the request): the strategy is told from the
    probe alone, with what it would take on this filesystem."""
    from anyvenv.doctor import _strategy_without_base
    from anyvenv.fs.probe import CHECKS, ProbeResult
    from anyvenv.record import replace

    works = ProbeResult(
        path="/x", mount_point="/", fstype="ext4", mount_options=(), **dict.fromkeys(CHECKS, "ok")
    )
    assert _strategy_without_base(works, "no base").strategy == "symlink"
    cifs = replace(works, symlink_create="EOPNOTSUPP", reflink="EOPNOTSUPP")
    plan = _strategy_without_base(cifs, "no base")
    assert plan.strategy == "copy" and plan.reason == (
        "symlinks fail (EOPNOTSUPP); hard links when the base is on this filesystem, "
        "else a copy (no base)"
    )
    fat = replace(cifs, hardlink="EPERM")
    assert _strategy_without_base(fat, "x").reason == "symlinks fail (EOPNOTSUPP); a copy (x)"
    ignored = replace(works, chmod="no", exec_by_default="no")  # as the planner says it
    assert "chmod here is ignored, so the env gets a chmod shim" in (
        _strategy_without_base(ignored, "x").reason
    )


@pytest.mark.parametrize("lab_kind", ["smb"])
def test_where_uv_can_write_no_file_its_project_commands_fail_and_the_advice_says_anyvenv(
    target: Path,
) -> None:
    """On SMB through libsmbclient uv renames each file it writes while holding it open: uv
    sync, add and lock fail (measured in test_sync_mounts and test_edit), and the advice to
    keep the env on local disk names anyvenv sync (plain uv sync would lose uv.lock there)."""
    data = _advice(target)
    tools = _tools(data)
    for tool in ("uv sync", "uv add", "uv lock"):
        assert tools[tool]["outcome"] == "fails", tools[tool]
        assert tools[tool]["evidence"] == {"rename_open": "EBUSY"}, tools[tool]
    assert "holding it open" in str(tools["uv sync"]["reason"])
    elsewhere = [o for o in _options(data) if "UV_PROJECT_ENVIRONMENT=" in str(o["advice"])]
    assert len(elsewhere) == 1, _options(data)
    advice = str(elsewhere[0]["advice"])
    assert " anyvenv sync (" in advice and " uv sync (" not in advice, advice
    assert "uv itself cannot write uv.lock here, as a file held open cannot be renamed" in advice
    assert data["anyvenv_sync"]["placement"] == "shadow", data["anyvenv_sync"]


def test_a_directory_this_user_cannot_write_still_gets_its_env_checked(
    nobody_scratch: Path,
) -> None:
    """doctor in a project another user owns (0755): the filesystem cannot be probed there,
    said with the directory's absolute path (it said ". is not writable by you"), exit 2;
    what it says of the ``.venv`` there needs no writing and is said all the same."""
    import subprocess

    from support import ANYVENV, as_nobody

    project = nobody_scratch / "project"
    project.mkdir()
    made = subprocess.run(
        [*ANYVENV, "venv", "-q", "--python", "/usr/bin/python3", str(project / ".venv")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    before = sorted(os.listdir(project))
    with as_nobody() as (command, variables):
        proc = subprocess.run(
            [*command, "-m", "anyvenv", "doctor"], cwd=project, env=variables,
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: {project} cannot be probed: you may not write to it (owned by root, "
        "mode 0755); doctor tries a filesystem by writing a few files: run it in a directory "
        "there you may write to"
    )
    assert proc.stdout == (
        "what can be said here without writing:\n"
        f"  - the environment {project / '.venv'} is usable (as 'anyvenv check' finds it)\n"
    )
    assert sorted(os.listdir(project)) == before
