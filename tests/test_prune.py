"""``anyvenv cache prune``: envs kept outside projects go when their project stops using them,
and only then. Real syncs make the envs: on a noexec tmpfs of the test's own (a filesystem it
can unmount) and on the lab's chmod-ENOSYS mount (shadow envs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_support import anyvenv, index_args, needs_pythons, project_environ, write_project

from anyvenv.fs import env_lock_path
from anyvenv.fs.leftovers import REMOVING_MARK, RETIRED_MARK, STAGING_MARK, this_host
from anyvenv.fs.lock import ShareLock
from anyvenv.fs.mounts import read_mounts
from anyvenv.project.inputs import RECORD_NAME
from anyvenv.project.owners import (
    OWNER_NAME,
    EnvKind,
    Owner,
    owner_of,
    read_owner,
    record_owner,
    render_owner,
)
from lab import Lab
from lab.faults import HANG_NAME_PREFIX
from support import tmpfs_mounted

pytestmark = [needs_pythons, pytest.mark.timeout(300)]


def _prune(env: dict[str, str], *extra: str, timeout: float = 240) -> dict[str, dict[str, object]]:
    done = anyvenv("cache", "prune", "--json", *extra, cwd=Path("/"), env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return {str(entry["path"]): entry for entry in report["entries"]}


def _sync(project: Path, env: dict[str, str], index: Path) -> dict[str, object]:
    done = anyvenv("sync", "--json", *index_args(index), cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _synced(project: Path, env: dict[str, str], index: Path, placement: str) -> tuple[str, Owner]:
    """Sync ``project``; the env kept outside it (``elsewhere`` env or ``shadow``) and its
    owner record."""
    report = _sync(project, env, index)
    assert report["placement"] == placement
    path = str(report["env" if placement == "elsewhere" else "shadow"])
    owner = read_owner(path)
    assert owner is not None
    return path, owner


@pytest.fixture
def noexec_share(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted noexec: nothing on it can run, so a project's env goes elsewhere."""
    with tmpfs_mounted(tmp_path / "share", "noexec,size=16m", "anyvenv-prune-test") as share:
        yield share


def _device_of(path: Path) -> str:
    device = os.stat(path).st_dev
    return f"{os.major(device)}:{os.minor(device)}"


class ElsewhereProject:
    """A project synced on the noexec share: its env lives in the per-user envs dir."""

    def __init__(self, home: Path, share: Path, index: Path, name: str = "demo") -> None:
        self.env = project_environ(home)
        self.index = index
        self.project = write_project(share / name)
        self.elsewhere, self.owner = _synced(self.project, self.env, index, "elsewhere")


@pytest.fixture
def synced(tmp_path: Path, noexec_share: Path, index: Path) -> ElsewhereProject:
    return ElsewhereProject(tmp_path / "home", noexec_share, index)


def test_an_env_elsewhere_is_kept_while_its_pointer_names_it(
    synced: ElsewhereProject, noexec_share: Path
) -> None:
    env, project, elsewhere, owner = synced.env, synced.project, synced.elsewhere, synced.owner
    assert (owner.declared, owner.kind, owner.mount_point, owner.project) == (
        str(project / ".venv"),
        EnvKind.ELSEWHERE,
        str(noexec_share),
        str(project),
    )
    in_use = _prune(env)[elsewhere]
    assert (in_use["verdict"], in_use["project"]) == ("in-use", str(project))

    (project / ".venv").unlink()  # the user removes the pointer: the env is no one's now
    dry = _prune(env, "--dry-run")[elsewhere]
    assert (dry["verdict"], dry["removed"]) == ("unused", False)
    assert os.path.isdir(elsewhere)
    done = _prune(env)[elsewhere]
    assert (done["verdict"], done["removed"]) == ("unused", True)
    assert "no longer points to it" in str(done["reason"])
    assert not os.path.lexists(elsewhere)
    assert os.listdir(os.path.dirname(elsewhere)) == []  # nothing left aside either
    assert project.is_dir() and (project / "pyproject.toml").is_file()  # the user's files


