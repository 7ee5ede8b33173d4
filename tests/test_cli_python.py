"""`anyvenv python install|list|find|uninstall` as users run it, and `anyvenv venv --python X.Y`
finding what was installed. Offline: the test archive through a file:// mirror."""

from __future__ import annotations

import json
import os
import pty
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from standalone_build import (
    StandaloneArchive,
    github_url,
    pythons_env,
    standalone,
    write_downloads_json,
)

from anyvenv.envbuild.config import read_pyvenv_cfg
from anyvenv.interpreter.query import query_interpreter
from anyvenv.pythons.sources import GITHUB_RELEASE_BASES
from support import ANYVENV, BASE, cli_env, fake_install, one_line_error, read_until_closed, run_cli

__all__ = ["pythons_env", "standalone"]  # fixtures used by the tests below


def test_install_list_find_uninstall(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = tmp_path / "pythons"
    where = ("--install-dir", str(install_dir))
    home = install_dir / standalone.install_name
    exe = home / "bin" / standalone.executable_name

    proc = run_cli("python", "install", "3.12", *where, "--json", "--no-bin")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "no progress when stderr is not a terminal"
    [report] = json.loads(proc.stdout)  # a list, whatever the number of versions
    assert report["executables"] is None  # (--no-bin; made by the next install)
    assert report["status"] == "installed"
    assert report["path"] == str(home)
    assert report["executable"] == str(exe)
    assert report["sha256"] == standalone.sha256
    assert report["url"].startswith(standalone.mirror + "/20990101/")
    assert report["links"] == "symlink"
    assert report["validated_imports"] == ["ssl", "sqlite3", "ctypes"]

    again = run_cli("python", "install", "3.12", *where)
    assert again.returncode == 0
    assert "already installed" in again.stderr  # (as uv says it: stdout is for --json)
    [already] = json.loads(run_cli("python", "install", "3.12", *where, "--json").stdout)
    assert already["status"] == "already installed"  # and what it was made from, as recorded
    assert (already["sha256"], already["url"]) == (report["sha256"], report["url"])
    assert already["links"] == "symlink"

    listing = run_cli("python", "list", *where, "--json")  # (the table has this build only)
    assert listing.returncode == 0
    [listed] = json.loads(listing.stdout)
    assert (listed["name"], listed["installed"]) == (standalone.install_name, str(exe))
    text = run_cli("python", "list", *where)
    assert text.stdout.split() == [standalone.install_name, str(exe)]
    only = run_cli("python", "list", "--only-installed", *where, "--json")
    assert [item["name"] for item in json.loads(only.stdout)] == [standalone.install_name]

    found = run_cli("python", "find", "3.12", *where)
    assert found.returncode == 0
    assert found.stdout.strip() == str(exe)
    found_json = json.loads(run_cli("python", "find", "--json", *where).stdout)
    assert found_json["version"] == standalone.version_text
    assert found_json["source_url"] == standalone.url, "the install records where it came from"

    removed = run_cli("python", "uninstall", "3.12", *where, "--json")
    assert removed.returncode == 0
    assert json.loads(removed.stdout) == [
        {
            "name": standalone.install_name,
            "path": str(home),
            "files_left": None,
            "executables_removed": ["python3.12"],
        }
    ]
    assert not home.exists()
    missing = run_cli("python", "find", "3.12", *where)
    assert missing.returncode == 2
    assert "no installed Python matches '3.12'" in one_line_error(missing)
    empty = run_cli("python", "list", "--only-installed", *where)
    assert empty.returncode == 0 and "no Pythons installed" in empty.stderr
    offered = run_cli("python", "list", *where)  # as uv python list: what can be installed
    assert offered.stdout.split(None, 1) == [standalone.install_name, "<download available>\n"]

    # as uv: no version installs the .python-version's; several are installed in turn
    project = tmp_path / "project"
    project.mkdir()
    (project / ".python-version").write_text("3.12\n")
    pinned = run_cli("python", "install", *where, "--json", cwd=project)
    assert pinned.returncode == 0, pinned.stderr
    assert [item["path"] for item in json.loads(pinned.stdout)] == [str(home)]
    both = run_cli("python", "install", "3.12", standalone.version_text, *where, "--json")
    assert both.returncode == 0, both.stderr
    assert [item["status"] for item in json.loads(both.stdout)] == ["already installed"] * 2
    # .python-versions (preferred, as by uv python install): every version in it
    (project / ".python-versions").write_text(f"# pins\n3.12\n{standalone.version_text}\n")
    listed = run_cli("python", "install", *where, "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert [item["name"] for item in json.loads(listed.stdout)] == [standalone.install_name] * 2
    (project / ".python-versions").write_text("3.12\npypy3.10\n")
    bad_pin = run_cli("python", "install", *where, cwd=project)
    assert bad_pin.returncode == 2
    assert one_line_error(bad_pin) == (
        f"anyvenv: error: {project / '.python-versions'} pins 'pypy3.10', which is not a "
        "CPython version anyvenv installs; pass the versions to install, or fix the file"
    )
    (project / ".python-versions").write_text("3.12\n3.10\n")  # (a version with no build)
    no_build = run_cli("python", "install", *where, cwd=project)
    assert no_build.returncode == 2
    assert one_line_error(no_build).startswith(
        f"anyvenv: error: {project / '.python-versions'} pins '3.10': no CPython build matching"
    ), no_build.stderr


def test_several_versions_are_checked_before_any_is_installed(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """As uv: a version with no build stops the others before anything is installed; one
    that fails while installing leaves the ones before it installed, and said."""
    install_dir = tmp_path / "pythons"
    where = ("--install-dir", str(install_dir))
    version = standalone.version_text
    unpublished = "3.99.0"  # in the table, not on the mirror
    downloads = write_downloads_json(
        tmp_path / "downloads.json",
        {
            standalone.install_name: (standalone.version, standalone.url, standalone.sha256),
            f"cpython-{unpublished}-linux-x86_64-gnu": (
                (3, 99, 0),
                github_url(unpublished),
                "0" * 64,
            ),
        },
    )
    env = cli_env(ANYVENV_PYTHON_DOWNLOADS_JSON=str(downloads))
    unknown = run_cli("python", "install", version, "3.98", *where, "--json", env=env)
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert "no CPython build matching '3.98'" in one_line_error(unknown)
    assert not install_dir.exists() or os.listdir(install_dir) == []

    failing = run_cli("python", "install", version, unpublished, *where, "--json", env=env)
    assert failing.returncode == 1
    assert one_line_error(failing).startswith(
        f"anyvenv: error: cannot download {standalone.mirror}/20990101/"
    ), failing.stderr
    assert [item["name"] for item in json.loads(failing.stdout)] == [standalone.install_name]
    text = run_cli("python", "install", version, unpublished, *where, env=env)
    assert text.returncode == 1
    assert text.stderr.startswith(f"{standalone.install_name} is already installed at ")
    assert standalone.install_name in os.listdir(install_dir)
    # uv's short options: -r (--reinstall), -i (--install-dir); uninstall -q says nothing
    again = run_cli("python", "install", version, "-r", "-i", str(install_dir), "--json", env=env)
    assert [item["status"] for item in json.loads(again.stdout)] == ["reinstalled"]
    quiet = run_cli("python", "uninstall", version, "-q", "-i", str(install_dir), env=env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert standalone.install_name not in os.listdir(install_dir)


def test_find_with_no_request_asks_what_uv_would_here(tmp_path: Path) -> None:
    """``python find`` in a project: its .python-version, else its requires-python, as
    ``uv python find``, and as discovery orders Pythons (anyvenv's and uv's installs
    together, newest first); ``python dir`` prints the install directory."""
    from project_support import pyenv_python

    pythons = {minor: pyenv_python(minor) for minor in ("3.11", "3.12", "3.13")}
    if None in pythons.values():
        pytest.skip("needs pyenv's 3.11, 3.12 and 3.13")
    ours, uvs = tmp_path / "pythons", tmp_path / "uv-pythons"
    for root, minor in ((ours, "3.11"), (ours, "3.12"), (uvs, "3.13")):
        real = Path(str(pythons[minor]))
        version = subprocess.run(
            [real, "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        bin_dir = root / f"cpython-{version}-linux-x86_64-gnu" / "bin"
        bin_dir.mkdir(parents=True)
        shutil.copy2(real, bin_dir / f"python{minor}")  # (pyenv's: an absolute RUNPATH)
    env = cli_env(
        ANYVENV_PYTHON_INSTALL_DIR=str(ours), UV_PYTHON_INSTALL_DIR=str(uvs), PATH="/usr/bin:/bin"
    )
    project = tmp_path / "project"
    project.mkdir()

    def found(*args: str) -> str:
        done = run_cli("python", "find", *args, env=env, cwd=project)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert "/uv-pythons/cpython-3.13." in found()  # uv's 3.13 is newer than anyvenv's 3.12
    assert "/pythons/cpython-3.12." in found("3.12")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nrequires-python = "<3.12"\n'
    )
    assert "/pythons/cpython-3.11." in found()
    (project / ".python-version").write_text("3.12\n")
    pinned = json.loads(found("--json"))
    assert pinned["name"].startswith("cpython-3.12.") and "source_url" not in pinned
    shown = run_cli("python", "dir", env=env)
    assert (shown.returncode, shown.stdout) == (0, f"{ours}\n")
    given = run_cli("python", "dir", "--install-dir", str(tmp_path / "elsewhere"), env=env)
    assert given.stdout == f"{tmp_path / 'elsewhere'}\n"


def test_venv_finds_the_installed_python(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = tmp_path / "pythons"
    env_vars = cli_env(ANYVENV_PYTHON_INSTALL_DIR=str(install_dir))
    assert run_cli("python", "install", "3.12", env=env_vars).returncode == 0
    env = tmp_path / "env"
    proc = run_cli("venv", str(env), "--python", "3.12", env=env_vars)
    assert proc.returncode == 0, proc.stderr
    config = read_pyvenv_cfg(env)
    assert config["home"] == str(install_dir / standalone.install_name / "bin")
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == str(install_dir / standalone.install_name), out.stderr
    # with uv's minor-version link there, as uv: the env's home is the link's bin and its
    # version X.Y, so that after an upgrade of the patch the env follows the link
    platform = standalone.install_name.split("-", 2)[2]
    major, minor, _ = standalone.version
    link = install_dir / f"cpython-{major}.{minor}-{platform}"
    link.symlink_to(standalone.install_name)
    linked = tmp_path / "linked"
    proc = run_cli("venv", str(linked), "--python", "3.12", env=env_vars)
    assert proc.returncode == 0, proc.stderr
    config = read_pyvenv_cfg(linked)
    assert (config["home"], config["version_info"]) == (str(link / "bin"), f"{major}.{minor}")


def test_mirror_flag_overrides_the_environment(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    env_vars = cli_env(ANYVENV_PYTHON_INSTALL_MIRROR=(tmp_path / "nowhere").as_uri())
    where = ("--install-dir", str(tmp_path / "pythons"))
    failed = run_cli("python", "install", "3.12", *where, env=env_vars)
    assert failed.returncode == 1
    said = one_line_error(failed)
    assert "cannot download file://" in said and ": No such file or directory; check" in said
    assert "[Errno" not in said  # (the reason in words, not Python's repr of it)
    assert not (tmp_path / "pythons").exists(), "nothing is made before the archive is verified"
    mirror_dir = Path(standalone.mirror.removeprefix("file://"))
    proc = run_cli("python", "install", "3.12", *where, "--mirror", str(mirror_dir), env=env_vars)
    assert proc.returncode == 0, proc.stderr


def test_list_available_reads_the_downloads_file(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """As uv python list: the newest build of each minor version (every one with
    ``--all-versions``), newest first, the default build of a version before its
    free-threaded one; installed ones show their interpreter, the others
    ``<download available>``; by default the installed ones not in the table too."""
    root = tmp_path / "pythons"
    proc = run_cli("python", "list", "--available", "--json", "-i", str(root))
    assert proc.returncode == 0, proc.stderr
    (entry,) = json.loads(proc.stdout)
    assert entry["name"].startswith("cpython-3.12.") and entry["release"] == "20990101"
    assert entry["installed"] is None
    threaded = f"cpython-{standalone.version_text}+freethreaded-linux-x86_64-gnu"
    threaded_url = standalone.url.replace("-install_only", "-freethreaded-install_only")
    downloads = write_downloads_json(
        tmp_path / "downloads.json",
        {
            threaded: (standalone.version, threaded_url, "0" * 64),
            "cpython-3.11.7-linux-x86_64-gnu": ((3, 11, 7), github_url("3.11.7"), "0" * 64),
            standalone.install_name: (standalone.version, standalone.url, standalone.sha256),
        },
    )
    fake_install(
        root, standalone.install_name, f"python{standalone.version[0]}.{standalone.version[1]}"
    )
    env = cli_env(ANYVENV_PYTHON_DOWNLOADS_JSON=str(downloads))
    listed = run_cli("python", "list", "--available", "-i", str(root), env=env)
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == [standalone.install_name, threaded, "cpython-3.11.7-linux-x86_64-gnu"]
    # as uv's --only-downloads: every row a download, the installed one's too
    assert all(line.endswith(" <download available>") for line in listed.stdout.splitlines())
    mirror = "file:///srv/pythons"
    shown = run_cli(
        "python", "list", "--available", "--show-urls", "-i", str(root),
        env={**env, "ANYVENV_PYTHON_INSTALL_MIRROR": mirror},
    )  # fmt: skip
    urls = [line.split()[-1] for line in shown.stdout.splitlines()]
    assert urls[0] == standalone.url.replace(GITHUB_RELEASE_BASES[0], mirror), urls
    assert urls[2] == github_url("3.11.7").replace(GITHUB_RELEASE_BASES[0], mirror), urls
    # the default, as uv python list: the newest patch of each minor, installed ones too
    older = "cpython-3.11.4-linux-x86_64-gnu"
    downloads = write_downloads_json(
        tmp_path / "more.json",
        {
            "cpython-3.11.7-linux-x86_64-gnu": ((3, 11, 7), github_url("3.11.7"), "0" * 64),
            older: ((3, 11, 4), github_url("3.11.4"), "0" * 64),
        },
    )
    fake_install(root, "cpython-3.10.2-linux-x86_64-gnu", "python3.10")
    env = cli_env(ANYVENV_PYTHON_DOWNLOADS_JSON=str(downloads))
    rows = run_cli("python", "list", "-i", str(root), env=env).stdout.splitlines()
    assert [row.split()[0] for row in rows] == [
        standalone.install_name,  # installed, though not in this table
        "cpython-3.11.7-linux-x86_64-gnu",
        "cpython-3.10.2-linux-x86_64-gnu",
    ]
    assert rows[1].endswith(" <download available>") and rows[2].endswith("/bin/python3.10")
    every = run_cli(
        "python", "list", "--all-versions", "--only-downloads", "-i", str(root), env=env
    )
    assert [row.split()[0] for row in every.stdout.splitlines()] == [
        "cpython-3.11.7-linux-x86_64-gnu",
        older,
    ]


def test_list_shows_downloads_only_where_uvs_python_downloads_is_automatic(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    """As uv python list: with python-downloads never or manual (``UV_PYTHON_DOWNLOADS``,
    ``--no-python-downloads``, a setting), the builds to download are left out unless
    ``--only-downloads`` asks for them; ``--allow-python-downloads`` shows them again."""
    root = tmp_path / "pythons"
    fake_install(root, "cpython-3.10.2-linux-x86_64-gnu", "python3.10")
    downloads = write_downloads_json(
        tmp_path / "downloads.json",
        {"cpython-3.11.7-linux-x86_64-gnu": ((3, 11, 7), github_url("3.11.7"), "0" * 64)},
    )
    env = cli_env(ANYVENV_PYTHON_DOWNLOADS_JSON=str(downloads))
    never = {**env, "UV_PYTHON_DOWNLOADS": "never"}
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.toml").write_text('python-downloads = "manual"\n')

    def names(*args: str, environ: dict[str, str] = env, cwd: Path = tmp_path) -> list[str]:
        listed = run_cli("python", "list", "-i", str(root), *args, env=environ, cwd=cwd)
        assert listed.returncode == 0, listed.stderr
        return [line.split()[0] for line in listed.stdout.splitlines()]

    everything = ["cpython-3.11.7-linux-x86_64-gnu", "cpython-3.10.2-linux-x86_64-gnu"]
    assert names() == everything
    installed = ["cpython-3.10.2-linux-x86_64-gnu"]
    assert names(environ=never) == installed
    assert names("--no-python-downloads") == installed
    assert names(cwd=project) == installed
    assert names("--allow-python-downloads", environ=never) == everything
    assert names("--only-downloads", environ=never) == ["cpython-3.11.7-linux-x86_64-gnu"]
    both = run_cli("python", "list", "--no-python-downloads", "--allow-python-downloads")
    assert both.returncode == 2 and "cannot be used with" in both.stderr
    refused = run_cli("python", "install", "--no-python-downloads", "3.11", "-i", str(root))
    assert refused.returncode == 1
    assert "Python downloads are not allowed (--no-python-downloads)" in refused.stderr


def test_the_python_commands_take_uvs_python_preference_option(tmp_path: Path) -> None:
    """``--python-preference`` as uv's global option: list and find follow it; with
    ``--managed-python`` or ``--no-managed-python`` it is a usage error, as in uv."""
    from support import BASE

    found = run_cli("python", "find", "--python-preference", "only-system", str(BASE))
    assert (found.returncode, found.stdout.strip()) == (0, str(BASE)), found.stderr
    managed_only = run_cli(
        "python", "find", "--python-preference", "only-managed", str(BASE), "-i",
        str(tmp_path / "none"),
    )  # fmt: skip
    assert managed_only.returncode != 0
    for preference, on_path in (("only-system", True), ("only-managed", False)):
        listed = run_cli("python", "list", "--only-installed", "--python-preference", preference)
        assert listed.returncode == 0, listed.stderr
        assert ("/usr/bin/python3.11" in listed.stdout) is on_path, listed.stdout
    for flag in ("--managed-python", "--no-managed-python"):
        both = run_cli("python", "find", "--python-preference", "system", flag)
        assert both.returncode == 2
        assert f"{flag} cannot be used with --python-preference" in both.stderr
    for command in (["dir"], ["uninstall", "3.99"], ["list", "--no-python-downloads"]):
        taken = run_cli("python", *command, "--python-preference", "system", "-i", str(tmp_path))
        assert "unrecognized arguments" not in taken.stderr, taken.stderr


def _install_on_a_terminal(install_dir: Path, *flags: str, **variables: str) -> tuple[bytes, bytes]:
    """``python install 3.12`` with stderr on a terminal: (stdout, what the terminal shows)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*ANYVENV, "python", "install", "3.12", "--install-dir", str(install_dir), *flags],
        stdout=subprocess.PIPE,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env={**cli_env(**variables), "TERM": "xterm"},
    )
    os.close(terminal)
    drawn = read_until_closed(controller)
    os.close(controller)
    assert proc.wait(timeout=120) == 0
    assert proc.stdout is not None
    return proc.stdout.read(), drawn


def test_progress_is_drawn_on_a_terminal(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    said, drawn = _install_on_a_terminal(tmp_path / "pythons")
    assert said == b""  # (what was installed is said on stderr, as uv says it)
    assert b"Installed " + standalone.install_name.encode() in drawn
    assert b"download" in drawn and b"extract" in drawn and b"[###" in drawn


@pytest.mark.parametrize("flag", ["-q", "--json"])
def test_no_progress_when_quiet_or_json(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str], flag: str
) -> None:
    """As sync: -q and --json draw nothing, even on a terminal."""
    said, drawn = _install_on_a_terminal(tmp_path / "pythons", flag)
    assert drawn == b""
    assert said == b"" if flag == "-q" else json.loads(said)[0]["status"] == "installed"


@pytest.mark.parametrize(
    ("flags", "variables"), [(["--no-progress"], {}), ([], {"UV_NO_PROGRESS": "1"})]
)
def test_no_progress_where_uv_would_draw_none(
    tmp_path: Path,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
    flags: list[str],
    variables: dict[str, str],
) -> None:
    """uv's --no-progress and UV_NO_PROGRESS: no bar, the install said as ever."""
    said, drawn = _install_on_a_terminal(tmp_path / "pythons", *flags, **variables)
    assert said == b"" and b"Installed " + standalone.install_name.encode() in drawn
    assert b"[" not in drawn and b"download" not in drawn, drawn


def test_usage_errors(tmp_path: Path, pythons_env: dict[str, str]) -> None:
    no_sub = run_cli("python")
    assert no_sub.returncode == 2
    assert "SUBCOMMAND" in one_line_error(no_sub)
    empty = run_cli("python", "find", "")  # (as uv python find '': not the default Python)
    assert empty.returncode == 2 and empty.stdout == ""
    assert "the Python request is empty" in one_line_error(empty)
    not_version = run_cli("python", "install", "/usr/bin/python3", "--install-dir", str(tmp_path))
    assert not_version.returncode == 2
    assert "is not a Python version" in one_line_error(not_version)
    none_there = run_cli("python", "uninstall", "3.12", "--install-dir", str(tmp_path))
    assert none_there.returncode == 0  # as uv's: said, no error
    assert none_there.stderr == "anyvenv: no installed Python matches '3.12'\n"
    bad_dirs = {
        ("--install-dir", "/etc/passwd"): "/etc/passwd is not a directory",
        ("--install-dir", ""): "the install directory path is empty",
    }
    for (option, value), said in bad_dirs.items():
        for command in (["list"], ["find", "3.12"], ["install", "3.12"], ["uninstall", "3.12"]):
            bad = run_cli("python", *command, option, value)
            assert bad.returncode == 2 and said in one_line_error(bad), (command, bad.stderr)
    relative = run_cli("python", "list", env=cli_env(ANYVENV_PYTHON_INSTALL_DIR="rel"))
    assert relative.returncode == 2
    assert "ANYVENV_PYTHON_INSTALL_DIR='rel' is a relative path" in one_line_error(relative)
    missing = run_cli("python", "uninstall", "3.12", "--install-dir", str(tmp_path / "none"))
    assert missing.returncode == 0 and "no installed Python matches" in missing.stderr
    assert not (tmp_path / "none").exists()
    for args in ([], ["3.12", "--all"]):  # versions or --all: one of them
        what = run_cli("python", "uninstall", *args, "--install-dir", str(tmp_path))
        assert what.returncode == 2
        assert "give the versions to uninstall, or --all" in one_line_error(what)
    assert set(os.listdir(tmp_path)) <= {"xdg-cache"}  # (list read uv's settings: cached)
    in_home = cli_env(HOME=str(tmp_path), ANYVENV_PYTHON_INSTALL_DIR="~/py")
    home = run_cli("python", "dir", env=in_home)
    # ~ is the home, as for anyvenv's other directory variables (not ./~/py)
    assert (home.returncode, home.stdout) == (0, f"{tmp_path}/py\n")
    fake_install(tmp_path / "py", "cpython-3.10.2-linux-x86_64-gnu", "python3.10")
    listed = run_cli("python", "list", "--only-installed", "--managed-python", env=in_home)
    assert f"{tmp_path}/py/cpython-3.10.2-linux-x86_64-gnu/bin/python3.10" in listed.stdout


def test_uninstall_as_uv_does(tmp_path: Path) -> None:
    """Requests nothing matches are named on stderr and the others removed; ``--all``
    removes every install; ``list --only-installed`` (uv's flag) lists what is left."""
    where = ("--install-dir", str(tmp_path))
    for name in ("cpython-3.12.9-linux-x86_64-gnu", "cpython-3.11.11-linux-x86_64-gnu"):
        fake_install(tmp_path, name, "python" + name.split("-")[1].rsplit(".", 1)[0])
    partial = run_cli("python", "uninstall", "3.10", "3.11", *where)
    assert partial.returncode == 0, partial.stderr
    said = partial.stderr.splitlines()  # (all of it on stderr, as uv says it)
    assert said[0] == "anyvenv: no installed Python matches '3.10'"
    assert said[1].startswith("Uninstalled cpython-3.11.11-linux-x86_64-gnu") and len(said) == 2
    uvs = tmp_path.with_name(tmp_path.name + "-uv")  # (only uv installed it: said so)
    fake_install(uvs, "cpython-3.10.2-linux-x86_64-gnu", "python3.10")
    ours = cli_env(ANYVENV_PYTHON_INSTALL_DIR=str(tmp_path), UV_PYTHON_INSTALL_DIR=str(uvs))
    only_uvs = run_cli("python", "uninstall", "3.10", env=ours)
    assert only_uvs.returncode == 0, only_uvs.stderr
    assert only_uvs.stderr == (
        "anyvenv: no installed Python matches '3.10' among anyvenv's; "
        f"cpython-3.10.2-linux-x86_64-gnu in {uvs} is uv's: 'uv python uninstall 3.10' removes it\n"
    )
    assert (uvs / "cpython-3.10.2-linux-x86_64-gnu").is_dir()
    fake_install(uvs, "cpython-3.10.4-linux-x86_64-gnu", "python3.10")
    ranged = run_cli("python", "uninstall", ">=3.10,<3.11", env=ours)
    quoted = shlex.quote(">=3.10,<3.11")  # (it is pasted into a shell)
    assert ranged.stderr.endswith(f" are uv's: 'uv python uninstall {quoted}' removes them\n")
    named = run_cli("python", "uninstall", "3.10", "--install-dir", str(tmp_path), env=ours)
    assert named.stderr == "anyvenv: no installed Python matches '3.10'\n"  # (there only)
    listed = run_cli("python", "list", "--only-installed", *where)
    assert listed.stdout.split()[0] == "cpython-3.12.9-linux-x86_64-gnu"
    everything = run_cli("python", "uninstall", "--all", *where, "--json")
    assert everything.returncode == 0, everything.stderr
    assert [item["name"] for item in json.loads(everything.stdout)] == [
        "cpython-3.12.9-linux-x86_64-gnu"
    ]
    assert os.listdir(tmp_path) == []
    nothing = run_cli("python", "uninstall", "--all", *where)
    assert (nothing.returncode, nothing.stderr) == (0, "anyvenv: no Pythons installed\n")


def test_find_without_an_install_of_its_own_finds_what_uv_python_find_would(
    tmp_path: Path,
) -> None:
    """No anyvenv install matches: ``python find`` answers as ``uv python find`` (uv's
    managed installs, then PATH); with ``--install-dir`` it looks there only."""
    python = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.11").symlink_to(python if python.exists() else Path(sys.executable))
    env = cli_env(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        XDG_DATA_HOME=str(tmp_path / "data"),
        ANYVENV_PYTHON_INSTALL_DIR=str(tmp_path / "none"),
    )
    minor = ".".join(subprocess.run(
        [bin_dir / "python3.11", "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
        capture_output=True, text=True, check=True,
    ).stdout.split())  # fmt: skip
    found = run_cli("python", "find", minor, "--json", env=env)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["version"].startswith(minor + ".")
    only_there = run_cli("python", "find", minor, "--install-dir", str(tmp_path / "none"), env=env)
    assert only_there.returncode == 2 and "no installed Python" in one_line_error(only_there)
    for request in (str(bin_dir / "python3.11"), "python3.11"):  # a path, a name: as uv
        by_path = run_cli("python", "find", request, env=env)
        assert by_path.returncode == 0, by_path.stderr
        assert by_path.stdout.strip().endswith("python3.11"), by_path.stdout
    for request in ("3.99", "python9.9"):  # the hint names what find has: no --python
        nowhere = run_cli("python", "find", request, env=env)
        assert nowhere.returncode == 2
        assert "--python" not in one_line_error(nowhere), nowhere.stderr


def test_a_version_file_naming_no_version_installs_nothing(tmp_path: Path) -> None:
    """As uv python install: a version file with no version in it (empty, comments and blank
    lines, or only lines uv ignores) asks for nothing, so nothing is installed, and nothing is
    downloaded (the mirror here has nothing: fetching anything would fail); any Python 3 is
    installed only where no version file is found."""
    install_dir = tmp_path / "pythons"
    mirror = (tmp_path / "no-mirror").as_uri()
    where = ("--install-dir", str(install_dir), "--mirror", mirror)
    version_file = tmp_path / ".python-version"
    for text in ("", "# pinned by hand\n\n   \n", "system\n"):
        version_file.write_text(text)
        said = run_cli("python", "install", *where, cwd=tmp_path)
        assert said.returncode == 0, said.stderr
        assert said.stdout == ""
        assert f"{version_file} names no Python version: nothing to install" in said.stderr
        assert ("Ignoring unsupported Python request `system`" in said.stderr) == (
            "system" in text
        ), said.stderr
        listed = run_cli("python", "install", *where, "--json", "-q", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
        assert "nothing to install" not in listed.stderr  # (--json says it: an empty list)
        assert not install_dir.exists() or not any(
            p for p in install_dir.iterdir() if not p.name.startswith(".")
        )
    version_file.unlink()  # no version file: any Python 3, which this mirror does not have
    unpinned = run_cli("python", "install", *where, cwd=tmp_path)
    assert unpinned.returncode != 0 and "cannot download" in unpinned.stderr, unpinned.stderr


def test_an_unreadable_version_file_is_named_with_what_this_command_takes(tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_bytes(b"\xff\xfe")
    for command, hint in (
        ("install", "pass the versions to install"),
        ("find", "pass the version to find"),
    ):
        refused = run_cli("python", command, "-i", str(tmp_path / "pythons"), cwd=tmp_path)
        assert refused.returncode == 2
        line = one_line_error(refused)
        assert f"cannot read the Python version file {tmp_path / '.python-version'}" in line
        assert line.endswith(f"fix or remove it, or {hint}") and "--python" not in line


def test_list_shows_uvs_installs_and_the_base_interpreters_on_path(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """As uv python list: managed installs (anyvenv's, then uv's), the interpreters on PATH
    (each name, a link shown as ``path -> target``; a directory once, an env's python not at
    all), and the builds that can be installed; a request filters them all, and the python
    preference leaves PATH or the managed ones out."""
    base = query_interpreter(BASE)
    minor = f"python{base.version[0]}.{base.version[1]}"
    system_key = f"cpython-{base.version_text}-linux-x86_64-gnu"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / minor).symlink_to(BASE)
    (bin_dir / "python3").symlink_to(minor)
    (tmp_path / "same-bin").symlink_to(bin_dir)  # one directory twice on PATH
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    (env_dir / "pyvenv.cfg").write_text(f"home = {BASE.parent}\n")
    (env_dir / "bin" / "python3").symlink_to(BASE)
    ours, uvs = tmp_path / "data" / "anyvenv" / "python", tmp_path / "uv-pythons"
    fake_install(ours, standalone.install_name, standalone.executable_name)
    uv_only = "cpython-3.10.2-linux-x86_64-gnu"
    fake_install(uvs, uv_only, "python3.10")
    fake_install(uvs, standalone.install_name, standalone.executable_name)  # anyvenv's shown
    path = os.pathsep.join([str(env_dir / "bin"), str(bin_dir), str(tmp_path / "same-bin")])
    env = cli_env(
        PATH=path,
        XDG_DATA_HOME=str(tmp_path / "data"),
        UV_PYTHON_INSTALL_DIR=str(uvs),
        UV_PYTHON_PREFERENCE="managed",
    )
    env.pop("ANYVENV_PYTHON_INSTALL_DIR", None)

    listed = run_cli("python", "list", "--only-installed", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [(row["name"], row["kind"], row["installed"]) for row in json.loads(listed.stdout)]
    ours_exe = ours / standalone.install_name / "bin" / standalone.executable_name
    expected = [
        (standalone.install_name, "managed", str(ours_exe)),
        (system_key, "system", str(bin_dir / minor)),
        (system_key, "system", str(bin_dir / "python3")),
        (uv_only, "managed", str(uvs / uv_only / "bin" / "python3.10")),
    ]
    assert sorted(rows, key=expected.index) == expected, rows  # (the order: by version)
    assert [row[0] for row in rows] == sorted(
        (row[0] for row in rows),
        key=lambda key: [int(n) for n in key.split("-")[1].split(".")],
        reverse=True,
    )
    text = run_cli("python", "list", "--only-installed", env=env).stdout.splitlines()
    assert f"{system_key}    {bin_dir / 'python3'} -> {minor}" in text, text

    everything = run_cli("python", "list", "--show-urls", env=env)
    assert f"{standalone.install_name}    {ours_exe}" in everything.stdout.splitlines()
    assert "<download available>" not in everything.stdout  # (the one build is installed)
    narrowed = run_cli("python", "list", "3.10", "--json", env=env)
    assert [row["name"] for row in json.loads(narrowed.stdout)] == [uv_only]
    one = run_cli("python", "list", str(bin_dir / "python3"), "--json", env=env)
    assert [row["installed"] for row in json.loads(one.stdout)] == [str(bin_dir / "python3")]

    system_only = run_cli("python", "list", "--no-managed-python", "--json", env=env)
    assert {row["kind"] for row in json.loads(system_only.stdout)} == {"system"}
    managed_only = run_cli("python", "list", "--json", env={**env, "UV_MANAGED_PYTHON": "1"})
    assert {row["kind"] for row in json.loads(managed_only.stdout)} == {"managed"}

    downloads = write_downloads_json(
        tmp_path / "downloads.json",
        {"cpython-3.11.7-linux-x86_64-gnu": ((3, 11, 7), github_url("3.11.7"), "0" * 64)},
    )
    mirror = "file:///srv/pythons"  # (as uv's: the URL it would fetch, from the mirror)
    urls = run_cli(
        "python", "list", "--only-downloads", "--show-urls",
        env={
            **{k: v for k, v in env.items() if k != "ANYVENV_PYTHON_INSTALL_MIRROR"},
            "ANYVENV_PYTHON_DOWNLOADS_JSON": str(downloads),
            "UV_PYTHON_INSTALL_MIRROR": mirror,  # (uv's, where anyvenv's is not set)
        },
    )  # fmt: skip
    expected = github_url("3.11.7").replace(GITHUB_RELEASE_BASES[0], mirror)
    assert urls.stdout.split() == ["cpython-3.11.7-linux-x86_64-gnu", expected]


def test_find_with_no_request_names_the_file_that_asked(tmp_path: Path) -> None:
    """A pin nothing answers: the error says where it was written, and that it can be
    changed there."""
    (tmp_path / ".python-version").write_text("3.97\n")
    env = cli_env(XDG_DATA_HOME=str(tmp_path / "data"), UV_PYTHON_INSTALL_DIR=str(tmp_path / "u"))
    env.pop("ANYVENV_PYTHON_INSTALL_DIR", None)
    proc = run_cli("python", "find", cwd=tmp_path, env=env)
    assert proc.returncode == 2
    said = one_line_error(proc)
    assert f"asked for by {tmp_path / '.python-version'}" in said, said
    assert said.endswith(f", or change the version in {tmp_path / '.python-version'}"), said


def test_an_install_dir_with_a_newline_in_its_path_is_validated_as_any(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """The kernel writes a newline in /proc/self/maps as ``\\012``: the check that the new
    Python loaded its own libpython reads it back, not refusing a sound install."""
    install_dir = tmp_path / "a\nb" / "pythons"
    done = run_cli("python", "install", "3.12", "--install-dir", str(install_dir), "--no-bin")
    assert done.returncode == 0, done.stderr
    (exe,) = install_dir.glob("*/bin/python3.12")
    ran = subprocess.run(
        [exe, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True
    )
    assert ran.stdout.strip() == str(exe.parent.parent), ran.stderr
    # an env there that copies its base's libpython in (no patchelf): its check reads the
    # copy's path back too (the base itself cannot be there: pyvenv.cfg's home is one line)
    plain = tmp_path / "plain"
    assert run_cli("python", "install", "3.12", "-i", str(plain), "--no-bin").returncode == 0
    (base,) = plain.glob("*/bin/python3.12")
    env_dir = tmp_path / "a\nb" / "env"
    made = run_cli("venv", str(env_dir), "-p", str(base), "--strategy", "copy", "--json",
                   env={**os.environ, "ANYVENV_PATCHELF": ""})  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["libpython"] in ("copy", "hardlink")  # (in the env's lib/)


def test_offline_installs_come_from_the_cache_or_a_local_mirror(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """--offline (or UV_OFFLINE), as uv's: nothing over the network, the download cache and
    a file:// mirror still serve."""
    where = ("--install-dir", str(tmp_path / "pythons"))
    remote = cli_env(ANYVENV_PYTHON_INSTALL_MIRROR="http://127.0.0.1:9/never")
    for how, extra in ((["--offline"], {}), ([], {"UV_OFFLINE": "1"})):
        refused = run_cli("python", "install", "3.12", *where, *how, env={**remote, **extra})
        assert refused.returncode == 1
        assert "network access is off" in one_line_error(refused)
        assert one_line_error(refused).endswith(
            "; allow the network, or name a local mirror (ANYVENV_PYTHON_INSTALL_MIRROR or "
            "UV_PYTHON_INSTALL_MIRROR, or --mirror of 'anyvenv python install')"
        )
    # --no-offline, the last of the two, or against UV_OFFLINE: the network is tried again
    for how, extra in (
        (["--offline", "--no-offline"], {}),
        (["--no-offline"], {"UV_OFFLINE": "1"}),
    ):
        tried = run_cli("python", "install", "3.12", *where, *how, env={**remote, **extra})
        assert tried.returncode == 1
        assert one_line_error(tried).startswith("anyvenv: error: cannot download http://")
    # sync too takes the last of --offline and --no-offline, and --no-offline over UV_OFFLINE
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = "==3.12.*"\n'
    )
    managed = {**remote, "UV_MANAGED_PYTHON": "1", "UV_PYTHON_INSTALL_DIR": str(tmp_path / "no")}
    for how, extra in (
        (["--offline", "--no-offline"], {}),
        (["--no-offline"], {"UV_OFFLINE": "1"}),
    ):
        tried = run_cli("sync", *how, env={**managed, **extra, "ANYVENV_PYTHON_INSTALL_DIR":
                                          str(tmp_path / "none")}, cwd=project)  # fmt: skip
        assert tried.returncode != 0
        assert "cannot download http://" in one_line_error(tried), tried.stderr
    # venv downloads with the same words (it has no --mirror of its own)
    made = run_cli("venv", str(tmp_path / "env"), "-p", "3.12", "--managed-python", "--offline",
                   env={**remote, "UV_PYTHON_INSTALL_DIR": str(tmp_path / "none")})  # fmt: skip
    assert made.returncode == 2 and "network access is off" in one_line_error(made), made.stderr
    local = run_cli("python", "install", "3.12", *where, "--offline", env=cli_env())
    assert local.returncode == 0, local.stderr
    cached = run_cli("python", "install", "3.12", *where, "--reinstall", "--offline", env=remote)
    assert cached.returncode == 0, cached.stderr


def test_no_install_where_uvs_python_downloads_is_never(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    where = ("--install-dir", str(tmp_path / "pythons"))
    refused = run_cli("python", "install", "3.12", *where, env=cli_env(UV_PYTHON_DOWNLOADS="never"))
    assert refused.returncode == 1
    assert "Python downloads are not allowed (UV_PYTHON_DOWNLOADS is never)" in refused.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.toml").write_text('python-downloads = "never"\n')
    env = {key: value for key, value in cli_env().items() if key != "UV_PYTHON_DOWNLOADS"}
    refused = subprocess.run(
        [*ANYVENV, "python", "install", "3.12", *where], cwd=project, env=env,
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert refused.returncode == 1
    assert f"python-downloads in {project / 'uv.toml'} is never" in refused.stderr
    assert not (tmp_path / "pythons").exists()
    allowed = run_cli(
        "python", "install", "3.12", *where, env=cli_env(UV_PYTHON_DOWNLOADS="manual")
    )
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize("lab_target", ["faultfs:mode-0644"], indirect=True)
def test_list_leaves_out_a_managed_python_that_cannot_run_and_warns(
    tmp_path: Path, lab_target: Path
) -> None:
    """As uv python list: an install uv made where no file can be executable (a mount that
    shows every file 0644) is left out with a warning naming it and why; the one that runs
    is listed, and with -q nothing is said."""
    uvs = lab_target / "uv-pythons"
    broken = fake_install(uvs, "cpython-3.10.2-linux-x86_64-gnu", "python3.10")
    works = fake_install(tmp_path / "ours", "cpython-3.12.1-linux-x86_64-gnu", "python3.12")
    env = cli_env(
        PATH="/usr/bin:/bin",
        XDG_DATA_HOME=str(tmp_path / "data"),
        ANYVENV_PYTHON_INSTALL_DIR=str(tmp_path / "ours"),
        UV_PYTHON_INSTALL_DIR=str(uvs),
        UV_PYTHON_DOWNLOADS="manual",
    )
    listed = run_cli("python", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [row["installed"] for row in json.loads(listed.stdout) if row["kind"] == "managed"] == [
        str(works / "bin" / "python3.12")
    ]
    exe = broken / "bin" / "python3.10"
    assert listed.stderr == (
        f"anyvenv: warning: the managed Python at {exe} cannot be run "
        "(it is not executable (mode 0644)); left out\n"
    )
    text = run_cli("python", "list", "--only-installed", env=env)
    assert text.returncode == 0 and str(exe) not in text.stdout and str(exe) in text.stderr
    quiet = run_cli("python", "list", "-q", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.parametrize("lab_target", ["faultfs:mode-0644"], indirect=True)
def test_an_install_already_there_that_cannot_run_is_said_so(
    lab_target: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """uv's install of the version, made where no file is executable: "already installed",
    as uv says, and that its interpreter cannot run there, with what to do."""
    install_dir = lab_target / "pythons"
    home = fake_install(install_dir, standalone.install_name, standalone.executable_name)
    done = run_cli("python", "install", "3.12", "--install-dir", str(install_dir), "--no-bin")
    assert done.returncode == 0, done.stderr
    assert "is already installed at" in done.stderr
    exe = home / "bin" / standalone.executable_name
    assert (
        f"anyvenv: warning: its interpreter {exe} cannot be run (it is not executable (mode "
        "0644)): install into a directory on another filesystem (--install-dir, or "
        "ANYVENV_PYTHON_INSTALL_DIR for every command), or --reinstall it where files can be "
        "executable\n"
    ) in done.stderr, done.stderr
    assert "(use --reinstall to replace it)" not in done.stderr  # (said once, above)


def test_find_follows_uvs_python_preference(tmp_path: Path) -> None:
    """As uv python find: --managed-python, --no-managed-python, and otherwise the
    preference of uv's variables and settings files, decide where it looks."""
    from support import path_and_managed_pythons

    env, _ = path_and_managed_pythons(tmp_path, "python3.11")
    assert run_cli("python", "find", "3.12", env=env).returncode == 0
    for flag in ("--no-managed-python",):
        refused = run_cli("python", "find", "3.12", flag, env=env)
        assert refused.returncode == 2 and "PATH only" in one_line_error(refused)
    refused = run_cli("python", "find", "3.12", env={**env, "UV_NO_MANAGED_PYTHON": "1"})
    assert refused.returncode == 2 and "PATH only" in one_line_error(refused)
    (tmp_path / "config" / "uv").mkdir(parents=True)
    (tmp_path / "config" / "uv" / "uv.toml").write_text('python-preference = "only-managed"\n')
    refused = run_cli("python", "find", "3.11", env=env)
    assert refused.returncode == 2 and "managed installs only" in one_line_error(refused)
    assert run_cli("python", "find", "3.12", "--managed-python", env=env).returncode == 0
    # as uv's: of the two flags, the last one given wins
    last = run_cli("python", "find", "3.12", "--managed-python", "--no-managed-python", env=env)
    assert last.returncode == 2 and "PATH only" in one_line_error(last)
    last = run_cli("python", "find", "3.12", "--no-managed-python", "--managed-python", env=env)
    assert last.returncode == 0, last.stderr


def test_an_uninstall_waiting_for_the_install_dirs_lock_says_so(tmp_path: Path) -> None:
    """As venv and sync: waiting for another install or uninstall in the same directory is
    told, once, naming the lock."""
    from anyvenv.pythons.installed import LOCK_NAME
    from support import run_while_locked, waits_told

    root = tmp_path / "pythons"
    fake_install(root, "cpython-3.10.2-linux-x86_64-gnu", "python3.10")
    proc = run_while_locked(root / LOCK_NAME, ["python", "uninstall", "3.10", "-i", str(root)])
    assert proc.returncode == 0, proc.stderr
    told = waits_told(proc.stderr)
    assert len(told) == 1 and str(root / LOCK_NAME) in told[0], proc.stderr
    assert not (root / "cpython-3.10.2-linux-x86_64-gnu").exists()


def test_uvs_global_options_are_taken_as_uv_python_takes_them(tmp_path: Path) -> None:
    """``--directory``/``--project`` move where settings and version files are read,
    ``--no-config``/``--config-file`` say which are read; the rest (``-q``, ``-v``,
    ``--offline``, ``--no-cache``, ``--color X``...) change nothing here, and are no error."""
    from support import path_and_managed_pythons

    env, pythons = path_and_managed_pythons(tmp_path, "python3.11")
    project = tmp_path / "project"
    project.mkdir()
    (project / ".python-version").write_text("3.11\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def found(*args: str) -> str:
        proc = run_cli("python", "find", *args, cwd=elsewhere, env=env)
        assert proc.returncode == 0, proc.stderr
        return os.path.realpath(proc.stdout.strip())

    newest, pinned = str(pythons["3.12"].resolve()), str(pythons["3.11"].resolve())
    assert found() == newest  # no version file here: the newest, a managed one first
    assert found("--directory", str(project)) == pinned
    assert found(f"--project={project}") == pinned
    assert found("--directory", str(project), "--no-config") == newest
    only_system = tmp_path / "only-system.toml"
    only_system.write_text('python-preference = "only-system"\n')
    assert found("3", "--config-file", str(only_system)) == pinned  # PATH's only
    for command in (["dir"], ["list", "--only-installed"], ["find", "3.11"]):
        for given in (["-q"], ["-v", "--offline", "--no-cache", "--color", "never", "-n"]):
            proc = run_cli("python", *command, *given, cwd=elsewhere, env=env)
            assert proc.returncode == 0, (command, given, proc.stderr)
    proc = run_cli("python", "uninstall", "3.99", "--offline", "-i", str(tmp_path / "i"), env=env)
    assert proc.returncode == 0 and "no installed Python matches '3.99'" in proc.stderr


def test_a_link_on_path_to_a_managed_python_is_managed_to_only_system(tmp_path: Path) -> None:
    """uv's bin dir (~/.local/bin) holds python3.12 -> a managed install: under only-system
    (--no-managed-python, UV_NO_MANAGED_PYTHON) it is not a system Python, as for uv."""
    from support import path_and_managed_pythons

    env, _ = path_and_managed_pythons(tmp_path, "python3.11")
    managed = tmp_path / "data" / "uv" / "python" / "cpython-3.12.1-linux-x86_64-gnu" / "bin"
    (tmp_path / "bin" / "python3.12").symlink_to(managed / "python3.12")  # uv's bin link
    assert run_cli("python", "find", "3.12", env=env).returncode == 0
    refused = run_cli("python", "find", "3.12", "--no-managed-python", env=env)
    assert refused.returncode == 2, refused.stdout
    listed = run_cli("python", "list", "--only-installed", "--no-managed-python", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "python3.12" not in listed.stdout and "python3.11" in listed.stdout
    made = run_cli(
        "venv", "-q", str(tmp_path / "v"), "-p", "3.12", env={**env, "UV_NO_MANAGED_PYTHON": "1"}
    )
    assert made.returncode == 2, made.stderr


@pytest.mark.parametrize("lab_kind", ["local", "sshfs-noreadlink"])
def test_an_install_moves_uvs_minor_version_link_to_the_newer_patch(
    tmp_path: Path,
    target: Path,
    lab_kind: str,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
) -> None:
    """As ``uv python install`` of a newer patch in an install dir shared with uv: uv's link
    for that minor version leads to the new install (uv's envs through it run it); anyvenv
    makes no such link of its own. A link that cannot be read (sshfs-noreadlink) is left as
    it is: the install itself is not failed for uv's link."""
    install_dir = target / "pythons"
    link = _uvs_minor_link_to(install_dir, standalone, patch=0)
    proc = run_cli("python", "install", standalone.version_text, "-i", str(install_dir))
    assert proc.returncode == 0, proc.stderr
    if lab_kind == "local":
        assert os.readlink(link) == standalone.install_name
    removed = run_cli("python", "uninstall", "--all", "-i", str(install_dir))
    assert removed.returncode == 0, removed.stderr
    other = tmp_path / "mine"
    proc = run_cli("python", "install", standalone.version_text, "-i", str(other))
    assert proc.returncode == 0, proc.stderr
    assert not os.path.lexists(other / link.name)  # none made where uv made none


def test_an_install_of_an_older_patch_leaves_uvs_minor_version_link_alone(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """uv's link for the minor version leads to the newest patch: installing an older one
    beside it does not move the link back."""
    install_dir = tmp_path / "pythons"
    link = _uvs_minor_link_to(install_dir, standalone, patch=99)
    newer = os.readlink(link)
    proc = run_cli("python", "install", standalone.version_text, "-i", str(install_dir))
    assert proc.returncode == 0, proc.stderr
    assert (install_dir / standalone.install_name).is_dir()
    assert os.readlink(link) == newer


def _uvs_minor_link_to(install_dir: Path, standalone: StandaloneArchive, patch: int) -> Path:
    """uv's minor-version link in ``install_dir``, to a (fake) install of the test archive's
    X.Y with another ``patch``."""
    major, minor, _ = standalone.version
    platform = standalone.install_name.split("-", 2)[2]
    other = fake_install(
        install_dir, f"cpython-{major}.{minor}.{patch}-{platform}", f"python{major}.{minor}"
    )
    link = install_dir / f"cpython-{major}.{minor}-{platform}"
    link.symlink_to(other.name)
    return link


@pytest.mark.parametrize("subcommand", ["install", "list", "find", "uninstall", "dir"])
def test_a_working_or_project_directory_that_is_not_there_is_refused(
    tmp_path: Path, pythons_env: dict[str, str], subcommand: str
) -> None:
    """As uv python: a --directory or --project that does not exist is a usage error, not
    quietly the working directory (whose version files would then be read instead)."""
    install_dir = tmp_path / "pythons"
    args = [*(["3.12"] if subcommand in ("install", "uninstall") else []), "-i", str(install_dir)]
    missing = tmp_path / "nonexistent"
    moved = run_cli("python", subcommand, *args, "--directory", str(missing))
    assert moved.returncode == 2 and moved.stdout == ""
    assert f"the working directory {missing} does not exist" in one_line_error(moved)
    project = run_cli("python", subcommand, *args, env=cli_env(UV_PROJECT=str(missing)))
    assert project.returncode == 2
    assert f"the project directory {missing} does not exist" in one_line_error(project)
    assert not install_dir.exists()


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_an_install_dir_name_the_filesystem_refuses_is_said_so(
    target: Path, pythons_env: dict[str, str]
) -> None:
    """fusefat takes no letter beyond ASCII (EPERM): said as the name refused, as venv says
    it, not as a directory that cannot be written; nothing is left, nor printed on stdout."""
    install_dir = target / "caf\u00e9" / "pythons"
    proc = run_cli(
        "python", "install", "3.12", "--install-dir", str(install_dir), "--no-bin", "--json"
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "", "nothing was installed: no document, as every command's error"
    assert one_line_error(proc).startswith(
        f"anyvenv: error: the filesystem at {target} refuses the name 'caf\u00e9' (E"
    ), proc.stderr
    assert os.listdir(target) == []


def test_an_install_follows_the_umask_as_uvs_does(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """``umask 002`` in a team's install dir: the group may write what the install made
    (directories 775, files 664 and 775, as uv's), so another member may reinstall or remove
    it; others never may, whatever the archive says."""
    install_dir = tmp_path / "pythons"
    proc = subprocess.run(
        ["sh", "-c", 'umask 002 && exec "$@"', "-", *ANYVENV, "python", "install", "3.12",
         "--install-dir", str(install_dir), "--no-bin"],
        capture_output=True, text=True, env=cli_env(), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    home = install_dir / standalone.install_name
    modes = {
        stat.S_IMODE(path.lstat().st_mode)
        for path in [home, *home.rglob("*")]
        if not path.is_symlink()
    }
    assert modes <= {0o775, 0o664}, sorted(f"{mode:o}" for mode in modes)
    assert stat.S_IMODE((home / "bin" / standalone.executable_name).stat().st_mode) == 0o775


def test_an_install_is_on_disk_before_it_is_renamed_into_place(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """A power cut after the rename that puts an install in place must not leave a
    complete-looking install of empty files: the staged tree is flushed to disk (one
    syncfs of its filesystem, else sync) before that rename, and the install dir after it
    (strace)."""
    from support import traced_calls

    install_dir = tmp_path / "pythons"
    home = install_dir / standalone.install_name
    argv = [*ANYVENV, "python", "install", "3.12", "--install-dir", str(install_dir), "--no-bin"]
    calls = traced_calls(argv, "fsync,syncfs,sync,rename,renameat2")
    renamed = next(
        i for i, call in enumerate(calls) if call.startswith("rename") and f'"{home}"' in call
    )
    flushed = [
        call
        for call in calls[:renamed]
        if call.startswith(("syncfs(", "sync(")) and call.endswith("= 0")
    ]
    assert flushed, calls
    after = [call for call in calls[renamed + 1 :] if call.startswith("fsync(")]
    assert any(call.startswith("fsync(") and f"<{install_dir}>)" in call for call in after), calls
    assert (home / "bin" / standalone.executable_name).is_file()


def test_find_of_a_version_no_build_has_does_not_suggest_installing_it(
    tmp_path: Path, pythons_env: dict[str, str]
) -> None:
    """``python find 3.99``: the hint names an install only where a build can be installed
    (h48); here it says that none can, and where to see the ones that can."""
    missing = run_cli("python", "find", "3.99", "-i", str(tmp_path))
    assert missing.returncode == 2
    line = one_line_error(missing)
    assert "no build of 3.99 can be installed either" in line, line
    assert "python install 3.99" not in line
    ranged = run_cli("python", "find", ">=3.99", env=cli_env(PATH="/nonexistent"))
    assert "no build of >=3.99 can be installed either" in one_line_error(ranged)
    other = run_cli(
        "python",
        "find",
        "3.12.1",
        env=cli_env(
            ANYVENV_PYTHON_INSTALL_DIR=str(tmp_path),
            UV_PYTHON_INSTALL_DIR=str(tmp_path / "uv"),
            PATH="/nonexistent",
        ),
    )
    assert other.returncode == 2
    assert "install one with 'anyvenv python install 3.12.1'" in one_line_error(other)
