"""Asking an interpreter about itself, and the on-disk cache of the answers."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from anyvenv.errors import AnyvenvError
from anyvenv.interpreter.query import failure_line, query_interpreter

BASE = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
OTHER = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def needs_base() -> None:
    if not BASE.exists():
        pytest.skip("no pyenv 3.11.7 here")


def test_answer_of_a_binary_is_cached(tmp_path: Path) -> None:
    needs_base()
    first = query_interpreter(BASE)
    assert first.version[:2] == (3, 11) and first.executable == str(BASE)
    assert len(list((tmp_path / "cache" / "anyvenv" / "interpreters").iterdir())) == 1
    assert query_interpreter(BASE) == first


def test_a_launcher_script_is_cached_and_a_changed_target_asked_again(tmp_path: Path) -> None:
    """A shim (script) runs slowly every time: its answer is cached, and dropped when the
    interpreter it named changes."""
    needs_base()
    copy_root = tmp_path / "py"
    shutil.copytree(BASE.parent.parent / "bin", copy_root / "bin", symlinks=True)
    real = copy_root / "bin" / "python3.11"
    shim = tmp_path / "shim"
    counter = tmp_path / "runs"
    shim.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    info = query_interpreter(shim)
    assert info.executable == str(real)
    query_interpreter(shim)
    assert counter.read_text().count("run") == 1, "second answer from the cache"
    time.sleep(0.01)
    os.utime(real)  # the interpreter behind the shim changed
    query_interpreter(shim)
    assert counter.read_text().count("run") == 2


def test_a_different_directory_asks_a_shim_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_base()
    shim = tmp_path / "shim"
    counter = tmp_path / "runs"
    shim.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{BASE}" "$@"\n')
    shim.chmod(0o755)
    for name in ("one", "two"):  # (siblings: the version files above them are the same)
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # another launcher may read a file only there
        monkeypatch.setenv("PWD", str(tmp_path / name))
        query_interpreter(shim)
    assert counter.read_text().count("run") == 2


def test_a_failed_start_is_told_by_the_line_that_says_why(tmp_path: Path) -> None:
    """A launcher's own message (a pyenv shim's first line, before its notes), a traceback's
    exception, or the exit code."""
    shim = tmp_path / "python3.10"
    shim.write_text(
        "#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2\necho >&2\n"
        "echo 'Note: See pyenv help global for tips' >&2\nexit 127\n"
    )
    shim.chmod(0o755)
    with pytest.raises(AnyvenvError, match=r"failed to start: pyenv: python3\.10: command not"):
        query_interpreter(shim)
    assert failure_line("Traceback (most recent call last):\n  x\nKeyError: 'y'\n", 1) == (
        "KeyError: 'y'"
    )
    assert failure_line("", 3) == "exit code 3, no output"
    fatal = (
        "Python path configuration:\n  PYTHONHOME = '/x'\nFatal Python error: init_fs_encoding: "
        "failed to get the codec\nPython runtime state: core initialized\n"
        "ModuleNotFoundError: No module named 'encodings'\n\nCurrent thread 0x1 (most recent "
        "call first):\n  <no Python frame>\n"
    )
    assert failure_line(fatal, 1) == "Fatal Python error: init_fs_encoding: failed to get the codec"


def _pyenv_like_shim(root: Path, prefixes: dict[str, Path], runs: Path | None = None) -> Path:
    """A shim as pyenv's: it runs ``<root>/libexec/pyenv exec`` with the name it was run by,
    which runs that program of the version named by the nearest ``.python-version`` from the
    working directory up, else by ``<root>/version`` (and notes each run in ``runs``)."""
    for directory in ("shims", "versions", "libexec"):
        (root / directory).mkdir(parents=True)
    for name, prefix in prefixes.items():
        (root / "versions" / name).symlink_to(prefix)
    pyenv = root / "libexec" / "pyenv"
    pyenv.write_text(
        "#!/bin/sh\n"
        + (f'echo run >> "{runs}"\n' if runs is not None else "")
        + "d=${PYENV_DIR:-$PWD}; case $d in /*) ;; *) d=$PWD/$d ;; esac\n"
        'while [ ! -f "$d/.python-version" ] && [ "$d" != / ]; do d=$(dirname "$d"); done\n'
        f'if [ -f "$d/.python-version" ]; then v=$(cat "$d/.python-version"); '
        f'else v=$(cat "{root}/version"); fi\n'
        f'program=$2; shift 2\nexec "{root}/versions/$v/bin/$program" "$@"\n'
    )
    shim = root / "shims" / "python3"
    shim.write_text(f'#!/bin/sh\nprogram="${{0##*/}}"\nexec "{pyenv}" exec "$program" "$@"\n')
    for script in (pyenv, shim):
        script.chmod(0o755)
    return shim


def test_a_pyenv_shim_is_answered_from_the_cache_in_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyenv's choice hangs on its version files, not on the directory: a bare ``anyvenv
    venv`` in a new directory does not run the shim again (about 200 ms). The name it is run
    by is what it chooses by, though."""
    needs_base()
    if not OTHER.exists():
        pytest.skip("no pyenv 3.12.1 here")
    runs = tmp_path / "runs"
    root = tmp_path / "pyenv"
    mixed = tmp_path / "mixed" / "bin"  # (a version whose python3.12 is another Python)
    mixed.mkdir(parents=True)
    (mixed / "python3").symlink_to(BASE)
    (mixed / "python3.12").symlink_to(OTHER)
    shim = _pyenv_like_shim(root, {"a": mixed.parent}, runs)
    (root / "version").write_text("a\n")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        assert query_interpreter(shim).version[:2] == (3, 11)
    assert runs.read_text().count("run") == 1
    (tmp_path / "bin").mkdir()
    named = tmp_path / "bin" / "python3.12"
    named.symlink_to(shim)  # (run by another name: pyenv runs that program)
    assert query_interpreter(named).version[:2] == (3, 12)
    real_shim = Path("/root/.pyenv/shims/python3")  # (pyenv's own is known as one too)
    if real_shim.exists():
        from anyvenv.interpreter.query import _PYENV_SHIM, _launcher_kind

        assert _launcher_kind(str(real_shim)) == _PYENV_SHIM