def test_an_unmounted_project_keeps_its_env_and_a_deleted_one_frees_it(
    synced: ElsewhereProject, noexec_share: Path, index: Path
) -> None:
    env, elsewhere = synced.env, synced.elsewhere
    subprocess.run(["umount", noexec_share], check=True)  # the share is not mounted now
    try:
        kept = _prune(env)[elsewhere]
        assert kept["verdict"] == "kept" and "is not mounted now" in str(kept["reason"])
        assert os.path.isdir(elsewhere)
    finally:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "noexec", "anyvenv-prune-test", noexec_share],
            check=True,
        )
    # a new tmpfs from the same source: the project is gone from it. Whether prune may say so
    # depends on the device number the kernel gave the new mount (often the old one again)
    remounted = _device_of(noexec_share)
    after = _prune(env, "--dry-run")[elsewhere]
    if remounted == synced.owner.mount_device:
        assert after["verdict"] == "unused", after
    else:
        assert after["verdict"] == "kept" and "is not the project's" in str(after["reason"])
    # another filesystem mounted over the project's, from the same source (or the view of
    # another mount namespace): the project's absence there proves nothing, so the env stays
    second = ElsewhereProject(noexec_share.parent / "home2", noexec_share, index, "second")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "noexec", "anyvenv-prune-test", noexec_share], check=True
    )
    try:
        other = _prune(second.env)[second.elsewhere]
        assert other["verdict"] == "kept", other
        assert "is not the project's" in str(other["reason"])
    finally:
        subprocess.run(["umount", noexec_share], check=True)
    assert _prune(second.env, "--dry-run")[second.elsewhere]["verdict"] == "in-use"
    # a project deleted from the filesystem it was synced on frees its env, said of the
    # project (its root, in the owner record), not of the env's own directory
    shutil.rmtree(second.project)
    said = anyvenv("cache", "prune", "--dry-run", cwd=Path("/"), env=second.env)
    assert said.returncode == 0, said.stderr
    line = (
        f"  unused   {second.elsewhere}  (project {second.project}: its project directory is gone)"
    )
    assert line in said.stderr.splitlines(), said.stderr
    gone = _prune(second.env)[second.elsewhere]
    assert (gone["verdict"], gone["removed"]) == ("unused", True)
    assert (gone["project"], gone["reason"]) == (
        str(second.project),
        "its project directory is gone",
    )
    assert not os.path.lexists(second.elsewhere)


def test_an_env_path_below_the_project_is_named_as_what_is_gone(
    tmp_path: Path, noexec_share: Path, index: Path
) -> None:
    """Under UV_PROJECT_ENVIRONMENT=.tox/py312 the record's path is in .tox: its removal frees
    the env, said as .tox gone, not as the project's directory (which is still there)."""
    env = project_environ(tmp_path / "home", UV_PROJECT_ENVIRONMENT=".tox/py312")
    project = write_project(noexec_share / "demo")
    elsewhere, owner = _synced(project, env, index, "elsewhere")
    assert (owner.declared, owner.project) == (str(project / ".tox" / "py312"), str(project))
    shutil.rmtree(project / ".tox")
    gone = _prune(env)[elsewhere]
    assert (gone["verdict"], gone["removed"], gone["project"]) == ("unused", True, str(project))
    reason = str(gone["reason"])
    assert reason == (
        f"the directory {project / '.tox'} that held its project env path py312 is gone"
    ), reason
    assert project.is_dir()


