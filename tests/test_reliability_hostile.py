"""Hostile input: archive members that escape, env and project paths with every awkward
byte, links planted where anyvenv will write, and garbage in pyvenv.cfg, pyproject.toml and
.python-version. Nothing is written outside its place, nothing hangs, no traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from project_support import build_index, index_args, project_environ, write_project
from reliability_report import Tally
from reliability_support import base_python, python_prefix, run_anyvenv
from standalone_build import (
    StandaloneArchive,
    github_url,
    publish,
    sha256_of,
    standalone,
    write_downloads_json,
)

from anyvenv.fs.atomic import atomic_write
from anyvenv.fs.leftovers import sweep_dead, this_host
from anyvenv.fs.lock import LockUnavailable, ShareLock
from anyvenv.fs.place import Strategy, copy_file, create_file, place_file
from anyvenv.fs.probe import PROBE_DIR_PREFIX, probe
from lab import Lab

__all__ = ["standalone"]  # a fixture

BASE = base_python("3.11")
DEAD_TAG = f"{this_host()}-999999-abcdef"  # a pid above pid_max: never a live process


def error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode(errors="replace")
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anyvenv: error: "), text
    return lines[0]


# -- env paths -------------------------------------------------------------------------------

HOSTILE_NAMES: dict[str, bytes] = {
    "space": b"with space",
    "quotes": b"q'uo\"te",
    "dollar-backtick": b"dollar$HOME`id`$(id)",
    "newline": b"new\nline",
    "tab": b"tab\there",
    "backslash": b"back\\slash",
    "non-utf8": b"bad\xff\xfebytes",
    "long": b"L" * 120 + b"/" + b"o" * 120,  # 240+ bytes: too long for a kernel shebang
}
SEEDED = {"space", "quotes", "newline", "long"}  # pip seeded: its scripts must run
ACTIVATE = (
    'source "$1/bin/activate" || exit 9\n'
    'python -c "import os, sys; sys.stdout.buffer.write(os.fsencode(sys.prefix))"\n'
    'printf "\\0%s\\0" "$VIRTUAL_ENV"\n'
    'deactivate\nprintf "%s" "${VIRTUAL_ENV-unset}"\n'
)


@pytest.mark.parametrize("name", list(HOSTILE_NAMES))
def test_env_at_a_hostile_path_runs_activates_and_runs_its_scripts(
    tmp_path: Path, name: str, reliability: Tally
) -> None:
    env = os.path.join(os.fsencode(tmp_path), HOSTILE_NAMES[name], b"env")
    seed = ("--seed",) if name in SEEDED else ()
    proc = run_anyvenv("venv", env, "--python", BASE, "-q", *seed)
    assert proc.returncode == 0, proc.stderr
    assert python_prefix(Path(os.fsdecode(env))) == os.fsdecode(env)
    shell = subprocess.run(["bash", "-c", ACTIVATE, "bash", env], capture_output=True)
    assert shell.returncode == 0, shell.stderr
    prefix, virtual_env, after = shell.stdout.split(b"\0")
    assert prefix == env and virtual_env == env and after == b"unset"
    if seed:
        pip = subprocess.run([os.path.join(env, b"bin", b"pip"), "--version"], capture_output=True)
        assert pip.returncode == 0, pip.stderr
        assert os.fsencode(os.path.join(env, b"lib")) in pip.stdout
    reliability.add("hostile input", "env paths created, run and activated", 1)


def test_seed_at_a_path_pip_cannot_take_is_refused_up_front(tmp_path: Path) -> None:
    parent = os.path.join(os.fsencode(tmp_path), b"bad\xff\xfebytes")
    proc = run_anyvenv("venv", os.path.join(parent, b"env"), "--python", BASE, "--seed")
    assert proc.returncode == 2
    assert "not valid UTF-8" in error_line(proc)
    assert not os.path.lexists(parent), "nothing made, not even the parent"


def test_a_prompt_cannot_inject_pyvenv_cfg_lines(tmp_path: Path) -> None:
    env = tmp_path / "env"
    proc = run_anyvenv(
        "venv",
        env,
        "--python",
        BASE,
        "--prompt",
        "x\nhome = /tmp/evil\ninclude-system-site-packages = true",
    )
    assert proc.returncode == 2
    assert "line break" in error_line(proc)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["space", "quotes", "dollar-backtick", "long"])
def test_sync_in_a_project_at_a_hostile_path(tmp_path: Path, name: str, reliability: Tally) -> None:
    index = build_index(tmp_path / "index")
    project = write_project(
        Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), HOSTILE_NAMES[name], b"proj"))),
        python_version="3.11",
    )
    env = project_environ(tmp_path / "home", PATH=f"{BASE.parent}:{os.environ['PATH']}")

    def anyvenv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_anyvenv(), *args], cwd=project, env=env, capture_output=True, text=True, timeout=240
        )

    synced = anyvenv("sync", *index_args(index))
    assert synced.returncode == 0, synced.stderr
    prefix = anyvenv("run", "--no-sync", "python", "-c", "import sys; print(sys.prefix)")
    assert prefix.stdout.strip() == str(project / ".venv"), prefix.stderr
    hello = anyvenv("run", "--no-sync", "alpha-hello")  # a console script uv wrote
    assert hello.stdout == "alpha says hi\n", hello.stderr
    reliability.add("hostile input", "project paths synced", 1)


def test_sync_in_a_project_at_a_non_utf8_path(tmp_path: Path, reliability: Tally) -> None:
    """uv takes no env path that is not UTF-8: said first, with the fix, nothing built (uv's
    own refusal came after the env was made, and named no cause); with the env elsewhere
    (UV_PROJECT_ENVIRONMENT), the project syncs where it is."""
    index = build_index(tmp_path / "index")
    where = os.path.join(os.fsencode(tmp_path), HOSTILE_NAMES["non-utf8"], b"proj")
    project = write_project(Path(os.fsdecode(where)), python_version="3.11")
    env = project_environ(tmp_path / "home", PATH=f"{BASE.parent}:{os.environ['PATH']}")
    refused = subprocess.run(
        [*_anyvenv(), "sync", *index_args(index)], cwd=project, env=env, capture_output=True,
        timeout=240,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "proj" in error_line(refused) and "is not valid UTF-8" in error_line(refused)
    assert "UV_PROJECT_ENVIRONMENT" in error_line(refused)
    assert not (project / ".venv").exists()
    elsewhere = {**env, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "env")}
    synced = subprocess.run(
        [*_anyvenv(), "sync", *index_args(index)], cwd=project, env=elsewhere,
        capture_output=True, timeout=240,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    assert (tmp_path / "env" / "bin" / "alpha-hello").exists()
    reliability.add("hostile input", "project paths synced", 1)


def _anyvenv() -> list[str]:
    import sys

    return [sys.executable, "-m", "anyvenv"]


def _sync(project: Path, home: Path, timeout: float) -> subprocess.CompletedProcess[bytes]:
    """``anyvenv sync`` in ``project``, its HOME ``home``, the base first on PATH."""
    return subprocess.run(
        [*_anyvenv(), "sync"],
        cwd=project,
        env=project_environ(home, PATH=f"{BASE.parent}:{os.environ['PATH']}"),
        capture_output=True,
        timeout=timeout,
    )


# -- planted links ---------------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file that a followed link would overwrite."""
    path = tmp_path / "victim"
    path.write_text("precious")
    return path


