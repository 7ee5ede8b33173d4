"""``anyvenv sync`` on every filesystem and fault mode of the lab, beside plain ``uv sync``
on the same mount: where uv fails or leaves a broken env, anyvenv's env works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from project_support import (
    PY_MAIN,
    PY_OTHER,
    alpha_says_hi,
    anyvenv,
    index_args,
    needs_pythons,
    project_environ,
    replace_file,
    run,
    sync_json,
    syncs_at_once,
    uv_binary,
    write_project,
)

from anyvenv.envbuild.modeshim import SHIM_PTH
from anyvenv.fs import ENV_LOCK_SUFFIX
from lab import ALL_KINDS, Lab, LabMount, OpTrace
from support import ANYVENV, one_line_error, traced_calls
from wheels import build_wheel

pytestmark = [needs_pythons, pytest.mark.timeout(300)]

# Measured: plain `uv sync` (uv making its own venv) on each kind.
PLAIN_UV_BROKEN = {
    "faultfs:symlink-eopnotsupp": "fails: the interpreter symlink cannot be made",
    "faultfs:symlink-eperm": "fails: the interpreter symlink cannot be made",
    "faultfs:symlink-enosys": "fails: the interpreter symlink cannot be made",
    "faultfs:symlink-eio": "fails: the interpreter symlink cannot be made",
    "faultfs:cifs-like": "fails: the interpreter symlink cannot be made",
    "exfat": "fails: the interpreter symlink cannot be made",
    "fat": "fails: the interpreter symlink cannot be made",
    "sshfs-nosymlink": "fails: the interpreter symlink cannot be made",
    "smb": "fails: the interpreter symlink cannot be made",
    "rclone": "fails: the interpreter symlink cannot be made (EIO)",
    "faultfs:readlink-eacces": "its python link cannot be read (EACCES)",
    "sshfs-noreadlink": "its python link cannot be read (EACCES)",
    "sshfs": "its absolute python link is refused (EPERM)",
    "faultfs:chmod-enosys": "fails: copying each package file fails (chmod ENOSYS)",
    "faultfs:chmod-ignored": "console scripts land without their exec bit",
    "faultfs:mode-0644": "nothing on the mount can be executed",
}


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


def expected_placement(mount: LabMount) -> str:
    if mount.expect["exec"] != "ok":
        return "elsewhere"
    if mount.expect["rename_open"] != "ok":  # uv's every write fails (SMB, libsmbclient)
        return "shadow"
    if mount.expect["chmod"] == "ok":
        return "in-place"
    # chmod ignored where every file is executable anyway (exFAT, CIFS-like): nothing is lost
    ignored = mount.expect["chmod"] == "no" and mount.expect["exec_by_default"] == "ok"
    return "in-place" if ignored else "shadow"


def _works(command: list[str], env: dict[str, str], cwd: Path) -> tuple[bool, str]:
    try:
        proc = run(command, cwd, env, timeout=60)
    except OSError as exc:
        return False, repr(exc)
    return proc.returncode == 0, proc.stdout + proc.stderr


def plain_uv_outcome(project: Path, env: dict[str, str], index: Path) -> str:
    """'ok' when plain uv sync leaves an env whose python imports the packages and whose
    console script runs; otherwise what broke."""
    proc = run([uv_binary(), "sync", "--python", str(PY_MAIN), *index_args(index)], project, env)
    if proc.returncode != 0:
        return f"uv sync failed: {proc.stderr.strip().splitlines()[-1]}"
    ok, out = _works([str(project / ".venv/bin/python"), "-c", "import beta"], env, project)
    if not ok:
        return f"python broken: {out}"
    ok, out = _works([str(project / ".venv/bin/alpha-hello")], env, project)
    return "ok" if ok else f"console script broken: {out}"


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_sync_works_where_plain_uv_does_not(
    lab_kind: str, lab_mount: LabMount, target: Path, index: Path, home: Path
) -> None:
    env = project_environ(home)
    project = write_project(target / "demo")
    plain = plain_uv_outcome(project, env, index)
    assert (plain != "ok") == (lab_kind in PLAIN_UV_BROKEN), plain

    # anyvenv in the same project: whatever plain uv left is reused (if it works here) or
    # replaced (a broken env, or one that uv abandoned half-made)
    first = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    assert "Creating virtual environment" not in first.stderr  # uv reused anyvenv's env
    placement = expected_placement(lab_mount)
    # uv's env is kept where it works and uv can install into it, or, through a shadow env,
    # where uv made it but could install nothing (chmod fails): no script lacks exec bits
    kept = (plain == "ok" and placement == "in-place") or lab_kind == "faultfs:chmod-enosys"
    assert f"anyvenv: {'Using' if kept else 'Rebuilt'} " in first.stderr, first.stderr
    checked = anyvenv("check", project / ".venv", cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report, proc = sync_json(project, env, index)  # the second sync: a no-op, uv not run
    assert report["action"] == "reused"
    assert report["uv_ran"] is False and proc.stderr == ""
    assert report["placement"] == placement, report["reason"]
    # locks leave no file behind (one there sends every no-op sync to take the lock)
    assert not [name for name in os.listdir(project) if ENV_LOCK_SUFFIX in name]
    env_dir = Path(str(report["env"]))
    hello = anyvenv("run", "alpha-hello", cwd=project, env=env)
    assert (hello.returncode, hello.stdout) == (0, "alpha says hi\n"), hello.stderr
    code = "import sys, beta; print(sys.prefix); print(beta.DATA.strip())"
    inside = anyvenv("run", "--no-sync", "--", "python", "-c", code, cwd=project, env=env)
    assert inside.stdout.splitlines() == [str(env_dir), '{"beta": 1}'], inside.stderr
    if placement == "elsewhere":
        assert (project / ".venv").is_file()  # the pointer
        assert str(env_dir).startswith(env["XDG_DATA_HOME"])
        assert "is a pointer file to it" in first.stderr
        assert "no file can be executed" in first.stderr
    else:
        assert env_dir == project / ".venv"
    if placement == "shadow":
        assert "copied 3 and removed 0 distributions from the shadow env" in first.stderr
        assert " into its shadow env)" in first.stderr  # the link mode is the shadow's
        for _ in range(2):  # the second a no-op, which says so too
            quiet = anyvenv("sync", *index_args(index), cwd=project, env=env)
        assert " into its shadow env); up to date: " in quiet.stderr, quiet.stderr
        forced, _ = sync_json(project, env, index, "--verbose")  # uv runs: a no-op
        assert forced["uv_ran"] is True
        assert forced["mirror"] == {
            "added": [], "updated": [], "removed": [], "files_written": 0, "files_removed": 0,
            "half_made": [],
        }  # fmt: skip
        assert os.access(env_dir / "bin" / "beta-tool", os.X_OK)
        tool = run([str(env_dir / "bin" / "beta-tool")], project, env)
        assert tool.stdout == '{"beta": 1}\n', tool.stderr

    write_project(project, dependencies=["gamma"])
    changed, _ = sync_json(project, env, index)
    assert 'name = "gamma"' in (project / "uv.lock").read_text()
    notes = " ".join(map(str, changed["notes"]))  # type: ignore[call-overload]
    # (where chmod fails, or a file held open cannot be renamed, uv cannot replace it)
    no_rewrite = (
        lab_mount.expect["chmod"] not in ("ok", "no") or lab_mount.expect["rename_open"] != "ok"
    )
    assert ("uv cannot replace uv.lock" in notes) == no_rewrite, notes
    gone = anyvenv("run", "--no-sync", "--", "python", "-c", "import alpha", cwd=project, env=env)
    assert gone.returncode != 0 and "No module named 'alpha'" in gone.stderr
    assert not (env_dir / "bin" / "alpha-hello").exists()


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys", "fat", "faultfs:chmod-ignored"])
def test_virtualenv_copies_then_uv_sync_fails_here(
    lab_kind: str, target: Path, index: Path, home: Path
) -> None:
    """A good copied env is not enough: uv's own install breaks on these mounts."""
    env = project_environ(home)
    project = write_project(target / "vcopies")
    venv = run(
        [
            sys.executable,
            "-m",
            "virtualenv",
            "--copies",
            "-p",
            str(PY_MAIN),
            str(project / ".venv"),
        ],
        project,
        env,
    )
    synced = run([uv_binary(), "sync", *index_args(index)], project, env)
    script = project / ".venv" / "bin" / "alpha-hello"
    if lab_kind == "faultfs:chmod-ignored":
        assert venv.returncode == 0 and synced.returncode == 0, synced.stderr
        with pytest.raises(PermissionError):
            subprocess.run([str(script)], capture_output=True, check=False)
    else:
        assert synced.returncode != 0
        assert "os error 38" in synced.stderr or "Function not implemented" in synced.stderr
        assert not script.exists()


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_two_syncs_at_once_on_a_share(target: Path, index: Path, home: Path) -> None:
    env = project_environ(home)
    project = write_project(target / "demo")
    results = syncs_at_once(project, env, index)
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    check = anyvenv("pip", "check", cwd=project, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    hello = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert hello.stdout == "alpha says hi\n"
    assert not (project / ".venv.anyvenv.lock").exists()


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_pip_goes_through_the_shadow_env(target: Path, index: Path, home: Path) -> None:
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["gamma"])
    report, _ = sync_json(project, env, index)
    assert report["placement"] == "shadow"
    env_dir = Path(str(report["env"]))
    installed = anyvenv("pip", "install", *index_args(index), "alpha", cwd=project, env=env)
    assert installed.returncode == 0, installed.stderr
    said = f"anyvenv: uv installs into {env_dir} through its shadow env {report['shadow']}: "
    assert said + "chmod is ignored on " in installed.stderr  # (uv's output names the shadow)
    script = env_dir / "bin" / "alpha-hello"
    assert run([str(script)], project, env).stdout == "alpha says hi\n"  # exec bit from creation
    site = next(env_dir.glob("lib/python3*/site-packages"))
    for module in ("alpha", "gamma"):  # (changed by hand in the env)
        (site / module / "__init__.py").write_text("raise SystemExit('changed')\n")
    again = anyvenv(
        "pip", "install", "--reinstall", *index_args(index), "alpha", cwd=project, env=env
    )
    assert again.returncode == 0, again.stderr
    assert run([str(script)], project, env).stdout == "alpha says hi\n"  # (copied again)
    assert "changed" in (site / "gamma" / "__init__.py").read_text()  # (not reinstalled by uv)
    listed = anyvenv("pip", "list", cwd=project, env=env)
    assert "alpha" in listed.stdout and "gamma" in listed.stdout
    removed = anyvenv("pip", "uninstall", "-q", "alpha", cwd=project, env=env)
    assert (removed.returncode, removed.stderr) == (0, "")
    assert not script.exists()