def test_an_env_named_directly_or_through_a_link_is_in_use(
    synced: ElsewhereProject,
) -> None:
    """The env named directly by UV_PROJECT_ENVIRONMENT, or through a symlink at .venv, is in
    use: the record keeps naming the project, and prune follows the link."""
    env, project, elsewhere = synced.env, synced.project, synced.elsewhere
    pointer = project / ".venv"
    pointer.rename(project / "pointer.bak")
    pointer.symlink_to(elsewhere)  # what uv would follow
    assert _prune(env, "--dry-run")[elsewhere]["verdict"] == "in-use"
    pointer.unlink()
    (project / "pointer.bak").rename(pointer)

    direct = anyvenv(
        "sync", "--json", *index_args(synced.index), cwd=project,
        env={**env, "UV_PROJECT_ENVIRONMENT": elsewhere},
    )  # fmt: skip
    assert direct.returncode == 0, direct.stderr
    owner = read_owner(elsewhere)
    assert owner is not None and owner.declared == str(pointer), "the record keeps its project"
    assert _prune(env)[elsewhere]["verdict"] == "in-use"


def test_a_project_whose_share_stopped_answering_keeps_its_env(tmp_path: Path, index: Path) -> None:
    """A FUSE connection that broke (sshfs after its connection dropped): stat gives
    ENOTCONN, which is no proof that the project is gone."""
    import signal
    import sys

    backing, mount_point = tmp_path / "backing", tmp_path / "mnt"
    backing.mkdir()
    mount_point.mkdir()
    lab_dir = Path(__file__).parent
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lab.faultfs",
            str(backing),
            str(mount_point),
            "--mode",
            "mode-0644",
        ],
        cwd=lab_dir,
        env={**os.environ, "PYTHONPATH": str(lab_dir)},
    )
    try:
        for _ in range(100):
            if os.path.ismount(mount_point):
                break
            time.sleep(0.05)
        project = ElsewhereProject(tmp_path / "home", mount_point, index)
        connection = os.minor(os.stat(mount_point).st_dev)
        daemon.send_signal(signal.SIGSTOP)
        Path(f"/sys/fs/fuse/connections/{connection}/abort").write_text("1")
        kept = _prune(project.env)[project.elsewhere]
        assert kept["verdict"] == "kept", kept
        assert "cannot be read" in str(kept["reason"]) and os.path.isdir(project.elsewhere)
    finally:
        daemon.kill()
        daemon.wait()
        subprocess.run(["umount", "-l", mount_point], check=False)


def test_a_moved_project_takes_its_env_along_at_its_next_sync(
    synced: ElsewhereProject, noexec_share: Path, index: Path
) -> None:
    env, project, elsewhere = synced.env, synced.project, synced.elsewhere
    moved = noexec_share / "renamed"
    project.rename(moved)
    assert _sync(moved, env, index)["env"] == elsewhere  # the pointer moved with it
    owner = read_owner(elsewhere)
    assert owner is not None and owner.declared == str(moved / ".venv")
    assert _prune(env)[elsewhere]["verdict"] == "in-use"


def test_a_project_that_is_syncing_is_not_judged(synced: ElsewhereProject) -> None:
    env, project, elsewhere = synced.env, synced.project, synced.elsewhere
    (project / ".venv").unlink()
    with ShareLock(env_lock_path(str(project / ".venv"))):  # as a sync in progress holds it
        busy = _prune(env)[elsewhere]
    assert busy["verdict"] == "kept" and "lock could not be taken" in str(busy["reason"])
    assert os.path.isdir(elsewhere)