def test_file_primitives_never_follow_a_planted_link(tmp_path: Path, victim: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "source").write_bytes(b"new")
    for name, make in {
        "created": lambda p: create_file(p, b"new"),
        "copied": lambda p: copy_file(work / "source", p),
        "placed": lambda p: place_file(work / "source", p, Strategy.COPY),
    }.items():
        (work / name).symlink_to(victim)
        with pytest.raises(FileExistsError):
            make(work / name)
    (work / "replaced").symlink_to(victim)
    atomic_write(work / "replaced", b"new")  # the link is replaced, not written through
    assert not (work / "replaced").is_symlink() and (work / "replaced").read_bytes() == b"new"
    assert victim.read_text() == "precious"


def test_a_link_planted_at_the_flock_path_is_refused(tmp_path: Path, victim: Path) -> None:
    lock = tmp_path / "project" / ".venv.anyvenv.lock"
    lock.parent.mkdir()
    Path(str(lock) + ".flock").symlink_to(victim)
    with pytest.raises(LockUnavailable, match="ELOOP") as refused:
        ShareLock(lock, timeout=2).acquire()
    assert refused.value.hint is not None and refused.value.hint.endswith("remove it")
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("lab_kind", ["sshfs"])
def test_a_link_planted_at_a_lock_file_path_is_never_followed(target: Path, victim: Path) -> None:
    """On a share the lock is a file: a link there holds no holder, so after the grace
    period it is removed like a stale lock (the link, not what it points to)."""
    lock = target / ".venv.anyvenv.lock"
    lock.symlink_to(victim)
    with ShareLock(lock, timeout=20, poll=0.05, unreadable_grace=0.5):
        assert not lock.is_symlink()
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert victim.read_text() == "precious"


