"""Bind mounts of the local disk (``lab.bind_target``): one filesystem and one device number,
but two mounts, between which a hard link fails with EXDEV; and a project seen through another
mount than the one its env was placed on (a ``noexec`` bind, as an image layer or a remount)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from project_support import (
    alpha_says_hi,
    anyvenv,
    needs_pythons,
    project_environ,
    sync_json,
    write_project,
)

from lab import Lab
from support import BASE, one_line_error, run_cli

pytestmark = [pytest.mark.mount, pytest.mark.timeout(300)]

UV_FELL_BACK = ("Failed to hardlink", "falling back")


def _same_device(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


@pytest.mark.parametrize("by", ["mount id", "mountinfo"])
def test_two_mounts_of_one_disk_are_not_one_filesystem(
    lab: Lab, by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anyvenv.fs import mounts
    from anyvenv.fs.place import same_filesystem

    if by == "mountinfo":  # (where no mount id can be read)
        monkeypatch.setattr(mounts, "mount_id", lambda path: None)
    else:
        assert isinstance(mounts.mount_id(BASE), int)
    source = lab.target("local")
    bound = lab.bind_target(source=source)
    assert _same_device(bound, source) and _same_device(bound, BASE)
    assert not same_filesystem(bound, source) and not same_filesystem(BASE, bound)
    (bound / "sub").mkdir()
    assert same_filesystem(BASE, source) and same_filesystem(bound, bound / "sub")


def test_a_venv_on_a_nosymfollow_bind_of_the_bases_disk_is_copied(lab: Lab) -> None:
    """The base is on this disk, but not on this mount: no hard link reaches it (EXDEV)."""
    target = lab.bind_target("nosymfollow")
    assert _same_device(target, BASE)
    env = target / "env"
    proc = run_cli("venv", str(env), "--python", str(BASE), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["strategy"] == "copy"
    ran = subprocess.run(
        [env / "bin" / "python", "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ran.returncode, ran.stdout.strip()) == (0, str(env)), ran.stderr


def test_a_hard_link_the_plan_could_not_tell_crosses_mounts_is_copied_instead(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the mounts cannot be told apart (no mount id to read), the planned hard link
    fails with EXDEV: the interpreter is copied, and the env says so."""
    import anyvenv
    from anyvenv.envbuild import plan

    monkeypatch.setattr(plan, "same_filesystem", lambda a, b: True)
    target = lab.bind_target("nosymfollow")
    made = anyvenv.create(target / "env", python=str(BASE))
    assert made.strategy.value == "copy" and "crossed mounts (EXDEV)" in made.reason
    assert "anyvenv-strategy = copy" in (target / "env" / "pyvenv.cfg").read_text()


@pytest.mark.parametrize("recorded", ["copy", "hardlink"])
def test_repair_says_a_hard_link_it_copied_was_copied(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, recorded: str
) -> None:
    """repair planned a hard link, met EXDEV and copied: pyvenv.cfg said (or was rewritten to
    say) anyvenv-strategy = hardlink, and its changes "placed by hardlink"; now they say copy,
    as venv does (with the config as it was where it said copy already)."""
    import anyvenv
    from anyvenv.envbuild import plan
    from anyvenv.repair.apply import repair

    monkeypatch.setattr(plan, "same_filesystem", lambda a, b: True)
    target = lab.bind_target("nosymfollow")
    env = target / "env"
    anyvenv.create(env, python=str(BASE))
    cfg = env / "pyvenv.cfg"
    text = cfg.read_text().replace("anyvenv-strategy = copy", f"anyvenv-strategy = {recorded}")
    cfg.write_text(text)
    for python in env.glob("bin/python*"):
        python.unlink()
    report = repair(env)
    assert report.usable, report.to_json()
    assert "anyvenv-strategy = copy" in cfg.read_text()
    placed = [c for c in report.changes if c.path.name.startswith("python")]
    assert placed and all("placed by copy" in c.detail for c in placed), report.changes
    assert all("crossed mounts (EXDEV)" in c.detail for c in placed), report.changes
    rewrote = [c.detail for c in report.changes if c.path == cfg]
    assert rewrote == (["set anyvenv-strategy = copy"] if recorded == "hardlink" else []), rewrote


@needs_pythons
def test_a_uv_cache_on_another_bind_of_the_same_disk_is_copied_from(
    lab: Lab, index: Path, tmp_path: Path
) -> None:
    """The devcontainer pattern: the project and uv's cache bound in apart from one disk."""
    project_mount, cache = lab.bind_target(), lab.bind_target()
    assert _same_device(project_mount, cache)
    project = write_project(project_mount / "demo")
    env = project_environ(tmp_path, UV_CACHE_DIR=str(cache))
    report, proc = sync_json(project, env, index)
    assert report["link_mode"] == "copy", report["link_mode_reason"]
    assert not any(words in proc.stderr for words in UV_FELL_BACK), proc.stderr
    alpha_says_hi(project, env)


