"""Envs filled in place: into an empty directory (kept with its owner and mode), the working
directory, a mount point (a volume at ``.venv``), through a link; and a fill killed at each
step is undone or finished by the next run."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from project_support import PY_OTHER, anyvenv, project_environ, sync_json, write_project
from reliability_support import (
    ANYVENV,
    base_python,
    killed,
    leftovers,
    python_prefix,
    run_anyvenv,
    traced,
)

from lab import ALL_KINDS, LabMount
from lab.expect import CAN_EXECUTE
from support import cli_env, entry_names, on_rclone_remote, one_line_error, traced_calls

BASE = base_python("3.11")
RUNNABLE_KINDS = [kind for kind in ALL_KINDS if CAN_EXECUTE.get(kind, True)]
MARKER = "old_marker.py"


def _error(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )
    return one_line_error(text)


def _identity(path: Path) -> tuple[int, int, int, int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_mode, st.st_uid, st.st_gid


def _works(env: Path) -> bool:
    return (env / "pyvenv.cfg").is_file() and python_prefix(env) == os.fspath(env)


def _has_marker(env: Path) -> bool:
    return any(env.glob(f"lib/python*/site-packages/{MARKER}"))


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted at ``.venv``, as a container volume is: it cannot be renamed over."""
    mount_point = tmp_path / "project" / ".venv"
    mount_point.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)])
    if done.returncode != 0:
        pytest.fail("cannot mount a tmpfs (the tests run as root, as CI does)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_an_empty_directory_is_filled_and_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    os.chown(env, 65534, 65534)
    os.chmod(env, 0o2770)
    before = _identity(env)
    proc = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert proc.returncode == 0, proc.stderr
    assert _identity(env) == before  # the same directory, as uv fills it
    assert _works(env)
    assert not leftovers(tmp_path)


def test_venv_dot_fills_the_working_directory_the_shell_is_in(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    anyvenv = " ".join(map(shlex.quote, ANYVENV))
    script = (
        f"cd {shlex.quote(str(work))} && {anyvenv} venv . --python {shlex.quote(str(BASE))} -q"
        " && . bin/activate && python -c 'import sys; print(sys.prefix)'"
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=cli_env()
    )
    assert (done.returncode, done.stdout) == (0, f"{work}\n"), done.stderr


def test_a_mount_point_is_filled_and_replaced_in_place(volume: Path) -> None:
    before = _identity(volume)
    made = run_anyvenv("venv", volume, "--python", BASE, "-q")
    assert made.returncode == 0, made.stderr
    assert _works(volume) and _identity(volume) == before
    again = run_anyvenv("venv", volume, "--python", BASE, "-q")
    assert again.returncode == 2 and "--clear" in _error(again)
    (next(volume.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")
    cleared = run_anyvenv("venv", volume, "--python", BASE, "--clear", "-q")
    assert cleared.returncode == 0, cleared.stderr
    assert _works(volume) and not _has_marker(volume)
    assert _identity(volume) == before and os.path.ismount(volume)
    assert not leftovers(volume, volume.parent)


def test_a_link_to_an_env_is_replaced_through_the_link(tmp_path: Path) -> None:
    """As uv: ``.venv -> store/env`` names the env; --clear rebuilds it there."""
    store = tmp_path / "store" / "env"
    assert run_anyvenv("venv", store, "--python", BASE, "-q").returncode == 0
    link = tmp_path / ".venv"
    link.symlink_to(store)
    again = run_anyvenv("venv", link, "--python", BASE, "-q")
    assert again.returncode == 2 and "already exists" in _error(again)
    cleared = run_anyvenv("venv", link, "--python", BASE, "--clear", "-q")
    assert cleared.returncode == 0, cleared.stderr
    assert link.is_symlink() and _works(store)


@pytest.mark.slow
@pytest.mark.parametrize("replacing", [False, True], ids=["filling", "replacing"])
def test_a_fill_killed_at_every_step_is_undone_or_finished(
    volume: Path, tmp_path: Path, replacing: bool
) -> None:
    """Killed at each checkpoint of a fill of a mount point: the volume holds what it held
    (nothing, or the old env) or the complete new env; the next run leaves no leftover."""
    args = ("venv", volume, "--python", BASE, "--clear", "-q")
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}

    def reset() -> None:
        for entry in list(volume.iterdir()):
            subprocess.run(["rm", "-rf", str(entry)], check=True)
        if replacing:
            assert run_anyvenv(*args, **cache).returncode == 0
            (next(volume.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")

    reset()
    proc, points = traced(*args, trace=tmp_path / "trace", **cache)
    assert proc.returncode == 0, proc.stderr
    # NAME@1 specs (numbers differ between runs: what comes before the fill may vary)
    fill_points = [f"{p.name}@1" for p in points if p.name.startswith(("fill:", "staging:made"))]
    assert len(fill_points) >= 5, points
    states: set[str] = set()
    for point in fill_points:
        reset()
        assert killed(*args, at=point, **cache).returncode == -9, point
        # the next run (without --clear) first undoes or finishes the killed fill
        after = run_anyvenv("venv", volume, "--python", BASE, "-q", **cache)
        if after.returncode == 2:  # an env is there: the old one put back, or the new one
            assert "already exists" in _error(after), (point, after.stderr)
            states.add("old" if _has_marker(volume) else "new")
        else:  # the volume was emptied again, and this run filled it
            assert after.returncode == 0 and not replacing, (point, after.stderr)
            states.add("empty")
        assert _works(volume), point
        assert not leftovers(volume, depth=1), (point, leftovers(volume, depth=1))
        assert os.path.ismount(volume)
    assert states == ({"old", "new"} if replacing else {"empty", "new"}), states


def test_a_project_env_on_a_volume_is_synced_and_rebuilt_in_place(
    volume: Path, tmp_path: Path, index: Path
) -> None:
    """A container's ``.venv`` volume: ``uv sync`` there needs the env filled in place."""
    project = write_project(volume.parent)
    env = project_environ(tmp_path / "home")
    report, _ = sync_json(project, env, index)
    assert report["env"] == str(volume) and report["action"] == "created"
    assert os.path.ismount(volume)
    hello = anyvenv("run", "alpha-hello", cwd=project, env=env)
    assert hello.stdout == "alpha says hi\n", hello.stderr
    assert PY_OTHER is not None  # another Python: the env is rebuilt, in the same volume
    report, _ = sync_json(project, env, index, "--python", str(PY_OTHER))
    assert report["action"] == "rebuilt" and os.path.ismount(volume)
    assert _works(volume)
    assert not leftovers(volume, project, depth=1)


@pytest.mark.parametrize("lab_kind", RUNNABLE_KINDS)
def test_an_empty_directory_on_every_mount_is_filled_and_then_replaced(
    lab_kind: str, target: Path
) -> None:
    """In place on each filesystem of the lab (fusefat loses a renamed directory's files:
    there the entries are moved file by file), fresh and with --clear."""
    env = target / "env"
    env.mkdir()
    made = run_anyvenv("venv", env, "--python", BASE, "-q")
    assert made.returncode == 0, made.stderr
    assert _works(env), lab_kind
    (next(env.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")
    cleared = run_anyvenv("venv", env, "--python", BASE, "--clear", "-q")
    assert cleared.returncode == 0, cleared.stderr
    assert _works(env) and not _has_marker(env), lab_kind
    assert not leftovers(target, depth=2), leftovers(target, depth=2)


@pytest.mark.parametrize("lab_kind", ["rclone"])
def test_an_env_removed_on_rclone_does_not_come_back_on_its_remote(
    lab_mount: LabMount, target: Path
) -> None:
    """sync's undo removes the env it made a moment ago: renamed aside and removed there,
    the whole tree came back on rclone's remote once rclone uploaded its files (rclone 1.60,
    its bug #6809); it is emptied in place instead."""
    from anyvenv.fs.inplace import remove_or_empty

    env = target / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_bytes(b"a copied interpreter\n")
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    remove_or_empty(str(env))
    assert entry_names(target) == []
    assert on_rclone_remote(lab_mount, target) == []


def test_an_env_emptied_in_place_keeps_its_config_while_anything_else_stays(
    nobody_scratch: Path,
) -> None:
    """Emptied in place (the working directory), an env whose bin/python cannot be removed
    (here: another user's) keeps its pyvenv.cfg: it stays an env, which the next run replaces,
    never a bare bin/python that tools take for a base interpreter."""
    from support import run_python_as_nobody

    env = nobody_scratch / "env"
    (env / "bin").mkdir(parents=True)
    (env / "lib").mkdir()
    (env / "bin" / "python").write_bytes(b"a copied interpreter\n")
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (env / ".gitignore").write_text("*\n")
    for path in (env, env / "lib", env / "pyvenv.cfg", env / ".gitignore"):
        os.chown(path, 65534, 65534)  # (bin and bin/python stay root's: not removable)
    code = (
        "import os; from anyvenv.fs.inplace import remove_or_empty; "
        f"os.chdir({str(env)!r}); remove_or_empty(os.getcwd())"
    )
    proc = run_python_as_nobody("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(env)) == ["bin", "pyvenv.cfg"]
    assert (env / "bin" / "python").is_file()


def _planted_tail() -> str:
    """``HOST-PID-RAND`` of a maker on this host that is gone, as another user can write it."""
    from anyvenv.fs.leftovers import this_host

    return f"{this_host()}-999999999-abcdef"


PLANTED = {
    "outside": ("new", ["../../../victim/docs", "VICTIM"]),
    "parent": ("new", [".."]),  # the project directory itself
    "itself": ("new", ["."]),
    "nul": ("new", ["a\0b"]),
    "old-tree-a-link": ("old", []),
}


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_a_planted_fill_journal_never_reaches_outside_the_directory(
    tmp_path: Path, planted: str
) -> None:
    """A fill journal that another user with write access to the env's directory put there:
    one naming what is not an entry of it (outside it, the directory above or itself, a name
    no file has) is left alone; one whose old tree is a link out is cleared without
    following the link. Nothing outside the directory is removed or moved; no traceback."""
    phase, names = PLANTED[planted]
    victim = tmp_path / "victim" / "docs"
    victim.mkdir(parents=True)
    (victim / "a.txt").write_text("the user's\n")
    target = tmp_path / "share" / "proj" / ".venv"
    target.mkdir(parents=True)
    (target.parent / "pyproject.toml").write_text("the user's\n")
    tail = _planted_tail()
    names = [os.fspath(victim) if name == "VICTIM" else name for name in names]
    (target / f".anyvenv-fill-{tail}").write_text("\n".join(["anyvenv-fill 1", phase, *names, ""]))
    if phase == "old":
        (target / f".anyvenv-old-{tail}").symlink_to(victim)
    ran = run_anyvenv(
        "venv", target, "--python", BASE, "-q", XDG_CACHE_HOME=str(tmp_path / "cache")
    )
    assert b"Traceback" not in ran.stderr, ran.stderr
    assert (victim / "a.txt").read_text() == "the user's\n"
    assert sorted(os.listdir(victim)) == ["a.txt"]
    assert (target.parent / "pyproject.toml").read_text() == "the user's\n"
    # a journal that names what no fill wrote is not one of anyvenv's: as it was
    assert (target / f".anyvenv-fill-{tail}").exists() == (phase == "new")


def _tree(directory: Path) -> dict[str, str]:
    """Every entry below ``directory`` and what it is (a file's bytes' length): to see that
    nothing moved or went."""
    found: dict[str, str] = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root, name)
            relative = os.fspath(path.relative_to(directory))
            found[relative] = "dir" if path.is_dir() else str(path.lstat().st_size)
    return found


def _killed_while_moving_up(work: Path, cache: dict[str, str]) -> Path:
    """An env at ``work`` (the working directory: filled in place) whose replacement was
    killed with its bin/ moved up: the old env in .anyvenv-old-*, the rest in staging; the
    journal is returned."""
    work.mkdir()
    assert run_anyvenv("venv", ".", "--python", BASE, "-q", cwd=work, **cache).returncode == 0
    (next(work.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")
    args = ("venv", ".", "--python", BASE, "-q", "--clear")
    assert killed(*args, at="fill:moved:bin", cwd=work, **cache).returncode == -9
    return next(work.glob(".anyvenv-fill-*"))


def test_a_fill_journal_emptied_by_a_crash_is_said_naming_the_old_env_s_directory(
    tmp_path: Path,
) -> None:
    """A crash kept the journal's name, not its bytes: the next run said the directory "is not
    a virtual environment ... empty it yourself", never naming the hidden .anyvenv-old-* that
    holds the whole old env. Now it names it and what to do; nothing is moved or removed."""
    work = tmp_path / "inpl"
    journal = _killed_while_moving_up(work, {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    journal.write_bytes(b"")
    before = _tree(work)
    ran = run_anyvenv("venv", ".", "--python", BASE, "-q", cwd=work)
    error = _error(ran)
    assert ran.returncode == 2, ran.stderr
    old_dir = next(work.glob(".anyvenv-old-*"))
    assert f"kept in {old_dir.name}" in error, error
    assert "journal cannot be read" in error and "not a virtual environment" not in error
    assert f"move the entries of {old_dir.name} back" in error, error
    assert _tree(work) == before
    assert any(old_dir.glob(f"lib/python*/site-packages/{MARKER}"))


def test_a_fill_journal_that_lost_its_last_phase_leaves_no_mix_of_old_and_new(
    tmp_path: Path,
) -> None:
    """The journal rewritten to its "new" phase reached the disk after the moves, or not at
    all (a crash, writes out of order): it says "old" while new entries are up. Undoing moved
    some old ones back over new ones, then failed (ENOTEMPTY, "check free space"), leaving a
    mix that check called usable. Now nothing moves, and the error says why."""
    work = tmp_path / "inpl"
    journal = _killed_while_moving_up(work, {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    journal.write_text(journal.read_text().replace("\nnew\n", "\nold\n", 1))
    before = _tree(work)
    ran = run_anyvenv("venv", ".", "--python", BASE, "-q", cwd=work)
    error = _error(ran)
    assert ran.returncode == 2, ran.stderr
    assert "cannot be undone" in error and "nothing was moved" in error, error
    assert "free space" not in error
    assert _tree(work) == before


def test_a_rename_over_a_directory_that_is_not_empty_is_not_said_as_a_full_disk() -> None:
    import errno

    from anyvenv.fs.outcome import write_error_fix

    for code in (errno.ENOTEMPTY, errno.EEXIST, errno.EXDEV):
        assert "free space" not in write_error_fix(code, "check free space")
    assert "redirect_dir=on" in write_error_fix(errno.EXDEV, "check free space")


def test_the_fill_journal_is_on_disk_before_anything_moves(tmp_path: Path) -> None:
    """Each writing of the journal (phase "old", then "new") is synced, file then directory,
    before the first entry it covers moves (strace: the order of the calls)."""
    work = tmp_path / "inpl"
    work.mkdir()
    assert run_anyvenv("venv", ".", "--python", BASE, "-q", cwd=work).returncode == 0
    replace = ("venv", ".", "--python", str(BASE), "-q", "--clear")
    calls = traced_calls([*ANYVENV, *replace], "fsync,rename", cwd=work)
    journal_renames = [
        i
        for i, call in enumerate(calls)
        if call.startswith("rename(") and "/.anyvenv-fill-" in call.split(", ")[1]
    ]
    assert len(journal_renames) == 2, calls
    synced_directory = re.compile(rf"fsync\(\d+<{re.escape(os.fspath(work))}>\)")
    for at in journal_renames:  # the temp file synced, renamed, then its directory synced
        assert calls[at - 1].startswith("fsync(") and "anyvenv-fill" in calls[at - 1], calls
        assert synced_directory.match(calls[at + 1]), calls[at:]
    first_move = next(
        i for i, call in enumerate(calls) if call.startswith(f'rename("{work}/.gitignore"')
    )
    assert journal_renames[0] < first_move, calls
    last_move = max(
        i for i, call in enumerate(calls) if call.startswith(f'rename("{work}/.anyvenv-staging-')
    )
    assert any(synced_directory.match(call) for call in calls[last_move + 1 :]), calls[last_move:]


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_fill_killed_while_a_directory_moves_aside_file_by_file_is_undone(
    target: Path, tmp_path: Path
) -> None:
    """On fusefat a directory is moved file by file: a fill of the working directory killed
    half-way through moving the old env's bin/ aside leaves bin/ in both places, which the
    next run merges back (it was refused as a name taken by another entry)."""
    env = target / "env"
    env.mkdir()

    def venv(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        command = [*ANYVENV, "venv", ".", "--python", BASE, "-q", *args]
        environ = {**cli_env(), **extra}
        return subprocess.run(command, cwd=env, env=environ, capture_output=True, text=True)

    assert venv().returncode == 0
    trace = tmp_path / "trace"
    assert venv("--clear", ANYVENV_TEST_TRACE=str(trace)).returncode == 0
    points = [line.split()[1] for line in trace.read_text().splitlines()]
    aside = points.index("fill:journal")  # (then the old entries go aside, bin/ among them)
    at = points[:aside].count("commit:moved-file") + 3
    (next(env.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")
    cut = venv("--clear", ANYVENV_TEST_KILL_AT=f"commit:moved-file@{at}")
    assert cut.returncode == -9, cut.stderr
    assert (env / "bin").is_dir() and any(env.glob(".anyvenv-old-*/bin"))  # (half moved)
    after = venv()
    assert after.returncode == 2 and "already exists" in after.stderr, after.stderr
    assert _has_marker(env) and _works(env)
    assert not leftovers(env, depth=1), leftovers(env, depth=1)


@pytest.mark.parametrize("at", ["fill:aside:bin", "fill:moved:pyvenv.cfg"])
def test_a_sync_finishes_or_undoes_a_killed_fill_before_it_judges_the_env(
    volume: Path, tmp_path: Path, index: Path, at: str
) -> None:
    """A rebuild of a ``.venv`` volume killed while its old env moved aside (bin/ gone): the
    next sync put the old env back only while rebuilding it ("its python does not run"); now
    it is put back first, and reused. Killed once the new env was whole: the next sync used
    it and left the old env and the journal in the volume for good; now they go."""
    project = write_project(volume.parent)
    env = project_environ(tmp_path / "home")
    sync_json(project, env, index)
    (next(volume.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")
    assert PY_OTHER is not None
    other = ("--python", str(PY_OTHER))
    args = ("sync", *other, "--find-links", str(index), "--no-index")
    assert anyvenv(*args, cwd=project, env={**env, "ANYVENV_TEST_KILL_AT": at}).returncode == -9
    assert any(volume.glob(".anyvenv-fill-*"))
    report, _ = sync_json(project, env, index, *(other if at.endswith("pyvenv.cfg") else ()))
    assert report["action"] == "reused", report
    assert _has_marker(volume) == (at == "fill:aside:bin")
    assert _works(volume) and not leftovers(volume, depth=1), leftovers(volume, depth=1)


def _killed_fill(tmp_path: Path, at: str) -> tuple[Path, Path]:
    """``directory/.venv`` made by ``anyvenv venv .`` in it (filled in place), then replaced
    the same way by a run killed at ``at``: the directory and the env."""
    directory = tmp_path / "work"
    env = directory / ".venv"
    env.mkdir(parents=True)
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert run_anyvenv("venv", ".", "--python", BASE, "-q", cwd=env, **cache).returncode == 0
    (next(env.glob("lib/python*/site-packages")) / MARKER).write_text("X = 1\n")
    args = ("venv", ".", "--python", BASE, "-q", "--clear")
    assert killed(*args, at=at, cwd=env, **cache).returncode == -9
    assert any(env.glob(".anyvenv-fill-*"))
    return directory, env


@pytest.mark.parametrize(
    "at", ["fill:journal", "fill:aside:bin", "fill:moved:bin", "fill:moved:pyvenv.cfg"]
)
def test_check_doctor_and_repair_know_a_killed_fill(tmp_path: Path, at: str) -> None:
    """check said an env whose bin/ a killed fill had moved aside lacked its interpreter,
    "fix it with: anyvenv repair" (which would have placed one, and the fill's undo then found
    it in its way), or, with the new env whole, that all was well; doctor the same. Now both
    say what the fill left and what finishes or undoes it, and repair does that first.
    Killed before it moved anything (fill:journal), the env was said to be in pieces in an
    .anyvenv-old-* that did not exist, an error with two fixes: it is whole, and only the
    journal and the staging directory are left, a warning."""
    directory, env = _killed_fill(tmp_path, at)
    whole, no_cfg = at.endswith("pyvenv.cfg"), at == "fill:moved:bin"
    untouched = at == "fill:journal"
    checked = run_anyvenv("check", env, "--json")
    if no_cfg:  # (neither env's pyvenv.cfg is there: no environment now)
        assert checked.returncode == 2, checked.stderr
        error = _error(checked)
        assert "is not a virtual environment now: an anyvenv run (process" in error, error
        assert f"'anyvenv repair {env}' puts the old environment back" in error, error
    else:
        assert checked.returncode == (0 if whole or untouched else 1), checked.stderr
        first = json.loads(checked.stdout)["findings"][0]
        assert first["code"] == "fill-unfinished", first
        assert first["severity"] == ("warning" if whole or untouched else "error"), first
        said = run_anyvenv("check", env).stdout.decode()
        assert "fill-unfinished" in said and f"'anyvenv repair {env}'" in said, said
        assert "run the stopped command again" not in said, said
        if untouched:
            assert "before it moved anything" in said and ".anyvenv-old-" not in said, said
            assert f"'anyvenv repair {env}' removes them" in said, said
        if not whole and not untouched:
            assert said.rstrip().endswith(f"fix it with: anyvenv repair {env}"), said
    doctor = run_anyvenv("doctor", directory, "--json")
    assert doctor.returncode == 0, doctor.stderr
    options = [o for o in json.loads(doctor.stdout)["options"] if "fill-unfinished" in str(o)]
    assert len(options) == 1 and f"'anyvenv repair {env}'" in str(options[0]), options
    if untouched:
        assert "not usable" not in str(options[0]), options
    repaired = run_anyvenv("repair", env, "--json")
    assert repaired.returncode == 0, repaired.stderr
    [change] = json.loads(repaired.stdout)["changes"]
    assert change["action"] == ("removed" if whole or untouched else "restored"), change
    assert ("old environment" in change["detail"]) == whole, change  # (one was, aside)
    assert _works(env) and _has_marker(env) == (not whole)
    assert not leftovers(env, depth=1), leftovers(env, depth=1)
    assert run_anyvenv("check", env).returncode == 0


def _host() -> str:
    from anyvenv.fs.leftovers import this_host

    return this_host()


def test_a_fill_journal_that_cannot_be_read_is_refused_alike_by_doctor_and_both_repairs(
    tmp_path: Path,
) -> None:
    """A journal a crash emptied, its maker gone: check said that repair does not act on it,
    but doctor sent the user to 'anyvenv repair', 'repair --dry-run' exited 1 (its line
    joined by ': look at') and 'repair' 2. Now doctor says what check says, and both repairs
    refuse with exit 2 and one message, nothing moved."""
    work = tmp_path / "work"
    work.mkdir()
    env = work / ".venv"
    assert run_anyvenv("venv", env, "--python", BASE, "-q").returncode == 0
    (env / f".anyvenv-fill-{_host()}-3999999-abcdef").write_bytes(b"")
    before = _tree(env)
    said = run_anyvenv("check", env).stdout.decode()
    assert "repair does not act on it" in said, said
    doctor = run_anyvenv("doctor", work).stdout.decode()
    [line] = [line for line in doctor.splitlines() if "fill-unfinished" in line]
    assert "repair does not act on it" in line and "'anyvenv repair" not in line, line
    said = _refused_alike_by_both_repairs(env)
    assert "journal cannot be read" in said and "; look at what it holds" in said
    assert _tree(env) == before


def _refused_alike_by_both_repairs(env: Path) -> str:
    """The one-line error ``repair --dry-run`` and ``repair`` both stop with (exit 2)."""
    errors = []
    for dry in (["--dry-run"], []):
        repaired = run_anyvenv("repair", env, *dry)
        assert repaired.returncode == 2, (dry, repaired.stderr)
        errors.append(_error(repaired))
    assert errors[0] == errors[1], errors
    return errors[0]


@pytest.mark.parametrize("at", ["fill:moved:bin", "fill:moved:pyvenv.cfg"])
def test_repair_of_a_killed_fill_of_a_directory_that_held_no_env(tmp_path: Path, at: str) -> None:
    """``anyvenv venv .`` in an empty directory, killed. With its bin/ moved in, repair
    removed what was moved in, then failed "it has no pyvenv.cfg", not saying it had removed
    anything: now it refuses, nothing moved, naming the stopped command as the fix, which
    then makes the env. With the new env whole, its words named no old env: "the fill's
    journal is left", and repair's change names the journal alone."""
    env = tmp_path / "work" / ".venv"
    env.mkdir(parents=True)
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    args = ("venv", ".", "--python", BASE, "-q")
    assert killed(*args, at=at, cwd=env, **cache).returncode == -9
    if at == "fill:moved:pyvenv.cfg":
        [finding] = json.loads(run_anyvenv("check", env, "--json").stdout)["findings"]
        assert "the fill's journal is left" in finding["message"], finding
        repaired = run_anyvenv("repair", env, "--json")
        assert repaired.returncode == 0, repaired.stderr
        [change] = json.loads(repaired.stdout)["changes"]
        assert change["action"] == "removed" and "old" not in change["detail"], change
        assert "its journal .anyvenv-fill-" in change["detail"], change
        assert _works(env) and not leftovers(env, depth=1)
        return
    before = _tree(env)
    said = _refused_alike_by_both_repairs(env)
    assert "is not a virtual environment now" in said, said
    assert "run the stopped command again" in said, said
    assert "put back" not in said and "no pyvenv.cfg" not in said, said
    assert _tree(env) == before
    assert run_anyvenv(*args, cwd=env, **cache).returncode == 0
    assert _works(env) and not leftovers(env, depth=1)


def test_a_dry_run_repair_of_a_killed_fill_moves_nothing(tmp_path: Path) -> None:
    """Killed with bin/ moved aside: 'repair --dry-run' plans the fill's undo alone and
    changes nothing (the journal, the old env aside and the missing bin/ stay)."""
    _, env = _killed_fill(tmp_path, "fill:aside:bin")
    dry = run_anyvenv("repair", env, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert [fix["fix"] for fix in report["plan"]] == ["finish-fill"], report["plan"]
    assert report["changes"] == [], report
    assert any(env.glob(".anyvenv-fill-*")) and any(env.glob(".anyvenv-old-*/bin"))
    assert not (env / "bin").exists()


def test_a_fill_journal_of_a_live_process_is_left_alone(tmp_path: Path) -> None:
    """A journal whose maker still runs is its fill's, going on: no finding, and neither
    repair nor the next venv finishes or removes it."""
    env = tmp_path / "work" / ".venv"
    assert run_anyvenv("venv", env, "--python", BASE, "-q").returncode == 0
    with subprocess.Popen(["sleep", "300"]) as sleeper:
        try:
            journal = env / f".anyvenv-fill-{_host()}-{sleeper.pid}-abcdef"
            journal.write_text("anyvenv-fill 1\nnew\nbin\npyvenv.cfg\n")
            checked = run_anyvenv("check", env, "--json")
            assert checked.returncode == 0, checked.stderr
            assert json.loads(checked.stdout)["findings"] == [], checked.stdout
            repaired = run_anyvenv("repair", env, "--json")
            assert repaired.returncode == 0, repaired.stderr
            assert json.loads(repaired.stdout)["changes"] == [], repaired.stdout
            again = run_anyvenv("venv", env, "--python", BASE, "-q")  # (it recovers first)
            assert again.returncode == 2 and "already exists" in _error(again), again.stderr
            assert journal.exists()
        finally:
            sleeper.kill()


def test_a_plain_repair_says_what_it_removed_of_a_killed_fill(tmp_path: Path) -> None:
    """Killed once the new env was whole: plain 'repair' says it repaired and what it
    removed, not "nothing to repair"."""
    _, env = _killed_fill(tmp_path, "fill:moved:pyvenv.cfg")
    repaired = run_anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stderr
    said = repaired.stdout.decode()
    assert f"{env}: repaired" in said, said
    assert re.search(rf"^  removed {re.escape(os.fspath(env))}: what a fill", said, re.M), said
    assert "nothing to repair" not in said, said