def test_sync_with_a_planted_lock_link_fails_cleanly(tmp_path: Path, victim: Path) -> None:
    project = write_project(tmp_path / "proj", dependencies=(), python_version="3.11")
    (project / ".venv.anyvenv.lock.flock").symlink_to(victim)
    proc = _sync(project, tmp_path / "home", timeout=240)
    assert proc.returncode == 1
    assert "cannot take the lock" in error_line(proc)
    assert victim.read_text() == "precious"
    assert not (project / ".venv").exists()


def test_sweeping_leftovers_never_follows_planted_links(tmp_path: Path, victim: Path) -> None:
    """Names of dead leftovers can be guessed: a link or a directory holding a link planted
    under such a name is removed itself; what it points to stays."""
    (tmp_path / f"{PROBE_DIR_PREFIX}{DEAD_TAG}").symlink_to(tmp_path)
    planted = tmp_path / f"{PROBE_DIR_PREFIX}{DEAD_TAG}x"
    planted.mkdir()
    (planted / "into").symlink_to(victim)
    (planted / "dir-into").symlink_to(tmp_path)
    removed = sweep_dead(tmp_path, PROBE_DIR_PREFIX)
    assert len(removed) == 2
    assert victim.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["victim"]


def test_the_probe_clears_dead_scratch_dirs_and_keeps_live_ones(tmp_path: Path) -> None:
    (tmp_path / f"{PROBE_DIR_PREFIX}{DEAD_TAG}").mkdir()
    live = tmp_path / f"{PROBE_DIR_PREFIX}{DEAD_TAG.replace('999999', str(os.getpid()))}"
    live.mkdir()
    probe(tmp_path, use_cache=False)
    assert os.listdir(tmp_path) == [live.name]


