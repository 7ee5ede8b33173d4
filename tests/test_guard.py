"""How commands end on a user's situation rather than a bug: one line, the exit code, no
traceback. Here: a working directory that was removed under the shell (uv says "Current
directory does not exist"); every command that needs it stops with one line and exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from anyvenv.errors import AnyvenvError
from anyvenv.project.uvrules import UV_GLOBAL_FLAGS
from lab import Lab
from support import ANYVENV, as_nobody, cli_env, one_line_error

NEEDS_THE_DIRECTORY = [
    ["venv"],
    ["venv", "-p", "3.11"],
    ["venv", "relative-env"],
    ["sync"],
    ["run", "true"],
    ["pip", "list"],
    ["check"],
    ["repair"],
    ["doctor"],
    ["probe"],
]


def _in_removed_directory(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    gone = tmp_path / "gone"
    gone.mkdir()
    return subprocess.run(
        [
            "sh",
            "-c",
            'cd "$1" && rmdir "$1" && shift && exec "$@"',
            "sh",
            str(gone),
            *ANYVENV,
            *args,
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize("args", NEEDS_THE_DIRECTORY, ids=" ".join)
def test_a_removed_working_directory_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str]
) -> None:
    done = _in_removed_directory(tmp_path, args)
    assert done.returncode == 2, done.stderr
    assert one_line_error(done) == (
        "anyvenv: error: the current directory does not exist; cd to a directory that does"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made anywhere near


def test_a_command_given_absolute_paths_still_works_there(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    done = _in_removed_directory(tmp_path, ["probe", str(tmp_path / "share"), "--json"])
    assert done.returncode == 0, done.stderr
    assert '"symlink_create"' in done.stdout


def test_a_boolean_variable_uv_would_refuse_is_refused_before_anything_is_done(
    tmp_path: Path,
) -> None:
    """As uv's boolish parser: ``UV_VENV_CLEAR=nope`` is an error, not a yes that replaces
    the env; the fast paths that read variables first say so in one line too."""
    env_dir = tmp_path / "env"
    assert subprocess.run([*ANYVENV, "venv", "-q", str(env_dir)], env=cli_env()).returncode == 0
    (env_dir / "keep").write_text("mine")
    for variable, args in (
        ("UV_VENV_CLEAR", ["venv", str(env_dir)]),
        ("UV_NO_SYNC", ["run", "python", "-c", "pass"]),
        ("UV_NO_PROJECT", ["venv", str(tmp_path / "other")]),
        # uv's global ones, which every uv command refuses, read or not by the command here
        ("UV_NO_PROGRESS", ["venv", str(tmp_path / "other")]),
        ("UV_NO_CACHE", ["venv", str(tmp_path / "other")]),
        ("UV_PREVIEW", ["sync"]),
        ("UV_OFFLINE", ["python", "find", "3.11"]),
        ("UV_NO_PROGRESS", ["python", "list"]),
        ("UV_NATIVE_TLS", ["pip", "list"]),
        ("UV_FROZEN", ["venv", str(tmp_path / "other")]),
        ("UV_VENV_SEED", ["python", "dir"]),
    ):
        proc = subprocess.run(
            [*ANYVENV, *args], cwd=tmp_path, env=cli_env(**{variable: "nope"}),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2, (variable, proc.stderr)
        assert f"{variable}='nope' is not a boolean" in one_line_error(proc)
    for variable, args in (("UV_OFFLINE", ["python", "list"]), ("UV_NO_SYNC", ["venv", "x"])):
        empty = subprocess.run(
            [*ANYVENV, *args], cwd=tmp_path, env=cli_env(**{variable: ""}),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert empty.returncode == 2, (variable, empty.stderr)  # (as uv: nothing is no boolean)
        assert f"{variable} is set to nothing" in one_line_error(empty)
    assert (env_dir / "keep").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env"]
    on = subprocess.run(
        [*ANYVENV, "venv", "-q", str(env_dir)], env=cli_env(UV_VENV_CLEAR="Yes"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert on.returncode == 0 and not (env_dir / "keep").exists(), on.stderr


# measured: what uv 0.13.9 refuses at its start whatever the command (`uv python dir`)
UV_START_UP_BOOLEANS = [
    "UV_NO_PROGRESS",
    "UV_OFFLINE",
    "UV_NO_CACHE",
    "UV_NATIVE_TLS",
    "UV_SYSTEM_CERTS",
    "UV_PREVIEW",
    "UV_NO_CONFIG",
    "UV_ISOLATED",
    "UV_NO_ENV_FILE",
    "UV_MANAGED_PYTHON",
    "UV_NO_MANAGED_PYTHON",
    "UV_FROZEN",
    "UV_LOCKED",
    "UV_NO_SYNC",
    "UV_SHOW_RESOLUTION",
    "UV_NO_INSTALLER_METADATA",
    "UV_NO_EDITABLE",
    "UV_NO_DEV",
    "UV_DEV",
    "UV_INIT_BARE",
    "UV_VENV_SEED",
    "UV_VENV_CLEAR",
]


def test_the_start_up_variables_are_those_uv_refuses() -> None:
    from anyvenv.uvbinary import find_uv

    assert sorted(UV_GLOBAL_FLAGS) == sorted(UV_START_UP_BOOLEANS)
    for variable in UV_START_UP_BOOLEANS:  # (the uv anyvenv runs says so too)
        refused = subprocess.run(
            [find_uv(), "python", "dir"], env=cli_env(**{variable: "nope"}), capture_output=True
        )
        assert refused.returncode == 2, variable


@pytest.mark.parametrize("variable", UV_START_UP_BOOLEANS)
def test_each_of_uvs_start_up_variables_is_refused_before_a_sync_makes_anything(
    tmp_path: Path, variable: str
) -> None:
    """Each, as uv refuses it at its start: before the env is made (not by uv afterwards,
    with the env made and removed again)."""
    project = tmp_path / "demo"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    proc = subprocess.run(
        [*ANYVENV, "sync", "--offline"], cwd=project, env=cli_env(**{variable: "nope"}),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"{variable}='nope' is not a boolean" in one_line_error(proc)
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml"]


def test_uvs_variables_do_not_stop_help_nor_anyvenvs_own_commands(tmp_path: Path) -> None:
    """As uv prints its help whatever its variables hold; `cache`, `check`, `probe` are
    anyvenv's own: uv's variables are not theirs to refuse."""
    bad = cli_env(UV_OFFLINE="nope")
    for args in (
        ["venv", "--help"],
        ["sync", "--help"],
        ["cache", "dir"],
        ["probe", str(tmp_path)],
    ):
        proc = subprocess.run([*ANYVENV, *args], env=bad, capture_output=True, text=True)
        assert proc.returncode == 0, (args, proc.stderr)


def test_an_abbreviated_option_is_refused_as_uv_refuses_it(tmp_path: Path) -> None:
    """``--cl`` must not be read as ``--clear`` (argparse would): it replaced an env."""
    env_dir = tmp_path / "env"
    assert subprocess.run([*ANYVENV, "venv", "-q", str(env_dir)], env=cli_env()).returncode == 0
    (env_dir / "keep").write_text("mine")
    for args, command in (
        (["venv", "--cl", str(env_dir)], "venv"),
        (["probe", "--js", str(tmp_path)], "probe"),
        (["python", "install", "3.12", "--reinst"], "python install"),  # the subcommand's help
        (["cache", "prune", "--dry"], "cache prune"),
    ):
        proc = subprocess.run([*ANYVENV, *args], env=cli_env(), capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        line = one_line_error(proc)
        assert "unrecognized arguments" in line and f"'anyvenv {command} --help'" in line
    assert (env_dir / "keep").read_text() == "mine"


def test_closed_standard_streams_and_non_utf8_paths_are_not_a_crash(tmp_path: Path) -> None:
    """``>&-`` and ``<&-`` read and write as /dev/null; a path that is not UTF-8 is printed as
    its bytes, whatever the locale's error handler would say."""
    env = cli_env(PYTHONIOENCODING="utf-8:strict")
    closed_out = subprocess.run(
        [*ANYVENV, "probe", "--json", str(tmp_path)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, pass_fds=(), close_fds=True,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert closed_out.returncode == 0 and "Traceback" not in closed_out.stderr
    closed_in = subprocess.run(
        [*ANYVENV, "probe", str(tmp_path)], env=env, capture_output=True, text=True,
        preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert closed_in.returncode == 0 and "Traceback" not in closed_in.stderr
    odd = os.fsencode(str(tmp_path)) + b"/bad\xffdir"
    os.mkdir(odd)
    shown = subprocess.run([*ANYVENV, "probe", odd], env=env, capture_output=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert odd in shown.stdout and b"Traceback" not in shown.stderr
    # and in an error message on stderr (a venv there exists already: one line naming it)
    assert subprocess.run([*ANYVENV, "venv", "-q", odd], env=env).returncode == 0
    again = subprocess.run([*ANYVENV, "venv", odd], env=env, capture_output=True, timeout=60)
    assert again.returncode == 2 and odd in again.stderr, again.stderr


@pytest.mark.parametrize("command", ["check", "repair", "doctor", "probe"])
def test_an_empty_path_is_named_as_such(command: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [*ANYVENV, command, ""], cwd=tmp_path, env=cli_env(), capture_output=True, text=True
    )
    assert proc.returncode == 2 and "path is empty" in one_line_error(proc), proc.stderr
    assert os.listdir(tmp_path) == []


def test_version_is_answered_before_any_parser_is_built() -> None:
    """``anyvenv --version`` prints what argparse would, without importing it."""
    code = (
        "import sys, runpy; sys.argv = ['anyvenv', '--version']\n"
        "try:\n    runpy.run_module('anyvenv', run_name='__main__')\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "assert 'argparse' not in sys.modules, 'argparse was imported'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    import anyvenv

    assert proc.stdout == f"anyvenv {anyvenv.__version__}\n"


@pytest.mark.parametrize(
    "args", [["sync"], ["lock"], ["add", "x"], ["remove", "x"], ["run", "true"]]
)
def test_a_directory_that_does_not_exist_is_named_as_such(args: list[str], tmp_path: Path) -> None:
    """``--directory`` naming nothing: not "no pyproject.toml found", not uv's bare
    "No such file or directory"."""
    gone = tmp_path / "gone"
    proc = subprocess.run(
        [*ANYVENV, args[0], "--directory", str(gone), *args[1:]],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"the directory {gone} does not exist" in one_line_error(proc), proc.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])  # a mount probed under the bound
@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf"])
def test_a_filesystem_bound_that_cannot_bound_is_refused(value: str, target: Path) -> None:
    """``ANYVENV_FS_TIMEOUT=inf`` would take away the bound that keeps a hung mount from
    hanging anyvenv; garbage was silently read as the default."""
    proc = subprocess.run(
        [*ANYVENV, "probe", str(target)], env=cli_env(ANYVENV_FS_TIMEOUT=value),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"ANYVENV_FS_TIMEOUT={value!r} is not a number of seconds" in one_line_error(proc)


@pytest.mark.parametrize(
    "command", [["venv", "{tmp}/env"], ["check", "{tmp}"], ["cache", "dir"], ["python", "list"]]
)
def test_a_bad_filesystem_bound_is_refused_by_every_command(
    command: list[str], tmp_path: Path
) -> None:
    """On local disk no call is bounded: a bad value passed silently there before."""
    args = [word.replace("{tmp}", str(tmp_path)) for word in command]
    proc = subprocess.run(
        [*ANYVENV, *args], env=cli_env(ANYVENV_FS_TIMEOUT="abc"),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "ANYVENV_FS_TIMEOUT='abc' is not a number of seconds" in one_line_error(proc)
    assert os.listdir(tmp_path) == []
    helped = subprocess.run(  # help is still there to read (it documents the variable)
        [*ANYVENV, command[0], "--help"], env=cli_env(ANYVENV_FS_TIMEOUT="abc"),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert helped.returncode == 0 and helped.stdout.startswith("usage: anyvenv")


FULL_OUTPUT_COMMANDS = [
    ["--version"],
    ["probe"],
    ["probe", "--json"],
    ["doctor"],
    ["cache", "dir", "--json"],
    ["python", "list", "--json"],
]


@pytest.mark.parametrize("args", FULL_OUTPUT_COMMANDS, ids=" ".join)
def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path, args: list[str]) -> None:
    """stdout on a full device (``> /dev/full``): one line saying so and exit 1, wherever
    the write fails (while printing, or flushing at the end), never a traceback."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*ANYVENV, *args],
            cwd=tmp_path,
            env=cli_env(),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert one_line_error(proc).startswith(
        "anyvenv: error: writing failed: No space left on device"
    )


def test_a_path_in_an_error_keeps_its_own_spaces(tmp_path: Path) -> None:
    """One line, but a path's spaces and tabs as they are (" /tmp" is not "/tmp")."""
    for name in ("a  b", "tab\there", " lead"):
        missing = tmp_path / name
        proc = subprocess.run(
            [*ANYVENV, "check", str(missing)], capture_output=True, text=True, env=cli_env()
        )
        assert proc.returncode == 2
        assert f"{missing} does not exist" in one_line_error(proc)
    broken = AnyvenvError("first line\n   second line", "hint")
    assert broken.one_line() == "first line second line; hint"


def test_a_filesystem_refusal_anyvenv_did_not_foresee_is_one_line() -> None:
    """An OSError naming its file that no code path turned into an error of its own (a mount
    refusing in a new way) is said in one line with its errno, exit 1, not a traceback."""
    code = (
        "import errno, sys\n"
        "from anyvenv.cli.guard import guarded\n"
        "def refused():\n"
        "    raise OSError(errno.ENOTEMPTY, 'Directory not empty', '/mnt/share/x/lib')\n"
        "sys.exit(guarded(refused))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert line.startswith("anyvenv: error: /mnt/share/x/lib: Directory not empty (ENOTEMPTY)")


def _file_size_limit() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


def test_a_file_size_limit_is_named_with_its_fix(tmp_path: Path) -> None:
    """``ulimit -f`` (EFBIG, the disk not full): the line says which limit stopped the
    write, not to free space; for an env made, for anyvenv's own writes and a mirror's."""
    code = (
        "import sys\n"
        "from anyvenv.cli.guard import guarded\n"
        "from anyvenv.fs.atomic import atomic_write\n"
        "sys.exit(guarded(lambda: atomic_write(sys.argv[1], bytes(1 << 16))))\n"
    )
    fix = "larger than this process may write (ulimit -f) or than that filesystem takes"
    for args in (["-c", code, str(tmp_path / "state")], ["-m", "anyvenv", "venv", "env"]):
        proc = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True,
            env=cli_env(PYTHONDONTWRITEBYTECODE="1"),  # (CPython writes a .pyc cut short)
            stdin=subprocess.DEVNULL, cwd=tmp_path, preexec_fn=_file_size_limit,
        )  # fmt: skip
        assert proc.returncode == 1
        line = one_line_error(proc)
        assert "File too large" in line and fix in line, line
    assert os.listdir(tmp_path) == []  # (nothing half-made)
    from anyvenv.project.mirror import _not_placed

    refused = _not_placed(OSError(27, "File too large"), "/env/lib/x.so")
    assert fix in (refused.hint or "")


def test_a_file_that_fills_the_disk_is_named_with_the_fix(lab: Lab) -> None:
    """A write of anyvenv's own (a state file, the mirror's journal in the user cache) on a
    full filesystem: the line names the file, so the user knows which disk is full (h46: the
    shadow's side, while the project's disk had room), and says to free space there."""
    full = lab.small_target(size_kib=256)
    code = (
        "import sys\n"
        "from anyvenv.cli.guard import guarded\n"
        "from anyvenv.fs.atomic import atomic_write\n"
        "sys.exit(guarded(lambda: atomic_write(sys.argv[1], bytes(1 << 20))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(full / "journal")], capture_output=True, text=True,
        env=cli_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert line.startswith(f"anyvenv: error: {full}/journal"), line
    assert line.endswith("No space left on device; free space on that filesystem"), line
    assert os.listdir(full) == []  # (the temp file is gone)


def test_a_refusal_on_a_full_filesystem_says_it_is_full(lab: Lab) -> None:
    """sshfs says EIO, some FUSE filesystems EPERM, when the disk is full (h46): an error of
    those naming a file where almost no room is left says so; a permission refusal there is
    not blamed on space (h50). (fusefat reports no sizes: there it cannot be told.)"""
    full = lab.small_target(size_kib=256)
    with pytest.raises(OSError), open(full / "filler", "wb") as filler:
        filler.write(bytes(1 << 20))
    code = (
        "import errno, os, sys\n"
        "from anyvenv.cli.guard import guarded\n"
        "def refused():\n"
        "    number = getattr(errno, sys.argv[2])\n"
        "    raise OSError(number, os.strerror(number), sys.argv[1])\n"
        "sys.exit(guarded(refused))\n"
    )
    said = {}
    for name in ("EPERM", "EIO", "EACCES"):
        proc = subprocess.run(
            [sys.executable, "-c", code, str(full / "pkg" / "mod.py"), name],
            capture_output=True, text=True, env=cli_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.returncode == 1
        said[name] = one_line_error(proc)
    full_fix = "its filesystem is full (0 KiB left): free space on it"
    assert said["EPERM"].endswith(f"(EPERM); {full_fix}"), said
    assert said["EIO"].endswith(f"Input/output error; {full_fix}"), said
    assert said["EACCES"].endswith("(EACCES); check that filesystem and what holds that file")


def test_an_io_error_writing_a_file_names_it_and_its_device(lab: Lab) -> None:
    """EIO from a mount that fails (sshfs when its server's disk is full, a dying drive): the
    line names the file and says to look at the device, not only to free space."""
    failing, set_budget = lab.eio_target()
    set_budget(0)
    code = (
        "import sys\n"
        "from anyvenv.cli.guard import guarded\n"
        "from anyvenv.fs.atomic import atomic_write\n"
        "sys.exit(guarded(lambda: atomic_write(sys.argv[1], b'state')))\n"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(failing / "state")], capture_output=True,
            text=True, env=cli_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        set_budget(None)
    assert proc.returncode == 1
    assert one_line_error(proc) == (
        f"anyvenv: error: {failing}/state: Input/output error; check that device and its connection"
    )


def test_a_path_the_locales_encoding_cannot_say_is_one_line_naming_the_fix(
    tmp_path: Path,
) -> None:
    """Under a C locale with UTF-8 mode off, an env under ``café`` made under UTF-8 is
    checked and repaired (its files are read as its paths' bytes); the sync state of a
    project there names its env as UTF-8 text that the ASCII filesystem encoding cannot
    take back: a sync is one line saying to use a UTF-8 locale, exit 2, not a traceback."""
    from project_support import build_index, index_args, project_environ, write_project

    index = build_index(tmp_path / "index")
    place = write_project(tmp_path / "café", python_version=None)
    utf8 = project_environ(tmp_path / "home")
    made = subprocess.run([*ANYVENV, "sync", "-q", *index_args(index)], cwd=place, env=utf8,
                          capture_output=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    plain = subprocess.run([*ANYVENV, "venv", "v", "-q"], cwd=place, env=utf8,
                           capture_output=True, check=False)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    env = {**utf8, "PYTHONUTF8": "0", "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0"}
    env.pop("PYTHONIOENCODING", None)
    for command in (["check", "v"], ["repair", "v", "--json"]):
        done = subprocess.run([*ANYVENV, *command], cwd=place, env=env, capture_output=True,
                              check=False)  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
    done = subprocess.run([*ANYVENV, "sync", *index_args(index)], cwd=place, env=env,
                          capture_output=True, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr
    assert done.stderr.endswith(b"; run anyvenv with a UTF-8 locale (LC_ALL=C.UTF-8) or "
                                b"PYTHONUTF8=1\n")  # fmt: skip


def test_a_unicode_error_under_a_utf8_encoding_is_not_blamed_on_the_locale() -> None:
    """Under UTF-8 (the default here) no locale is at fault: a UnicodeError is anyvenv's own
    bug and shows as one (a traceback, exit 1), not as advice to change the locale."""
    code = (
        "import sys\n"
        "from anyvenv.cli.guard import guarded\n"
        "def broken():\n"
        "    b'\\xff'.decode('utf-8')\n"
        "    return 0\n"
        "sys.exit(guarded(broken))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-c", code], capture_output=True, text=True,
        env=cli_env(), stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "UnicodeDecodeError" in proc.stderr
    assert "locale" not in proc.stderr


@pytest.mark.parametrize("command", ["venv", "sync"])
def test_a_user_at_the_process_limit_is_told_so_in_one_line(
    nobody_scratch: Path, command: str
) -> None:
    """`ulimit -u` reached (a crowded login node): no process can be started, which is no
    verdict on the filesystem ("nothing can be executed here") and no traceback: one line
    naming the limit, exit 1, nothing made."""
    work = nobody_scratch / "work"
    work.mkdir()
    (work / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.11"\n'
    )
    os.chmod(work, 0o777)
    with as_nobody(with_uv=True) as (as_nobody_command, env):
        done = subprocess.run(
            ["prlimit", "--nproc=1", *as_nobody_command, "-m", "anyvenv", command,
             *(["env"] if command == "venv" else []), "--python", "/usr/bin/python3"],
            capture_output=True, text=True, cwd=work, stdin=subprocess.DEVNULL,
            env={**env, "HOME": str(work), "XDG_CACHE_HOME": str(work / "cache")},
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    line = one_line_error(done)
    assert "(EAGAIN); this user runs as many processes as it may (ulimit -u)" in line, line
    assert not (work / "env").exists() and not (work / ".venv").exists()


def test_a_sigterm_python_drops_in_a_finalizer_still_ends_the_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A signal's exception raised inside a ``__del__`` (or a weakref callback) is dropped by
    Python with a traceback: the command is told it was stopped once it returns, and no
    traceback is printed."""
    from anyvenv.cli.guard import Terminated, guarded

    class Finalized:
        def __del__(self) -> None:
            raise Terminated(15)  # as the SIGTERM handler raises, wherever the process is

    def command() -> int:
        Finalized()  # (dropped at once: its __del__ runs here)
        return 0

    assert guarded(command) == 143
    err = capsys.readouterr().err
    assert err == "anyvenv: terminated\n"


SECOND_SIGNAL_DRIVER = """
import os, signal, sys, time
from anyvenv.cli.guard import guarded

class SignalledWhileSaid:  # stderr, whose first write brings a second signal (a TERM)
    def __init__(self, stream):
        self.stream, self.sent = stream, False
    def write(self, text):
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)
        return self.stream.write(text)
    def flush(self):
        self.stream.flush()

def command():
    try:
        os.kill(os.getpid(), int(sys.argv[1]))  # the terminal closed, or Ctrl-C: stop
        time.sleep(5)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # timeout's TERM, while cleaning up
        time.sleep(0.05)
        sys.stderr.write("cleaned up\\n")
        sys.stderr = SignalledWhileSaid(sys.stderr)  # and another while the end is said
    return 0

sys.exit(guarded(command))
"""


@pytest.mark.parametrize(
    ("first", "code", "said"),
    [(signal.SIGHUP, 129, "anyvenv: hung up"), (signal.SIGINT, 130, "anyvenv: interrupted")],
)
def test_a_second_stop_signal_neither_cuts_the_clean_up_nor_brings_a_traceback(
    first: signal.Signals, code: int, said: str
) -> None:
    """A closed terminal's HUP (or a Ctrl-C), then timeout's or a supervisor's TERM (h100: a
    second user's sync waiting for a lock, ended): the clean-up runs to its end and the
    first signal's line and exit code stand (a TERM while the line was said gave a
    traceback, exit 1)."""
    src = str(Path(__file__).resolve().parent.parent / "src")
    done = subprocess.run(
        [sys.executable, "-c", SECOND_SIGNAL_DRIVER, str(int(first))],
        env={**os.environ, "PYTHONPATH": src}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (code, f"cleaned up\n{said}\n")
