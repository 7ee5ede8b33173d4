"""Finding a base interpreter for a request: paths, names, versions and ranges, on PATH as uv
looks there (``python3.X``, ``python3``, ``python``, then every ``python3.N`` it allows)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from project_support import pyenv_python

from anyvenv.errors import InterpreterNotFound, UsageError
from anyvenv.interpreter.discovery import find_interpreter, versioned_python_minor
from anyvenv.interpreter.request import parse_request

PYTHONS = {minor: pyenv_python(minor) for minor in ("3.10", "3.11", "3.12")}
needs_pythons = pytest.mark.skipif(
    None in PYTHONS.values(), reason="needs pyenv's 3.10, 3.11 and 3.12"
)


@pytest.fixture
def path_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one directory: python3 is 3.11, python3.10 and python3.12 are there too (and a
    python3.12t that is not executable); nothing is managed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for minor, path in PYTHONS.items():
        if path is not None:
            (bin_dir / f"python{minor}").symlink_to(path)
    (bin_dir / "python3").symlink_to(bin_dir / "python3.11")
    (bin_dir / "python3.12t").write_text("not a python")
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("ANYVENV_PYTHON_INSTALL_DIR", "UV_PYTHON_INSTALL_DIR"):
        monkeypatch.delenv(name, raising=False)
    return bin_dir


@needs_pythons
@pytest.mark.parametrize(
    ("request_text", "minor"),
    [
        (None, (3, 11)),  # python3
        ("3", (3, 11)),
        ("3.12", (3, 12)),  # python3.12 by its name
        (">=3.12", (3, 12)),  # python3 does not do: every python3.N is looked at
        (">=3.10,<3.11", (3, 10)),
        (">=3.10,!=3.11.*", (3, 12)),  # the newest first, as uv
        ("<3.11", (3, 10)),
    ],
)
def test_path_search_finds_what_uv_finds(
    path_dir: Path, request_text: str | None, minor: tuple[int, int]
) -> None:
    assert find_interpreter(request_text).version[:2] == minor


@needs_pythons
def test_nothing_matching_on_path_is_a_clear_error(path_dir: Path) -> None:
    with pytest.raises(InterpreterNotFound, match=r"no Python matching '>=3\.13' found") as range_:
        find_interpreter(">=3.13")
    assert "python list --available" in range_.value.hint  # a range names no version to install
    with pytest.raises(InterpreterNotFound) as plain:
        find_interpreter("3.19")
    assert "'anyvenv python install 3.19'" in plain.value.hint


@pytest.mark.parametrize("request_text", ["2.7", "2", "<3", "cpython2.7", "==2.*"])
def test_python_2_is_refused_by_name(request_text: str) -> None:
    with pytest.raises(InterpreterNotFound, match="is not supported") as caught:
        find_interpreter(request_text)
    assert "Python 3" in caught.value.hint


@pytest.mark.parametrize("request_text", [">=3.11,<3.5", ">3.12,<3.12", "==3.12,==3.13"])
def test_a_range_no_version_is_in_is_said_so(request_text: str) -> None:
    """Not "Python 3 is not supported": its bounds exclude each other."""
    with pytest.raises(InterpreterNotFound, match="no Python version satisfies") as caught:
        find_interpreter(request_text)
    assert "a range some version is in" in caught.value.hint


PYTHON2 = Path("/root/.pyenv/versions/2.7.18/bin/python2.7")


@pytest.mark.skipif(not PYTHON2.is_file(), reason="needs pyenv's Python 2.7")
def test_a_python_2_executable_is_named_as_such() -> None:
    with pytest.raises(InterpreterNotFound, match=r"is Python 2 or older than 3\.4"):
        find_interpreter(str(PYTHON2))


def test_versioned_names() -> None:
    assert [versioned_python_minor(n) for n in ("python3.12", "python3.9t", "python3.100")] == [
        12,
        9,
        None,
    ]
    assert versioned_python_minor("python3.") is None
    assert versioned_python_minor("python3.1x") is None
    assert versioned_python_minor("python3.١٢") is None  # Arabic-Indic digits: not a name uv reads
    assert versioned_python_minor("python2.7") is None


def test_a_minor_is_ruled_out_only_when_no_release_of_it_fits() -> None:
    request = parse_request(">=3.12.2,<3.14,!=3.13.0")
    assert request.may_match_minor(3, 12) and request.may_match_minor(3, 13)
    assert not request.may_match_minor(3, 11) and not request.may_match_minor(3, 14)
    assert not parse_request("==3.12.4").may_match_minor(3, 13)


@pytest.mark.parametrize(
    "raw",
    [
        ">=3.12.2,<3.14,!=3.13.0",
        "==3.12.4",
        "==3.12.*",
        "!=3.12.*",
        "~=3.12.4",
        "~=3.12",
        ">3.12.98",
        ">=3.12.99,!=3.12.99",
        "<3.12.1,>3.12.0",
        "<3.12.1,!=3.12.0",
        ">=3.12.150",
        "<=3.12,>3.11.99",
    ],
)
def test_a_minor_is_judged_as_trying_every_patch_would(raw: str) -> None:
    request = parse_request(raw)
    for minor in (11, 12, 13):
        every_patch = any(
            all(spec.contains((3, minor, patch)) for spec in request.specifiers)
            for patch in range(100)
        )
        assert request.may_match_minor(3, minor) is every_patch, (raw, minor)


@needs_pythons
def test_managed_installs_come_first_as_uvs_python_preference_says(
    path_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv's default (``managed``) takes a managed install before PATH, for a request for any
    Python too; ``UV_PYTHON_PREFERENCE`` turns that around or off."""
    managed = tmp_path / "managed" / "cpython-3.12.1-linux-x86_64-gnu" / "bin"
    managed.mkdir(parents=True)
    (managed / "python3.12").symlink_to(path_dir / "python3.12")
    monkeypatch.setenv("ANYVENV_PYTHON_INSTALL_DIR", str(tmp_path / "managed"))
    monkeypatch.delenv("UV_PYTHON_PREFERENCE", raising=False)
    assert find_interpreter(None).version[:2] == (3, 12)  # managed, though python3 is 3.11
    monkeypatch.setenv("UV_PYTHON_PREFERENCE", "system")
    assert find_interpreter(None).version[:2] == (3, 11)
    assert find_interpreter("3.12").version[:2] == (3, 12)  # PATH has one too
    monkeypatch.setenv("UV_PYTHON_PREFERENCE", "only-managed")
    with pytest.raises(InterpreterNotFound):
        find_interpreter("3.11")
    monkeypatch.setenv("UV_PYTHON_PREFERENCE", "sometimes")
    with pytest.raises(UsageError, match="UV_PYTHON_PREFERENCE"):
        find_interpreter(None)