def test_an_env_path_that_is_a_link_names_where_the_env_goes(tmp_path: Path) -> None:
    """As uv and venv: a link at the env path is followed (a project on a share often has
    ``.venv`` linked to local disk). What it names is guarded as any target is: a directory
    with files that is not an env is refused and left as it was."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "user-file").write_text("mine")
    (tmp_path / "env").symlink_to(elsewhere)
    proc = run_anyvenv("venv", tmp_path / "env", "--python", BASE, "--clear")
    assert proc.returncode == 2
    assert "is not a virtual environment" in error_line(proc)
    assert os.listdir(elsewhere) == ["user-file"]
    (elsewhere / "user-file").unlink()
    proc = run_anyvenv("venv", tmp_path / "env", "--python", BASE)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "env").is_symlink() and (elsewhere / "pyvenv.cfg").is_file()


# -- garbage files ---------------------------------------------------------------------------

GARBAGE_CFG = {
    "binary": lambda p: p.write_bytes(bytes(range(256)) * 4),
    "empty": lambda p: p.write_bytes(b""),
    "empty-home": lambda p: p.write_bytes(b"home = \n"),
    "no-equals": lambda p: p.write_bytes(b"home /usr/bin\n" * 50),
    "home-elsewhere": lambda p: p.write_bytes(b"home = /nonexistent/bin\nversion_info = 9.9\n"),
    "directory": lambda p: p.mkdir(),
    "fifo": lambda p: os.mkfifo(p),
    "huge": lambda p: (p.write_bytes(b"home = /usr/bin\n"), os.truncate(p, 300 << 20)),
}


@pytest.mark.parametrize("garbage", list(GARBAGE_CFG))
def test_garbage_pyvenv_cfg_is_reported_not_crashed_on(
    tmp_path: Path, garbage: str, reliability: Tally
) -> None:
    env = tmp_path / "env"
    assert run_anyvenv("venv", env, "--python", BASE, "-q").returncode == 0
    (env / "pyvenv.cfg").unlink()
    GARBAGE_CFG[garbage](env / "pyvenv.cfg")
    for command in (("check",), ("check", "--json"), ("repair", "--dry-run"), ("repair",)):
        proc = run_anyvenv(*command, env, timeout=60)  # a FIFO must not block it
        assert "Traceback" not in proc.stderr.decode(errors="replace"), (command, proc.stderr)
        assert proc.returncode in (0, 1, 2), (command, proc.returncode)
        if proc.returncode and proc.stderr.strip():
            error_line(proc)
        reliability.add("hostile input", "garbage pyvenv.cfg: commands run", 1)
    replace = run_anyvenv("venv", env, "--python", BASE, "--clear", "-q", timeout=60)
    assert "Traceback" not in replace.stderr.decode(errors="replace")


GARBAGE_PROJECT: dict[str, tuple[bytes, bytes | None]] = {
    "binary-pyproject": (bytes(range(256)), None),
    "invalid-toml": (b"[project\nname=", None),
    "deeply-nested": (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", None),
    "name-not-a-string": (b'[project]\nname = ["x"]\nversion = "0"\n', None),
    "requires-python-int": (b'[project]\nname = "x"\nversion = "0"\nrequires-python = 5\n', None),
    "no-project-table": (b'project = "x"\n', None),
    "version-file-missing-path": (b'[project]\nname = "x"\nversion = "0"\n', b"/nowhere/python\n"),
}


@pytest.mark.parametrize("garbage", list(GARBAGE_PROJECT))
def test_garbage_project_files_are_usage_errors_before_anything_is_made(
    tmp_path: Path, garbage: str, reliability: Tally
) -> None:
    pyproject, version_file = GARBAGE_PROJECT[garbage]
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_bytes(pyproject)
    if version_file is not None:
        (project / ".python-version").write_bytes(version_file)
    proc = _sync(project, tmp_path / "home", timeout=120)
    assert proc.returncode == 2, proc.stderr
    error_line(proc)
    assert not (project / ".venv").exists()
    reliability.add("hostile input", "garbage project files refused", 1)


GARBAGE_VERSION_FILE = {"garbage": b"3.x\n", "5000-digits": b"3" * 5000 + b"\n"}


@pytest.mark.parametrize("garbage", list(GARBAGE_VERSION_FILE))
def test_garbage_in_a_version_file_is_ignored_with_uvs_warning(
    tmp_path: Path, garbage: str, reliability: Tally
) -> None:
    """A line uv cannot read as a version it reads as an executable name, and ignores with a
    warning (uv 0.7 on): the sync goes on with requires-python, no traceback."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_bytes(
        b'[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.11,<3.12"\n'
    )
    (project / ".python-version").write_bytes(GARBAGE_VERSION_FILE[garbage])
    proc = _sync(project, tmp_path / "home", timeout=120)
    said = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in said, said
    assert "Ignoring unsupported Python request" in said.splitlines()[0], said
    assert (project / ".venv" / "pyvenv.cfg").is_file()
    reliability.add("hostile input", "garbage version file ignored", 1)