@pytest.mark.parametrize("lab_kind", ["sshfs", "fat"])
def test_a_python_switched_within_the_second_is_not_taken_for_the_old_one(
    target: Path, index: Path, home: Path
) -> None:
    """sshfs keeps whole seconds, FAT two: a copied python replacing another at the same path
    at once would have its modification time, by which uv knows an interpreter (and uv
    took the new env for the old Python). The new one is given a time clear of it."""
    env = project_environ(home)
    project = write_project(target / "demo", python_version=None)
    first, _ = sync_json(project, env, index, "--python", str(PY_OTHER))
    python = Path(str(first["env"])) / "bin" / "python"
    old = os.stat(python).st_mtime_ns
    second, _ = sync_json(project, env, index, "--python", str(PY_MAIN))
    assert second["action"] == "rebuilt" and second["python"].startswith("3.12"), second
    assert abs(os.stat(python).st_mtime_ns - old) >= 2_000_000_000
    version = run([python, "-c", "import sys, beta; print(sys.version_info[:2])"], project, env)
    assert version.stdout == "(3, 12)\n", version.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_through_a_shadow_a_reinstall_puts_back_what_the_env_lost(
    target: Path, index: Path, home: Path
) -> None:
    """uv reinstalls into the shadow, where nothing was lost: what it reinstalled is copied
    into the env again (its RECORD unchanged), as `uv sync --reinstall` would restore it."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    assert report["placement"] == "shadow"
    script = Path(str(report["env"])) / "bin" / "alpha-hello"
    for flags in (["--reinstall-package", "alpha"], ["--reinstall"]):
        script.unlink()
        again = anyvenv("sync", *index_args(index), *flags, cwd=project, env=env)
        assert again.returncode == 0, again.stderr
        assert run([str(script)], project, env).stdout == "alpha says hi\n", flags
    # asked in uv's settings instead: at every sync (none is a no-op, as none is for uv)
    pyproject = project / "pyproject.toml"
    settings = '\n[tool.uv]\nreinstall-package = ["alpha"]\n'
    replace_file(pyproject, pyproject.read_bytes() + settings.encode())
    for _ in range(2):
        script.unlink()
        again = anyvenv("sync", *index_args(index), cwd=project, env=env)
        assert again.returncode == 0, again.stderr
        assert run([str(script)], project, env).stdout == "alpha says hi\n"


@pytest.mark.parametrize("lab_kind", ["local", "fat", "sshfs"])
def test_a_package_file_the_env_lost_is_named_by_check_and_put_back_by_the_sync_it_names(
    target: Path, index: Path, home: Path
) -> None:
    """A file of an installed package gone or cut short (a full disk, a killed copy, a mount
    that lost writes): uv takes the package for installed, a plain sync leaves it so. check
    names it and the sync that puts it back, and that sync does, in place or through a
    shadow env alike."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    site = next(Path(str(report["env"])).glob("lib/python3.*/site-packages"))
    data = site / "beta" / "data.json"
    data.unlink()  # (a new file, not one cut in place: uv hard-links from its cache)
    data.write_bytes(b"{")
    checked = anyvenv("check", "--json", cwd=project, env=env)
    assert checked.returncode == 0, checked.stderr
    found = [
        item for item in json.loads(checked.stdout)["findings"]
        if item["code"] == "package-files-damaged"
    ]  # fmt: skip
    assert [item["evidence"]["package"] for item in found] == ["beta"]
    assert ": beta/data.json (1 byte, recorded 12)" in found[0]["message"]
    assert "'anyvenv sync --reinstall-package beta' in a project" in found[0]["message"]
    plain = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert plain.returncode == 0 and data.read_bytes() == b"{", plain.stderr  # (uv: installed)
    again = anyvenv("sync", *index_args(index), "--reinstall-package", "beta", cwd=project, env=env)
    assert again.returncode == 0, again.stderr
    assert data.read_bytes() == b'{"beta": 1}\n'
    checked = anyvenv("check", "--json", cwd=project, env=env)
    assert json.loads(checked.stdout)["findings"] == [], checked.stdout


@pytest.mark.parametrize("lab_kind", ["sshfs", "sshfs-noreadlink"])
def test_a_forced_symlink_link_mode_is_refused_where_its_links_cannot_be_read_back(
    lab_kind: str, target: Path, index: Path, home: Path
) -> None:
    """uv's symlink link mode makes absolute links into its cache, which this sshfs will not
    read (EPERM: an absolute target; EACCES: a server that refuses readlink): uv installs
    packages that cannot be imported (gamma: an empty namespace package), or fails on a
    wheel with scripts. Asked for by UV_LINK_MODE, --link-mode or [tool.uv], it is refused in
    one line, before uv runs: an env made for the sync goes, one there is left as it was."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["gamma"])
    errno_name = {"sshfs": "EPERM", "sshfs-noreadlink": "EACCES"}[lab_kind]

    def refusal(where: str) -> str:
        return (
            f"anyvenv: error: link mode symlink was asked for ({where}), but uv's links into "
            f"its cache cannot be read back on fuse.sshfs at {project / '.venv'} (absolute "
            f"links: {errno_name}); use link mode copy, or none: anyvenv chooses by itself"
        )

    forced = {**env, "UV_LINK_MODE": "symlink"}
    refused = anyvenv("sync", *index_args(index), cwd=project, env=forced)
    assert refused.returncode == 2 and one_line_error(refused) == refusal("UV_LINK_MODE")
    assert not os.path.lexists(project / ".venv")  # (the env made for it: gone)
    synced = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert synced.returncode == 0, synced.stderr
    write_project(project, dependencies=["gamma", "beta"])  # (work for uv)
    refused = anyvenv("sync", *index_args(index), "--link-mode", "symlink", cwd=project, env=env)
    assert refused.returncode == 2 and one_line_error(refused) == refusal("--link-mode")
    with open(project / "pyproject.toml", "a") as handle:
        handle.write('\n[tool.uv]\nlink-mode = "symlink"\n')
    refused = anyvenv("sync", *index_args(index), cwd=project, env=env)
    where = f"link-mode in {project / 'pyproject.toml'}"
    assert refused.returncode == 2 and one_line_error(refused) == refusal(where)
    replace_file(project / ".python-version", b"3.11\n")  # (the env is replaced for it)
    refused = anyvenv("sync", *index_args(index), cwd=project, env=forced)
    assert refused.returncode == 2 and one_line_error(refused) == refusal("UV_LINK_MODE")
    replace_file(project / ".python-version", b"3.12\n")
    ran = anyvenv(
        "run",
        "--no-sync",
        "python",
        "-c",
        "import gamma, sys; print(gamma.VALUE, sys.version_info[:2])",
        cwd=project,
        env=env,
    )
    assert (ran.returncode, ran.stdout) == (0, "3 (3, 12)\n"), ran.stderr  # (the env: as it was)
    checked = anyvenv("check", "--json", cwd=project, env=env)
    assert json.loads(checked.stdout)["findings"] == [], checked.stdout


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_through_a_shadow_bytecode_is_compiled_in_the_env(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """uv compiles in the shadow (RECORD lists no .pyc): the env's own are made, valid for
    its sources, so that importing writes nothing. A file that does not compile is passed
    over, as uv passes it over."""
    from wheels import build_wheel

    own_index = tmp_path / "index"
    shutil.copytree(index, own_index)
    build_wheel(
        own_index, "legacy", modules={"legacy/__init__.py": "", "legacy/old.py": "print 'x'\n"}
    )
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha", "legacy"])
    report, _ = sync_json(project, env, own_index, "--compile-bytecode")
    site = next(Path(str(report["env"])).glob("lib/python*/site-packages"))
    compiled = sorted(p.name for p in (site / "alpha" / "__pycache__").iterdir())
    assert len(compiled) == 1 and compiled[0].startswith("__init__.")
    # a timestamp .pyc names its source's modification time and size: these are the env's
    header = (site / "alpha" / "__pycache__" / compiled[0]).read_bytes()[:16]
    source = (site / "alpha" / "__init__.py").stat()
    assert int.from_bytes(header[4:8], "little") == 0  # (flags: timestamp-based)
    assert int.from_bytes(header[8:12], "little") == int(source.st_mtime) & 0xFFFFFFFF
    assert int.from_bytes(header[12:16], "little") == source.st_size


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_file_the_mount_refuses_is_one_line_and_no_traceback(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """fusefat refuses a name outside ASCII (EPERM): the sync says which package and file,
    in one line, and says it again next time (uv installs it into the shadow again); the
    package is not left half-made in the env, and the project's other packages are there."""
    from wheels import build_wheel

    own_index = tmp_path / "index"
    shutil.copytree(index, own_index)
    build_wheel(own_index, "fancy", data_files={"fancy/donn\u00e9es.txt": b"x"})
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["fancy", "gamma"])
    for _ in range(2):
        refused = anyvenv("sync", *index_args(own_index), cwd=project, env=env)
        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith("anyvenv: error: fancy could not be installed: cannot place "), (
            refused.stderr
        )
        assert "donn\u00e9es.txt: " in last, last
    env_dir = target / "demo" / ".venv"
    site = next(env_dir.glob("lib/python*/site-packages"))
    assert not [name for name in os.listdir(site) if name.startswith("fancy")]
    assert (site / "gamma" / "__init__.py").exists()