def _two_versions_shim(root: Path) -> Path:
    """A pyenv-like shim in ``root`` choosing between "a" (3.11) and "b" (3.12), "a" by
    default."""
    needs_base()
    if not OTHER.exists():
        pytest.skip("no pyenv 3.12.1 here")
    shim = _pyenv_like_shim(root, {"a": BASE.parent.parent, "b": OTHER.parent.parent})
    (root / "version").write_text("a\n")
    return shim


@pytest.mark.parametrize("how", ["relative PYENV_DIR", "linked working directory"])
def test_a_pyenv_shim_walks_up_from_where_pyenv_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """pyenv walks up from ``PYENV_DIR`` taken from the working directory, and from the
    working directory as the shell names it (``$PWD``, through a link): two directories
    that differ only there are not answered from one cache entry (h49)."""
    root = tmp_path / "pyenv"
    shim = _two_versions_shim(root)
    found = []
    for name, version in (("A", "a"), ("B", "b")):
        (tmp_path / name).mkdir()
        (tmp_path / name / ".python-version").write_text(f"{version}\n")
        if how == "relative PYENV_DIR":
            work = tmp_path / name / "sub"
            work.mkdir()
            monkeypatch.setenv("PYENV_DIR", ".")  # (its version file is one up)
        else:  # (the physical directory has no version file above it)
            (tmp_path / f"physical-{name}" / "w").mkdir(parents=True)
            work = tmp_path / name / "link"
            work.symlink_to(tmp_path / f"physical-{name}" / "w")
        monkeypatch.chdir(work)
        monkeypatch.setenv("PWD", str(work))
        found.append(query_interpreter(shim).version[:2])
    assert found == [(3, 11), (3, 12)]


def test_a_shim_is_asked_again_when_the_version_it_would_choose_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pyenv shim's answer hangs on version files in the working directory, above it and
    in pyenv's root: a changed file is not answered from the cache."""
    root = tmp_path / "pyenv"
    shim = _two_versions_shim(root)
    work = tmp_path / "project" / "sub"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert query_interpreter(shim).version[:2] == (3, 11)
    (root / "version").write_text("b\n")  # pyenv global 3.12
    assert query_interpreter(shim).version[:2] == (3, 12)
    (tmp_path / "project" / ".python-version").write_text("a\n")  # pyenv local, one up
    assert query_interpreter(shim).version[:2] == (3, 11)
    (tmp_path / "project" / ".python-version").write_text("b\n")
    assert query_interpreter(shim).version[:2] == (3, 12)
    assert query_interpreter(shim).version[:2] == (3, 12)  # (unchanged: from the cache)


def test_a_copied_venv_python_of_an_older_release_names_its_base(tmp_path: Path) -> None:
    """Before 3.11 a venv's python started with -S has its base's prefix and no
    _base_executable: its pyvenv.cfg says it is a venv's, and its base is what it names."""
    from anyvenv.envbuild.create import create

    base = Path("/root/.pyenv/versions/3.10.13/bin/python3.10")
    if not base.exists():
        pytest.skip("no pyenv 3.10.13 here")
    env = tmp_path / "env"
    create(env, str(base), strategy="copy")
    assert not (env / "bin" / "python").is_symlink()
    entries = tmp_path / "cache" / "anyvenv" / "interpreters"
    before = set(entries.iterdir()) if entries.exists() else set()
    info = query_interpreter(env / "bin" / "python")
    assert info.executable == str(base) and info.prefix == str(base.parent.parent)
    assert query_interpreter(env / "bin" / "python").executable == str(base)
    assert set(entries.iterdir()) == before  # (its answer hangs on pyvenv.cfg: not cached)