# -- archives --------------------------------------------------------------------------------


def _hostile_member(how: str, outside: Path) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo()
    data = b""
    if how == "absolute-path":
        info.name, data = str(outside / "written"), b"pwned"
    elif how == "dotdot-path":
        info.name, data = "python/../../../written", b"pwned"
    elif how == "absolute-symlink":
        info.name, info.type, info.linkname = "python/lib/evil", tarfile.SYMTYPE, str(outside)
    elif how == "escaping-symlink":
        info.name, info.type, info.linkname = "python/bin/up", tarfile.SYMTYPE, "../../.."
    elif how == "hardlink-outside":
        info.name, info.type, info.linkname = "python/lib/pw", tarfile.LNKTYPE, "/etc/passwd"
    elif how == "character-device":
        info.name, info.type, info.devmajor, info.devminor = "python/dev", tarfile.CHRTYPE, 1, 3
    elif how == "block-device":
        info.name, info.type = "python/disk", tarfile.BLKTYPE
    elif how == "fifo":
        info.name, info.type = "python/pipe", tarfile.FIFOTYPE
    elif how == "top-replaced-by-link":
        info.name, info.type, info.linkname = "python", tarfile.SYMTYPE, str(outside)
    elif how == "setuid-file":  # accepted, but never with its set-id bit
        info.name, info.mode, data = "python/bin/suid", 0o4755, b"#!/bin/sh\n"
    info.size = len(data)
    return info, data


HOSTILE_MEMBERS = [
    "absolute-path",
    "dotdot-path",
    "absolute-symlink",
    "escaping-symlink",
    "hardlink-outside",
    "character-device",
    "block-device",
    "fifo",
    "top-replaced-by-link",
]


@pytest.mark.parametrize("how", HOSTILE_MEMBERS)
def test_python_install_refuses_a_hostile_member_and_writes_nothing(
    tmp_path: Path, how: str, standalone: StandaloneArchive, reliability: Tally
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary").write_text("untouched")
    member, data = _hostile_member(how, outside)
    archive = tmp_path / "hostile.tar.gz"
    with tarfile.open(standalone.path) as good, tarfile.open(archive, "w:gz") as tar:
        for info in good:
            tar.addfile(info, good.extractfile(info) if info.isreg() else None)
            if info.name == "python/lib":  # early: nothing may be extracted before it
                tar.addfile(member, io.BytesIO(data) if data else None)
    mirror = tmp_path / "mirror"
    publish(mirror, standalone.version_text, archive)
    downloads = write_downloads_json(
        tmp_path / "downloads.json",
        {
            standalone.install_name: (
                standalone.version,
                github_url(standalone.version_text),
                sha256_of(archive),
            )
        },
    )
    install_dir = tmp_path / "pythons"
    proc = run_anyvenv(
        "python",
        "install",
        standalone.version_text,
        "--install-dir",
        install_dir,
        ANYVENV_PYTHON_DOWNLOADS_JSON=str(downloads),
        ANYVENV_PYTHON_INSTALL_MIRROR=mirror.as_uri(),
        ANYVENV_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert proc.returncode == 1
    assert "archive member" in error_line(proc)
    assert sorted(os.listdir(outside)) == ["canary"]
    assert (outside / "canary").read_text() == "untouched"
    assert not (tmp_path / "written").exists() and not (tmp_path.parent / "written").exists()
    leftover = [p for p in install_dir.rglob("*") if not p.name.startswith(".anyvenv-python")]
    assert leftover == [], leftover
    reliability.add("hostile input", "hostile archive members refused", 1)


def test_a_setuid_member_loses_its_set_id_bit(lab: Lab, tmp_path: Path) -> None:
    from anyvenv.pythons.archive import check_member

    member, _ = _hostile_member("setuid-file", tmp_path)
    entry = check_member(member)
    assert entry is not None and entry.mode == 0o775  # (the group's write: as the umask lets it)