def install_by_hand(
    python: Path, index: Path, package: str, project: Path, env: dict[str, str]
) -> None:
    """``package`` put into the env of ``python`` with plain ``uv pip``, without anyvenv."""
    plain = run(
        [uv_binary(), "pip", "install", "--python", python, *index_args(index), package],
        project,
        env,
    )
    assert plain.returncode == 0, plain.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_through_a_shadow_a_package_installed_by_hand_after_anyvenv_pip_stays(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """`anyvenv pip` leaves no record of a finished sync behind: a package installed by hand
    after it is still taken into the shadow, so the next run keeps it."""
    from wheels import build_wheel

    own_index = tmp_path / "index"
    shutil.copytree(index, own_index)
    build_wheel(own_index, "handmade", modules={"handmade.py": "VALUE = 7\n"})
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, own_index)
    python = Path(str(report["env"])) / "bin" / "python"
    through = anyvenv("pip", "install", *index_args(own_index), "gamma", cwd=project, env=env)
    assert through.returncode == 0, through.stderr
    install_by_hand(python, own_index, "handmade", project, env)
    write_project(project, dependencies=["alpha", "beta"])  # uv runs (inexactly, as uv run)
    code = "import beta, gamma, handmade; print(handmade.VALUE)"
    kept = anyvenv("run", *index_args(own_index), "python", "-c", code, cwd=project, env=env)
    assert kept.stdout == "7\n", kept.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_through_a_shadow_a_package_installed_by_plain_uv_pip_stays(
    target: Path, index: Path, home: Path
) -> None:
    """A package put into the env without anyvenv (plain `uv pip install --python`) is not
    in the shadow: it is taken into it before uv runs, so an inexact run keeps it and an
    exact sync removes it, as uv would."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    python = Path(str(report["env"])) / "bin" / "python"
    install_by_hand(python, index, "gamma", project, env)
    write_project(project, dependencies=["alpha", "beta"])  # uv runs (inexactly, as uv run)
    code = "import beta, gamma; print(gamma.VALUE)"
    kept = anyvenv("run", *index_args(index), "python", "-c", code, cwd=project, env=env)
    assert kept.stdout == "3\n", kept.stderr
    exact = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert exact.returncode == 0, exact.stderr
    gone = run([python, "-c", "import gamma"], project, env)
    assert "No module named 'gamma'" in gone.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys", "fat"])
def test_through_a_shadow_a_package_plain_uv_removed_after_anyvenv_pip_stays_removed(
    target: Path, index: Path, home: Path
) -> None:
    """What plain uv removes from the env (it can remove where it cannot install) is taken
    out of the shadow too, after an `anyvenv pip` as after a sync: the next run or pip
    command does not bring it back."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    python = Path(str(report["env"])) / "bin" / "python"
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    removed = run([uv_binary(), "pip", "uninstall", "--python", python, "gamma"], project, env)
    assert removed.returncode == 0, removed.stderr
    code = "import importlib.util as u; print(u.find_spec('gamma') is None)"
    ran = anyvenv("run", *index_args(index), "python", "-c", code, cwd=project, env=env)
    assert ran.stdout == "True\n", ran.stderr
    more = anyvenv("pip", "install", *index_args(index), "devtool", cwd=project, env=env)
    assert more.returncode == 0, more.stderr
    assert run([python, "-c", code], project, env).stdout == "True\n"


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_package_plain_uv_failed_to_install_is_not_spread_to_the_shadow(
    target: Path, index: Path, home: Path
) -> None:
    """Plain `uv pip install` where chmod fails stops after an empty RECORD: that half of a
    package is not taken into the shadow (uv then fails on it, naming the shadow), and the
    next exact sync leaves neither env with it, as check's advice says."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    real, shadow = Path(str(report["env"])), Path(str(report["shadow"]))
    python = real / "bin" / "python"
    plain = run(
        [uv_binary(), "pip", "install", "--python", python, *index_args(index), "gamma"],
        project,
        env,
    )
    assert plain.returncode != 0  # (uv's copy fails at its chmod: ENOSYS)
    site = next(real.glob("lib/python*/site-packages"))
    assert [p.name for p in site.glob("gamma-*.dist-info")], "uv left nothing half-made"
    synced = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert synced.returncode == 0, synced.stderr
    for tree in (real, shadow):
        assert not list(tree.glob("lib/python*/site-packages/gamma*")), tree
    checked = anyvenv("check", "--json", str(project / ".venv"), cwd=project, env=env)
    codes = [finding["code"] for finding in json.loads(checked.stdout)["findings"]]
    assert "package-incomplete" not in codes, codes


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_run_reads_its_command_and_hands_uv_run_the_rest(
    target: Path, index: Path, home: Path
) -> None:
    """In place, through a pointer, through a shadow: a script, a module and ``--with`` run
    in anyvenv's env, and a package added by hand stays (``uv run`` syncs inexactly)."""
    env = project_environ(home)
    project = write_project(target / "demo")
    report, _ = sync_json(project, env, index)
    env_dir = str(report["env"])
    (project / "where.py").write_text("import sys, beta\nprint(sys.prefix, *sys.argv[1:])\n")
    script = anyvenv("run", *index_args(index), "where.py", "a", cwd=project, env=env)
    assert script.stdout == f"{env_dir} a\n", script.stderr
    module = anyvenv("run", *index_args(index), "-m", "where", cwd=project, env=env)
    assert module.stdout == f"{env_dir}\n", module.stderr
    code = "import sys, beta, gamma; print(gamma.VALUE, sys.prefix != sys.base_prefix)"
    leaks = "import os; print(os.environ.get('UV_PROJECT_ENVIRONMENT'))"
    layered = anyvenv(
        "run", *index_args(index), "--with", "gamma", "python", "-c", f"{code}; {leaks}",
        cwd=project, env=env,
    )  # fmt: skip
    # the env is named to uv (behind a pointer file) without a variable the command inherits:
    # one would send every uv command it runs, in any project, to this env
    assert layered.stdout == "3 True\nNone\n", layered.stderr
    active = {**env, "VIRTUAL_ENV": str(project / ".venv")}  # a pointer file off-share
    layered = anyvenv(
        "run", "--active", *index_args(index), "--with", "gamma", "python", "-c", code,
        cwd=project, env=active,
    )  # fmt: skip
    assert layered.stdout == "3 True\n", layered.stderr
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    write_project(project, dependencies=["alpha", "beta"])  # uv runs, inexactly: gamma stays
    kept = anyvenv("run", *index_args(index), "python", "-c", code, cwd=project, env=env)
    assert kept.stdout == "3 True\n", kept.stderr
    assert "Resolved" in kept.stderr  # uv did run