@needs_pythons
def test_a_project_seen_through_a_noexec_bind_gets_its_env_placed_again(
    lab: Lab, index: Path, tmp_path: Path
) -> None:
    """Synced in place; then the same path is a noexec mount (size and mtime of every file as
    they were): the env is placed again, outside the project, and runs."""
    project = write_project(lab.target("local") / "demo")
    env = project_environ(tmp_path)
    first, _ = sync_json(project, env, index)
    assert first["placement"] == "in-place"
    lab.bind_target("noexec", source=project, over=True)
    try:
        report, _ = sync_json(project, env, index)
        assert report["placement"] == "elsewhere", report
        ran = anyvenv("run", "alpha-hello", cwd=project, env=env)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    finally:
        lab.unbind(project)


@needs_pythons
def test_a_synced_project_bound_again_with_other_options_alone_is_decided_again(
    lab: Lab, index: Path, tmp_path: Path
) -> None:
    """The same mount point, type and files; only the mount's options differ (a second bind
    over the first, noexec): the sync state saved on the first is no answer for the second
    (mount_basis keeps the options), so the env is placed again and runs."""
    from anyvenv.fs.mounts import mount_of

    project = write_project(lab.target("local") / "demo")
    lab.bind_target(source=project, over=True)
    try:
        env = project_environ(tmp_path)
        first, _ = sync_json(project, env, index)
        assert first["placement"] == "in-place"
        before = mount_of(project)
        lab.bind_target("noexec", source=project, over=True)
        try:
            after = mount_of(project)
            assert before is not None and after is not None
            assert (after.fstype, after.mount_point) == (before.fstype, before.mount_point)
            assert after.options != before.options
            report, _ = sync_json(project, env, index)
            assert report["action"] != "reused" and report["placement"] == "elsewhere", report
            alpha_says_hi(project, env)
        finally:
            lab.unbind(project)
    finally:
        lab.unbind(project)


@needs_pythons
def test_a_kept_link_mode_is_decided_again_when_the_cache_is_another_mount(
    lab: Lab, index: Path, tmp_path: Path
) -> None:
    """Hard links from the cache, decided while it was on the env's mount; then a bind
    mount over the cache's path (the same variable, the same device number)."""
    base = lab.target("local")
    project, cache = write_project(base / "demo"), base / "uv-cache"
    env = project_environ(tmp_path, UV_CACHE_DIR=str(cache))
    first, _ = sync_json(project, env, index)
    assert first["link_mode"] in ("hardlink", "clone")
    lab.bind_target(source=cache, over=True)
    try:
        report, proc = sync_json(project, env, index, "--reinstall")
        assert report["link_mode"] == "copy", report["link_mode_reason"]
        assert not any(words in proc.stderr for words in UV_FELL_BACK), proc.stderr
    finally:
        lab.unbind(cache)


@needs_pythons
def test_run_names_noexec_and_the_mount_where_a_script_has_its_exec_bits(
    lab: Lab, index: Path, tmp_path: Path
) -> None:
    project = write_project(lab.target("local") / "demo")
    env = project_environ(tmp_path)
    sync_json(project, env, index)
    lab.bind_target("noexec", source=project, over=True)
    try:
        ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
        assert ran.returncode != 0
        error = one_line_error(ran)
        assert "its filesystem runs no file (noexec" in error and str(project) in error, error
        assert "chmod is ignored" not in ran.stderr and "anyvenv repair" not in ran.stderr
    finally:
        lab.unbind(project)


@needs_pythons
def test_run_of_a_moved_env_on_a_read_only_mount_says_what_check_says(
    lab: Lab, index: Path, tmp_path: Path
) -> None:
    """A console script whose interpreter line names the env's old path, on a mount that
    cannot be written: 'anyvenv repair' alone cannot run there."""
    made = lab.target("local")
    env = project_environ(tmp_path)
    sync_json(write_project(made / "demo"), env, index)
    os.rename(made / "demo", made / "moved")
    project = lab.bind_target("ro", source=made) / "moved"
    try:
        checked = run_cli("check", str(project / ".venv"))
        ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=env)
        assert ran.returncode != 0
        assert "remount it read-write, then run: anyvenv repair" in checked.stdout, checked.stdout
        assert "remount it read-write, then run: anyvenv repair" in ran.stderr, ran.stderr
    finally:
        lab.unbind(project.parent)


@pytest.mark.parametrize("mode", [0o744, 0o700, 0o644])
def test_a_script_this_user_may_not_execute_on_an_ordinary_mount_is_not_said_noexec(
    tmp_path: Path, mode: int
) -> None:
    """A script with exec bits for its owner alone (0744, 0700 of another user), on a mount
    that runs files: said as this user's lack of permission, with its mode and owner, not
    as a filesystem mounted noexec; one without any exec bit as not executable."""
    import errno

    from anyvenv.cli.run import _not_runnable

    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    script = env / "bin" / "tool"
    script.write_text("#!/bin/sh\n")
    script.chmod(mode)
    denied = PermissionError(errno.EACCES, "Permission denied")
    refusal = _not_runnable("tool", denied, str(env), str(tmp_path / "elsewhere"))
    assert "noexec" not in refusal.message
    if mode & 0o111:
        assert refusal.message == (
            f"cannot run {script}: this user may not execute it (mode {mode:04o}, owner root)"
        )
    else:
        assert refusal.message.startswith(f"cannot run {script}: it is not executable (mode 0644")