def test_an_older_venvs_base_is_its_x_y_python_not_what_bin_python_is_there(
    tmp_path: Path,
) -> None:
    """A base prefix whose ``bin/python`` is another Python (Ubuntu's python-is-python3 beside
    deadsnakes' python3.9): a copied venv python of 3.10 names the base's python3.10; a
    linked one names what it links to."""
    import subprocess

    real = Path("/root/.pyenv/versions/3.10.13")
    if not (real / "bin" / "python3.10").exists():
        pytest.skip("no pyenv 3.10.13 here")
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy2(real / "bin" / "python3.10", prefix / "bin" / "python3.10")
    (prefix / "lib").symlink_to(real / "lib")
    (prefix / "bin" / "python").symlink_to("/usr/bin/python3")  # another Python
    base = prefix / "bin" / "python3.10"
    for flag, name in (("--copies", "copied"), ("--symlinks", "linked")):
        made = subprocess.run(
            [str(base), "-m", "venv", flag, "--without-pip", str(tmp_path / name)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        info = query_interpreter(tmp_path / name / "bin" / "python")
        assert (info.executable, info.version[:2]) == (str(base), (3, 10)), name


def test_a_program_that_is_no_python_is_named_so_in_one_short_line(tmp_path: Path) -> None:
    """``--python /bin/ls``: ls says the query script back, 3 KB of it; the error says the
    program is not a Python, and another program's long complaint is cut."""
    with pytest.raises(AnyvenvError) as not_python:
        query_interpreter("/bin/ls")
    assert not_python.value.message.startswith("/bin/ls is not a Python interpreter")
    assert len(not_python.value.one_line()) < 200
    # a Python 3.13+ without json: its traceback shows the -c line too, and says why
    slim = tmp_path / "slim"
    slim.write_text(
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
        "echo '  File \"<string>\", line 2, in <module>' >&2\n"
        "echo '    import json, os, sys, sysconfig, platform' >&2\n"
        "echo \"ModuleNotFoundError: No module named 'json'\" >&2\nexit 1\n"
    )
    slim.chmod(0o755)
    with pytest.raises(AnyvenvError, match="failed to start: ModuleNotFoundError: No module"):
        query_interpreter(slim)
    number = tmp_path / "number"  # (answers JSON, but no object)
    number.write_text("#!/bin/sh\necho 1\n")
    number.chmod(0o755)
    with pytest.raises(AnyvenvError, match="did not answer like a Python interpreter"):
        query_interpreter(number)
    talker = tmp_path / "talker"
    talker.write_text(f"#!/bin/sh\necho '{'x' * 5000}' >&2\nexit 1\n")
    talker.chmod(0o755)
    with pytest.raises(AnyvenvError, match=r"failed to start: x+\.\.\.$") as long_line:
        query_interpreter(talker)
    assert len(long_line.value.one_line()) < 500


def test_a_libpython_changed_under_the_same_executable_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared build's version is in its libpython: one replaced (another patch release's)
    under an unchanged executable is not answered from the cache."""
    needs_base()
    library = BASE.parent.parent / "lib" / "libpython3.11.so.1.0"
    if not library.exists():
        pytest.skip("the base is not a shared build")
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    real = tmp_path / "bin" / "python3.11"
    shutil.copy2(BASE, real)
    ours = tmp_path / "lib" / library.name
    shutil.copy2(library, ours)
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path / "lib"))  # (before its RUNPATH)
    shim = tmp_path / "shim"
    counter = tmp_path / "runs"
    shim.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    query_interpreter(shim)
    query_interpreter(shim)
    assert counter.read_text().count("run") == 1, "second answer from the cache"
    replacement = tmp_path / "new.so"
    shutil.copyfile(library, replacement)
    os.replace(replacement, ours)
    os.utime(ours, ns=(time.time_ns() + 10**10, time.time_ns() + 10**10))
    query_interpreter(shim)
    assert counter.read_text().count("run") == 2


def test_an_answer_is_not_given_for_an_interpreter_that_can_no_longer_run(
    tmp_path: Path,
) -> None:
    """Its mount remounted noexec (an NFS home on a compute node): the cached answer is not
    taken for one that still runs; the interpreter is asked, and said not to run."""
    import subprocess

    needs_base()
    if os.geteuid() != 0:
        pytest.fail("a bind mount needs root (CI runs as root)")
    mount_point = tmp_path / "home"
    mount_point.mkdir()
    prefix = BASE.parent.parent
    subprocess.run(["mount", "--bind", str(prefix), str(mount_point)], check=True)
    try:
        python = mount_point / "bin" / BASE.name
        assert query_interpreter(python).version[:2] == (3, 11)
        subprocess.run(["mount", "-o", "remount,bind,noexec", str(mount_point)], check=True)
        with pytest.raises(AnyvenvError, match="cannot run the interpreter"):
            query_interpreter(python)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