def test_candidates_that_do_not_run_are_named_in_the_error(path_dir: Path) -> None:
    broken = path_dir / "python3.13"
    broken.write_text('#!/bin/sh\necho "{not json"\n')
    broken.chmod(0o755)
    with pytest.raises(InterpreterNotFound, match=r"skipped, as they do not run: .*python3\.13"):
        find_interpreter("3.13")


def test_a_directory_stands_for_its_bin_python3_as_in_uv(tmp_path: Path) -> None:
    """``--python DIR``: an install's (or an env's) directory, as uv reads it."""
    python = pyenv_python("3.12")
    assert python is not None
    prefix = Path(python).parent.parent
    assert find_interpreter(str(prefix)).version[:2] == (3, 12)
    with pytest.raises(InterpreterNotFound, match="without bin/python3 or bin/python"):
        find_interpreter(str(tmp_path))
    (tmp_path / "install").symlink_to(prefix)
    here = Path.cwd()
    try:  # a bare name that is a directory here is that directory, as for uv
        os.chdir(tmp_path)
        assert find_interpreter("install").version[:2] == (3, 12)
    finally:
        os.chdir(here)


@needs_pythons
def test_the_newest_managed_install_wins_whichever_tool_installed_it(
    path_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anyvenv's 3.11 and uv's 3.12: with no request, uv's 3.12 (newest first, over both)."""
    for root, version, minor in (("ours", "3.11.7", "3.11"), ("uvs", "3.12.1", "3.12")):
        bin_dir = tmp_path / root / f"cpython-{version}-linux-x86_64-gnu" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / f"python{minor}").symlink_to(path_dir / f"python{minor}")
    monkeypatch.setenv("ANYVENV_PYTHON_INSTALL_DIR", str(tmp_path / "ours"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "uvs"))
    monkeypatch.delenv("UV_PYTHON_PREFERENCE", raising=False)
    assert find_interpreter(None).version[:2] == (3, 12)
    assert find_interpreter("3.11").version[:2] == (3, 11)


@needs_pythons
def test_a_versioned_name_not_on_path_stands_for_its_version(path_dir: Path) -> None:
    (path_dir / "python3.12").rename(path_dir / "py312")
    (path_dir / "python3").unlink()
    (path_dir / "python3").symlink_to(path_dir / "py312")
    assert find_interpreter("python3.12").version[:2] == (3, 12)  # as uv: any 3.12
    with pytest.raises(InterpreterNotFound, match=r"no Python matching 'python3\.13'"):
        find_interpreter("python3.13")
    with pytest.raises(InterpreterNotFound, match="no 'pypy3' on PATH"):
        find_interpreter("pypy3")


