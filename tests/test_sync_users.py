"""One project on a team share where nothing can be executed (a noexec tmpfs), used by two
users: root syncs it first, so its ``.venv`` is a pointer to root's env in root's home; then
uid 65534 works in it. An env kept off a share is per user: the second user's commands name
root's env for what it is (root's, or one they cannot read) and use an env of their own,
while the pointer keeps naming root's, whose env stays as it was and still runs."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from project_support import anyvenv, index_args, project_environ, write_project

from support import as_nobody, one_line_error, tmpfs_mounted

pytestmark = [pytest.mark.timeout(300)]

NOBODY = 65534
PYTHON = "/usr/bin/python3"  # (a Python both users may run: the tests' own are under /root)


@dataclass
class Share:
    """The project on the share, root's environment for anyvenv, and the env root synced."""

    project: Path
    wheels: Path
    root_home: Path
    root_env: dict[str, str]
    env: Path  # root's env, which .venv names

    def pointer(self) -> str:
        return (self.project / ".venv").read_text()

    def root(self, *args: str) -> subprocess.CompletedProcess[str]:
        return anyvenv(*args, cwd=self.project, env=self.root_env)


@pytest.fixture
def share(nobody_scratch: Path, index: Path) -> Iterator[Share]:
    """The project synced by root on a noexec tmpfs (mode 1777: a team's), the project
    directory writable by both users, and root's env kept in root's home."""
    wheels = nobody_scratch / "wheels"
    shutil.copytree(index, wheels)
    with tmpfs_mounted(nobody_scratch / "share", "noexec,size=64m,mode=1777", "anyvenv-users"):
        project = write_project(nobody_scratch / "share" / "demo", python_version="3.11")
        os.chmod(project, 0o777)
        root_home = nobody_scratch / "root-home"
        root_env = project_environ(root_home, PATH="/usr/bin:/bin")
        made = anyvenv("sync", *index_args(wheels), "--python", PYTHON, cwd=project, env=root_env)
        assert made.returncode == 0, made.stderr
        env = Path((project / ".venv").read_text().strip())
        assert env.is_relative_to(root_home), env
        yield Share(project, wheels, root_home, root_env, env)


@contextlib.contextmanager
def second_user(scratch: Path, wheels: Path) -> Iterator[NobodyRun]:
    """``anyvenv ARGS`` run as uid 65534 (the package and uv copied where it may read them),
    offline on ``wheels``, with a home of its own under ``scratch``."""
    home = scratch / "nobody-home"
    home.mkdir(exist_ok=True)
    os.chown(home, NOBODY, NOBODY)
    with as_nobody(with_uv=True) as (python, env):
        env.update(HOME=str(home), UV_OFFLINE="1", UV_NO_INDEX="1", UV_FIND_LINKS=str(wheels))
        env.update(UV_PYTHON_DOWNLOADS="never")
        yield NobodyRun(python, env, home)


@dataclass
class NobodyRun:
    python: list[str]
    env: dict[str, str]
    home: Path

    def __call__(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.python, "-m", "anyvenv", *args], cwd=cwd, env=self.env,
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=240,
        )  # fmt: skip

    @property
    def envs(self) -> Path:
        return self.home / ".local" / "share" / "anyvenv" / "envs"


def test_check_and_pip_list_name_the_user_whose_env_the_pointer_names(
    share: Share, nobody_scratch: Path
) -> None:
    """Before the second user has an env of their own: root's env is root's (not "does not
    exist"), whether they may read it or not (root's home 0750)."""
    pointer = share.pointer()
    with second_user(nobody_scratch, share.wheels) as nobody:
        for closed in (False, True):
            if closed:
                os.chmod(share.root_home, 0o750)
            why = (
                f"cannot be read by you: you may not enter {share.root_home} (owned by root, "
                "mode 0750; EACCES)"
                if closed
                else "belongs to root (uid 0)"
            )
            for args in (["check"], ["pip", "list"]):
                proc = nobody(*args, cwd=share.project)
                assert (proc.returncode, proc.stdout) == (2, ""), (args, proc.stderr)
                said = one_line_error(proc)
                assert f"names the environment {share.env}, which {why}; you have none" in said
                assert "'anyvenv sync' in the project makes yours" in said
                assert "does not exist" not in said
            doctor = nobody("doctor", cwd=share.project)
            assert doctor.returncode == 0, doctor.stderr
            assert f"which {why}: an env kept off a share is per user" in doctor.stdout
    assert share.pointer() == pointer
