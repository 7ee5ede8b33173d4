"""``anyvenv.create`` as a library uses it: its arguments, its errors, several at once."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

import anyvenv
from anyvenv.errors import DirectoryNotWritable, UsageError
from lab import Lab
from support import BASE, one_line_error, run_cli


def test_the_public_names_are_reachable_from_the_package() -> None:
    assert set(anyvenv.__all__) == {"__version__", *anyvenv._PUBLIC}
    for name in anyvenv.__all__:
        assert getattr(anyvenv, name) is not None, name
        assert name in dir(anyvenv), name
    assert anyvenv.UsageError is UsageError
    assert issubclass(anyvenv.DirectoryNotWritable, anyvenv.AnyvenvError)
    with pytest.raises(AttributeError, match="craete"):
        anyvenv.craete  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    ("arguments", "error", "said"),
    [
        ({"path": 123}, TypeError, "path must be a str or an os.PathLike, not int"),
        ({"python": 3.12}, TypeError, "python must be a str"),
        ({"strategy": "bogus"}, UsageError, "strategy 'bogus'"),
        ({"strategy": "COPY"}, UsageError, "use one of auto, symlink, hardlink, copy"),
        ({"strategy": "reflink"}, UsageError, "strategy 'reflink'"),  # (as --strategy)
        ({"system_site_packages": "false"}, TypeError, "system_site_packages must be a bool"),
        ({"seed": "no"}, TypeError, "seed must be a bool, not str"),
        ({"clear": 1}, TypeError, "clear must be a bool, not int"),
        ({"confirm_replace": 5}, TypeError, "confirm_replace must be callable or None"),
        ({"on_lock_wait": "x"}, TypeError, "on_lock_wait must be callable or None"),
        ({"seed_index_args": [1, 2]}, TypeError, "seed_index_args must hold str arguments"),
        ({"prompt": "a\0b"}, UsageError, "the prompt contains a NUL character"),
        ({"path": "env\0x"}, UsageError, "the environment path contains a NUL character"),
        ({"python_preference": "bogus"}, UsageError, "python-preference 'bogus'"),
        ({"seed_index_args": "--no-index"}, TypeError, "not one string"),
        ({"path": ""}, UsageError, "the environment path is empty"),
        ({"path": b""}, UsageError, "the environment path is empty"),
        ({"strategy": 3}, TypeError, "strategy must be a str or a Strategy, not int"),
        ({"python_preference": 3}, TypeError, "python_preference must be a str, not int"),
        ({"prompt": 3}, TypeError, "prompt must be a str, not int"),
        ({"builder": object}, TypeError, "builder must be a subclass of anyvenv.EnvBuilder"),
        ({"builder": "EnvBuilder"}, TypeError, "builder must be a subclass of anyvenv.EnvBuilder"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_made(
    tmp_path: Path, arguments: dict[str, object], error: type[Exception], said: str
) -> None:
    given: dict[str, object] = {"path": tmp_path / "new" / "env", "python": str(BASE)}
    given.update(arguments)
    create: Callable[..., object] = anyvenv.create
    with pytest.raises(error) as info:
        create(**given)
    told = info.value
    assert said in (told.one_line() if isinstance(told, anyvenv.AnyvenvError) else str(told))
    assert os.listdir(tmp_path) == []


def test_a_builder_subclass_changes_a_step_and_its_env_is_still_validated(
    tmp_path: Path,
) -> None:
    """As venv.EnvBuilder: a subclass overrides a step; what it makes is checked before it
    is put in place, and a step that breaks the env leaves nothing."""
    from anyvenv.envbuild.layout import EnvLayout
    from anyvenv.envbuild.plan import InterpreterPlan
    from anyvenv.errors import EnvironmentBroken

    class WithNotes(anyvenv.EnvBuilder):
        def write_scripts(self, layout: EnvLayout) -> None:
            super().write_scripts(layout)
            Path(layout.root, "NOTES").write_text("made by a subclass\n")

    made = anyvenv.create(tmp_path / "env", python=str(BASE), builder=WithNotes)
    assert (tmp_path / "env" / "NOTES").read_text() == "made by a subclass\n"
    assert (tmp_path / "env" / "bin" / "activate").is_file() and made.replaced is False

    class NoInterpreter(anyvenv.EnvBuilder):
        def place_interpreter(self, layout: EnvLayout, plan: InterpreterPlan) -> str | None:
            return None  # (forgets to put python in bin/)

    with pytest.raises(EnvironmentBroken):
        anyvenv.create(tmp_path / "broken", python=str(BASE), builder=NoInterpreter)

    class LosesItLater(anyvenv.EnvBuilder):  # (a step after the interpreter's breaks it)
        def write_scripts(self, layout: EnvLayout) -> None:
            super().write_scripts(layout)
            os.unlink(layout.python)

    with pytest.raises(EnvironmentBroken):
        anyvenv.create(tmp_path / "later", python=str(BASE), builder=LosesItLater)
    assert sorted(os.listdir(tmp_path)) == ["env"]


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_a_builder_subclass_sees_its_steps_called_in_their_order_while_a_probe_measures(
    target: Path,
) -> None:
    """On a share whose probe was begun early (as ``anyvenv venv`` begins it), EnvBuilder
    writes what does not depend on the probe's answer while it measures; a subclass's steps
    are called as they always are: probe, plan, make_directories (given the plan), then the
    interpreter's, config's and scripts' steps."""
    from anyvenv.envbuild.layout import EnvLayout
    from anyvenv.envbuild.plan import InterpreterPlan
    from anyvenv.fs.probe import ProbeResult, probe_pending, settle_started, start_probe

    called: list[str] = []

    class Recording(anyvenv.EnvBuilder):
        def probe(self) -> ProbeResult:
            called.append("probe")
            return super().probe()

        def plan(self, result: ProbeResult) -> InterpreterPlan:
            called.append("plan")
            return super().plan(result)

        def make_directories(self, layout: EnvLayout, plan: InterpreterPlan) -> None:
            called.append("make_directories")
            super().make_directories(layout, plan)

        def write_config(self, layout: EnvLayout, plan: InterpreterPlan) -> None:
            called.append("write_config")
            super().write_config(layout, plan)

        def write_scripts(self, layout: EnvLayout) -> None:
            called.append("write_scripts")
            super().write_scripts(layout)

    start_probe(target)
    try:
        assert probe_pending(target) and probe_pending(target / "sub")  # (its mount's)
        anyvenv.create(target / "env", python=str(BASE), builder=Recording)
        assert not probe_pending(target)  # (taken by the subclass's probe step)
    finally:
        settle_started()
    assert called == ["probe", "plan", "make_directories", "write_config", "write_scripts"]
    assert (target / "env" / "bin" / "activate").is_file()