def test_a_request_for_another_platforms_build_is_refused(path_dir: Path) -> None:
    with pytest.raises(InterpreterNotFound, match="names a build for another platform"):
        find_interpreter("cpython-3.11.7-macos-aarch64-none")


def test_a_relative_install_dir_variable_is_refused(
    path_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANYVENV_PYTHON_INSTALL_DIR", "relative/dir")
    with pytest.raises(UsageError, match="ANYVENV_PYTHON_INSTALL_DIR='relative/dir' is a relative"):
        find_interpreter(None)


@needs_pythons
def test_an_activated_envs_python_is_passed_over_as_uv_passes_it(
    path_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An env's ``bin`` first on PATH (an activated env of 3.10) is not a base interpreter:
    the search goes on to the next directory, as ``uv venv`` does."""
    env = tmp_path / "active"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text(f"home = {Path(PYTHONS['3.10'] or '').parent}\n")
    for name in ("python", "python3", "python3.10"):
        (env / "bin" / name).symlink_to(PYTHONS["3.10"] or "")
    monkeypatch.setenv("PATH", f"{env / 'bin'}{os.pathsep}{path_dir}")
    assert find_interpreter(None).version[:2] == (3, 11)  # the python3 after it
    assert find_interpreter(">=3.10,<3.11").version[:2] == (3, 10)  # path_dir's own 3.10
    assert find_interpreter(">=3.10,<3.11").executable != str(env / "bin" / "python3.10")


@needs_pythons
def test_with_no_version_asked_a_versioned_name_is_found_where_it_comes_first(
    tmp_path: Path, path_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As uv: the first PATH directory holding only python3.12 (e.g. ~/.local/bin) wins over
    a python3 further on, for no request as for a range; python3.12t is not taken unasked."""
    first = tmp_path / "first"
    first.mkdir()
    assert PYTHONS["3.12"] is not None
    (first / "python3.12").symlink_to(PYTHONS["3.12"])
    monkeypatch.setenv("PATH", os.pathsep.join([str(first), str(path_dir)]))
    assert find_interpreter(None).version[:2] == (3, 12)
    (first / "python3.12").unlink()
    (first / "python3.13t").symlink_to(PYTHONS["3.12"])  # (a stand-in: never queried)
    assert find_interpreter(None).version[:2] == (3, 11)


@needs_pythons
def test_a_versioned_python_name_passes_over_one_on_path_that_does_not_run(
    tmp_path: Path, path_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As uv reads `python3.12`: a version, so a `python3.12` first on PATH that does not run
    (a pyenv shim with no such version) is passed over, as it is for `3.12`."""
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python3.12"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(shims), str(path_dir)]))
    for request in ("python3.12", "3.12"):
        assert find_interpreter(request).version[:2] == (3, 12), request


def test_another_machines_managed_builds_are_not_candidates(path_dir: Path) -> None:
    """A shared install dir holding another architecture's build: as uv, and as ``python
    list``, discovery leaves it out rather than trying it and calling it broken."""
    from anyvenv.interpreter.buildtarget import current_platform
    from anyvenv.interpreter.discovery import managed_interpreters
    from support import fake_install

    root = path_dir.parent / "xdg_data_home" / "uv" / "python"
    here = current_platform().key
    mine = fake_install(root, f"cpython-3.12.1-{here}", "python3.12")
    fake_install(root, "cpython-3.99.0-linux-riscv64-gnu", "python3.99")
    fake_install(root, "cpython-3.98.0-macos-aarch64-none", "python3.98")
    fake_install(root, "cpython-3.97.0", "python3.97")  # no platform in its name: not an install
    fake_install(root, "cpython-3.96.0+freethreaded", "python3.96t")
    listed = [exe for _, _, exe in managed_interpreters()]
    assert listed == [str(mine / "bin" / "python3.12")]
    # uv's name for a build of this architecture at a micro-architecture level is this
    # machine's (the interpreter itself says whether the CPU has what it asks)
    os_name, arch, libc = here.split("-")
    level = fake_install(root, f"cpython-3.13.2-{os_name}-{arch}_v3-{libc}", "python3.13")
    listed = [exe for _, _, exe in managed_interpreters()]
    assert listed == [str(level / "bin" / "python3.13"), str(mine / "bin" / "python3.12")]


@pytest.mark.parametrize(
    ("key", "runs"),
    [
        ("linux-x86_64-gnu", True),
        ("linux-x86_64_v3-gnu", True),
        ("linux-x86_64_v4-gnu", True),
        ("linux-x86_64-musl", False),
        ("linux-aarch64-gnu", False),
        ("macos-x86_64-none", False),
        ("linux-x86_64", False),
    ],
)
def test_build_names_read_as_uv_reads_them(key: str, runs: bool) -> None:
    from anyvenv.interpreter.buildtarget import Platform

    assert Platform("linux", "x86_64", "gnu").runs(key) is runs
    assert Platform("linux", "armv7", "gnu").runs("linux-armv7-gnueabihf")  # glibc's


def test_this_platform_is_named_as_uv_names_it() -> None:
    import platform

    from anyvenv.interpreter.buildtarget import current_platform

    found = current_platform()
    assert found.os == "linux" and found.arch == platform.machine().lower()
    assert found.libc == ("gnu" if platform.libc_ver()[0] == "glibc" else "musl")


@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces"])
def test_an_install_whose_links_cannot_be_read_is_found_by_its_versioned_file(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python tree copied onto a mount that does not read links back: its directory is
    taken by the one ``bin/python3.X`` file; its unreadable link, given as a path, is
    refused with the errno and the way out, not called missing."""
    python = PYTHONS["3.11"]
    if python is None:
        pytest.skip("needs pyenv's 3.11")
    monkeypatch.setenv("XDG_CACHE_HOME", str(target / "cache"))
    bin_dir = target / "py" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3.11").write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
    (bin_dir / "python3.11").chmod(0o755)
    (bin_dir / "python3.11-config").write_text("#!/bin/sh\n")
    (bin_dir / "python3.11-config").chmod(0o755)
    (bin_dir / "python3").symlink_to("python3.11")
    assert not os.path.exists(bin_dir / "python3")  # (the mount refuses to read it)
    assert find_interpreter(str(target / "py")).version[:2] == (3, 11)
    with pytest.raises(InterpreterNotFound) as caught:
        find_interpreter(str(bin_dir / "python3"))
    assert (
        caught.value.message == f"{bin_dir / 'python3'} is a link that cannot be read here (EACCES)"
    )
    assert "pass the interpreter it names" in str(caught.value.hint)
    (bin_dir / "python3.12").write_text("")  # two versioned files: none is chosen
    (bin_dir / "python3.12").chmod(0o755)
    with pytest.raises(InterpreterNotFound) as caught:
        find_interpreter(str(target / "py"))
    assert "py/bin/python3 is a link that cannot be read here (EACCES)" in caught.value.message


def test_a_dangling_link_given_as_the_interpreter_is_said_to_dangle(tmp_path: Path) -> None:
    (tmp_path / "python3").symlink_to("/nonexistent/python3")
    with pytest.raises(InterpreterNotFound) as caught:
        find_interpreter(str(tmp_path / "python3"))
    assert caught.value.message == (
        f"{tmp_path / 'python3'} is a link to /nonexistent/python3, which does not exist"
    )


def test_a_file_here_named_as_a_command_is_sent_to_its_path(
    path_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As uv, a bare name is a command on PATH, not a file in the working directory; the
    error says how to name that file."""
    (tmp_path / "mypy310").write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InterpreterNotFound) as caught:
        find_interpreter("mypy310")
    assert caught.value.message == "no 'mypy310' on PATH (a name is looked up there, not here)"
    assert caught.value.hint == "pass it as a path: ./mypy310"


def test_a_link_to_a_python_this_user_cannot_reach_or_a_loop_is_said_so(
    tmp_path: Path, nobody_scratch: Path
) -> None:
    """Not "which does not exist": the target is there, past a directory the user may not
    enter (/root), or the links loop."""
    from support import one_line_error, run_cli_as_nobody

    target = "/root/.pyenv/versions/3.11.7/bin/python3.11"
    if not os.path.exists(target) or os.stat("/root").st_mode & 0o001:
        pytest.skip("needs pyenv's 3.11.7 under a /root others may not enter")
    (nobody_scratch / "py").symlink_to(target)
    (nobody_scratch / "chain").symlink_to(nobody_scratch / "py")  # (past a link that is there)
    for link, names in (("py", target), ("chain", str(nobody_scratch / "py"))):
        proc = run_cli_as_nobody("venv", "--python", str(nobody_scratch / link), "/tmp/never")
        assert proc.returncode == 2
        assert one_line_error(proc).startswith(
            f"anyvenv: error: {nobody_scratch / link} is a link to {names}, which cannot be "
            "reached: you may not enter /root (owned by root, mode 07"
        ), proc.stderr
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(InterpreterNotFound) as caught:
        find_interpreter(str(tmp_path / "a"))
    assert (
        caught.value.message
        == f"{tmp_path / 'a'} is a link to b, which is in a loop of links (ELOOP)"
    )
