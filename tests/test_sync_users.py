"""One project on a team share where nothing can be executed (a noexec tmpfs), used by two
users: root syncs it first, so its ``.venv`` is a pointer to root's env in root's home; then
uid 65534 works in it. An env kept off a share is per user: the second user's commands name
root's env for what it is (root's, or one they cannot read) and use an env of their own,
while the pointer keeps naming root's, whose env stays as it was and still runs."""

from __future__ import annotations

import contextlib
import json
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

    def assert_roots_env_runs(self) -> None:
        """Root's env, which the pointer names, still runs root's console script."""
        ran = self.root("run", "--no-sync", "alpha-hello")
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr


@pytest.fixture
def share(nobody_scratch: Path, index: Path) -> Iterator[Share]:
    """The project synced by root on a noexec tmpfs (mode 1777: a team's), the project
    directory writable by both users, and root's env kept in root's home."""
    wheels = nobody_scratch / "wheels"
    shutil.copytree(index, wheels)
    for path in [wheels, *wheels.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
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

    def __call__(
        self, *args: str, cwd: Path, options: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """``anyvenv ARGS`` in ``cwd``; ``options``: the Python's own (``-X importtime``)."""
        return subprocess.run(
            [*self.python, *options, "-m", "anyvenv", *args], cwd=cwd, env=self.env,
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


def _tree(env: Path) -> dict[str, int]:
    """Every file and directory in ``env`` with its modification time (ns): what changes
    when anything in it is written."""
    return {str(path): path.lstat().st_mtime_ns for path in [env, *env.rglob("*")]}


def test_the_second_user_syncs_runs_and_installs_into_an_env_of_their_own(
    share: Share, nobody_scratch: Path
) -> None:
    """Root's env is readable (a home 0755) but not the second user's to write: their
    ``pip install``, ``sync``, ``run`` and ``run --no-sync`` all act on one env of their own,
    found again each time, and each that prepares it says so in one line; the pointer
    still names root's env, which is left as it was and still runs."""
    pointer, before = share.pointer(), _tree(share.env)
    with second_user(nobody_scratch, share.wheels) as nobody:
        added = nobody("pip", "install", "gamma", cwd=share.project)
        assert added.returncode == 0, added.stderr
        own = nobody.envs / share.env.name  # (keyed by the project's path and its Python)
        told = (
            f"anyvenv: {share.project / '.venv'} names the environment {share.env}, which "
            f"belongs to root (uid 0); using yours at {own} (an env kept off a share is per "
            "user: the pointer is left to its owner)\n"
        )
        assert told in added.stderr
        assert f"environment at: {own}\n" in added.stderr  # (uv's own line)
        assert list(own.glob("lib/python3.*/site-packages/gamma"))
        assert share.pointer() == pointer
        synced = nobody("sync", "--inexact", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        assert told in synced.stderr and "is a pointer file to it" not in synced.stderr
        code = "import alpha, gamma, sys; print(sys.prefix)"
        for no_sync in ([], ["--no-sync"]):
            ran = nobody("run", *no_sync, "--", "python", "-c", code, cwd=share.project)
            assert (ran.returncode, ran.stdout) == (0, f"{own}\n"), (no_sync, ran.stderr)
        ran = nobody("run", "--no-sync", "alpha-hello", cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
        checked = nobody("check", cwd=share.project)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(f"{own}: usable")
        assert checked.stderr == (
            f"anyvenv: .venv names the environment {share.env}, which belongs to root "
            f"(uid 0); checking yours at {own}\n"
        )
    assert share.pointer() == pointer
    assert _tree(share.env) == before, "root's env was written"
    share.assert_roots_env_runs()
    again = share.root("sync", "--json", *index_args(share.wheels), "--python", PYTHON)
    assert again.returncode == 0, again.stderr
    assert '"action": "reused"' in again.stdout and str(share.env) in again.stdout


def test_an_env_the_second_user_cannot_read_is_not_taken_over(
    share: Share, nobody_scratch: Path
) -> None:
    """Root's home is 0750: the second user cannot even see root's env. Their ``run
    --no-sync`` makes an (empty) env of their own, as uv run --no-sync makes one, and their
    sync fills it; the pointer still names root's env, so that root's commands go on as
    before (not "cannot run 'alpha-hello' ... is it installed in" the other user's env)."""
    pointer = share.pointer()
    os.chmod(share.root_home, 0o750)
    with second_user(nobody_scratch, share.wheels) as nobody:
        own = nobody.envs / share.env.name
        code = "import sys; print(sys.prefix)"
        ran = nobody("run", "--no-sync", "--", "python", "-c", code, cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, f"{own}\n"), ran.stderr
        assert share.pointer() == pointer, "the pointer was taken over"
        assert (
            f"names the environment {share.env}, which cannot be read by you: you may not "
            f"enter {share.root_home} (owned by root, mode 0750; EACCES); using yours at {own}"
        ) in ran.stderr
        listed = nobody("sync", "--json", cwd=share.project)
        assert listed.returncode == 0, listed.stderr
        assert f'"env": "{own}"' in listed.stdout and "cannot be read by you" in listed.stdout
        ran = nobody("run", "--no-sync", "alpha-hello", cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    assert share.pointer() == pointer
    share.assert_roots_env_runs()


@pytest.mark.parametrize("closed", [False, True], ids=["home-0755", "home-0750"])
def test_the_second_users_own_env_is_in_use_for_cache_prune(
    share: Share, nobody_scratch: Path, closed: bool
) -> None:
    """The pointer names root's env, not the second user's: their ``cache prune`` still
    keeps their own env for the project (not "no longer points to it", removed), which the
    next command there uses again."""
    if closed:
        os.chmod(share.root_home, 0o750)
    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        pruned = nobody("cache", "prune", "--json", cwd=nobody.home)
        assert pruned.returncode == 0, pruned.stderr
        (entry,) = json.loads(pruned.stdout)["entries"]
        assert (entry["path"], entry["verdict"]) == (str(own), "in-use"), entry
        assert entry["reason"].startswith(
            f"{share.project / '.venv'} names {share.env}, which "
            + ("cannot be read by you" if closed else "belongs to root (uid 0)")
        )
        assert entry["reason"].endswith(
            "an env kept off a share is per user, and this is yours for the project"
        )
        ran = nobody("run", "--no-sync", "alpha-hello", cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr


def test_a_no_op_run_of_the_second_user_takes_the_shortcut_to_their_own_env(
    share: Share, nobody_scratch: Path
) -> None:
    """Once the second user's own env is synced, their ``run`` and ``sync`` that have nothing
    to do find it without the pipeline (the shortcut looks past the pointer to root's env),
    as fast and as quiet as the owner's own."""
    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        code = "import sys; print(sys.prefix)"
        ran = nobody(
            "run", "--", "python", "-c", code, cwd=share.project, options=("-X", "importtime")
        )
        assert (ran.returncode, ran.stdout) == (0, f"{own}\n"), ran.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in ran.stderr.splitlines()}
        assert "anyvenv.project.uptodate" in imported  # the shortcut answered
        pipeline = {"anyvenv.project.session", "anyvenv.project.prepare"}
        assert not imported & pipeline, sorted(imported & pipeline)
        again = nobody("sync", cwd=share.project)
        assert again.returncode == 0, again.stderr
        assert again.stderr.startswith(f"anyvenv: Using {own} ")
        assert "up to date" in again.stderr and "names the environment" not in again.stderr


def test_a_removed_env_is_made_again_where_it_was_for_each_user(
    share: Share, nobody_scratch: Path
) -> None:
    """The owner removes the env the pointer names: their next sync makes it again at that
    path (the pointer as it was). The second user removes their own: theirs is made again in
    their directory, and the pointer still names root's."""
    pointer = share.pointer()
    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        shutil.rmtree(share.env)
        again = share.root("sync", *index_args(share.wheels), "--python", PYTHON)
        assert again.returncode == 0, again.stderr
        assert (share.env / "pyvenv.cfg").is_file() and share.pointer() == pointer
        shutil.rmtree(own)
        ran = nobody("run", "alpha-hello", cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
        assert (own / "pyvenv.cfg").is_file() and share.pointer() == pointer
    share.assert_roots_env_runs()


def _told(share: Share, own: Path, why: str = "belongs to root (uid 0)") -> str:
    """The line that says the pointer names root's env and that the second user's, ``own``,
    is used instead (``why``: what root's env is to them)."""
    return (
        f"anyvenv: {share.project / '.venv'} names the environment {share.env}, which {why}; "
        f"using yours at {own} (an env kept off a share is per user: the pointer is left to "
        "its owner)"
    )


def _anyvenv_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What anyvenv said on stderr, without uv's own lines (its timings vary)."""
    return [line for line in proc.stderr.splitlines() if line.startswith("anyvenv:")]


def test_the_second_users_first_sync_says_it_created_their_env_and_nothing_of_a_pointer(
    share: Share, nobody_scratch: Path
) -> None:
    """The second user's first sync, which makes their env: it says that the pointer names
    root's env and that theirs is used, then "Created" theirs (not "Rebuilt": the pointer file
    at .venv is no broken env of theirs), and not that .venv is a pointer file to it (the
    pointer names root's; it is not theirs)."""
    pointer = share.pointer()
    version = subprocess.run(
        [PYTHON, "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with second_user(nobody_scratch, share.wheels) as nobody:
        own = nobody.envs / share.env.name
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        assert _anyvenv_lines(synced) == [
            _told(share, own),
            f"anyvenv: Created {own} (CPython {version}; link mode hardlink)",
        ], synced.stderr
        assert (own / "pyvenv.cfg").is_file()
    assert share.pointer() == pointer


def test_the_second_users_first_sync_that_uv_refuses_leaves_roots_pointer(
    share: Share, nobody_scratch: Path
) -> None:
    """uv refuses the second user's first sync (an option it does not know: exit 2): the env
    made for it, their own, is removed, as for the owner's; root's pointer, which does not
    name it, stays as it was, and root's env still runs."""
    pointer = share.pointer()
    with second_user(nobody_scratch, share.wheels) as nobody:
        own = nobody.envs / share.env.name
        refused = nobody("sync", "--no-such-option", cwd=share.project)
        assert refused.returncode == 2, refused.stderr
        assert f"removed the env made for it at {own}" in refused.stderr
        assert not os.path.lexists(own)
        assert (share.project / ".venv").is_file(), "root's pointer was removed"
        assert share.pointer() == pointer
    share.assert_roots_env_runs()


def test_a_share_that_could_hold_an_env_still_gets_no_env_of_the_second_users(
    share: Share, nobody_scratch: Path
) -> None:
    """The share is remounted ``exec`` after root synced: an env could run in the project
    now, but .venv is root's pointer. The second user's sync makes their env in their own
    envs directory, not in place at .venv over root's pointer, which still names root's env,
    which still runs."""
    pointer = share.pointer()
    subprocess.run(["mount", "-o", "remount,exec", str(share.project.parent)], check=True)
    with second_user(nobody_scratch, share.wheels) as nobody:
        own = nobody.envs / share.env.name
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        assert _told(share, own) in synced.stderr
        assert (own / "pyvenv.cfg").is_file()
        assert share.pointer() == pointer, "root's pointer was replaced"
        code = "import alpha, sys; print(sys.prefix)"
        ran = nobody("run", "--no-sync", "--", "python", "-c", code, cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, f"{own}\n"), ran.stderr
    assert share.pointer() == pointer
    share.assert_roots_env_runs()


def test_a_hand_written_pointer_to_an_env_without_an_owner_record_is_followed(
    share: Share, nobody_scratch: Path
) -> None:
    """.venv written by hand in uv's redirect form (one absolute path) names an env of
    root's that no sync put elsewhere (made with ``anyvenv venv``: no owner record), readable
    by all: an env a team shares. The second user follows it, as uv follows it: check finds
    it usable and run uses it, with no line that it belongs to root, and no env of their own
    is made."""
    team = share.root_home / "team-env"
    made = share.root("venv", "-q", "--python", PYTHON, str(team))
    assert made.returncode == 0, made.stderr
    assert not (team / ".anyvenv-owner").exists()
    (share.project / ".venv").write_text(f"{team}\n")
    with second_user(nobody_scratch, share.wheels) as nobody:
        checked = nobody("check", cwd=share.project)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.startswith(f"{team}: usable"), checked.stdout
        assert "belongs to" not in checked.stderr and "yours" not in checked.stderr
        code = "import sys; print(sys.prefix)"
        ran = nobody("run", "--no-sync", "--", "python", "-c", code, cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, f"{team}\n"), ran.stderr
        assert "belongs to" not in ran.stderr
        assert not nobody.envs.exists() or not os.listdir(nobody.envs)
    assert share.pointer() == f"{team}\n"


def test_an_env_of_roots_closed_to_others_is_not_followed(
    share: Share, nobody_scratch: Path
) -> None:
    """Root's home can be entered (0755) but root's env itself is 0700: the second user is
    told it cannot be read by them, with its owner and mode, and their sync makes and uses
    an env of their own; the pointer still names root's."""
    pointer = share.pointer()
    os.chmod(share.env, 0o700)
    with second_user(nobody_scratch, share.wheels) as nobody:
        own = nobody.envs / share.env.name
        why = "cannot be read by you (owned by root, mode 0700; EACCES)"
        checked = nobody("check", cwd=share.project)
        assert checked.returncode == 2, checked.stderr
        assert f"names the environment {share.env}, which {why}; you have none" in (
            one_line_error(checked)
        )
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        assert _told(share, own, why) in synced.stderr
        ran = nobody("run", "--no-sync", "alpha-hello", cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    assert share.pointer() == pointer
    share.assert_roots_env_runs()


def _copy_env(env: Path, copy: Path, synced_at: float) -> None:
    """A copy of ``env`` (its owner record and owner kept) at ``copy``, last synced at
    ``synced_at`` (the time of its sync state)."""
    subprocess.run(["cp", "-a", str(env), str(copy)], check=True)
    os.utime(copy / ".anyvenv-sync.state", (synced_at, synced_at))


def _checked_env(nobody: NobodyRun, share: Share) -> str:
    """The env the second user's ``check`` in the project looks at, as it says (a copy of an
    env is not usable as it is: its scripts name the env copied)."""
    checked = nobody("check", cwd=share.project)
    assert checked.returncode in (0, 1) and "Traceback" not in checked.stderr, checked.stderr
    told = checked.stderr.rstrip("\n")
    assert told.startswith(f"anyvenv: .venv names the environment {share.env}"), told
    return told.rsplit("; checking yours at ", 1)[-1]


def test_of_two_own_envs_the_second_user_uses_the_one_synced_last(
    share: Share, nobody_scratch: Path
) -> None:
    """The second user has two envs of their own for the project (as a change of Python
    leaves where the old one could not be removed): their commands use the one synced last,
    whichever its name."""
    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        last = (own / ".anyvenv-sync.state").stat().st_mtime
        other = nobody.envs / "demo-0000000000000312"
        _copy_env(own, other, last - 600)  # synced before
        assert _checked_env(nobody, share) == str(own)
        code = "import sys; print(sys.prefix)"
        ran = nobody("run", "--no-sync", "--", "python", "-c", code, cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, f"{own}\n"), ran.stderr
        os.utime(other / ".anyvenv-sync.state", (last + 600, last + 600))  # synced after
        assert _checked_env(nobody, share) == str(other)


def test_a_staging_or_retired_env_in_the_envs_dir_is_not_taken_for_the_users_own(
    share: Share, nobody_scratch: Path
) -> None:
    """A sync sets a new env up under a staging name, and an old one aside under a retired
    name (``.NAME.anyvenv-...``), in the second user's envs directory, each with the owner
    record of the project and synced after their env: neither is taken for their own env,
    which their commands still use."""
    from anyvenv.fs.leftovers import retired_name, staging_name

    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        last = (own / ".anyvenv-sync.state").stat().st_mtime
        for aside in (staging_name(own), retired_name(own)):
            _copy_env(own, Path(aside), last + 600)
        assert _checked_env(nobody, share) == str(own)
        code = "import sys; print(sys.prefix)"
        ran = nobody("run", "--no-sync", "--", "python", "-c", code, cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, f"{own}\n"), ran.stderr


def test_repair_by_the_second_user_repairs_their_own_env(
    share: Share, nobody_scratch: Path
) -> None:
    """The second user's env is broken (its python3 link gone, a console script no longer
    executable): their ``repair`` in the project says the pointer names root's env and that
    it repairs theirs, and mends theirs; root's env is left as it was."""
    pointer, before = share.pointer(), _tree(share.env)
    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        (own / "bin" / "python3").unlink()
        os.chmod(own / "bin" / "alpha-hello", 0o644)
        repaired = nobody("repair", cwd=share.project)
        assert repaired.returncode == 0, repaired.stderr
        assert repaired.stderr == (
            f"anyvenv: .venv names the environment {share.env}, which belongs to root "
            f"(uid 0); repairing yours at {own}\n"
        )
        assert repaired.stdout.startswith(f"{own}: repaired\n"), repaired.stdout
        assert os.access(own / "bin" / "python3", os.X_OK)
        assert os.stat(own / "bin" / "alpha-hello").st_mode & 0o111
        ran = nobody("run", "--no-sync", "alpha-hello", cwd=share.project)
        assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
    assert share.pointer() == pointer
    assert _tree(share.env) == before, "root's env was written"


def test_repair_by_the_second_user_takes_turns_with_syncs_of_the_project(
    share: Share, nobody_scratch: Path
) -> None:
    """The second user's ``repair`` of their own env takes the lock of the project's .venv,
    the one their syncs there take (not one beside their env, which no sync takes): it waits
    while that lock is held, and says so, then repairs their env."""
    from anyvenv.fs.lock import env_lock

    with second_user(nobody_scratch, share.wheels) as nobody:
        synced = nobody("sync", cwd=share.project)
        assert synced.returncode == 0, synced.stderr
        own = nobody.envs / share.env.name
        os.chmod(own / "bin" / "alpha-hello", 0o644)
        with env_lock(share.project / ".venv"):
            waiting = subprocess.Popen(
                [*nobody.python, "-m", "anyvenv", "repair"], cwd=share.project,
                env=nobody.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            with pytest.raises(subprocess.TimeoutExpired):
                waiting.wait(timeout=2)
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, err
        lock = f"{share.project / '.venv'}.anyvenv.lock"
        assert f"anyvenv: waiting for {lock}, held by pid {os.getpid()} of root" in err, err
        assert out.startswith(f"{own}: repaired\n"), out


def test_an_env_whose_base_the_second_user_cannot_reach_is_left_as_it_is(
    nobody_scratch: Path, index: Path
) -> None:
    """Root's env, in place in a project every user may write (made with umask 000, as a
    group's with 002), links to a Python under a directory closed to others (a pyenv in a home
    at 0750): that base is there, not gone. The second user's sync, run --no-sync, pip
    install and repair each leave the env as it is (they replaced it, emptied it or rewrote
    it onto /usr/bin's Python, saying its base "does not exist") and say in one line what
    stops them; check and doctor do not send them to repair. Root's env still runs."""
    wheels = nobody_scratch / "wheels"
    shutil.copytree(index, wheels)
    for path in [wheels, *wheels.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    private = nobody_scratch / "private"
    (private / "bin").mkdir(parents=True)
    base = private / "bin" / "python3.11"
    shutil.copy2(os.path.realpath(PYTHON), base)
    os.chmod(private, 0o700)
    project = write_project(nobody_scratch / "team" / "demo", python_version=None)
    for directory in (project.parent, project):
        os.chmod(directory, 0o777)
    root_env = project_environ(nobody_scratch / "root-home", PATH="/usr/bin:/bin")
    umask = os.umask(0)
    try:
        made = anyvenv(
            "sync", *index_args(wheels), "--python", str(base), cwd=project, env=root_env
        )
    finally:
        os.umask(umask)
    assert made.returncode == 0, made.stderr
    env = project / ".venv"
    assert os.readlink(env / "bin" / "python") == str(base) and env.stat().st_mode & 0o002
    before = _tree(env)
    reason = (
        f"its python links to {base}, which you cannot reach (you may not enter {private}, "
        f"owned by root, mode 0700)"
    )
    let_in = f"ask root to let you into {private}"
    refused = (
        f"anyvenv: error: the environment {env} cannot be used by you, and is left as it is: "
        f"{reason}; {let_in}, or set UV_PROJECT_ENVIRONMENT to an env of your own"
    )
    with second_user(nobody_scratch, wheels) as nobody:
        for args in (["sync"], ["run", "--no-sync", "true"], ["pip", "install", "gamma"]):
            proc = nobody(*args, cwd=project)
            assert proc.returncode == 1, (args, proc.stderr)
            assert one_line_error(proc) == refused, args
        for args in (["repair"], ["repair", "--dry-run"]):
            proc = nobody(*args, cwd=project)
            assert proc.returncode == 1, (args, proc.stderr)
            assert (
                one_line_error(proc) == f"anyvenv: error: cannot repair {env}: {reason}; {let_in}"
            )
        checked = nobody("check", cwd=project)
        assert checked.returncode == 1, checked.stderr
        assert "anyvenv repair" not in checked.stdout
        assert checked.stdout.endswith(f"repair cannot mend it for you: {reason}; {let_in}\n")
        doctor = nobody("doctor", cwd=project)
        assert doctor.returncode == 0, doctor.stderr
        assert f"not for you to repair: {reason}; {let_in}" in doctor.stdout
        assert "anyvenv repair" not in doctor.stdout
    assert _tree(env) == before, "root's env was written"
    ran = anyvenv("run", "--no-sync", "alpha-hello", cwd=project, env=root_env)
    assert (ran.returncode, ran.stdout) == (0, "alpha says hi\n"), ran.stderr
