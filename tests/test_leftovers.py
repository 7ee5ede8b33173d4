"""What anyvenv leaves behind is named to be cleared later (anyvenv.fs.leftovers)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from anyvenv.fs.leftovers import scratch_dir, this_host


def _dead_pid() -> str:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return gone.stdout.strip()


@pytest.mark.parametrize("mark", ["anyvenv-patchelf-", "anyvenv-download-"])
def test_a_scratch_dir_is_its_own_and_clears_those_of_killed_runs(
    mark: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scratch directories of patchelf and of a download with no cache to go to: a
    SIGKILLed run's is swept by the next one, a live run's is left, each run's own goes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"{mark}{this_host()}-{_dead_pid()}-abcdef"
    alive = tmp_path / f"{mark}{this_host()}-{os.getpid()}-abcdef"
    for leftover in (dead, alive):
        leftover.mkdir()
        (leftover / "python3.12").write_bytes(b"\x7fELF")
    with scratch_dir("a test", mark) as path:
        assert Path(path).parent == tmp_path and Path(path).name.startswith(mark)
        assert os.stat(path).st_mode & 0o777 == 0o700
        (Path(path) / "file").write_text("x")
    assert not dead.exists() and alive.exists()
    assert not Path(path).exists()


# -- markers of a move file by file (mark_moving, cut_move) that are not ours ----------------


def _directory_of_the_users(env: Path, marker: str, text: str) -> dict[str, str]:
    """``env``: no pyvenv.cfg, a file named ``marker`` holding ``text``, files of the user's."""
    files = {"file.txt": "mine", "bin/tool": "mine too", marker: text}
    for name, content in files.items():
        (env / name).parent.mkdir(parents=True, exist_ok=True)
        (env / name).write_text(content)
    return files


def _files_below(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text() for path in root.rglob("*") if path.is_file()
    }


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("{host}-{dead}-abcdef", "my notes\nfile.txt\nbin\n"),  # named as ours; not our format
        ("x", "anyvenv-moving 1\nfile.txt\nbin\n"),  # our format; names that are not ours
        ("{host}-{dead}", "anyvenv-moving 1\nfile.txt\nbin\n"),
        ("{host}-{dead}-abc-def", "anyvenv-moving 1\nfile.txt\nbin\n"),
        ("{host}-pid-abcdef", "anyvenv-moving 1\nfile.txt\nbin\n"),
    ],
    ids=["other-format", "one-part", "two-parts", "four-parts", "pid-not-digits"],
)
def test_a_directory_with_a_moving_marker_that_is_not_ours_is_the_users(
    name: str, text: str, tmp_path: Path
) -> None:
    """A file named like a marker of a killed move file by file, but not one anyvenv wrote
    (another first line, a name not HOST-PID-RAND): the directory is refused as the user's,
    as any other, and nothing in it is removed."""
    from support import BASE, run_cli

    env = tmp_path / "env"
    marker = ".anyvenv-moving-" + name.format(host=this_host(), dead=_dead_pid())
    files = _directory_of_the_users(env, marker, text)
    made = run_cli("venv", os.fspath(env), "--python", os.fspath(BASE), "-q")
    assert made.returncode != 0
    assert "is not empty and is not a virtual environment" in made.stderr, made.stderr
    checked = run_cli("check", os.fspath(env))
    assert checked.returncode != 0
    assert "it has no pyvenv.cfg" in checked.stderr, checked.stderr
    assert _files_below(env) == files


def test_a_move_file_by_file_of_another_host_is_named_and_left(tmp_path: Path) -> None:
    """The marker of a run on another host (a share both mount): its process cannot be
    judged from here, so the directory is left as it is, and the message says where it runs."""
    from support import BASE, run_cli

    env = tmp_path / "env"
    marker = ".anyvenv-moving-otherhost.4026531-4242-abcdef"
    files = _directory_of_the_users(env, marker, "anyvenv-moving 1\nfile.txt\nbin\n")
    for args in (("check", os.fspath(env)), ("venv", os.fspath(env), "--python", os.fspath(BASE))):
        proc = run_cli(*args)
        assert proc.returncode != 0
        assert "anyvenv on otherhost.4026531 (process 4242) is moving one" in proc.stderr, (
            args,
            proc.stderr,
        )
        assert _files_below(env) == files


def test_a_host_name_becomes_a_name_part_every_filesystem_takes() -> None:
    """Ordinary names are kept (``-`` made ``_``: it separates the tag's parts); a name with
    other characters or longer than 24 bytes is cut to 24 ASCII bytes ending in a checksum,
    which keeps two hosts whose safe forms agree apart."""
    from anyvenv.fs.leftovers import HOST_PART, _host_name

    assert _host_name("build-01.example") == "build_01.example"
    assert _host_name("") == "host"
    names = ["café:01", "cafè:01", "é" * 30, "a" * 40, "x*y?z|w"]
    parts = [_host_name(name) for name in names]
    for name, part in zip(names, parts, strict=True):
        assert part.isascii() and len(part) <= HOST_PART, (name, part)
        assert all(c.isalnum() or c in "_.~" for c in part), part
        assert part == _host_name(name)  # (the same in every process)
    assert len(set(parts)) == len(parts)


def _venv_under_host_name(host: str, env: Path) -> subprocess.CompletedProcess[str]:
    """``anyvenv venv -q ENV`` in a UTS namespace of its own, whose host name is ``host``."""
    src = Path(__file__).resolve().parent.parent / "src"
    script = (
        "import os, socket, sys\n"
        "socket.sethostname(sys.argv[1].encode())\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'anyvenv', 'venv', '-q', sys.argv[2]])\n"
    )
    return subprocess.run(
        ["unshare", "--uts", sys.executable, "-c", script, host, str(env)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(src)),
    )


def test_an_env_is_made_on_fat_under_a_host_name_fat_refuses(lab: object) -> None:
    """A staging directory is named after the host: a host name with ``:`` (FAT takes none)
    or non-ASCII letters must not stop ``anyvenv venv`` on FAT (a UTS namespace of its own
    gives this run that name)."""
    from lab import Lab

    assert isinstance(lab, Lab)
    target = lab.target("fat")
    proc = _venv_under_host_name("café:01", target / "env")
    assert proc.returncode == 0, proc.stderr
    made = subprocess.run(
        [str(target / "env" / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
    )
    assert made.stdout.strip() == str(target / "env"), made.stderr
    assert sorted(os.listdir(target)) == ["env"]


def test_what_an_earlier_release_left_under_a_long_host_name_is_still_cleared(
    tmp_path: Path,
) -> None:
    """Earlier releases cut the host name at 24 characters where this one ends a long name in
    a checksum: a staging directory a killed run of one left beside the env is still this
    host's, and cleared by the next ``anyvenv venv``."""
    host = "ip-172-31-22-123.ec2.internal"
    namespace = "".join(c for c in os.readlink("/proc/self/ns/pid") if c.isdigit())[-6:]
    earlier = f"{host.replace('-', '_')[:24]}.{namespace}"
    staging = tmp_path / f".env.anyvenv-staging-{earlier}-{_dead_pid()}-abcdef"
    (staging / "bin").mkdir(parents=True)
    proc = _venv_under_host_name(host, tmp_path / "env")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["env"]