def test_a_path_given_as_bytes_or_a_path_object_is_taken(tmp_path: Path) -> None:
    made = anyvenv.create(os.fsencode(tmp_path / "b"), python=Path(BASE))  # type: ignore[arg-type]
    assert made.path == str(tmp_path / "b")
    assert anyvenv.probe(os.fsencode(tmp_path)).path == str(tmp_path)  # type: ignore[arg-type]


def test_seed_index_args_given_as_an_iterator_are_all_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Looked at for their type, then kept: an iterator is not used up by the look."""
    from anyvenv.envbuild import create as create_module

    given: list[object] = []
    monkeypatch.setattr(
        create_module, "build_environment", lambda target, info, options, _: given.append(options)
    )
    arguments = iter(["--find-links", str(tmp_path), "--no-index"])
    anyvenv.create(tmp_path / "env", str(BASE), seed=True, seed_index_args=arguments)
    (options,) = given
    assert options.seed_index_args == ("--find-links", str(tmp_path), "--no-index")  # type: ignore[attr-defined]


def test_a_working_directory_that_is_gone_is_a_usage_error(tmp_path: Path) -> None:
    """A relative path, or the prompt ``"."``, read the working directory: gone, it is said
    as the CLI says it, not as a bare FileNotFoundError."""
    import subprocess
    import sys

    code = (
        "import os, anyvenv\n"
        f"os.mkdir({str(tmp_path / 'gone')!r}); os.chdir({str(tmp_path / 'gone')!r})\n"
        f"os.rmdir({str(tmp_path / 'gone')!r})\n"
        "for path, prompt in (('env', None), (" + repr(str(tmp_path / "abs")) + ", '.')):\n"
        "    try:\n"
        f"        anyvenv.create(path, {str(BASE)!r}, prompt=prompt)\n"
        "    except anyvenv.UsageError as exc:\n"
        "        print(exc.one_line())\n"
    )
    said = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (
        said.stdout.splitlines()
        == ["the current directory does not exist; chdir to a directory that does"] * 2
    ), said.stderr
    assert os.listdir(tmp_path) == []


def test_each_call_creates_files_under_the_umask_of_its_time(tmp_path: Path) -> None:
    """A host (tox, a server) that sets the umask per job: the second env is not made with
    the first one's (a pyvenv.cfg its group may not read runs their python as the base)."""
    import subprocess
    import sys

    code = (
        "import os, anyvenv\n"
        f"os.umask(0o077); anyvenv.create({str(tmp_path / 'u1')!r}, {str(BASE)!r})\n"
        f"os.umask(0o002); anyvenv.create({str(tmp_path / 'u2')!r}, {str(BASE)!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "u1" / "pyvenv.cfg").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "u2" / "pyvenv.cfg").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "u2" / "bin" / "activate").stat().st_mode & 0o777 == 0o664


def test_a_read_only_place_is_said_with_its_own_error(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a read-only bind mount")
    import subprocess

    (tmp_path / "ro").mkdir()
    subprocess.run(["mount", "--bind", str(tmp_path / "ro"), str(tmp_path / "ro")], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(tmp_path / "ro")], check=True)
        with pytest.raises(DirectoryNotWritable) as info:
            anyvenv.create(tmp_path / "ro" / "env", python=str(BASE))
        assert info.value.read_only
        assert info.value.message == (
            f"cannot create an environment in {tmp_path / 'ro'}: "
            f"it is on a read-only mount ({tmp_path / 'ro'})"
        )
        with pytest.raises(DirectoryNotWritable) as below:  # a directory to make first
            anyvenv.create(tmp_path / "ro" / "new" / "env", python=str(BASE))
        assert below.value.read_only
        assert below.value.reason == "it is on a read-only filesystem"
    finally:
        subprocess.run(["umount", str(tmp_path / "ro")], check=True)


def _at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """``work(i)`` in ``count`` threads released together: each one's result or error."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _create_ignoring_number(target: Path, number: int) -> anyvenv.EnvInfo:
    return anyvenv.create(target, python=str(BASE))


def test_envs_made_at_once_under_one_new_directory_all_succeed(tmp_path: Path) -> None:
    """tox -p: several envs under one .tox that none of them found."""
    for attempt in range(3):
        root = tmp_path / f"try{attempt}" / ".tox"
        results = _at_once(
            4, lambda i, root=root: anyvenv.create(root / f"py{i}", python=str(BASE))
        )
        assert all(isinstance(result, anyvenv.EnvInfo) for result in results), results
        assert sorted(os.listdir(root)) == [f"py{i}" for i in range(4)]


def test_one_env_made_at_once_in_a_new_directory_is_made_once(tmp_path: Path) -> None:
    """The env's lock is taken there too: one run makes it, the others find it made and,
    without clear, leave it alone."""
    for attempt in range(3):
        target = tmp_path / f"try{attempt}" / "new" / "env"
        results = _at_once(4, partial(_create_ignoring_number, target))
        made = [result for result in results if isinstance(result, anyvenv.EnvInfo)]
        refused = [result for result in results if isinstance(result, UsageError)]
        assert len(made) == 1 and len(refused) == 3, results
        assert all("already exists" in error.message for error in refused)
        assert not made[0].replaced


def _said_to_a_caller(error: anyvenv.AnyvenvError) -> str:
    """The error's line, checked to name no command-line option (a command it quotes,
    'anyvenv python install 3.5', is one to run, not an option of create())."""
    line = error.one_line()
    unquoted = re.sub(r"'anyvenv [^']*'", "", line)
    assert re.search(r"(?<![\w-])--[a-z]", unquoted) is None, line
    return line


def _python_2(where: Path) -> str:
    """An executable named python that refuses ``-I`` as Python 2 does."""
    where.mkdir()
    python = where / "python"
    python.write_text('#!/bin/sh\necho "Unknown option: -I" >&2\nexit 2\n')
    python.chmod(0o755)
    return str(python)


@pytest.mark.parametrize(
    ("python", "said"),
    [
        ("python-2", "is Python 2 or older than 3.4: anyvenv makes environments for CPython 3; "
         "pass a Python 3 (python='3.12', or its path)"),
        ("2.7", "Python 2.7 is not supported: anyvenv makes environments for CPython 3; "
         "ask for a Python 3 (python='3.12')"),
        (">=3.11,<3.5", "ask for a range some version is in (python='>=3.11')"),
        ("cpython-3.12-windows-x86_64-none", "ask for the version alone (python='3.12')"),
        ("pythonzz", "no 'pythonzz' on PATH; install it, or pass a version or a path "
         "(python='3.12')"),
        ("3.5", "install one with 'anyvenv python install 3.5' or pass python=PATH, or pass "
         "python_downloads=True to have one downloaded"),
    ],
    ids=["python-2", "2.7", "empty-range", "other-platform", "no-such-name", "not-installed"],
)  # fmt: skip
def test_a_python_not_found_is_said_with_creates_keywords(
    tmp_path: Path, python: str, said: str
) -> None:
    """Whichever layer refuses the request (the query of the interpreter, discovery, the
    download's choice), the hint names create()'s ``python=`` and ``python_downloads=``."""
    from anyvenv.errors import InterpreterNotFound

    if python == "python-2":
        python = _python_2(tmp_path / "old")
    with pytest.raises(InterpreterNotFound) as refused:
        anyvenv.create(tmp_path / "env", python=python, python_preference="only-managed")
    assert said in _said_to_a_caller(refused.value)
    assert not (tmp_path / "env").exists()


def test_what_is_in_the_way_is_said_with_creates_keywords(tmp_path: Path) -> None:
    anyvenv.create(tmp_path / "env", python=str(BASE))
    with pytest.raises(UsageError) as again:
        anyvenv.create(tmp_path / "env", python=str(BASE))
    assert _said_to_a_caller(again.value).endswith("; use clear=True to replace it")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file").write_text("mine")
    with pytest.raises(UsageError) as other:  # (clear=True would not replace it either)
        anyvenv.create(tmp_path / "other", python=str(BASE))
    assert "is not a virtual environment" in _said_to_a_caller(other.value)
    (tmp_path / "a-file").write_text("mine")
    with pytest.raises(UsageError) as a_file:
        anyvenv.create(tmp_path / "a-file", python=str(BASE))
    assert "exists and is not a directory" in _said_to_a_caller(a_file.value)
    with pytest.raises(UsageError) as unseedable:  # (pip refuses a path that is not UTF-8)
        anyvenv.create(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"), python=str(BASE), seed=True)
    assert _said_to_a_caller(unseedable.value).endswith(
        "; create the environment without seed=True"
    )


def test_a_strategy_that_cannot_work_is_said_with_creates_keywords(
    tmp_path: Path, lab: Lab
) -> None:
    share = lab.target("faultfs:cifs-like")
    with pytest.raises(UsageError) as forced:
        anyvenv.create(share / "env", python=str(BASE), strategy="symlink")
    assert "use the copy strategy (strategy='copy')" in _said_to_a_caller(forced.value)


def test_the_command_line_says_its_options_where_create_says_keywords(tmp_path: Path) -> None:
    """The same refusals through ``anyvenv venv``: its options, never create()'s keywords."""
    old = _python_2(tmp_path / "old")

    def venv(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("venv", *args, cwd=tmp_path)

    refused = venv("env", "--python", old)
    assert refused.returncode == 2
    assert one_line_error(refused).endswith("; pass a Python 3 (--python 3.12, or its path)")
    unknown = venv("env", "--python", "pythonzz")
    assert one_line_error(unknown).endswith(
        "; install it, or pass a version or a path (--python 3.12)"
    )
    assert venv("env", "--python", str(BASE)).returncode == 0
    assert one_line_error(venv("env", "--python", str(BASE))).endswith(
        "; use --clear to replace it"
    )
    unseedable = venv(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"), "--python", str(BASE), "--seed")
    assert one_line_error(unseedable).endswith("; create the environment without --seed")


# the options of the command line a hint below it could point to (OptionWords names them)
_FRONT_END_OPTION = re.compile(
    r"--(python|clear|strategy|seed|allow-python-downloads|install-dir|offline|reinstall)\b"
)


def test_no_layer_below_the_front_ends_says_their_options_itself() -> None:
    """What create() calls names an option only through the OptionWords its caller passed:
    no string there says ``--clear`` (an argument list handed to uv, a command quoted for
    the user to run, a docstring, are not hints)."""
    import ast

    src = Path(anyvenv.__file__).parent
    said = []
    for layer in ("fs", "interpreter", "pythons", "envbuild"):
        for path in sorted((src / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            passed_over: set[int] = set()
            for node in ast.walk(tree):
                body = getattr(node, "body", None)
                if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                    passed_over.add(id(body[0].value))  # (a docstring)
                if isinstance(node, (ast.List, ast.Tuple)):
                    passed_over.update(id(item) for item in node.elts)  # (arguments)
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                prose = re.sub(r"'[^']*'|`[^`]*`", "", node.value)  # (commands quoted)
                if id(node) not in passed_over and _FRONT_END_OPTION.search(prose):
                    said.append(f"{path.relative_to(src)}:{node.lineno}: {node.value!r}")
    assert said == []
