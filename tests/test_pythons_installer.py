"""`anyvenv python install` of a standalone-like build on every mount of the lab, and every
way it can fail: wrong checksum, truncated archive, escaping member, unknown version, no
space left, a build that does not run, a crash. No network: a file:// mirror."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from standalone_build import (
    StandaloneArchive,
    github_url,
    pack,
    publish,
    pythons_env,
    sha256_of,
    standalone,
    truncated_copy,
    write_downloads_json,
)

from anyvenv.envbuild.create import create
from anyvenv.errors import NothingExecutableHere
from anyvenv.pythons.installer import install_python
from lab import ALL_KINDS, Lab, LabMount
from support import ANYVENV, cli_env, entry_names, one_line_error, run_cli

__all__ = ["pythons_env", "standalone"]  # fixtures used by the tests below

RUN_FACTS = (
    "import json, sys, sysconfig, ssl, sqlite3, ctypes\n"
    "with open('/proc/self/maps') as f:\n"
    "    libs = sorted({l.split(None, 5)[-1].strip() for l in f if 'libpython' in l and '/' in l})\n"
    "print(json.dumps({'version': list(sys.version_info[:3]), 'prefix': sys.prefix,\n"
    "    'base_prefix': sys.base_prefix, 'libpython': libs, 'ssl': ssl.OPENSSL_VERSION,\n"
    "    'sqlite': sqlite3.sqlite_version, 'ctypes': ctypes.sizeof(ctypes.c_void_p),\n"
    "    'LIBDIR': sysconfig.get_config_var('LIBDIR'),\n"
    "    'INCLUDEPY': sysconfig.get_config_var('INCLUDEPY')}))\n"
)


def run_facts(python: Path) -> dict[str, object]:
    proc = subprocess.run(
        [str(python), "-c", RUN_FACTS],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def expected_links(mount: LabMount) -> str:
    """What the lab says links must become on this mount."""
    keys = ("symlink_create", "symlink_relative", "symlink_dotdot", "symlink_absolute")
    if all(mount.expect.get(key) == "ok" for key in keys):
        return "symlink"
    return "hardlink" if mount.expect.get("hardlink") == "ok" else "copy"


def entries(install_dir: Path) -> set[str]:
    """What is in an install dir (its lock leaves nothing), apart from libfuse's transient
    ``.fuse_hidden*`` names (a file unlinked before the kernel's asynchronous release of its
    last descriptor reached the FUSE server; it goes away by itself)."""
    try:
        names = set(os.listdir(install_dir))
    except FileNotFoundError:
        return set()
    return {name for name in names if not name.startswith(".fuse_hidden")}


def snapshot(tree: Path) -> dict[str, tuple[str, int | str]]:
    """Every path below ``tree`` with its kind and size or link text."""
    found: dict[str, tuple[str, int | str]] = {}
    for directory, dirs, files in os.walk(tree):
        for name in dirs + files:
            path = Path(directory) / name
            info = path.lstat()
            key = str(path.relative_to(tree))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_dir():
                found[key] = ("dir", 0)
            else:
                found[key] = ("file", info.st_size)
    return found


# -- installs on every mount ---------------------------------------------------------------


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_install_runs_on_every_mount(
    lab: Lab,
    lab_kind: str,
    target: Path,
    standalone: StandaloneArchive,
    pythons_env: dict[str, str],
) -> None:
    mount = lab.mount(lab_kind)
    install_dir = target / "pythons"
    if not mount.can_execute:
        with pytest.raises(NothingExecutableHere):
            install_python("3.12", install_dir=install_dir)
        assert entry_names(target) == [], "nothing is written where nothing can run"
        return
    result = install_python("3.12", install_dir=install_dir)
    home = install_dir / standalone.install_name
    assert result.status == "installed"
    assert result.install.path == home
    assert result.links == expected_links(mount), result.reason
    assert set(result.imported) == {"ssl", "sqlite3", "ctypes"}
    assert entries(install_dir) == {standalone.install_name}, "no staging left over"
    python3 = home / "bin" / "python3"
    if result.links != "symlink":
        for name in ("python", "python3", standalone.executable_name):
            assert not (home / "bin" / name).is_symlink(), name
    facts = run_facts(python3)
    assert facts["version"] == list(standalone.version)
    assert os.path.realpath(str(facts["prefix"])) == os.path.realpath(home)
    libs = facts["libpython"]
    assert isinstance(libs, list) and libs, "libpython is loaded"
    for lib in libs:
        assert os.path.realpath(lib).startswith(os.path.realpath(home) + "/"), lib
        assert not lib.startswith(str(standalone.source.prefix))
    assert facts["LIBDIR"] == f"{home}/lib", "sysconfig holds the real prefix, not /install"
    assert facts["INCLUDEPY"] == f"{home}/include/{standalone.executable_name}"
    assert facts["ctypes"] == 8

    env = target / "env"
    create(env, python=str(home / "bin" / standalone.executable_name))
    env_facts = run_facts(env / "bin" / "python")
    assert env_facts["prefix"] == str(env)
    assert os.path.realpath(str(env_facts["base_prefix"])) == os.path.realpath(home)
    assert env_facts["version"] == list(standalone.version)


def test_installed_files_keep_exec_bits_and_links_read_back(
    lab: Lab, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """On a mount where chmod is ignored the exec bits come from creation; where links are
    created but unreadable (multipass sshfs) none are left behind."""
    for kind in ("faultfs:chmod-ignored", "faultfs:readlink-eacces"):
        install_dir = lab.target(kind) / "pythons"
        result = install_python("3.12", install_dir=install_dir)
        bin_dir = result.install.path / "bin"
        for name in ("python3", "python3.12-config", "python3-config"):
            assert os.stat(bin_dir / name).st_mode & 0o111 == 0o111, (kind, name)
        if kind == "faultfs:readlink-eacces":
            for path in result.install.path.rglob("*"):
                assert not path.is_symlink(), (kind, path)


def test_case_insensitive_and_linkless_mount_gets_copies(
    lab: Lab, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = lab.target("exfat") / "pythons"
    result = install_python("3.12", install_dir=install_dir)
    home = result.install.path
    assert result.links == "copy"
    assert (home / "share/terminfo/x/xterm-anyvenv").read_bytes() == b"terminfo entry\n"
    assert (home / "share/terminfo/v/vt-anyvenv-hard").read_bytes() == b"terminfo entry\n"
    assert (home / "lib/pkgconfig/python3.pc").read_text().startswith("prefix=${pcfiledir}/../..")


# -- what goes wrong -------------------------------------------------------------------------


def fake_existing_install(install_dir: Path, name: str) -> dict[str, tuple[str, int | str]]:
    """An install that must survive a failed (re)install, and its snapshot."""
    home = install_dir / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "python3.12").write_bytes(b"#!/bin/sh\necho existing\n")
    (home / "marker").write_text("the old install\n")
    return snapshot(home)


def bad_source(
    tmp_path: Path,
    standalone: StandaloneArchive,
    archive: Path,
    *,
    sha256: str | None = None,
    version: tuple[int, int, int] | None = None,
) -> dict[str, str]:
    """A mirror and downloads file serving ``archive`` (its own checksum unless given)."""
    mirror = tmp_path / "bad-mirror"
    published = publish(mirror, standalone.version_text, archive)
    downloads = write_downloads_json(
        tmp_path / "bad-downloads.json",
        {
            standalone.install_name: (
                version or standalone.version,
                github_url(standalone.version_text),
                sha256 or sha256_of(published),
            )
        },
    )
    return cli_env(
        ANYVENV_PYTHON_DOWNLOADS_JSON=str(downloads),
        ANYVENV_PYTHON_INSTALL_MIRROR=mirror.as_uri(),
    )


def escaping_archive(tmp_path: Path, standalone: StandaloneArchive, how: str) -> Path:
    """The good tree plus one member that escapes it."""
    tree = standalone.path.parents[2] / "tree"
    archive = tmp_path / f"escape-{how}.tar.gz"

    def add_escape(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo()
        if how == "dotdot":
            info.name = "python/lib/../../escaped.txt"
        elif how == "absolute-link":
            info.name, info.type, info.linkname = "python/lib/evil", tarfile.SYMTYPE, "/etc/passwd"
        else:  # a relative link leading out of the tree
            info.name, info.type, info.linkname = "python/out", tarfile.SYMTYPE, "../.."
        tar.addfile(info, None if info.type == tarfile.SYMTYPE else io.BytesIO(b""))

    pack(tree, archive, extra=add_escape)
    return archive


def assert_failed_cleanly(
    proc: subprocess.CompletedProcess[str],
    install_dir: Path,
    name: str,
    before: dict[str, tuple[str, int | str]],
    expected: str,
) -> str:
    assert proc.returncode != 0
    line = one_line_error(proc)
    assert expected in line, line
    assert entries(install_dir) == {name}, "no staging or retired directory is left"
    assert snapshot(install_dir / name) == before, "the existing install is untouched"
    return line


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like"])
def test_wrong_checksum_installs_nothing(
    lab_kind: str, target: Path, tmp_path: Path, standalone: StandaloneArchive
) -> None:
    install_dir = target / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    env = bad_source(tmp_path, standalone, standalone.path, sha256="0" * 64)
    env["ANYVENV_CACHE_DIR"] = str(tmp_path / "cache")
    proc = run_cli(
        "python", "install", "3.12", "--reinstall", "--install-dir", str(install_dir), env=env
    )
    assert proc.returncode == 1
    assert_failed_cleanly(proc, install_dir, standalone.install_name, before, "has sha256")
    assert not list((tmp_path / "cache").rglob("*.tar.gz")), "a bad download is not cached"


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:symlink-eopnotsupp"])
def test_truncated_archive_installs_nothing(
    lab_kind: str, target: Path, tmp_path: Path, standalone: StandaloneArchive
) -> None:
    install_dir = target / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    truncated = truncated_copy(standalone.path, tmp_path / "truncated.tar.gz")
    env = bad_source(tmp_path, standalone, truncated)  # its checksum matches: the cut is real
    env["ANYVENV_CACHE_DIR"] = str(tmp_path / "cache")
    proc = run_cli(
        "python", "install", "3.12", "--reinstall", "--install-dir", str(install_dir), env=env
    )
    assert proc.returncode == 1
    assert_failed_cleanly(proc, install_dir, standalone.install_name, before, "cannot be read")


def test_download_shorter_than_its_checksum_says_installs_nothing(
    tmp_path: Path, standalone: StandaloneArchive
) -> None:
    install_dir = tmp_path / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    truncated = truncated_copy(standalone.path, tmp_path / "short.tar.gz", keep=0.3)
    env = bad_source(tmp_path, standalone, truncated, sha256=standalone.sha256)
    env["ANYVENV_CACHE_DIR"] = str(tmp_path / "cache")
    proc = run_cli(
        "python", "install", "3.12", "--reinstall", "--install-dir", str(install_dir), env=env
    )
    assert_failed_cleanly(
        proc, install_dir, standalone.install_name, before, "expected " + standalone.sha256
    )


@pytest.mark.parametrize("how", ["dotdot", "absolute-link", "link-out"])
@pytest.mark.parametrize("lab_kind", ["local", "fat"])
def test_member_escaping_the_tree_installs_nothing(
    lab_kind: str, how: str, target: Path, tmp_path: Path, standalone: StandaloneArchive
) -> None:
    install_dir = target / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    env = bad_source(tmp_path, standalone, escaping_archive(tmp_path, standalone, how))
    env["ANYVENV_CACHE_DIR"] = str(tmp_path / "cache")
    proc = run_cli(
        "python", "install", "3.12", "--reinstall", "--install-dir", str(install_dir), env=env
    )
    assert proc.returncode == 1
    line = assert_failed_cleanly(
        proc, install_dir, standalone.install_name, before, "archive member"
    )
    assert "nothing was installed" in line
    assert entry_names(target) == ["pythons"], "nothing was written beside the install dir"


def test_unknown_version_is_a_usage_error(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = tmp_path / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    proc = run_cli("python", "install", "3.99", "--install-dir", str(install_dir))
    assert proc.returncode == 2
    line = assert_failed_cleanly(proc, install_dir, standalone.install_name, before, "'3.99'")
    assert "known: 3.12" in line


def test_no_space_left_installs_nothing(
    lab: Lab, tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = lab.small_target(1024) / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    proc = run_cli("python", "install", "3.12", "--reinstall", "--install-dir", str(install_dir))
    assert proc.returncode == 1
    line = assert_failed_cleanly(
        proc, install_dir, standalone.install_name, before, "no space left"
    )
    assert "nothing was installed" in line
    fresh = install_dir.parent / "new" / "pythons"  # (made for it: taken away again)
    proc = run_cli("python", "install", "3.12", "--install-dir", str(fresh))
    assert proc.returncode == 1 and "no space left" in proc.stderr.lower(), proc.stderr
    assert not fresh.parent.exists()


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like"])
def test_build_that_does_not_match_its_metadata_is_not_committed(
    lab_kind: str, target: Path, tmp_path: Path, standalone: StandaloneArchive
) -> None:
    """Fails after extraction and fix-up (at validation): the staging dir goes away."""
    install_dir = target / "pythons"
    before = fake_existing_install(install_dir, standalone.install_name)
    wrong = (standalone.version[0], standalone.version[1], standalone.version[2] + 1)
    env = bad_source(tmp_path, standalone, standalone.path, version=wrong)
    env["ANYVENV_CACHE_DIR"] = str(tmp_path / "cache")
    name = f"cpython-{'.'.join(map(str, wrong))}-linux-x86_64-gnu"
    (install_dir / standalone.install_name).rename(install_dir / name)
    proc = run_cli(
        "python", "install", "3.12", "--reinstall", "--install-dir", str(install_dir), env=env
    )
    assert proc.returncode == 1
    assert_failed_cleanly(proc, install_dir, name, before, "the metadata says")


def test_existing_install_is_kept_and_reinstall_replaces_it(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = tmp_path / "pythons"
    first = install_python("3.12", install_dir=install_dir)
    again = install_python("3.12", install_dir=install_dir)
    assert again.status == "already installed"
    (first.install.path / "marker").write_text("old")
    replaced = install_python("3.12", install_dir=install_dir, reinstall=True)
    assert replaced.status == "reinstalled"
    assert not (replaced.install.path / "marker").exists()
    assert entries(install_dir) == {standalone.install_name}


KILL_POINTS = {
    "local": [
        "staging:made",
        "create:libpython3.12.so.1.0",
        "atomic-write:_sysconfigdata__linux_x86_64-linux-gnu.py",
        "python-install:validated",
        "commit:renamed",
    ],
    # fusefat moves the tree file by file (about 0.1 s here): kill before the move, and by
    # timer while it moves (or just after)
    "fat": [
        "create:libpython3.12.so.1.0",
        "python-install:validated",
        "python-install:validated+0.03",
    ],
}


def install_counts_as_done(home: Path, standalone: StandaloneArchive) -> bool:
    """What discovery and `python list` see: the interpreter exists; if so it must run."""
    exe = home / "bin" / standalone.executable_name
    if not os.path.lexists(exe):
        for name in ("python", "python3"):
            assert not os.path.lexists(home / "bin" / name), "no half-made python to run"
        return False
    assert run_facts(exe)["version"] == list(standalone.version), "a visible install runs"
    return True


@pytest.mark.parametrize("lab_kind", ["local", "fat"])
def test_killed_install_leaves_nothing_half_made(
    lab_kind: str, target: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """SIGKILL at named steps (``ANYVENV_TEST_KILL_AT``): no half-made install is visible,
    and the next install clears the leftovers and succeeds."""
    install_dir = target / "pythons"
    home = install_dir / standalone.install_name
    args = ["python", "install", "3.12", "--install-dir", str(install_dir)]
    for spec in KILL_POINTS[lab_kind]:
        proc = subprocess.run(
            [*ANYVENV, *args],
            env=cli_env(ANYVENV_TEST_KILL_AT=spec),
            capture_output=True,
            start_new_session=True,
        )
        timed = "+" in spec  # a timer may fire after the install finished
        assert proc.returncode == -signal.SIGKILL or timed, (spec, proc.stderr)
        install_counts_as_done(home, standalone)
        again = run_cli(*args)
        assert again.returncode == 0, (spec, again.stderr)
        assert install_counts_as_done(home, standalone), spec
        # a killed holder's lock files are left to the next install that takes the lock (this
        # one found the Python installed and took none); nothing else may be
        left = entries(install_dir) - {".anyvenv-python.lock.flock", ".anyvenv-python.lock"}
        assert left == {standalone.install_name}, (spec, "leftovers removed")
        atomic_remove(home)


def atomic_remove(home: Path) -> None:
    assert (
        run_cli("python", "uninstall", home.name, "--install-dir", str(home.parent)).returncode == 0
    )


def test_read_only_install_dir_is_a_usage_error(
    lab: Lab, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    install_dir = lab.readonly_target()
    proc = run_cli("python", "install", "3.12", "--install-dir", str(install_dir))
    assert proc.returncode == 2
    assert "read-only" in one_line_error(proc)
    assert entry_names(install_dir) == []


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:cifs-like"])
def test_concurrent_installs_take_turns(
    target: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """Two installs of one version at once: the lock lets one install, the other finds it."""
    install_dir = target / "pythons"
    install_dir.mkdir()
    args = [*ANYVENV, "python", "install", "3.12", "--install-dir", str(install_dir), "--json"]
    runs = [subprocess.Popen(args, env=cli_env(), stdout=subprocess.PIPE) for _ in range(2)]
    statuses = []
    for run in runs:
        out, _ = run.communicate(timeout=300)
        assert run.returncode == 0
        [report] = json.loads(out)
        statuses.append(report["status"])
    assert sorted(statuses) == ["already installed", "installed"]
    assert entries(install_dir) == {standalone.install_name}
    assert run_facts(install_dir / standalone.install_name / "bin" / "python3")["version"] == list(
        standalone.version
    )


def test_an_install_that_satisfies_the_request_is_enough_as_in_uv(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """An older 3.12 already installed: ``install 3.12`` says so and downloads nothing (uv:
    "Python 3.12 is already installed"); the exact newer version is installed beside it."""
    install_dir = tmp_path / "pythons"
    older = install_dir / "cpython-3.12.0-linux-x86_64-gnu"
    (older / "bin").mkdir(parents=True)
    (older / "bin" / "python3.12").symlink_to(sys.executable)
    kept = install_python("3.12", install_dir=install_dir)
    assert kept.status == "already installed" and kept.install.path == older
    for request in ("cpython", "any", "3"):  # any Python 3: the one there will do
        again = install_python(request, install_dir=install_dir)
        assert again.status == "already installed" and again.install.path == older, request
    exact = ".".join(map(str, standalone.version))
    newer = install_python(exact, install_dir=install_dir)
    assert newer.status == "installed" and newer.install.name == standalone.install_name


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_killed_reinstall_on_fat_leaves_a_python_that_runs(
    lab_kind: str, target: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """fusefat cannot rename directories, so a reinstall replaces the old files one by one,
    bin/ last: killed before, during or after that, the install still runs (it was removed
    first before, and a kill lost it), and the next reinstall leaves nothing else."""
    install_dir = target / "pythons"
    home = install_dir / standalone.install_name
    args = ["python", "install", "3.12", "--install-dir", str(install_dir)]
    assert run_cli(*args).returncode == 0
    for spec in (
        "python-install:validated",
        *(f"python-install:validated+{t}" for t in (0.02, 0.05, 0.1)),
    ):
        proc = subprocess.run(
            [*ANYVENV, *args, "--reinstall"],
            env=cli_env(ANYVENV_TEST_KILL_AT=spec),
            capture_output=True,
            start_new_session=True,
        )
        assert proc.returncode == -signal.SIGKILL or "+" in spec, (spec, proc.stderr)
        assert install_counts_as_done(home, standalone), (spec, "the old install still runs")
        again = run_cli(*args, "--reinstall")
        assert again.returncode == 0, (spec, again.stderr)
        assert install_counts_as_done(home, standalone), spec
        assert entries(install_dir) - {".anyvenv-python.lock"} == {standalone.install_name}


def test_a_build_whose_ssl_sqlite3_or_ctypes_cannot_load_is_not_committed(
    tmp_path: Path, standalone: StandaloneArchive
) -> None:
    """Validation imports the modules users need: an extension that is there but cannot load
    (a garbled _ssl) fails the install, and nothing is left."""
    tree = tmp_path / "tree"
    with tarfile.open(standalone.path) as tar:
        tar.extractall(tree, filter="tar")
    dynload = next(tree.glob("python/lib/python3.*/lib-dynload"))
    garbled = sorted(
        path for core in ("_ssl", "_sqlite3", "_ctypes") for path in dynload.glob(f"{core}.*so")
    )
    assert garbled, sorted(p.name for p in dynload.iterdir())
    garbled[0].write_bytes(b"\x7fELF, but not one")
    broken = tmp_path / "broken.tar.gz"
    pack(tree, broken)
    env = bad_source(tmp_path, standalone, broken)
    env["ANYVENV_CACHE_DIR"] = str(tmp_path / "cache")
    install_dir = tmp_path / "pythons"
    proc = run_cli("python", "install", standalone.version_text, "-i", str(install_dir), env=env)
    assert proc.returncode == 1, proc.stderr
    assert "the new Python cannot import" in one_line_error(proc)
    assert not install_dir.exists()  # (made for the install: taken away again)


def test_the_users_library_path_does_not_decide_which_libpython_is_validated(
    tmp_path: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """LD_LIBRARY_PATH naming another libpython of the same version (the one the test build
    was made from) would make the new Python load it during validation, and its install be
    refused as foreign: validation runs without it, and the install is made."""
    env = {**cli_env(**pythons_env), "LD_LIBRARY_PATH": str(standalone.source.libpython.parent)}
    install_dir = tmp_path / "pythons"
    proc = run_cli("python", "install", standalone.version_text, "-i", str(install_dir), env=env)
    assert proc.returncode == 0, proc.stderr
    assert entry_names(install_dir) == [standalone.install_name]


@pytest.mark.parametrize(
    ("code", "said"), [(28, "no space left on device"), (122, "disk quota exceeded")]
)
def test_a_full_disk_or_quota_is_said_so_for_the_install_and_its_download(
    tmp_path: Path, code: int, said: str
) -> None:
    """ENOSPC and EDQUOT (a university home's quota) alike: what is full, and to free space
    or install elsewhere (with python install's --install-dir; a command that downloads a
    Python for an env has none: the variable); not 'run anyvenv probe', nor 'a writable
    directory'."""
    from anyvenv.cli.python import INSTALL_WORDS
    from anyvenv.errors import NO_OPTIONS
    from anyvenv.interpreter.buildtarget import Platform
    from anyvenv.pythons.download import _cache_write_error
    from anyvenv.pythons.installer import _install_error
    from anyvenv.pythons.sources import PythonDownload

    download = PythonDownload(
        (3, 12, 1), False, Platform("linux", "x86_64", "gnu"), "file:///x.tar.gz", "ab" * 32
    )
    failed = OSError(code, os.strerror(code), str(tmp_path / "lib" / "libpython3.12.so"))
    installing = _install_error(failed, tmp_path, download, INSTALL_WORDS).one_line()
    assert installing.startswith(f"{said} at {tmp_path} while installing "), installing
    assert "free space or pick another --install-dir" in installing
    downloading = _install_error(failed, tmp_path, download, NO_OPTIONS).one_line()
    assert downloading.endswith(
        "free space or pick another install dir (ANYVENV_PYTHON_INSTALL_DIR); nothing was installed"
    ), downloading
    caching = _cache_write_error(tmp_path / "cache" / "x.tar.gz", failed).one_line()
    assert caching.startswith(f"{said} for the download cache at {tmp_path / 'cache'}"), caching


@pytest.mark.parametrize("lab_kind", ["smb", "sshfs"])
def test_a_reinstall_while_a_python_of_the_install_runs_says_what_holds_it(
    lab_kind: str, target: Path, standalone: StandaloneArchive, pythons_env: dict[str, str]
) -> None:
    """A python of the install running: SMB will not rename its directory (EACCES, read as
    "cannot write, pick another install dir"): one line names the program and says to end
    it, and the install is kept. On sshfs the old install is moved aside but keeps what the
    program holds (hidden files): the reinstall says so (it was silent, ~100 MB left), and
    the next run after the program ends removes it."""
    install_dir = target / "pythons"
    home = install_dir / standalone.install_name
    args = ["python", "install", "3.12", "--install-dir", str(install_dir)]
    assert run_cli(*args).returncode == 0
    running = subprocess.Popen(
        [home / "bin" / standalone.executable_name, "-c", "import sys; sys.stdin.readline()"],
        stdin=subprocess.PIPE,
    )
    try:
        proc = run_cli(*args, "--reinstall", "--json")
        if lab_kind == "smb":
            assert proc.returncode == 1 and proc.stdout == "", proc.stderr  # (none installed)
            said = one_line_error(proc)
            assert f"cannot replace {home} (EACCES) while installing" in said, said
            assert (
                f"(process {running.pid}) runs from the installed {standalone.install_name}" in said
            )
            assert said.endswith("then run the command again; nothing was installed"), said
        else:
            assert proc.returncode == 0, proc.stderr
            left = json.loads(proc.stdout)[0]["old_remains"]
            assert left.startswith("a program still holds files of the old install: what is"), left
            assert left.endswith("anyvenv's next run there removes it once that program ends")
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait()
    assert install_counts_as_done(home, standalone)
    if lab_kind == "sshfs":
        assert any("anyvenv-staging" in name for name in entries(install_dir))  # (its remains)
        again = run_cli(*args, "--reinstall", "--json")
        assert again.returncode == 0 and json.loads(again.stdout)[0]["old_remains"] is None
        assert entries(install_dir) - {".anyvenv-python.lock"} == {standalone.install_name}