@pytest.mark.parametrize("lab_kind", ["fat", "faultfs:chmod-enosys"])
def test_where_uv_cannot_replace_the_lock_its_versions_are_kept(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """uv.lock is rewritten through a copy of the project on local disk, so a new dependency
    does not move the locked ones; a project that cannot be copied is resolved afresh."""
    import shutil

    from wheels import build_wheel

    env = project_environ(home)
    newer = tmp_path / "newer-index"
    shutil.copytree(index, newer)
    build_wheel(newer, "gamma", "2.0", modules={"gamma/__init__.py": "VALUE = 4\n"})
    for name, extra in (
        ("kept", ""),
        ("afresh", '\n[tool.uv.sources]\nbeta = { path = "../beta" }\n'),
    ):
        project = write_project(target / name, dependencies=["gamma"])
        if extra:
            pyproject = project / "pyproject.toml"
            replace_file(pyproject, pyproject.read_bytes() + extra.encode())
            write_project(target / "beta", dependencies=[], name="beta")
        sync_json(project, env, index)  # gamma 1.0, the only one there
        assert 'name = "gamma"\nversion = "1.0"' in (project / "uv.lock").read_text()
        text = (project / "pyproject.toml").read_text().replace('["gamma"]', '["gamma", "alpha"]')
        replace_file(project / "pyproject.toml", text.encode())
        report, _ = sync_json(project, env, newer)
        lock = (project / "uv.lock").read_text()
        notes = " ".join(map(str, report["notes"]))  # type: ignore[call-overload]
        assert 'name = "alpha"' in lock
        assert not list(project.glob(".uv.lock*")) and not list(project.glob(".*anyvenv*"))
        if name == "kept":
            assert 'name = "gamma"\nversion = "1.0"' in lock, notes
            assert "locked in a copy of the project on local disk" in notes
        else:
            assert 'name = "gamma"\nversion = "2.0"' in lock, notes
            assert "resolved again (it cannot be locked in a copy: it has path" in notes


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_relative_find_links_survives_a_new_lock_where_uv_cannot_replace_it(
    target: Path, index: Path, home: Path
) -> None:
    """`--find-links wheels`, a wheelhouse in the project: uv.lock names it relative to the
    project. It is not locked in a copy elsewhere (whose relative path, put back, led nowhere
    and every later sync failed), but resolved again in place, and stays usable."""
    import shutil

    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["gamma"])
    (project / "wheels").mkdir()
    for wheel in index.glob("*.whl"):  # (copied without their modes: chmod fails there)
        shutil.copyfile(wheel, project / "wheels" / wheel.name)
    local = ["--no-index", "--find-links", "wheels"]
    first = anyvenv("sync", *local, cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    assert 'registry = "wheels"' in (project / "uv.lock").read_text()
    text = (project / "pyproject.toml").read_text().replace('["gamma"]', '["gamma", "alpha"]')
    replace_file(project / "pyproject.toml", text.encode())
    for _ in range(2):  # (and the one after it)
        again = anyvenv("sync", *local, cwd=project, env=env)
        assert again.returncode == 0, again.stderr
        lock = (project / "uv.lock").read_text()
        assert 'name = "alpha"' in lock and 'registry = "wheels"' in lock, lock
    alpha_says_hi(project, env)


@pytest.mark.parametrize("lab_kind", ["fat", "faultfs:chmod-enosys", "faultfs:cifs-like", "smb"])
def test_lock_works_where_plain_uv_lock_cannot_replace_the_lock(
    lab_kind: str, lab_mount: LabMount, target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    import json
    import shutil

    from wheels import build_wheel

    env = project_environ(home)
    newer = tmp_path / "newer-index"
    shutil.copytree(index, newer)
    build_wheel(newer, "gamma", "2.0", modules={"gamma/__init__.py": "VALUE = 4\n"})
    project = write_project(target / "demo", dependencies=["gamma"])
    # where a file held open cannot be renamed (SMB through libsmbclient), uv cannot write
    # even a new file: its temp file is renamed into place while still open
    no_new_files = lab_mount.expect["rename_open"] != "ok"
    if no_new_files:
        plain_new = run([uv_binary(), "lock", *index_args(index)], project, env)
        assert plain_new.returncode == 2 and "os error 16" in plain_new.stderr, plain_new.stderr
    first = anyvenv("lock", "--json", *index_args(index), cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    # a new file: uv writes it, unless it can write none
    assert json.loads(first.stdout)["written"] == ("through a copy" if no_new_files else "in place")
    text = (project / "pyproject.toml").read_text().replace('["gamma"]', '["gamma", "alpha"]')
    replace_file(project / "pyproject.toml", text.encode())
    chmod_fails = lab_mount.expect["chmod"] not in ("ok", "no")
    check = run([uv_binary(), "lock", "--check", *index_args(newer)], project, env)
    assert check.returncode == 1  # the lock must change
    if chmod_fails or no_new_files:  # plain uv lock (the lock left as it was)
        locked = (project / "uv.lock").read_bytes()
        plain = run([uv_binary(), "lock", *index_args(newer)], project, env)
        errno = "os error 16" if no_new_files else "os error 38"
        assert plain.returncode == 2 and errno in plain.stderr, plain.stderr
        if no_new_files:  # libsmbclient removes the name a rename would replace, then fails
            assert "uv.lock" not in os.listdir(project)  # plain uv lost the lock
            replace_file(project / "uv.lock", locked)
            for left in project.glob(".tmp*"):  # (and left its temp file)
                left.unlink()
    doctor = anyvenv("doctor", "--json", str(project), cwd=project, env=env)
    verdicts = {tool["tool"]: tool["outcome"] for tool in json.loads(doctor.stdout)["tools"]}
    rewrites_fail = chmod_fails or no_new_files
    assert verdicts["uv lock"] == ("fails" if rewrites_fail else "works")  # what was just seen
    report = anyvenv("lock", "--json", *index_args(newer), cwd=project, env=env)
    assert report.returncode == 0, report.stderr
    result = json.loads(report.stdout)
    assert result["written"] == ("through a copy" if rewrites_fail else "in place")
    lock = (project / "uv.lock").read_text()
    assert 'name = "alpha"' in lock and 'name = "gamma"\nversion = "1.0"' in lock
    assert run([uv_binary(), "lock", "--check", *index_args(newer)], project, env).returncode == 0
    again = anyvenv("lock", "--json", *index_args(newer), cwd=project, env=env)
    assert json.loads(again.stdout)["written"] == "unchanged", again.stderr
    assert sorted(p.name for p in project.iterdir()) == [
        ".python-version",
        "pyproject.toml",
        "uv.lock",
    ]


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_lock_of_a_project_that_cannot_be_copied_is_written_anew(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    import json
    import shutil

    from wheels import build_wheel

    env = project_environ(home)
    newer = tmp_path / "newer-index"
    shutil.copytree(index, newer)
    build_wheel(newer, "gamma", "2.0", modules={"gamma/__init__.py": "VALUE = 4\n"})
    write_project(target / "beta", dependencies=[], name="beta")
    project = write_project(target / "demo", dependencies=["gamma"])
    pyproject = project / "pyproject.toml"
    replace_file(
        pyproject, pyproject.read_bytes() + b'\n[tool.uv.sources]\nbeta = { path = "../beta" }\n'
    )
    assert anyvenv("lock", *index_args(index), cwd=project, env=env).returncode == 0
    text = pyproject.read_text().replace('["gamma"]', '["gamma", "alpha"]')
    replace_file(pyproject, text.encode())
    report = anyvenv("lock", "--json", *index_args(newer), cwd=project, env=env)
    assert report.returncode == 0, report.stderr
    result = json.loads(report.stdout)
    assert result["written"] == "set aside"
    assert "resolved again (it cannot be locked in a copy: it has path" in result["notes"][0]
    assert 'name = "gamma"\nversion = "2.0"' in (project / "uv.lock").read_text()
    assert not list(project.glob(".uv.lock*"))


def test_a_project_on_rclone_without_its_cache_keeps_its_env_elsewhere(
    lab: Lab, index: Path, home: Path
) -> None:
    """rclone with --vfs-cache-mode off empties what uv writes into an env (see
    test_venv.test_rclone_without_its_cache_is_refused_for_what_it_does): as where nothing
    can be executed, sync keeps the env in the per-user directory behind a pointer, and
    says why; doctor says the same beforehand, and that anyvenv venv would stop there."""
    env = project_environ(home)
    project = write_project(lab.special_target("rclone-off") / "demo")
    advice = json.loads(anyvenv("doctor", "--json", cwd=project, env=env).stdout)
    assert advice["anyvenv_sync"]["placement"] == "elsewhere", advice["anyvenv_sync"]
    assert "(reopen_write: no)" in advice["anyvenv_sync"]["reason"]
    assert advice["anyvenv"]["strategy"] == "none"
    report, proc = sync_json(project, env, index)
    assert report["placement"] == "elsewhere", proc.stderr
    assert "a file reopened for writing loses its writes on fuse.rclone at " in str(
        report["reason"]
    ), report
    assert Path(str(report["env"])).is_relative_to(home), report["env"]
    alpha_says_hi(project, env)
    assert 'name = "alpha"' in (project / "uv.lock").read_text()  # (a new file: written whole)


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_copied_project_gets_its_own_env_elsewhere_and_a_moved_one_keeps_its(
    lab_kind: str, target: Path, index: Path, home: Path
) -> None:
    """Nothing can run on the mount, so the env lives elsewhere and ``.venv`` is a pointer.
    A copy of the project copies the pointer: its first sync makes it an env of its own (the
    original's is not touched: its packages stay its own); a moved project keeps its env."""
    import shutil

    env = project_environ(home)
    project = write_project(target / "demo")
    original, _ = sync_json(project, env, index)
    shutil.copytree(project, target / "copy", symlinks=True)
    # before its first sync, the copy's pointer is not taken for its env (plain uv follows it)
    for command in (["check"], ["pip", "list"]):
        refused = anyvenv(*command, cwd=target / "copy", env=env)
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert (
            f"names the environment of {project}, which that project still uses (a copy of its "
            "pointer)" in refused.stderr
        ), (command, refused.stderr)
    assert (target / "copy" / ".venv").read_bytes() == (project / ".venv").read_bytes()
    replace_file(
        target / "copy" / "pyproject.toml",
        (project / "pyproject.toml").read_bytes().replace(b'["alpha"]', b'["alpha", "gamma"]'),
    )
    copied, proc = sync_json(target / "copy", env, index)
    assert copied["env"] != original["env"] and copied["action"] == "rebuilt", copied
    assert f"points to the env of {project}" in str(copied["rebuild_reason"]), proc.stderr
    check = [str(original["env"]) + "/bin/python", "-c", "import gamma"]
    assert run(check, project, env).returncode != 0  # the copy's package is not the original's
    again, _ = sync_json(project, env, index)
    assert again["env"] == original["env"] and again["action"] == "reused"

    (target / "copy").rename(target / "moved")
    moved, _ = sync_json(target / "moved", env, index)
    assert moved["env"] == copied["env"] and moved["action"] == "reused", moved
    # run --no-sync in a copy: as with no env, an empty one of its own, not the original's
    shutil.copytree(project, target / "copy2", symlinks=True)
    unsynced = anyvenv("run", "--no-sync", "alpha-hello", cwd=target / "copy2", env=env)
    assert unsynced.returncode != 0 and "alpha says hi" not in unsynced.stdout
    assert f"points to the env of {project}" in unsynced.stderr, unsynced.stderr
    alpha_says_hi(project, env)  # (the original's env is as it was)


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like", "exfat"])
def test_sync_takes_over_where_python_m_venv_gave_up(
    lab_kind: str, target: Path, index: Path, home: Path
) -> None:
    """``python -m venv`` fails at its lib64 symlink and leaves empty directories: sync makes
    the env there (it refused before, as if they were the user's)."""
    env = project_environ(home)
    project = write_project(target / "demo")
    failed = run([str(PY_MAIN), "-m", "venv", ".venv"], project, env)
    assert failed.returncode != 0 and (project / ".venv").is_dir(), failed.stderr
    report, proc = sync_json(project, env, index)
    assert report["action"] == "rebuilt" and report["env"] == str(project / ".venv"), proc.stderr


@pytest.mark.parametrize("lab_kind", ["smb"])
def test_a_pointer_to_local_disk_still_locks_through_a_copy_where_the_project_lives(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """The project is on SMB (a file held open cannot be renamed: uv writes no uv.lock
    there), its `.venv` a pointer (uv's redirect file, written by hand) to an env on local
    disk: uv installs in place there, but uv.lock, in the project, is still locked through a
    copy, on the first sync and on the next (the saved state's); in place, uv failed (os
    error 16) and lost the lock."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    local = tmp_path / "envs" / "demo"
    made = anyvenv("venv", str(local), "--python", str(PY_MAIN), cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    (project / ".venv").write_text(f"{local}\n")
    for dependencies in (["alpha"], ["alpha", "gamma"]):
        deps = ", ".join(json.dumps(d) for d in dependencies)
        text = (project / "pyproject.toml").read_text()
        replace_file(project / "pyproject.toml", text.replace('["alpha"]', f"[{deps}]").encode())
        report, _ = sync_json(project, env, index)
        assert report["env"] == str(local) and report["placement"] == "elsewhere", report
        assert report["notes"] == [
            "uv cannot replace uv.lock on this filesystem, as a file held open cannot be "
            "renamed (EBUSY), so it was locked in a copy of the project on local disk and put "
            "back: locked versions were kept"
        ], report
        lock = (project / "uv.lock").read_text()
        assert all(f'name = "{name}"' in lock for name in dependencies), lock
        assert (project / ".venv").read_text() == f"{local}\n"
    checked = run([uv_binary(), "lock", "--check", *index_args(index)], project, env)
    assert checked.returncode == 0, checked.stderr
    alpha_says_hi(project, env)
    ran = anyvenv("run", "--no-sync", "python", "-c", "import gamma", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_venv_link_from_a_share_to_local_disk_is_followed(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """Nothing on the share can run, but `.venv` is the user's link to local disk: the env
    is built where the link leads, as uv builds it, and the link stays (a pointer file there
    would break plain uv), also when a new Python rebuilds it."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    local = tmp_path / "venvs" / "demo"
    local.mkdir(parents=True)
    (project / ".venv").symlink_to(local)
    for version in ("3.12", "3.11"):
        replace_file(project / ".python-version", f"{version}\n".encode())
        report, _ = sync_json(project, env, index)
        assert report["placement"] == "in-place", report["reason"]
        assert os.readlink(project / ".venv") == str(local)
        assert (local / "pyvenv.cfg").is_file()
        plain = run([uv_binary(), "run", "--no-sync", "alpha-hello"], project, env)
        assert plain.stdout == "alpha says hi\n", plain.stderr
        probe = run(
            [str(local / "bin" / "python"), "-c", "import sys; print(sys.version[:4])"],
            project,
            env,
        )
        assert probe.stdout.startswith(version), probe.stdout


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_venv_link_from_local_disk_to_fat_goes_through_a_shadow(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """The project is on local disk, its `.venv` a link to a FAT directory: how the env is
    made is decided by FAT (chmod fails there), not by the project's disk."""
    env = project_environ(home)
    project = write_project(tmp_path / "demo", dependencies=["alpha"])
    (target / "venv").mkdir()
    (project / ".venv").symlink_to(target / "venv")
    report, _ = sync_json(project, env, index)
    assert report["placement"] == "shadow", report["reason"]
    assert f" at {target.parent}" in str(report["reason"])  # (the FAT mount's point)
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert ran.returncode == 0 and ran.stdout == "alpha says hi\n", ran.stderr
    assert (project / ".venv").is_symlink()


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_new_project_at_a_renamed_ones_old_path_gets_its_own_env(
    target: Path, index: Path, home: Path
) -> None:
    """Nothing runs on the share: the env lives in the user's directory, keyed by the
    project's path. Renamed, the project keeps that env; a new project made at the old path
    (a fresh clone) gets another, and the renamed one's is left as it was."""
    env = project_environ(home)
    first = write_project(target / "pa", dependencies=["alpha"])
    report, _ = sync_json(first, env, index)
    assert report["placement"] == "elsewhere"
    renamed = target / "pb"
    first.rename(renamed)
    moved, _ = sync_json(renamed, env, index)
    assert moved["env"] == report["env"] and moved["action"] == "reused"
    clone = write_project(target / "pa", dependencies=["gamma"])
    fresh, _ = sync_json(clone, env, index)
    assert fresh["env"] != report["env"]
    assert Path(str(fresh["env"])).name.startswith(Path(str(report["env"])).name + "-")
    alpha_says_hi(renamed, env)
    for project, module in ((renamed, "alpha"), (clone, "gamma")):
        again, _ = sync_json(project, env, index)
        assert again["action"] == "reused" and not again["uv_ran"], again
        ran = anyvenv("run", "--no-sync", "python", "-c", f"import {module}", cwd=project, env=env)
        assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_new_project_at_the_old_path_syncing_first_does_not_take_the_renamed_ones_env(
    target: Path, index: Path, home: Path
) -> None:
    """The same, in the other order: the new project syncs before the renamed one has. The
    env keyed by the path is the renamed project's (its pointer names it, and the record
    knows the directory it was made for): the new one gets another, and the renamed one's
    env, with what was installed into it by hand, is reused as it was."""
    env = project_environ(home)
    first = write_project(target / "pa", dependencies=["alpha"])
    report, _ = sync_json(first, env, index)
    assert report["placement"] == "elsewhere"
    # (by hand, not through anyvenv, which would write the env's owner record again)
    install_by_hand(Path(str(report["env"])) / "bin" / "python", index, "gamma", first, env)
    renamed = target / "pb"
    first.rename(renamed)
    clone = write_project(target / "pa", dependencies=["beta"])
    fresh, _ = sync_json(clone, env, index)
    assert fresh["env"] != report["env"] and fresh["action"] == "created", fresh
    code = "import alpha, gamma"  # (what the renamed project had, by hand too)
    kept = anyvenv("run", "--no-sync", "python", "-c", code, cwd=renamed, env=env)
    assert kept.returncode == 0, kept.stderr
    moved = anyvenv("run", "--frozen", "--inexact", "python", "-c", code, cwd=renamed, env=env)
    assert moved.returncode == 0, moved.stderr
    again, _ = sync_json(renamed, env, index)
    assert again["env"] == report["env"] and again["action"] == "reused", again
    again, _ = sync_json(clone, env, index)
    assert again["env"] == fresh["env"] and again["action"] == "reused", again


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_a_project_made_again_at_its_path_keeps_the_shadow_envs_name(
    target: Path, index: Path, home: Path
) -> None:
    """A shadow env is the cache of the env at a path, not of a project directory: a project
    made again there (another directory, another inode) takes it over, not a `-2` beside
    it (on FAT the inode of the same directory changes as the kernel's cache lets it go)."""
    import shutil

    env = project_environ(home)
    project = write_project(target / "pa", dependencies=["alpha"])
    first, _ = sync_json(project, env, index)
    assert first["placement"] == "shadow"
    project.rename(target / "gone")  # (removed after the new one is made: another inode)
    project = write_project(target / "pa", dependencies=["gamma"])
    shutil.rmtree(target / "gone")
    again, _ = sync_json(project, env, index)
    assert again["shadow"] == first["shadow"], again


@pytest.mark.parametrize("lab_kind", ["fat", "smb"])
def test_a_project_spelled_another_way_on_a_case_insensitive_mount_keeps_its_env(
    target: Path, index: Path, home: Path
) -> None:
    """FAT and SMB ignore case: `CaseProj` and `caseproj` are one project, whose env is
    reused under either spelling (it was copied in whole again at every switch), and whose
    console script, which runs `CaseProj/.venv/bin/python`, runs its own python under
    either: check finds nothing (it called it another env's), repair changes nothing."""
    env = project_environ(home)
    project = write_project(target / "CaseProj", dependencies=["alpha"])
    made, _ = sync_json(project, env, index)
    assert made["placement"] == "shadow"
    for spelling in ("caseproj", "CaseProj", "caseproj"):
        again, _ = sync_json(target / spelling, env, index)
        assert again["action"] == "reused", again["rebuild_reason"]
    script = project / ".venv" / "bin" / "alpha-hello"
    assert script.read_bytes().startswith(f"#!{project}/.venv/bin/python".encode())
    for spelling in ("caseproj", "CaseProj"):
        checked = anyvenv("check", "--json", cwd=target / spelling, env=env)
        assert checked.returncode == 0, checked.stdout
        codes = [item["code"] for item in json.loads(checked.stdout)["findings"]]
        assert not [code for code in codes if code.startswith("script-")], checked.stdout
        repaired = anyvenv("repair", "--json", cwd=target / spelling, env=env)
        assert repaired.returncode == 0, repaired.stderr
        assert json.loads(repaired.stdout)["changes"] == [], repaired.stdout
    assert script.read_bytes().startswith(f"#!{project}/.venv/bin/python".encode())
    alpha_says_hi(target / "caseproj", env)


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_an_env_named_in_another_case_on_a_case_insensitive_mount_is_the_same_env(
    target: Path, index: Path, home: Path
) -> None:
    """`.venv` synced, then `UV_PROJECT_ENVIRONMENT=.VENV`: on FAT one directory, whose env
    is used as it is, with its shadow env (it was rebuilt, as an env moved there, through a
    second shadow env, and every package copied in again)."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    made, _ = sync_json(project, env, index)
    assert made["placement"] == "shadow"
    for name in (".VENV", ".venv", ".VENV"):
        again, _ = sync_json(project, {**env, "UV_PROJECT_ENVIRONMENT": name}, index)
        assert again["action"] == "reused", again["rebuild_reason"]
        assert again["shadow"] == made["shadow"]
        mirrored = again["mirror"]  # (none where uv was not run)
        assert not mirrored or mirrored["files_written"] == 0, mirrored
    assert sorted(os.listdir(project)) == [".python-version", ".venv", "pyproject.toml", "uv.lock"]


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_project_reached_through_a_bind_mount_keeps_its_env(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """One project seen at two paths (a bind mount, as a VM's shared folder is): each path
    took the env for another project's and built its own, by turns, for ever."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to make a bind mount")
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    made, _ = sync_json(project, env, index)
    assert made["placement"] == "elsewhere"
    seen = tmp_path / "seen"
    seen.mkdir()
    subprocess.run(["mount", "--bind", str(project), str(seen)], check=True)
    try:
        for where in (seen, project, seen):
            again, _ = sync_json(where, env, index)
            assert again["action"] == "reused", again["rebuild_reason"]
            assert again["env"] == made["env"]
    finally:
        subprocess.run(["umount", str(seen)], check=True)


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_plain_uv_follows_the_pointer_file(target: Path, index: Path, home: Path) -> None:
    """The pointer file is in the form of uv's `.venv` redirect files: plain `uv run` in the
    project uses the env anyvenv put elsewhere (it failed on the pointer before)."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    assert report["placement"] == "elsewhere"
    assert (project / ".venv").read_text() == f"{report['env']}\n"
    plain = run([uv_binary(), "run", "--no-sync", "alpha-hello"], project, env)
    assert (plain.returncode, plain.stdout) == (0, "alpha says hi\n"), plain.stderr
    again, _ = sync_json(project, env, index)
    assert again["action"] == "reused" and again["reason"] == report["reason"]


def _seeded_env_with_gamma_by_hand(project: Path, env: dict[str, str], index: Path) -> Path:
    """`anyvenv venv --seed` at the project's .venv, and gamma installed by its own pip (as
    a user does by hand); the env's python."""
    made = anyvenv("venv", "--seed", "-p", "3.12", str(project / ".venv"), cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    python = project / ".venv" / "bin" / "python"
    by_hand = run([python, "-m", "pip", "install", "-q", *index_args(index), "gamma"], project, env)
    assert by_hand.returncode == 0, by_hand.stderr
    return python


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_pip_on_an_env_sync_did_not_make_takes_nothing_away(
    target: Path, index: Path, home: Path
) -> None:
    """An env made by `anyvenv venv --seed`, with a package pip installed by hand: `anyvenv
    pip` uses it as it is (list rebuilt it, empty; install went through a new, empty shadow
    env whose mirror back removed pip and the package), as uv pip would."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    python = _seeded_env_with_gamma_by_hand(project, env, index)
    site = next((project / ".venv").glob("lib/python3.12/site-packages"))

    def installed() -> set[str]:
        return {path.name.split("-")[0] for path in site.glob("*.dist-info")}

    before = installed()
    assert {"gamma", "pip"} <= before
    listed = anyvenv("pip", "list", cwd=project, env=env)
    assert listed.returncode == 0 and "gamma" in listed.stdout, listed.stderr
    added = anyvenv("pip", "install", *index_args(index), "beta", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert installed() == before | {"beta"}
    assert run([python, "-c", "import gamma, beta"], project, env).returncode == 0


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_run_takes_over_an_env_anyvenv_venv_made_keeping_what_is_installed(
    target: Path, index: Path, home: Path
) -> None:
    """An env `anyvenv venv` made here (its files have their modes, pip its chmod shim) is
    not rebuilt by `run` or `sync` for want of a shadow env: one is made. `run`'s inexact
    sync keeps a package installed by hand, as `uv run` keeps it; `sync` removes it, as
    `uv sync` does."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    python = _seeded_env_with_gamma_by_hand(project, env, index)
    config = (project / ".venv" / "pyvenv.cfg").stat().st_ino
    ran = anyvenv("run", *index_args(index), "alpha-hello", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    assert "Rebuilt" not in ran.stderr
    assert (project / ".venv" / "pyvenv.cfg").stat().st_ino == config
    assert run([python, "-c", "import gamma"], project, env).returncode == 0
    report, _ = sync_json(project, env, index)
    assert report["action"] == "reused" and report["placement"] == "shadow"
    assert run([python, "-c", "import gamma"], project, env).returncode == 1
    assert run([python, "-c", "import alpha"], project, env).returncode == 0
    # pip, a seed package, stays: uv sync keeps it in an env uv did not make
    assert run([python, "-m", "pip", "--version"], project, env).returncode == 0


def _package_by_hand(site: Path, name: str) -> None:
    """A distribution written into ``site`` without an installer (a copied env's own)."""
    (site / f"{name}.py").write_text("VALUE = 'by hand'\n")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        f"{name}.py,,\n{info.name}/METADATA,,\n{info.name}/INSTALLER,,\n{info.name}/RECORD,,\n"
    )


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_run_takes_over_another_tools_env_whose_scripts_run_keeping_what_is_installed(
    target: Path, index: Path, home: Path
) -> None:
    """An env virtualenv made on FAT (every file shows its exec bits there), with a package
    of its own: `run` takes it over through a shadow env, keeping that package (it rebuilt the
    env and lost it, where `uv run` fails and leaves it be), and gives it the chmod shim, as
    `anyvenv venv` would have; repair, mending it, gives the shim too."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    assert PY_MAIN is not None
    venv = project / ".venv"
    command = [sys.executable, "-m", "virtualenv", "-q", "--copies", "--no-seed", "-p", PY_MAIN]
    made = run([*command, venv], project, env)
    assert made.returncode == 0, made.stdout + made.stderr
    site = venv / "lib" / "python3.12" / "site-packages"
    _package_by_hand(site, "handmade")
    ran = anyvenv("run", *index_args(index), "alpha-hello", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    assert "Rebuilt" not in ran.stderr
    python = venv / "bin" / "python"
    assert run([python, "-c", "import handmade, alpha"], project, env).returncode == 0
    assert (site / SHIM_PTH).is_file()
    (site / SHIM_PTH).unlink()
    (venv / "bin" / "activate").unlink()  # (something to mend)
    repaired = anyvenv("repair", venv, cwd=project, env=env)
    assert repaired.returncode == 0, repaired.stderr
    assert (site / SHIM_PTH).is_file() and (venv / "bin" / "activate").is_file()


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_a_script_another_tool_left_without_its_exec_bits_is_placed_again(
    target: Path, index: Path, home: Path
) -> None:
    """Plain uv (or poetry) writing into the env where chmod is ignored leaves console
    scripts 0644, their RECORD as anyvenv's: the next sync that runs uv copies the package
    again (it was passed over as unchanged); until then run says what is wrong."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    assert report["placement"] == "shadow"
    script = project / ".venv" / "bin" / "alpha-hello"
    data = script.read_bytes()
    script.unlink()
    script.write_bytes(data)  # (created 0644 where chmod is ignored: what plain uv leaves)
    assert not os.access(script, os.X_OK)
    refused = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
    assert refused.returncode == 2
    assert "it is not executable (mode 0644" in refused.stderr, refused.stderr
    write_project(project, dependencies=["alpha", "gamma"])
    sync_json(project, env, index)
    assert os.access(script, os.X_OK)
    alpha_says_hi(project, env)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_pip_on_an_env_of_another_tool_leaves_the_next_sync_its_own_judgement(
    target: Path, index: Path, home: Path
) -> None:
    """`anyvenv pip list` uses an env python -m venv made there as it is, and saves nothing
    of it: the next `anyvenv sync` rebuilds it as it would have, a script in it lacking its
    exec bits (it then reused it for good, its console scripts written by another tool)."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    assert PY_MAIN is not None
    made = run([PY_MAIN, "-m", "venv", "--without-pip", project / ".venv"], project, env)
    assert made.returncode == 0, made.stderr
    tool = project / ".venv" / "bin" / "tool"
    tool.write_text(f"#!{project / '.venv' / 'bin' / 'python'}\nprint('tool')\n")
    assert not os.access(tool, os.X_OK)  # (made 0644: what pip leaves where chmod is ignored)
    listed = anyvenv("pip", "list", cwd=project, env=env)
    assert listed.returncode == 0, listed.stderr
    report, _ = sync_json(project, env, index)
    assert report["action"] == "rebuilt"
    reason = str(report["rebuild_reason"])
    assert "not made by anyvenv for this filesystem" in reason
    assert reason.endswith("and scripts in its bin/ cannot be run"), reason


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_scripts_of_a_moved_env_run_after_going_through_a_shadow(
    target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """A uv project synced on local disk, then moved onto the mount: its console scripts name
    the old path. Through `anyvenv pip` (the shadow filled from the env) and the `run` that
    rebuilds the env, they are made to run the env's python (they kept the dead shebang,
    and every later sync said success)."""
    env = project_environ(home)
    local = write_project(tmp_path / "demo", dependencies=["alpha"])
    plain = run([uv_binary(), "sync", *index_args(index), "--python", str(PY_MAIN)], local, env)
    assert plain.returncode == 0, plain.stderr
    project = target / "demo"
    shutil.copytree(local, project, symlinks=True)
    shutil.rmtree(local)
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    ran = anyvenv("run", *index_args(index), "alpha-hello", cwd=project, env=env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    checked = anyvenv("check", str(project / ".venv"), cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_a_script_without_exec_bits_gets_them_through_the_shadow(
    target: Path, index: Path, home: Path
) -> None:
    """python -m venv where chmod is ignored leaves bin/pip 0644; carried into the shadow
    and back it stayed 0644 (check failed after a rebuild that said the modes were set)."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    assert PY_MAIN is not None
    made = run([PY_MAIN, "-m", "venv", project / ".venv"], project, env)
    assert made.returncode == 0, made.stderr
    assert not os.access(project / ".venv" / "bin" / "pip", os.X_OK)
    added = anyvenv("pip", "install", *index_args(index), "gamma", cwd=project, env=env)
    assert added.returncode == 0, added.stderr
    assert os.access(project / ".venv" / "bin" / "pip", os.X_OK)
    ran = anyvenv("run", *index_args(index), "true", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr
    for script in (project / ".venv" / "bin").glob("pip*"):
        assert os.access(script, os.X_OK), script
    checked = anyvenv("check", str(project / ".venv"), cwd=project, env=env)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_a_pointer_of_an_earlier_release_is_written_in_uvs_form(
    target: Path, index: Path, home: Path
) -> None:
    """A `key = value` pointer (anyvenv before this release) is followed, and written again
    as uv's redirect file at the next sync that reuses the env, so plain uv follows it."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    old_form = (
        "# anyvenv: this project's environment lives elsewhere\nanyvenv-pointer = 1\n"
        f"env = {report['env']}\nreason = no file can be executed\n"
    )
    replace_file(project / ".venv", old_form.encode())
    again, _ = sync_json(project, env, index)
    assert again["action"] == "reused" and again["env"] == report["env"]
    assert (project / ".venv").read_text() == f"{report['env']}\n"
    plain = run([uv_binary(), "run", "--no-sync", "alpha-hello"], project, env)
    assert (plain.returncode, plain.stdout) == (0, "alpha says hi\n"), plain.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
@pytest.mark.parametrize("command", ["sync", "run"])
def test_a_declared_path_no_pointer_can_replace_leaves_the_env_elsewhere_alone(
    target: Path, index: Path, home: Path, command: str
) -> None:
    """``.venv`` became a file anyvenv does not read as a pointer (a newer release's form,
    an editor's): the sync or run refuses before the env it kept elsewhere is built again,
    so the packages in it stay; the file is left as it is."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    site = next(Path(report["env"]).glob("lib/python*/site-packages"))
    before = sorted(os.listdir(site))
    assert any(name.startswith("alpha") for name in before)
    foreign = b'{"env": "' + report["env"].encode() + b'"}\n'
    replace_file(project / ".venv", foreign)
    args = ["sync", *index_args(index)] if command == "sync" else ["run", "--no-sync", "true"]
    refused = anyvenv(*args, cwd=project, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "is not an anyvenv pointer file" in refused.stderr
    assert sorted(os.listdir(site)) == before
    assert (project / ".venv").read_bytes() == foreign


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "fat"])
def test_a_first_sync_of_a_seeded_env_keeps_pip(target: Path, index: Path, home: Path) -> None:
    """`anyvenv venv --seed`, then `anyvenv sync` straight away: the new shadow starts empty,
    and its mirror back removed pip, which uv sync keeps in an env it did not make."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    made = anyvenv("venv", "--seed", "-p", "3.12", str(project / ".venv"), cwd=project, env=env)
    assert made.returncode == 0, made.stderr
    report, _ = sync_json(project, env, index)
    assert report["placement"] == "shadow"
    python = project / ".venv" / "bin" / "python"
    assert run([python, "-m", "pip", "--version"], project, env).returncode == 0
    assert run([python, "-c", "import alpha"], project, env).returncode == 0


# Homes on the share: the per-user directory an env or shadow must go to is on a filesystem
# that cannot hold it either (XDG_DATA_HOME: envs kept outside projects; XDG_CACHE_HOME: shadows).
HOME_ON_A_SHARE = [
    ("faultfs:mode-0644", "faultfs:mode-0644", "XDG_DATA_HOME", "ANYVENV_ENVS_DIR"),
    ("faultfs:mode-0644", "faultfs:chmod-ignored", "XDG_DATA_HOME", "ANYVENV_ENVS_DIR"),
    ("faultfs:chmod-enosys", "faultfs:chmod-enosys", "XDG_CACHE_HOME", "ANYVENV_SHADOW_DIR"),
    ("fat", "fat", "XDG_CACHE_HOME", "ANYVENV_SHADOW_DIR"),
]


@pytest.mark.parametrize(("project_kind", "home_kind", "xdg", "variable"), HOME_ON_A_SHARE)
def test_a_user_directory_that_cannot_hold_the_env_is_named_not_used(
    lab: Lab, project_kind: str, home_kind: str, xdg: str, variable: str, index: Path,
    home: Path,
) -> None:  # fmt: skip
    project = write_project(lab.target(project_kind, "proj") / "demo")
    share_home = lab.target(home_kind, "home")
    env = project_environ(home, **{xdg: str(share_home / "xdg")})

    failed = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert failed.returncode == 1, failed.stderr
    lines = failed.stderr.splitlines()
    assert len(lines) == 1 and "cannot hold it either" in lines[0], failed.stderr
    assert f"set {variable} to a directory of yours on a local disk" in lines[0]
    assert not os.path.lexists(project / ".venv")  # nothing half-made: no env, no pointer
    made = [
        *(share_home / "xdg").glob("anyvenv/envs/*"),
        *(share_home / "xdg").glob("anyvenv/shadow/*"),
    ]
    assert not made, "an env was left in the user dir"
    advice = json.loads(anyvenv("doctor", "--json", str(project), cwd=project, env=env).stdout)
    assert variable in str(advice["anyvenv_sync"]["stopped"])
    if variable == "ANYVENV_SHADOW_DIR":  # an env synced before, whose shadow must move
        synced = anyvenv("sync", *index_args(index), cwd=project, env=project_environ(home))
        assert synced.returncode == 0, synced.stderr
        write_project(project, dependencies=["alpha", "gamma"])
        again = anyvenv("sync", *index_args(index), cwd=project, env=env)
        assert again.returncode == 1, again.stderr
        (line,) = again.stderr.splitlines()
        assert "cannot hold it either" in line and "copies the packages in" not in line, line

    env[variable] = str(home / f"fixed-{project_kind}-{home_kind}".replace(":", "-"))  # the fix
    fixed = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert fixed.returncode == 0, fixed.stderr
    hello = anyvenv("run", "alpha-hello", cwd=project, env=env)
    assert (hello.returncode, hello.stdout) == (0, "alpha says hi\n"), hello.stderr


@pytest.mark.parametrize(
    "lab_kind", ["faultfs:cifs-like", "faultfs:lock-enolck", "faultfs:link-eperm", "exfat"]
)
def test_a_uv_cache_on_a_share_is_named_when_uv_fails(
    lab_kind: str, target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "demo")  # the project on local disk: only the cache
    env = project_environ(home, UV_CACHE_DIR=str(target / "uv-cache"))
    what = {"faultfs:lock-enolck": "flock", "faultfs:link-eperm": "hard links"}.get(
        lab_kind, "symlinks"
    )
    for command in (["sync"], ["run", "python", "-c", "pass"], ["pip", "install", "beta"]):
        failed = anyvenv(*command, *index_args(index), cwd=project, env=env)
        assert failed.returncode != 0, failed.stderr
        told = [line for line in failed.stderr.splitlines() if line.startswith("anyvenv: ")]
        assert any(
            f"uv's cache {target / 'uv-cache'} is on " in line
            and f", where {what} (" in line
            and "set UV_CACHE_DIR to a directory on a local disk" in line
            for line in told
        ), failed.stderr

    env["UV_CACHE_DIR"] = str(tmp_path / "uv-cache")  # the fix it names
    assert anyvenv("sync", *index_args(index), cwd=project, env=env).returncode == 0
    alpha_says_hi(project, env)


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_uv_cache_on_a_share_is_not_blamed_for_a_resolution_that_failed(
    lab_kind: str, target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """On sshfs, wheels install from uv's cache (only its absolute links fail, which builds
    need): a dependency no index has fails with uv's own words, and anyvenv says nothing of
    the cache, which did not cause it."""
    project = write_project(tmp_path / "demo", dependencies=["alpha"])
    env = project_environ(home, UV_CACHE_DIR=str(target / "uv-cache"))
    assert anyvenv("sync", *index_args(index), cwd=project, env=env).returncode == 0
    write_project(project, dependencies=["alpha", "no-such-package"])
    for command in (["sync"], ["pip", "install", "no-such-package"]):
        failed = anyvenv(*command, *index_args(index), cwd=project, env=env)
        assert failed.returncode == 1, failed.stderr
        assert "uv's cache" not in failed.stderr, failed.stderr


def test_a_failure_of_uv_with_a_sound_cache_names_no_cache(
    index: Path, home: Path, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "demo", dependencies=("alpha", "no-such-package"))
    env = project_environ(home)
    failed = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert failed.returncode != 0 and "no-such-package" in failed.stderr, failed.stderr
    assert "UV_CACHE_DIR" not in failed.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644", "faultfs:chmod-ignored"])
def test_an_env_made_elsewhere_or_with_a_shadow_for_a_refused_command_goes_whole(
    lab_kind: str, target: Path, index: Path, home: Path
) -> None:
    """uv refuses the command (exit 2) after anyvenv made the env: the env put elsewhere and
    the pointer to it, or the env and its shadow, all go, as plain uv would have made none."""
    env = project_environ(home)
    project = write_project(target / "demo")
    placement = "elsewhere" if lab_kind == "faultfs:mode-0644" else "shadow"
    refused = anyvenv("sync", "--json", "--no-such-option", *index_args(index), cwd=project,
                      env=env)  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    report = json.loads(refused.stdout)
    assert (report["action"], report["placement"]) == ("undone", placement), report
    assert not os.path.lexists(project / ".venv")  # no pointer, no env
    assert not os.path.lexists(str(report["env"]))
    if placement == "shadow":
        assert report["shadow"] and not os.path.lexists(str(report["shadow"])), report
    made, _ = sync_json(project, env, index)  # and the next sync makes it as new
    assert (made["action"], made["placement"]) == ("created", placement), made


def _synced_gamma_project(
    target: Path, index: Path, env: dict[str, str], tmp_path: Path
) -> tuple[Path, Path]:
    """A project synced with gamma 1.0 (``VALUE = 3``), and an index that also has 2.0
    (``VALUE = 4``, the same size)."""
    from wheels import build_wheel

    newer = tmp_path / "newer-index"
    shutil.copytree(index, newer)
    build_wheel(newer, "gamma", "2.0", modules={"gamma/__init__.py": "VALUE = 4\n"})
    project = write_project(target / "demo", dependencies=["gamma"])
    assert anyvenv("sync", *index_args(index), cwd=project, env=env).returncode == 0
    return project, newer


def _holding(python: Path, module: str) -> subprocess.Popen[str]:
    """A python of the env that imported ``module`` and holds its file open until its stdin
    closes (as a program that reads its package's data does)."""
    holding = (
        f"import {module}, sys; f = open({module}.__file__); print('held', flush=True); "
        "sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [str(python), "-c", holding], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.parametrize("lab_kind", ["smb"])
def test_a_file_in_use_on_a_share_stops_the_copy_before_it_changes_anything(
    lab_kind: str, target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """On SMB through libsmbclient a file held open cannot be replaced nor removed (EBUSY), as
    on Windows: an upgrade (or a reinstall) while a program of the env holds a file of the
    package stops with one line naming that program, before the env is changed at all (not
    a package of two versions that a new process would import); once it is let go, the
    same sync upgrades it."""
    from repair_support import fingerprint

    from anyvenv.project.inputs import RECORD_NAME
    from anyvenv.project.shadow import journal_of

    def files() -> dict[str, tuple[object, ...]]:  # (a sync forgets its record of inputs)
        found = fingerprint(project / ".venv")
        found.pop(RECORD_NAME, None)
        return found

    env = project_environ(home)
    project, newer = _synced_gamma_project(target, index, env, tmp_path)
    python = project / ".venv" / "bin" / "python"
    journal = journal_of(str(sync_json(project, env, index)[0]["shadow"]))
    holder = _holding(python, "gamma")
    before = files()  # (with the bytecode its import wrote)
    try:
        upgrade = anyvenv("sync", "--upgrade", *index_args(newer), cwd=project, env=env)
        assert upgrade.returncode == 1
        line = upgrade.stderr.strip().splitlines()[-1]  # after uv's own lines, into the shadow
        said = f"anyvenv: error: cannot replace or remove gamma in {project / '.venv'}: "
        assert line.startswith(said + "nothing was changed; "), line
        assert f"(process {holder.pid}) runs from the environment's packages" in line, line
        assert line.endswith("end what runs from it, then run the command again"), line
        assert files() == before
        reinstall = anyvenv(
            "pip", "install", "--reinstall", *index_args(index), "gamma", cwd=project, env=env
        )
        assert reinstall.returncode == 1
        assert f"(process {holder.pid})" in reinstall.stderr.strip().splitlines()[-1]
        assert files() == before
        assert not journal.exists()  # (no copy was begun: none to finish)
    finally:
        holder.communicate("")
    finished = anyvenv("sync", *index_args(newer), cwd=project, env=env)
    assert finished.returncode == 0, finished.stderr
    value = run([str(python), "-c", "import gamma; print(gamma.VALUE)"], project, env)
    assert value.stdout == "4\n", value.stderr


@pytest.mark.parametrize("lab_kind", ["smb"])
def test_a_file_in_use_on_a_share_keeps_no_other_package_from_its_upgrade(
    lab_kind: str, target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """What a running program holds open stops only the copy that would replace it: beta is
    upgraded while a python holds gamma's module open."""
    from wheels import build_wheel

    env = project_environ(home)
    newer = tmp_path / "newer-index"
    shutil.copytree(index, newer)
    build_wheel(newer, "beta", "2.0", modules={"beta/__init__.py": "DATA = 'two'\n"})
    project = write_project(target / "demo", dependencies=["gamma", "beta"])
    assert anyvenv("sync", *index_args(index), cwd=project, env=env).returncode == 0
    python = project / ".venv" / "bin" / "python"
    holder = _holding(python, "gamma")
    try:
        upgrade = anyvenv(
            "sync", "--upgrade-package", "beta", *index_args(newer), cwd=project, env=env
        )
        assert upgrade.returncode == 0, upgrade.stderr
        said = run(
            [str(python), "-c", "import beta, gamma; print(beta.DATA, gamma.VALUE)"], project, env
        )
        assert said.stdout == "two 3\n", said.stderr
    finally:
        holder.communicate("")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored", "smb"])
def test_a_module_upgraded_through_the_shadow_does_not_run_its_old_bytecode(
    lab_kind: str, target: Path, index: Path, home: Path, tmp_path: Path
) -> None:
    """The mirror replaces a module in place: its old bytecode goes with it. (Python takes a
    ``.pyc`` whose recorded size and second match the source's, or one compiled with
    ``unchecked-hash``, whatever the source: here the latter, which shows it every time.)"""
    env = project_environ(home)
    project, newer = _synced_gamma_project(target, index, env, tmp_path)
    python = str(project / ".venv" / "bin" / "python")
    compiled = "import gamma, py_compile as c; c.compile(gamma.__file__, cfile=__import__('importlib.util').util.cache_from_source(gamma.__file__), invalidation_mode=c.PycInvalidationMode.UNCHECKED_HASH)"
    assert run([python, "-c", compiled], project, env).returncode == 0
    assert run([python, "-c", "import gamma; print(gamma.VALUE)"], project, env).stdout == "3\n"
    upgrade = anyvenv("sync", "--upgrade", *index_args(newer), cwd=project, env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    value = run([python, "-c", "import gamma; print(gamma.VALUE)"], project, env)
    assert value.stdout == "4\n", value.stderr


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:mode-0644"])
@pytest.mark.parametrize("command", ["sync", "run"])
def test_an_empty_pointer_file_left_by_a_crash_is_written_again(
    lab_kind: str, target: Path, index: Path, home: Path, command: str
) -> None:
    """A crash kept ``.venv``'s name, not its bytes: sync and run refused ("exists and is not
    a directory; choose another path"), check said it is "a file". Now check names it as an
    empty pointer, and sync and run write it again, saying so in one line: naming the env
    kept elsewhere (its packages kept), or, where there is none, making the env as at first."""
    env = project_environ(home)
    project = write_project(target / "demo", dependencies=["alpha"])
    report, _ = sync_json(project, env, index)
    declared = project / ".venv"
    if lab_kind == "local":  # (in place: a pointer was never written, and there is no env)
        shutil.rmtree(declared)
    declared.write_bytes(b"")
    checked = anyvenv("check", str(declared), cwd=project, env=env)
    assert checked.returncode == 2 and "is an empty pointer file" in checked.stderr, checked
    args = ["sync", *index_args(index)] if command == "sync" else ["run", "alpha-hello"]
    if command == "run":
        args[1:1] = index_args(index)
    mended = anyvenv(*args, cwd=project, env=env)
    assert mended.returncode == 0, mended.stderr
    said = [line for line in mended.stderr.splitlines() if "empty pointer file" in line]
    assert len(said) == 1, mended.stderr
    if lab_kind == "local":
        assert declared.is_dir() and "made again" in said[0], said
    else:
        assert declared.read_text() == f"{report['env']}\n"
        assert f"written again, naming {report['env']}" in said[0], said
        assert "Installed" not in mended.stderr  # (the env kept elsewhere, used again)
    alpha_says_hi(project, env)


def test_a_fifo_in_bin_does_not_hold_the_look_at_another_tools_scripts(tmp_path: Path) -> None:
    """Whether another tool's env may be taken over reads the start of each file in bin/: a
    FIFO there (or a link to one) is passed over, not read (the read would wait forever)."""
    from anyvenv.project.prepare import _scripts_run

    bin_dir = tmp_path / "env" / "bin"
    bin_dir.mkdir(parents=True)
    os.mkfifo(bin_dir / "fifo")
    (bin_dir / "to-fifo").symlink_to("fifo")
    (bin_dir / "tool").write_text("#!/bin/sh\n")
    os.chmod(bin_dir / "tool", 0o644)
    code = f"from anyvenv.project.prepare import _scripts_run; print(_scripts_run({str(tmp_path / 'env')!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert done.stdout == "False\n", done.stderr  # (the script lacks its exec bits)
    os.chmod(bin_dir / "tool", 0o755)
    assert _scripts_run(str(tmp_path / "env"))


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_the_place_of_an_env_to_be_made_is_probed_while_the_project_is_read(
    target: Path, index: Path, home: Path
) -> None:
    """On a share each call is a round trip (a far one: a second for the probe): a sync that
    will make the project's env starts the probe of its place once the project is found, in a
    child, while the command reads the rest of the project and takes its lock; the probe's
    first look at the directory (whether it may be written) comes before the lock file."""
    project = write_project(target / "demo")
    env = project_environ(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    command = [*ANYVENV, "sync", *index_args(index)]
    calls = traced_calls(command, "access,link", cwd=project, env=env)
    looked_at = next(
        i for i, call in enumerate(calls) if call.startswith(f'access("{project}", W_OK|X_OK)')
    )
    locked = next(
        i for i, call in enumerate(calls) if f"{ENV_LOCK_SUFFIX}" in call and "link(" in call
    )
    assert looked_at < locked, calls
    assert (project / ".venv" / "pyvenv.cfg").is_file()
    assert not [name for name in os.listdir(project) if name.startswith(".anyvenv-probe-")]


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_an_ordinary_sync_looks_at_each_installed_dist_info_once(
    target: Path, lab: Lab, home: Path, tmp_path: Path
) -> None:
    """Before uv runs, a sync that is not a no-op looks for what a killed install left in
    site-packages: on a share each lookup is a round trip. One listing, and one lookup per
    dist-info (its INSTALLER: uv writes it after every file of the wheel, METADATA among
    them, so only one without it needs a second look), not three listings and four lookups
    each. Counted with the lab's operation trace (anyvenv's own process: uv's are its own)."""
    count = 16
    wheels = tmp_path / "wheels"
    names = [f"pkg{number:02d}" for number in range(count)]
    for name in [*names, "devtool"]:  # (the dev group's)
        build_wheel(wheels, name, modules={f"{name}/__init__.py": "X = 1\n"})
    project = write_project(target / "demo", dependencies=names)
    env = project_environ(home)
    first = anyvenv("sync", *index_args(wheels), cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    site = project / ".venv" / "lib" / "python3.12" / "site-packages"
    dist_infos = len([name for name in os.listdir(site) if name.endswith(".dist-info")])
    assert dist_infos >= count + 1  # (and the project's own)
    write_project(project, dependencies=[*names, "pkg00>=1"])  # (not a no-op: uv runs)
    trace, pid = _traced(lab, "faultfs:passthrough", ["sync", *index_args(wheels)], project, env)
    listings = [op for op in trace.select("opendir", pid=pid) if op.path == str(site)]
    lookups = trace.select("getattr", site, pid)
    in_dist_infos = [op for op in lookups if ".dist-info/" in op.path]
    # (measured before: 5 listings, 34 lookups in dist-infos: METADATA and INSTALLER each)
    assert len(listings) <= 2, listings
    assert len(in_dist_infos) <= dist_infos, [op.path for op in in_dist_infos]
    assert len(lookups) <= dist_infos + 4, [op.path for op in lookups]


def _opened(trace: OpTrace, pid: int, project: Path) -> dict[str, int]:
    """How many times process ``pid`` opened each of the project's own input files."""
    names = ("pyproject.toml", "uv.lock", ".python-version")
    return {
        name: len([op for op in trace.select("open", pid=pid) if op.path == str(project / name)])
        for name in names
    }


def _counted(
    lab: Lab, kind: str, command: list[str], project: Path, env: dict[str, str]
) -> dict[str, int]:
    trace, pid = _traced(lab, kind, command, project, env)
    return _opened(trace, pid, project)


def _traced(
    lab: Lab, kind: str, command: list[str], project: Path, env: dict[str, str]
) -> tuple[OpTrace, int]:
    """The operations of the faultfs mount of ``kind`` while ``anyvenv COMMAND`` ran in
    ``project`` (it must succeed), and the pid that ran it."""
    with lab.count_ops(kind) as trace:
        child = subprocess.Popen(
            [*ANYVENV, *command],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        _, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    return trace, child.pid


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_a_sync_reads_each_project_file_once_before_uv_runs_and_once_after(
    target: Path, lab: Lab, lab_kind: str, home: Path, index: Path
) -> None:
    """Discovery, the Python request, uv's settings, the cache dir, the build shim, what
    cannot be fingerprinted and the record's fingerprint (by content, where the times do not
    tell an edit) share one read of each file before uv runs; after it, what uv may have
    written is read afresh, once (measured before: pyproject.toml opened 12 times, uv.lock
    4, .python-version 3). And the record still holds what uv wrote: the uv.lock it rewrote,
    not the one read before it ran."""
    project = write_project(target / "demo", dependencies=["alpha"])
    env = project_environ(home)
    first = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    old_lock = (project / "uv.lock").read_bytes()
    write_project(project, dependencies=["alpha", "gamma"])  # (uv locks again: a new uv.lock)
    opened = _counted(lab, lab_kind, ["sync", *index_args(index)], project, env)
    assert max(opened.values()) <= 2, opened
    new_lock = (project / "uv.lock").read_bytes()
    assert new_lock != old_lock and b'name = "gamma"' in new_lock
    report, proc = sync_json(project, env, index)
    assert report["uv_ran"] is False, proc.stderr  # (the record holds: a no-op)
    import marshal
    import zlib

    recorded = marshal.loads((project / ".venv" / ".anyvenv-sync.inputs").read_bytes())
    size, _, _, digest = recorded["files"][str(project / "uv.lock")]
    assert (size, digest) == (len(new_lock), zlib.crc32(new_lock))
    # and anyvenv run, which syncs first, alike
    write_project(project, dependencies=["alpha"])
    command = ["run", *index_args(index), "--", "python", "-c", "import alpha"]
    opened = _counted(lab, lab_kind, command, project, env)
    assert max(opened.values()) <= 2, opened
    report, proc = sync_json(project, env, index, "--inexact")
    assert report["uv_ran"] is False, proc.stderr