def test_envs_without_an_owner_record_and_live_staging_are_kept(tmp_path: Path) -> None:
    env = project_environ(tmp_path / "home")
    envs = Path(env["XDG_DATA_HOME"], "anyvenv", "envs")
    (envs / "old-0123456789abcdef" / "bin").mkdir(parents=True)  # made before records
    (envs / "old-0123456789abcdef" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (envs / "notes").mkdir()  # the user's own, put there by hand
    host = this_host()
    live = envs / f".x{STAGING_MARK}{host}-{os.getpid()}-aaaaaa"
    live.mkdir()
    gone_pid = _exited_pid()
    left = envs / f".y{STAGING_MARK}{host}-{gone_pid}-bbbbbb"
    (left / "lib").mkdir(parents=True)
    # a project's env whose name holds a mark (a directory named so): not a leftover
    named = envs / f"x{RETIRED_MARK}{host}-{gone_pid}-a-0123456789abcdef"
    (named / "bin").mkdir(parents=True)
    found = _prune(env)
    old = found[str(envs / "old-0123456789abcdef")]
    assert old["verdict"] == "kept" and "no owner record" in str(old["reason"])
    notes = found[str(envs / "notes")]
    assert (notes["verdict"], notes["reason"]) == ("kept", "not an environment")
    assert found[str(left)]["kind"] == "leftover" and found[str(left)]["removed"] is True
    assert found[str(named)]["verdict"] == "kept" and named.is_dir()
    assert str(live) not in found
    assert sorted(os.listdir(envs)) == sorted(
        ["old-0123456789abcdef", "notes", live.name, named.name]
    )


def test_one_directory_for_envs_and_shadows_is_judged_once(tmp_path: Path) -> None:
    both = tmp_path / "both"
    env = project_environ(
        tmp_path / "home", ANYVENV_ENVS_DIR=str(both), ANYVENV_SHADOW_DIR=str(both) + "/"
    )
    (both / "old-0123456789abcdef").mkdir(parents=True)
    done = anyvenv("cache", "prune", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert [e["path"] for e in json.loads(done.stdout)["entries"]] == [
        str(both / "old-0123456789abcdef")
    ]


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_shadow_env_goes_when_its_env_is_gone(
    lab_kind: str, target: Path, tmp_path: Path, index: Path
) -> None:
    env = project_environ(tmp_path / "home")
    project = write_project(target / "demo")
    shadow, owner = _synced(project, env, index, "shadow")
    assert (owner.declared, owner.kind, owner.project) == (
        str(project / ".venv"),
        EnvKind.SHADOW,
        str(project),
    )
    assert _prune(env)[shadow]["verdict"] == "in-use"
    record = Path(shadow, OWNER_NAME)  # (as an earlier release wrote it: no project)
    record.write_text(
        "".join(
            line
            for line in record.read_text().splitlines(True)
            if not line.startswith(("project ", "project-hex"))
        )
    )
    assert getattr(read_owner(shadow), "project", None) == ""
    # the next sync of another release (the up-to-date shortcut compares anyvenv's version)
    # records the project
    (project / ".venv" / RECORD_NAME).unlink()
    _sync(project, env, index)
    assert getattr(read_owner(shadow), "project", None) == str(project)
    shutil.rmtree(project / ".venv")
    done = _prune(env)[shadow]
    assert (done["verdict"], done["removed"], done["project"]) == ("unused", True, str(project))
    assert "no env at" in str(done["reason"])
    assert not os.path.lexists(shadow)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_shadow_named_by_another_releases_state_is_kept(
    lab_kind: str, target: Path, tmp_path: Path, index: Path
) -> None:
    """The env's state was saved by another release of anyvenv (another state version,
    fields this one lacks): the shadow it names is still in use; a state nothing can read is
    no proof the shadow is unused either. Neither is removed."""
    import marshal

    from anyvenv.project.state import STATE_NAME

    env = project_environ(tmp_path / "home")
    project = write_project(target / "demo")
    shadow, _ = _synced(project, env, index, "shadow")
    state = project / ".venv" / STATE_NAME
    data = marshal.loads(state.read_bytes())
    data.update(state_version=99, field_of_a_later_release=True)
    state.write_bytes(marshal.dumps(data))
    done = _prune(env)[shadow]
    assert (done["verdict"], done["removed"]) == ("in-use", False), done
    state.write_bytes(b"not marshal")
    done = _prune(env)[shadow]
    assert (done["verdict"], done["removed"]) == ("kept", False), done
    assert "cannot be read" in str(done["reason"])
    assert os.path.isdir(shadow)
    # a state (of any release) of an env that installs in place now frees the shadow
    state.write_bytes(marshal.dumps({**data, "placement": "in-place", "shadow": None}))
    done = _prune(env)[shadow]
    assert (done["verdict"], done["removed"]) == ("unused", True), done
    assert not os.path.lexists(shadow)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_shadow_of_an_earlier_shadow_dir_goes(
    lab_kind: str, target: Path, tmp_path: Path, index: Path
) -> None:
    """The env now installs through a shadow under another ANYVENV_SHADOW_DIR of this
    user's (a per-project one, set by direnv): the old shadow is no one's. (Kept is only one
    whose env last installed through a shadow that is not here, or another user's.)"""
    env = project_environ(tmp_path / "home")
    project = write_project(target / "demo")
    first, _ = _synced(project, env, index, "shadow")
    other = {**env, "ANYVENV_SHADOW_DIR": str(tmp_path / "other-shadows")}
    second, _ = _synced(project, other, index, "shadow")
    assert Path(second).is_relative_to(tmp_path / "other-shadows")
    done = _prune(env)[first]
    assert (done["verdict"], done["removed"]) == ("unused", True), done
    assert not os.path.lexists(first) and os.path.isdir(second)


def test_a_pointer_to_another_env_that_is_here_frees_this_one(
    synced: ElsewhereProject, tmp_path: Path
) -> None:
    """Only a pointer naming an env that is not here (another machine's) keeps this one:
    one naming another env here, which is then the project's, does not."""
    elsewhere_env = tmp_path / "another-env"
    elsewhere_env.mkdir()
    (synced.project / ".venv").write_text(f"{elsewhere_env}\n")
    done = _prune(synced.env, "--dry-run")[synced.elsewhere]
    assert done["verdict"] == "unused", done
    (synced.project / ".venv").write_text(f"{tmp_path / 'not-here'}\n")
    kept = _prune(synced.env, "--dry-run")[synced.elsewhere]
    assert kept["verdict"] == "kept" and "which is not here" in str(kept["reason"]), kept
    # a file anyvenv does not read as a pointer (another release's form): no proof either
    (synced.project / ".venv").write_text(f'{{"env": "{synced.elsewhere}"}}\n')
    unread = _prune(synced.env)[synced.elsewhere]
    assert (unread["verdict"], unread["removed"]) == ("kept", False), unread
    assert "does not read as a pointer" in str(unread["reason"])
    assert os.path.isdir(synced.elsewhere)


def test_a_broken_owner_record_counts_as_none(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    assert read_owner(str(env_dir)) is None
    (env_dir / OWNER_NAME).write_text("owner = relative/path\nkind = elsewhere\n")
    assert read_owner(str(env_dir)) is None
    (env_dir / OWNER_NAME).write_text(f"owner = {tmp_path}/p/.venv\nkind = nonsense\n")
    assert read_owner(str(env_dir)) is None
    # a project that is not absolute, or whose hex does not read: none named (the env is
    # still judged by its declared path)
    for project_lines in (
        "project = relative/p\n",
        f"project = {tmp_path}/p\nproject-hex = {os.fsencode('relative/p').hex()}\n",
        f"project = {tmp_path}/p\nproject-hex = zz\n",
    ):
        (env_dir / OWNER_NAME).write_text(
            f"owner = {tmp_path}/p/.venv\n{project_lines}kind = elsewhere\n"
        )
        owner = read_owner(str(env_dir))
        assert owner is not None and owner.declared == f"{tmp_path}/p/.venv", project_lines
        assert owner.project == "" and owner.project_named() == f"{tmp_path}/p", project_lines
    assert record_owner(str(env_dir), f"{tmp_path}/p/.venv", EnvKind.SHADOW, project=None)
    owner = read_owner(str(env_dir))
    assert owner is not None and owner.kind is EnvKind.SHADOW and owner.mount_point
    assert owner.project == ""  # (the shadow of an env no project stands for)
    missing = str(tmp_path / "missing")
    assert not record_owner(missing, f"{tmp_path}/p/.venv", EnvKind.SHADOW, project=None)


@pytest.mark.parametrize(
    "name",
    ["nl\nproj", " spaced ", "caf\udce9", "a = b # c", "x\nmount-point = /x\nowner-hex = 2f"],
)
def test_an_owner_record_keeps_any_project_path(tmp_path: Path, name: str) -> None:
    """A newline (which ends a line of the record), spaces at the ends, bytes that are not
    UTF-8: the owner read back is the path written, so prune asks the right project."""
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    root = os.path.join(str(tmp_path), name)
    declared = os.path.join(root, ".venv")
    assert record_owner(str(env_dir), declared, EnvKind.ELSEWHERE, project=root)
    owner = read_owner(str(env_dir))
    assert owner is not None and (owner.declared, owner.project) == (declared, root)
    assert owner.mount_point != "/x", "a path cannot stand for the lines after it"
    assert owner == owner_of(declared, EnvKind.ELSEWHERE, root)  # (not rewritten each sync)


def test_an_owner_record_without_the_project_is_read_and_named_as_before(
    tmp_path: Path,
) -> None:
    """A record an earlier release wrote names no project: it is still read (and judged), its
    gone project named as the directory that held its env path; the project's next sync
    records the project."""
    env = project_environ(tmp_path / "home")
    orphan = Path(env["XDG_DATA_HOME"], "anyvenv", "envs", "demo-0123456789abcdef")
    (orphan / "lib").mkdir(parents=True)
    project = tmp_path / "deleted-project"
    project.mkdir()
    assert record_owner(
        str(orphan), str(project / ".venv"), EnvKind.ELSEWHERE, project=str(project)
    )
    record = (orphan / OWNER_NAME).read_text()
    old = "".join(
        line for line in record.splitlines(True) if not line.startswith(("project ", "project-hex"))
    )
    assert "project-inode" in old and "project-hex" not in old
    (orphan / OWNER_NAME).write_text(old)
    owner = read_owner(str(orphan))
    assert owner is not None and owner.declared == str(project / ".venv")
    assert owner.project == "" and owner.project_named() == str(project)
    project.rmdir()
    gone = _prune(env)[str(orphan)]
    assert (gone["verdict"], gone["removed"], gone["project"]) == ("unused", True, None)
    assert gone["reason"] == f"the directory {project} that held its project env path .venv is gone"


def test_cache_dir_names_the_directories(tmp_path: Path) -> None:
    env = project_environ(tmp_path / "home", ANYVENV_SHADOW_DIR=str(tmp_path / "sh"))
    done = anyvenv("cache", "dir", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["envs"] == os.path.join(env["XDG_DATA_HOME"], "anyvenv", "envs")
    assert found["shadow"] == str(tmp_path / "sh")
    text = anyvenv("cache", "dir", cwd=tmp_path, env=env)
    assert text.returncode == 0 and str(tmp_path / "sh") in text.stdout
    bad = anyvenv("cache", "purge", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "invalid choice" in bad.stderr


@pytest.mark.usefixtures("hung_watchdog")
def test_a_project_on_a_share_that_hangs_keeps_its_env_and_prune_ends(
    tmp_path: Path, lab: Lab
) -> None:
    """The project's directory is on a mount that stops answering: prune gives up on it after
    ANYVENV_FS_TIMEOUT, keeps the env and still ends."""
    root = os.path.realpath(lab.mount("faultfs:hang-symlink").root)
    source = next(m.source for m in read_mounts() if m.mount_point == root)
    declared = Path(lab.hung_target(), f"{HANG_NAME_PREFIX}-project", ".venv")
    env = project_environ(tmp_path / "home", ANYVENV_FS_TIMEOUT="2")
    kept = Path(env["XDG_DATA_HOME"], "anyvenv", "envs", "demo-0123456789abcdef")
    kept.mkdir(parents=True)
    owner = Owner(str(declared), EnvKind.ELSEWHERE, root, source)
    (kept / OWNER_NAME).write_bytes(render_owner(owner))
    started = time.monotonic()
    found = _prune(env, timeout=30)[str(kept)]
    assert time.monotonic() - started < 25
    assert found["verdict"] == "kept" and "is not answering" in str(found["reason"])
    assert kept.is_dir()


def test_a_prune_killed_while_removing_leaves_a_leftover_the_next_one_clears(
    tmp_path: Path,
) -> None:
    env = project_environ(tmp_path / "home")
    envs = Path(env["XDG_DATA_HOME"], "anyvenv", "envs")
    orphan = envs / "demo-0123456789abcdef"
    site = orphan / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    for index in range(20):
        (site / f"module{index}.py").write_text("x = 1\n")
    project = tmp_path / "project"  # still there, but its .venv points nowhere now
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\n")
    assert record_owner(str(orphan), str(project / ".venv"), EnvKind.ELSEWHERE, project=None)
    killed = anyvenv(
        "cache",
        "prune",
        cwd=tmp_path,
        env={**env, "ANYVENV_TEST_KILL_AT": f"remove-aside:{orphan.name}"},
    )
    assert killed.returncode == -9, killed.stderr
    assert not os.path.lexists(orphan)  # never half-removed under its live name
    # moved while the project's lock was held (its holder died with it): a sync starting
    # after the verdict cannot have taken the env up again before it went
    assert os.path.exists(env_lock_path(str(project / ".venv")))
    (aside,) = os.listdir(envs)
    assert REMOVING_MARK in aside  # not a retired name, which the next run would put back
    found = _prune(env)
    assert found[str(envs / aside)]["kind"] == "leftover"
    assert os.listdir(envs) == []
    assert (project / "pyproject.toml").read_text() == "[project]\n"


def test_an_env_a_killed_rebuild_left_aside_is_put_back_not_removed(tmp_path: Path) -> None:
    """Killed between the two renames of a rebuild where directories cannot be swapped, the
    env is under its retired name and nothing is at its own: prune puts it back."""
    env = project_environ(tmp_path / "home")
    envs = Path(env["XDG_DATA_HOME"], "anyvenv", "envs")
    aside = envs / f".demo-0123456789abcdef{RETIRED_MARK}{this_host()}-{_exited_pid()}-cccccc"
    (aside / "bin").mkdir(parents=True)
    _prune(env)
    assert (envs / "demo-0123456789abcdef" / "bin").is_dir() and not aside.exists()


def test_another_users_unused_env_is_kept_and_said_not_hidden(nobody_scratch: Path) -> None:
    """A shared envs dir: an unused env of root's, which this user may not remove, is kept
    where it is, saying why, not reported removed while left under a removal name."""
    from anyvenv.project.owners import EnvKind, record_owner
    from support import run_python_as_nobody

    envs = nobody_scratch / "envs"
    env = envs / "gone-0123456789abcdef"
    (env / "lib").mkdir(parents=True)
    (env / "lib" / "module.py").write_text("")
    project = nobody_scratch / "deleted-project"
    assert record_owner(str(env), str(project / ".venv"), EnvKind.ELSEWHERE, project=str(project))
    os.chmod(envs, 0o777)
    code = (
        "import os, runpy, sys; os.environ['ANYVENV_ENVS_DIR'] = sys.argv[1]; "
        "os.environ['ANYVENV_SHADOW_DIR'] = sys.argv[1]; "
        "sys.argv = ['anyvenv', 'cache', 'prune', '--json']; "
        "runpy.run_module('anyvenv', run_name='__main__')"
    )
    proc = run_python_as_nobody("-c", code, str(envs))
    assert proc.returncode == 0, proc.stderr
    [entry] = json.loads(proc.stdout)["entries"]
    assert (entry["path"], entry["verdict"], entry["removed"]) == (str(env), "kept", False)
    assert f"you may not change {env} (owned by root)" in str(entry["reason"])
    assert os.listdir(envs) == [env.name] and (env / "lib" / "module.py").exists()
