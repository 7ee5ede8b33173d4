"""`anyvenv venv` on every filesystem and fault mode of the lab."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anyvenv.envbuild.config import read_pyvenv_cfg
from lab import ALL_KINDS, Lab
from lab.expect import CAN_EXECUTE, EXPECT
from support import ANYVENV, BASE, DEBIAN_311, cli_env, entry_names, one_line_error, run_cli
from wheels import greeter_wheel

RUNNABLE_KINDS = [kind for kind in ALL_KINDS if CAN_EXECUTE.get(kind, True)]
# plain uv copies a file, then chmods it: where chmod fails it stops (anyvenv pip/sync go around)
CHMOD_KINDS = [kind for kind in RUNNABLE_KINDS if EXPECT[kind]["chmod"] == "ok"]


ENV_FACTS = (
    "import sys, json, subprocess, multiprocessing as mp\n"
    "def child(q):\n"
    "    import sys; q.put(sys.prefix)\n"
    "if __name__ == '__main__':\n"
    "    ctx = mp.get_context('spawn'); q = ctx.Queue(); p = ctx.Process(target=child, args=(q,)); p.start()\n"
    "    spawned = q.get(timeout=60); p.join()\n"
    "    sub = subprocess.run([sys.executable, '-c', 'import sys; print(sys.prefix)'], capture_output=True, text=True).stdout.strip()\n"
    "    print(json.dumps({'prefix': sys.prefix, 'base_prefix': sys.base_prefix, 'sub': sub, 'spawned': spawned}))\n"
)


def venv_cli(env: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("venv", str(env), "--python", str(BASE), *extra)


def python_facts(env: Path) -> dict[str, str]:
    script = env.parent / "facts.py"
    script.write_text(ENV_FACTS)
    proc = subprocess.run(
        [str(env / "bin" / "python"), str(script)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_env_runs_on_every_filesystem(lab: Lab, lab_kind: str, target: Path) -> None:
    mount = lab.mount(lab_kind)
    env = target / "env"
    proc = venv_cli(env, "--json")
    if not mount.can_execute:
        assert proc.returncode == 1
        assert "no file can be executed" in one_line_error(proc)
        assert entry_names(target) == [], "nothing is left behind"
        return
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    symlinks = (
        mount.expect.get("symlink_absolute") == "ok"
        and mount.expect.get("symlink_relative") == "ok"
    )
    assert report["strategy"] == ("symlink" if symlinks else report["strategy"])
    if not symlinks:
        assert report["strategy"] in ("hardlink", "copy")
        for name in ("python", "python3", "python3.11"):
            assert not (env / "bin" / name).is_symlink()
        assert not os.path.lexists(env / "lib64"), "no lib64 unless links work"
    else:
        assert os.readlink(env / "lib64") == "lib"
    config = read_pyvenv_cfg(env)
    assert config["home"] == str(BASE.parent)
    assert config["version_info"].startswith("3.11.")
    assert config["anyvenv-strategy"] == report["strategy"]
    facts = python_facts(env)
    assert facts["prefix"] == str(env)
    assert facts["base_prefix"] == os.path.dirname(str(BASE.parent))
    assert facts["sub"] == str(env), "subprocess with sys.executable stays in the env"
    assert facts["spawned"] == str(env), "multiprocessing spawn stays in the env"
    assert entry_names(target) == ["env", "facts.py"], "no staging leftovers"


@pytest.mark.parametrize("lab_kind", RUNNABLE_KINDS)
def test_pip_uv_and_venv_inside_the_env(lab_kind: str, target: Path, tmp_path: Path) -> None:
    env = target / "env"
    proc = venv_cli(env, "--seed")
    assert proc.returncode == 0, proc.stderr
    # what was installed is said, as uv venv --seed says (also where ensurepip seeds: FAT)
    assert "seeded: pip, setuptools" in proc.stderr, proc.stderr  # (a 3.11 base bundles both)
    site = next(env.glob("lib/python3.*/site-packages"))
    assert list(site.glob("setuptools-*.dist-info")) and list(site.glob("pip-*.dist-info"))
    wheel = greeter_wheel(tmp_path / "wheels")
    pip = subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    direct = subprocess.run([str(env / "bin" / "greet")], capture_output=True, text=True)
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.strip() == f"hello from {env}"
    on_path = subprocess.run(
        ["greet"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{env}/bin:/usr/bin:/bin"},
    )
    assert on_path.stdout.strip() == f"hello from {env}"
    inner = subprocess.run(
        [str(env / "bin" / "python"), "-m", "venv", "--without-pip", str(tmp_path / "inner")],
        capture_output=True,
        text=True,
    )
    assert inner.returncode == 0, inner.stderr


@pytest.mark.parametrize("lab_kind", CHMOD_KINDS)
def test_uv_pip_and_uv_sync_reuse_the_env(lab_kind: str, target: Path, tmp_path: Path) -> None:
    from uv import find_uv_bin

    uv = os.fspath(find_uv_bin())
    env = target / ".venv"
    assert venv_cli(env).returncode == 0
    wheel = greeter_wheel(tmp_path / "wheels")
    uv_env = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_LINK_MODE": "copy",
    }
    installed = subprocess.run(
        [uv, "pip", "install", "--python", str(env / "bin" / "python"), str(wheel)],
        capture_output=True,
        text=True,
        env=uv_env,
    )
    assert installed.returncode == 0, installed.stderr
    imported = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import greeter"], capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr
    (target / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.11"\ndependencies = ["greeter"]\n'
    )
    python_before = (env / "bin" / "python").stat()
    synced = subprocess.run(
        [
            uv,
            "sync",
            "--no-index",
            "--find-links",
            str(wheel.parent),
            "--python",
            str(BASE),
            "--no-install-project",
        ],
        capture_output=True,
        text=True,
        cwd=target,
        env=uv_env,
    )
    assert synced.returncode == 0, synced.stderr
    assert "Creating virtual environment" not in synced.stderr, "uv reused the env"
    assert (env / "bin" / "python").stat().st_ino == python_before.st_ino
    assert read_pyvenv_cfg(env)["anyvenv"]


def test_copied_interpreter_loads_the_base_libpython(lab: Lab, tmp_path: Path) -> None:
    """A copy of a shared-libpython build must load the base's own library, not the system's."""
    target = lab.target("faultfs:cifs-like")
    env = target / "env"
    assert venv_cli(env).returncode == 0
    maps = subprocess.run(
        [str(env / "bin" / "python"), "-c", "print(open('/proc/self/maps').read())"],
        capture_output=True,
        text=True,
    ).stdout
    loaded = {line.split()[-1] for line in maps.splitlines() if "libpython" in line}
    assert loaded == {os.path.realpath(BASE.parent.parent / "lib" / "libpython3.11.so.1.0")}


def test_debian_static_interpreter_is_copied(lab: Lab) -> None:
    if not DEBIAN_311.exists():
        pytest.skip("no Debian /usr/bin/python3.11 on this machine")
    env = lab.target("faultfs:symlink-eopnotsupp") / "env"
    proc = run_cli("venv", str(env), "--python", str(DEBIAN_311), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["libpython"] == "none"
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import sys, ssl; print(sys.prefix)"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == str(env), out.stderr


def test_prompt_dot_is_the_working_directorys_name(tmp_path: Path) -> None:
    """As ``python -m venv --prompt .`` and ``uv venv --prompt .``."""
    work = tmp_path / "my project"
    work.mkdir()
    proc = run_cli("venv", "--prompt", ".", "e", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert read_pyvenv_cfg(work / "e")["prompt"] == "my project"
    assert "VIRTUAL_ENV_PROMPT='my project'" in (work / "e" / "bin" / "activate").read_text()


def test_activation_and_prompt(tmp_path: Path) -> None:
    env = tmp_path / "my env"
    assert venv_cli(env, "--prompt", "demo").returncode == 0
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1/bin/activate" && echo "$VIRTUAL_ENV|$VIRTUAL_ENV_PROMPT" && command -v python',
            "_",
            str(env),
        ],
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{env}|demo"
    assert lines[1] == f"{env}/bin/python"
    assert read_pyvenv_cfg(env)["prompt"] == "demo"
    for name in (
        "activate",
        "activate.fish",
        "activate.csh",
        "activate.nu",
        "activate.ps1",
        "activate.xsh",
        "activate_this.py",
    ):
        assert (env / "bin" / name).is_file()


def test_system_site_packages_flag(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert venv_cli(env, "--system-site-packages").returncode == 0
    assert read_pyvenv_cfg(env)["include-system-site-packages"] == "true"


def test_existing_env_is_replaced_but_other_directories_are_refused(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert venv_cli(env).returncode == 0
    (env / "marker").write_text("old")
    without_clear = venv_cli(env)
    assert without_clear.returncode == 2
    assert "already exists" in one_line_error(without_clear) and "--clear" in without_clear.stderr
    assert (env / "marker").read_text() == "old"
    again = venv_cli(env, "--clear")
    assert again.returncode == 0, again.stderr
    assert not (env / "marker").exists()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    refused = venv_cli(precious, "--clear")
    assert refused.returncode == 2
    assert "not a virtual environment" in one_line_error(refused)
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env", "precious"]


def test_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("data")
    proc = venv_cli(path)
    assert proc.returncode == 2
    assert "is not a directory" in one_line_error(proc)
    assert path.read_text() == "data"


def test_a_link_that_names_no_directory_is_named_with_its_target(tmp_path: Path) -> None:
    """A dangling link, a loop, a link to a file: said so, with the target; nothing made at
    either end, the link left as it was."""
    (tmp_path / "file").write_text("data")
    for name, target, what in (
        ("dangling", str(tmp_path / "gone"), "missing (or a link loop)"),
        ("loop", "loop", "missing (or a link loop)"),
        ("to-file", "file", "a file"),
    ):
        link = tmp_path / name
        link.symlink_to(target)
        proc = venv_cli(link)
        assert proc.returncode == 2
        said = one_line_error(proc)
        assert f"{link} is a symbolic link to {target}, which is {what}" in said, said
        assert os.readlink(link) == target
    assert not (tmp_path / "gone").exists()
    assert sorted(os.listdir(tmp_path)) == ["dangling", "file", "loop", "to-file"]


def test_a_link_to_a_directory_is_built_through_and_activates_by_its_own_name(
    tmp_path: Path,
) -> None:
    """As uv: ``.venv`` linked to a directory elsewhere (local disk for a project on a share)
    is built in that directory, the link kept; activating says ``VIRTUAL_ENV=.../.venv`` and
    its prompt is ``.venv``'s, not the store's."""
    store = tmp_path / "store"
    store.mkdir()
    link = tmp_path / "project" / ".venv"
    link.parent.mkdir()
    link.symlink_to(store)
    proc = venv_cli(link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and (store / "pyvenv.cfg").is_file()
    shown = subprocess.run(
        ["bash", "-c", f'source "{link}/bin/activate" && printf "%s|%s" "$VIRTUAL_ENV" '
         '"$VIRTUAL_ENV_PROMPT"'],
        capture_output=True, text=True,
    )  # fmt: skip
    assert shown.stdout == f"{link}|.venv", shown.stderr


def test_an_empty_path_is_a_usage_error_not_the_default(tmp_path: Path) -> None:
    """As ``uv venv ''``: an empty path is a mistake, not a request for ``.venv``."""
    proc = run_cli("venv", "", cwd=tmp_path)
    assert proc.returncode == 2
    assert "the environment path is empty" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []


def test_a_name_too_long_for_the_filesystem_is_a_usage_error(tmp_path: Path) -> None:
    """Said with the limit, before anything is made (it failed late, naming a staging path)."""
    proc = run_cli("venv", str(tmp_path / ("b" * 256)), "--python", str(BASE))
    assert proc.returncode == 2, proc.stderr
    assert "is too long (256 bytes; the filesystem takes 255)" in one_line_error(proc)
    assert "staging" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def _deep_directory(top: Path, length: int) -> Path:
    """A directory (made) whose path is ``length`` bytes, below ``top``."""
    deep = top
    while len(os.fsencode(deep)) + 201 < length:
        deep /= "d" * 200
    deep /= "p" * (length - len(os.fsencode(deep)) - 1)
    deep.mkdir(parents=True)
    return deep


@pytest.mark.parametrize(("parent", "total"), [(3900, 4040), (4060, 4075)])
def test_a_path_too_long_for_the_files_of_an_env_is_said_so_with_the_limit(
    tmp_path: Path, parent: int, total: int
) -> None:
    """Paths of 4040 and 4075 bytes (uv makes an env up to about 4066): the files of the env
    built beside it, or of the probe of its directory, pass PATH_MAX. Said as the env's path
    too long, with its length and the limit (it named its hidden staging path and said to
    check free space and permissions); nothing is left."""
    deep = _deep_directory(tmp_path / "top", parent)
    env = deep / ("e" * (total - parent - 1))
    proc = venv_cli(env)
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: cannot create the environment at {env}: its path is too long "
        f"({total} bytes: the paths of the files in it pass the limit of 4096 bytes); pick a "
        "shorter path"
    )
    assert entry_names(deep) == []


def test_a_directory_above_the_env_past_the_limit_of_a_path_says_its_length(
    tmp_path: Path,
) -> None:
    """A directory to make above the env whose path passes PATH_MAX (its name fits): said as
    its path too long, with its length and the limit (it said the filesystem refuses its
    name, and to pick one of ASCII letters); nothing is left."""
    deep = _deep_directory(tmp_path / "top", 4000)
    above = deep / ("q" * 100)
    proc = venv_cli(above / "env")
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: cannot create {above}: its path is too long (4101 bytes; the limit "
        "there is 4096); pick a shorter path"
    )
    assert entry_names(deep) == []


def test_a_name_made_for_an_env_too_long_for_its_filesystem_is_said_as_its_name(
    tmp_path: Path,
) -> None:
    """Where the name refused as too long is one made for the env (eCryptfs takes 143 bytes: a
    staging name beside an env of 120), its name is said to be too long, not its path."""
    import errno

    from anyvenv.envbuild.builder import path_too_long

    env = str(tmp_path / ("e" * 120))
    staging = str(tmp_path / ("." + "e" * 120 + ".anyvenv-staging-" + "h" * 140))
    error = path_too_long(env, OSError(errno.ENAMETOOLONG, "File name too long", staging))
    assert error.one_line() == (
        f"cannot create the environment at {env}: its name is too long for that filesystem "
        "(120 bytes: the names of the files made for it pass the 255 bytes the filesystem "
        "takes); choose a shorter name"
    )


def test_missing_interpreter_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("venv", str(tmp_path / "env"), "--python", "3.99")
    assert proc.returncode == 2
    assert "no Python matching '3.99'" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == []
    proc = run_cli("venv", str(tmp_path / "env"), "--python", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert list(tmp_path.iterdir()) == []
    for not_python in ("/etc/passwd", "/bin/true"):  # as uv: exit 2, the request failed
        proc = run_cli("venv", str(tmp_path / "env"), "--python", not_python)
        assert proc.returncode == 2, proc.stderr
        assert not_python in one_line_error(proc)
        assert list(tmp_path.iterdir()) == []


def test_missing_parents_are_created_and_removed_on_failure(lab: Lab) -> None:
    """Also the directory holding the env's lock, on a FUSE mount that keeps a file closed
    just before for a moment (.fuse_hidden): a few tries, as that is a race."""
    target = lab.noexec_or_0644_target()
    for attempt in range(5):
        proc = venv_cli(target / f"a{attempt}" / "b" / "env")
        assert proc.returncode == 1
        assert entry_names(target) == [], [(r, ds, fs) for r, ds, fs in os.walk(target)]


WRITES_LOST = (
    "anyvenv: error: a file reopened for writing loses its writes on the filesystem at {} "
    "(reopen_write: no): uv's installs into an environment there would come out empty; "
    "create the environment on another filesystem, e.g. 'anyvenv venv ~/.venvs/NAME' "
    "(or mount it with rclone's --vfs-cache-mode writes)"
)


def test_rclone_without_its_cache_is_refused_for_what_it_does(lab: Lab) -> None:
    """rclone with --vfs-cache-mode off: a file written through a second open while the first
    (O_RDWR, from its O_EXCL creation, as uv's temp files) is held comes out empty once that
    one is closed, and an existing file opened for writing fails at its close (EPERM), which
    the probe met in its lock check and took for "you may not write to it" (exit 2). The probe
    measures it (reopen_write) and says so; an env there is refused as on a mount where
    nothing runs, exit 1, with the true reason."""
    target = lab.special_target("rclone-off")
    probed = run_cli("probe", str(target), "--json")
    assert probed.returncode == 0, probed.stderr
    measured = json.loads(probed.stdout)
    assert (measured["reopen_write"], measured["flock"], measured["exec"]) == ("no", "ok", "ok")
    assert measured["verdict"] == (
        "a file reopened for writing loses its writes here (reopen_write: no), so uv's installs "
        "would come out empty: an environment must live on another filesystem"
    )
    proc = venv_cli(target / "env")
    assert (proc.returncode, one_line_error(proc)) == (1, WRITES_LOST.format(target))
    assert entry_names(target) == []


def test_read_only_target(lab: Lab) -> None:
    target = lab.readonly_target()
    proc = venv_cli(target / "env")
    assert proc.returncode == 2, proc.stderr
    assert "read-only" in one_line_error(proc)


def test_no_space_left(lab: Lab) -> None:
    target = lab.small_target(size_kib=256)
    filler = target / "filler"
    # leave a few KiB: enough for the probe, not for a copy of the interpreter
    with open(filler, "wb") as handle, contextlib.suppress(OSError):
        handle.write(b"\0" * (250 * 1024))
    proc = run_cli(
        "venv",
        str(target / "env"),
        "--python",
        str(DEBIAN_311 if DEBIAN_311.exists() else BASE),
        "--strategy",
        "copy",
    )
    assert proc.returncode != 0
    line = one_line_error(proc)
    assert "No space left" in line or "no space" in line.lower()
    assert entry_names(target) == ["filler"], "nothing half-made"


def test_an_env_is_whole_where_renaming_a_directory_fails(lab: Lab) -> None:
    """A FUSE mount (not rclone) where renaming a directory fails (EIO): the probe's step
    that measures it fails, which counts as "no": the env is moved in file by file, made
    and replaced whole, and its python runs."""
    target = lab.target("faultfs:dir-rename-eio")
    env = target / "env"
    for extra in ([], ["--clear"]):
        proc = venv_cli(env, *extra)
        assert proc.returncode == 0, proc.stderr
        assert python_facts(env)["prefix"] == str(env)
        (env.parent / "facts.py").unlink()
        assert entry_names(target) == ["env"], "nothing left beside it"


def test_python_api(tmp_path: Path) -> None:
    import anyvenv

    info = anyvenv.create(tmp_path / "api-env", python=str(BASE), strategy="copy")
    assert info.path == str(tmp_path / "api-env")
    assert info.strategy.value == "copy"
    python = Path(info.python)
    assert python.is_file() and not python.is_symlink()
    assert info.to_json()["version"].startswith("3.11")


def test_env_passes_cli_env_unchanged() -> None:
    assert "PYTHONPATH" in cli_env()


def test_a_deferred_check_runs_after_the_commit_for_symlinked_envs_only(tmp_path: Path) -> None:
    """``defer_linked_check``: a symlinked env is committed with its check still running (and
    the check is real: a wrong expectation fails it); a copied one is checked before."""
    from anyvenv.envbuild.builder import EnvOptions, PendingCheck, build_with_pending_check
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.fs.place import Strategy
    from anyvenv.interpreter.query import query_interpreter
    from anyvenv.record import replace

    info = query_interpreter(str(BASE))
    linked, pending = build_with_pending_check(
        tmp_path / "linked", info, EnvOptions(defer_linked_check=True)
    )
    assert linked.strategy is Strategy.SYMLINK and pending is not None
    assert (tmp_path / "linked" / "pyvenv.cfg").is_file(), "committed before the check ends"
    pending.finish()
    wrong = PendingCheck(linked.path, replace(info, version=(3, 0, 0)), None)
    with pytest.raises(EnvironmentBroken, match="version"):
        wrong.finish()
    copied, none = build_with_pending_check(
        tmp_path / "copied", info, EnvOptions(strategy=Strategy.COPY, defer_linked_check=True)
    )
    assert copied.strategy is Strategy.COPY and none is None


def test_an_env_whose_python_is_not_as_built_is_never_committed(tmp_path: Path) -> None:
    """The check before the commit is the guard: a step that leaves the wrong python in the
    staged env (here a subclass's, linking another minor's Python) fails the build, and the
    env that was there stays whole, with nothing left beside it."""
    import glob

    from anyvenv.envbuild.builder import EnvBuilder, EnvOptions, build_environment
    from anyvenv.envbuild.layout import EnvLayout
    from anyvenv.envbuild.plan import InterpreterPlan
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.fs.place import Strategy
    from anyvenv.interpreter.query import query_interpreter

    info = query_interpreter(str(BASE))
    other = next(
        path
        for path in sorted(glob.glob("/root/.pyenv/versions/3.*/bin/python3.*[0-9]"))
        if not os.path.basename(path).startswith(f"python{info.version[0]}.{info.version[1]}")
        and query_interpreter(path).version >= (3, 8)
    )

    class LinksAnotherPython(EnvBuilder):
        def place_interpreter(self, layout: EnvLayout, plan: InterpreterPlan) -> str | None:
            expected = super().place_interpreter(layout, plan)
            os.unlink(layout.python)
            os.symlink(other, layout.python)
            return expected

    target = tmp_path / "env"
    build_environment(target, info, EnvOptions(strategy=Strategy.COPY))
    before = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    with pytest.raises(EnvironmentBroken, match="the new python"):
        build_environment(
            target, info, EnvOptions(strategy=Strategy.COPY), builder_class=LinksAnotherPython
        )
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == before
    assert entry_names(tmp_path) == ["env"]
    ran = subprocess.run(
        [target / "bin" / "python", "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
    )
    assert ran.stdout.strip() == str(target), ran.stderr


def test_a_link_a_step_makes_where_links_are_refused_names_the_link_and_the_fix(
    lab: Lab,
) -> None:
    """A subclass's step makes a symlink on a mount that refuses them (the probe's plan
    copies, so nothing of anyvenv's own links): the error names the link's path, not the text
    it was to hold (``os.symlink("lib", path)`` names "lib" first), and says to copy, not to
    check free space."""
    import anyvenv
    from anyvenv.envbuild.builder import EnvBuilder
    from anyvenv.envbuild.layout import EnvLayout

    class LinksLib64(EnvBuilder):
        def write_scripts(self, layout: EnvLayout) -> None:
            super().write_scripts(layout)
            os.symlink("lib", os.path.join(layout.root, "lib64"))

    target = lab.target("faultfs:cifs-like") / "env"
    with pytest.raises(anyvenv.AnyvenvError) as raised:
        anyvenv.create(target, python=str(BASE), builder=LinksLib64)
    said = raised.value
    assert said.message.endswith("/lib64)") and "Operation not supported" in said.message
    assert "(lib)" not in said.message
    assert said.hint == "the filesystem refused a link: pass strategy='copy'", said.hint
    assert not target.exists() and entry_names(target.parent) == []


ACTIVATING_SHELLS = {  # $SHELL -> how to run a line in it and print VIRTUAL_ENV
    "/bin/bash": ["bash", "-c", '{line}; printf %s "$VIRTUAL_ENV"'],
    "/usr/bin/zsh": ["zsh", "-c", '{line}; printf %s "$VIRTUAL_ENV"'],
    "/usr/bin/fish": ["fish", "-c", '{line}; printf %s "$VIRTUAL_ENV"'],
    "/bin/tcsh": ["tcsh", "-c", '{line}; printf %s "$VIRTUAL_ENV"'],
    "/usr/bin/xonsh": [  # a test dependency, beside the running Python
        os.path.join(os.path.dirname(sys.executable), "xonsh"),
        "--no-rc",
        "-c",
        "{line}\nprint($VIRTUAL_ENV, end='')",
    ],
}


def test_the_activation_line_printed_works_in_the_users_shell(tmp_path: Path) -> None:
    """As uv: the line names the script for ``$SHELL`` and quotes the path for that shell, so
    pasting it works for a path with spaces, quotes and a ``!`` (history in csh, even
    between quotes)."""
    from anyvenv.cli.venv import activate_command

    env_dir = tmp_path / "it's a dir!" / "e 1"
    proc = run_cli("venv", str(env_dir), env=cli_env(SHELL="/bin/bash"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # as uv venv: what it did goes to stderr, stdout is --json's
    line = next(x for x in proc.stderr.splitlines() if x.startswith("Activate with: "))
    assert line.removeprefix("Activate with: ") == activate_command(str(env_dir), "/bin/bash")
    assert activate_command(str(env_dir), "/usr/bin/fish").endswith("activate.fish'")
    assert activate_command(str(env_dir), "/bin/tcsh").endswith("activate.csh'")
    assert activate_command(str(env_dir), "/usr/bin/nu").startswith("overlay use ")
    assert activate_command("/plain/e", None) == "source /plain/e/bin/activate"
    ran = set()
    for shell, argv in ACTIVATING_SHELLS.items():
        if shutil.which(argv[0]) is None:
            continue
        line = activate_command(str(env_dir), shell)
        command = [*argv[:-1], argv[-1].format(line=line)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert (done.returncode, done.stdout) == (0, str(env_dir)), (shell, line, done.stderr)
        ran.add(shell)
    assert {"/bin/bash", "/usr/bin/xonsh"} <= ran  # bash and xonsh (a test dependency) at least


def test_the_csh_activation_line_works_typed_at_a_prompt(tmp_path: Path) -> None:
    """At an interactive csh prompt a ``!`` is history even between quotes ("Event not
    found"): the line printed for ``SHELL=/bin/tcsh`` escapes it, and activates when typed."""
    from anyvenv.cli.venv import activate_command

    env_dir = tmp_path / "bang!x" / "env"
    assert run_cli("venv", "-q", str(env_dir)).returncode == 0
    line = activate_command(str(env_dir), "/bin/tcsh")
    typed = f"{line}\nprintf '<%s>' \"$VIRTUAL_ENV\"\nexit\n"
    done = subprocess.run(
        ["script", "-qec", "tcsh -f -i", "/dev/null"],
        input=typed, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert f"<{env_dir}>" in done.stdout, (line, done.stdout, done.stderr)


def _venv_on_a_terminal(env_dir: Path, answer: bytes, *extra: str) -> tuple[int, str]:
    """``anyvenv venv ENV`` with stdin and stderr on a pseudo-terminal, typing ``answer``."""
    import pty

    from support import ANYVENV

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [*ANYVENV, "venv", "-q", str(env_dir), *extra],
            stdin=terminal, stdout=subprocess.DEVNULL, stderr=terminal, env=cli_env(),
        )  # fmt: skip
        os.close(terminal)
        seen = b""
        if answer:
            while b"Replace it?" not in seen:
                chunk = os.read(controller, 1024)
                assert chunk, seen
                seen += chunk
            os.write(controller, answer)
        code = proc.wait(timeout=60)
        with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
            while chunk := os.read(controller, 1024):
                seen += chunk
        return code, seen.decode(errors="replace")
    finally:
        os.close(controller)


def test_on_a_terminal_an_existing_env_is_replaced_only_when_the_user_says_yes(
    tmp_path: Path,
) -> None:
    """As uv venv: on a terminal, anyvenv asks before replacing an env (Enter: yes);
    ``--no-clear`` fails without asking; a directory that is no env is never offered."""
    env_dir = tmp_path / "env"
    assert venv_cli(env_dir).returncode == 0
    (env_dir / "mark").write_text("old")

    code, shown = _venv_on_a_terminal(env_dir, b"n\n")
    assert code == 2 and "use --clear" in shown and (env_dir / "mark").exists(), shown
    code, shown = _venv_on_a_terminal(env_dir, b"", "--no-clear")
    assert code == 2 and "Replace it?" not in shown and (env_dir / "mark").exists(), shown
    code, shown = _venv_on_a_terminal(env_dir, b"\n")
    assert code == 0, shown
    assert not (env_dir / "mark").exists() and (env_dir / "pyvenv.cfg").is_file()

    both = run_cli("venv", "--clear", "--no-clear", str(env_dir))  # as uv: the last wins
    assert both.returncode == 2 and "use --clear" in one_line_error(both)
    (env_dir / "mark").write_text("old")
    last = run_cli("venv", "--no-clear", "--clear", str(env_dir))
    assert last.returncode == 0 and not (env_dir / "mark").exists(), last.stderr
    piped = run_cli("venv", str(env_dir))  # no terminal: no question, as uv
    assert piped.returncode == 2 and "use --clear" in one_line_error(piped)
    other = tmp_path / "data"
    other.mkdir()
    (other / "mine").write_text("keep")
    code, shown = _venv_on_a_terminal(other, b"")
    assert code == 2 and "not a virtual environment" in shown and (other / "mine").exists()


def test_a_tree_of_empty_directories_is_filled_and_a_file_in_it_is_kept(
    tmp_path: Path,
) -> None:
    """What ``python -m venv`` leaves when it fails at its lib64 symlink (CIFS, exFAT): only
    empty directories. Nothing of the user's is there, so the env is made there; one file
    anywhere below makes it the user's again."""
    left = tmp_path / "left"
    for sub in ("bin", "include/python3.11", "lib/python3.11/site-packages"):
        (left / sub).mkdir(parents=True)
    made = venv_cli(left)
    assert made.returncode == 0, made.stderr
    assert (left / "pyvenv.cfg").is_file() and not (left / "include").exists()

    kept = tmp_path / "kept"
    (kept / "lib" / "deep").mkdir(parents=True)
    (kept / "lib" / "deep" / "notes.txt").write_text("mine")
    refused = venv_cli(kept)
    assert refused.returncode == 2 and "not a virtual environment" in one_line_error(refused)
    assert (kept / "lib" / "deep" / "notes.txt").read_text() == "mine"


def test_venv_waits_for_a_sync_of_the_same_env(tmp_path: Path) -> None:
    """``venv --clear`` takes the env's lock, as sync does: swapping a new env in while a
    sync held it left that sync recording an empty env as up to date."""
    import time

    from anyvenv.fs.lock import env_lock
    from support import ANYVENV

    env = tmp_path / ".venv"
    assert venv_cli(env).returncode == 0
    (env / "mark").write_text("synced")
    lock = env_lock(env)
    lock.acquire()
    try:
        proc = subprocess.Popen(
            [*ANYVENV, "venv", "-q", "--clear", str(env), "--python", str(BASE)],
            env=cli_env(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
        assert proc.poll() is None and (env / "mark").exists(), "it waited for the lock"
    finally:
        lock.release()
    assert proc.wait(timeout=60) == 0
    assert not (env / "mark").exists() and (env / "pyvenv.cfg").is_file()
    assert sorted(os.listdir(tmp_path)) == [".venv"]  # no lock file left either


def test_an_old_env_not_wholly_removable_is_said_and_does_not_stop_the_next_run(
    nobody_scratch: Path,
) -> None:
    """Replacing an env holding another owner's files (``sudo pip install``): the new env is
    made, the remains of the old one are named, and later runs there still work (they tried
    to clear the remains and stopped with a traceback); once removable, they are cleared."""
    from support import run_cli_as_nobody

    work = nobody_scratch
    os.chown(work, 65534, 65534)
    env = work / "env"
    args = ("venv", str(env), "--python", str(DEBIAN_311), "--clear", "--json")
    assert run_cli_as_nobody(*args).returncode == 0
    [site] = env.glob("lib/python3.*/site-packages")
    (site / "rootpkg").mkdir()  # root's: nobody cannot remove what is in it
    (site / "rootpkg" / "__init__.py").write_text("")
    replaced = run_cli_as_nobody(*args)
    assert replaced.returncode == 0, replaced.stderr
    said = json.loads(replaced.stdout)["old_env_remains"]
    assert "Permission denied" in said and "remove it yourself" in said, said
    [remains] = [path for path in work.iterdir() if path.name.startswith(".env.")]
    assert str(remains) in said and str(remains) in replaced.stderr
    assert (remains / site.relative_to(env) / "rootpkg" / "__init__.py").exists()
    again = run_cli_as_nobody(*args)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["old_env_remains"] is None
    assert remains.exists()  # (tried, and left)
    shutil.chown(remains / site.relative_to(env) / "rootpkg", 65534, 65534)
    assert run_cli_as_nobody(*args).returncode == 0
    assert sorted(path.name for path in work.iterdir()) == ["env"]


def test_seed_takes_the_wheels_a_distributions_python_keeps_for_ensurepip(
    tmp_path: Path,
) -> None:
    """Debian's python has no bundled wheels in its stdlib, but ensurepip's in WHEEL_PKG_DIR
    (/usr/share/python-wheels): --seed installs pip and setuptools from there, offline."""
    wheels = Path("/usr/share/python-wheels")
    if not DEBIAN_311.exists() or not list(wheels.glob("pip-*.whl")):
        pytest.skip("needs Debian's python3.11 with python3-venv (CI installs it)")
    offline = cli_env(UV_OFFLINE="1", UV_NO_INDEX="1", UV_CACHE_DIR=str(tmp_path / "cache"))
    proc = run_cli("venv", str(tmp_path / "env"), "-p", str(DEBIAN_311), "--seed", "--json",
                   env=offline)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["seeded"] == ["pip", "setuptools"]
    shown = subprocess.run(
        [tmp_path / "env" / "bin" / "python", "-c", "import pip; print(pip.__file__)"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert shown.stdout.startswith(str(tmp_path / "env")), shown.stderr


def test_a_pointer_file_at_the_path_is_said_as_what_it_is(tmp_path: Path) -> None:
    """``.venv`` a pointer file (sync's, where nothing can run in the project): venv says it
    names an env and how to update that, not "exists and is not a directory"."""
    elsewhere = tmp_path / "elsewhere"
    assert venv_cli(elsewhere).returncode == 0
    (tmp_path / ".venv").write_text(f"{elsewhere}\n")
    for clear in ([], ["--clear"]):
        proc = venv_cli(tmp_path / ".venv", *clear)
        assert proc.returncode == 2
        assert one_line_error(proc) == (
            f"anyvenv: error: {tmp_path / '.venv'} is a pointer file (as 'anyvenv sync' writes "
            f"where nothing can run): the environment it names is {elsewhere}; run 'anyvenv "
            "sync' to make or update the project's, or pass another path"
        )
    assert (tmp_path / ".venv").read_text() == f"{elsewhere}\n"


NAME_HINT = (
    "pick a name of ASCII letters, digits, '-', '_' and '.' (FAT and SMB shares take no "
    ':"*?<>|\\ and some FUSE filesystems no other letters)'
)


@pytest.mark.parametrize(
    ("lab_kind", "path"),
    [("fat", "a:b"), ("fat", 'q"x'), ("fat", "ünï"), ("fat", "a:b/env"), ("exfat", "a:b"),
     ("exfat", "a?b/env"), ("smb", "a:b"), ("smb", "q?x"), ("smb", "trail."), ("smb", "x*y/env")],
)  # fmt: skip
def test_a_name_the_filesystem_refuses_is_said_so(lab_kind: str, target: Path, path: str) -> None:
    """FAT takes no ``:"*?<>|`` in a name (fusefat no letter beyond ASCII either; EPERM from
    fusefat, ENOENT from exfat-fuse), for the env or a directory made above it: said as the
    name refused, not as a full disk or permissions; nothing is left. smbnetfs takes such
    names wrongly (``q?x`` made as ``q``, EIO for ``a:b`` and then for every call for some
    seconds, ``trail.`` stored under another name): refused before it is asked, and the
    share goes on answering."""
    proc = venv_cli(target / path)
    assert proc.returncode == 2, proc.stderr
    name = path.split("/")[0]
    errno_name = {"fat": "EPERM", "exfat": "ENOENT", "smb": "EINVAL"}[lab_kind]
    assert one_line_error(proc) == (
        f"anyvenv: error: the filesystem at {target} refuses the name '{name}' ({errno_name}); "
        f"{NAME_HINT}"
    )
    assert entry_names(target) == []
    if lab_kind == "smb":
        made = venv_cli(target / "plain")
        assert made.returncode == 0, made.stderr


@pytest.mark.parametrize("lab_kind", ["fat"])
@pytest.mark.parametrize("path", ["bs\\x", "bs\\x/env"])
def test_a_refused_name_is_said_as_it_is_not_as_a_python_repr(target: Path, path: str) -> None:
    """``bs\\x``, for the env or a directory above it: its backslash is not doubled."""
    proc = venv_cli(target / path)
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: the filesystem at {target} refuses the name 'bs\\x' (EPERM); {NAME_HINT}"
    )
    assert entry_names(target) == []


@pytest.mark.parametrize(
    ("lab_kind", "errno_name"),
    [("local", "ENAMETOOLONG"), ("fat", "EPERM"), ("exfat", "ENAMETOOLONG")],
)
def test_a_directory_name_too_long_for_the_filesystem_says_its_length_and_the_limit(
    target: Path, errno_name: str
) -> None:
    """A 256-byte name of ASCII letters above the env (fusefat refuses it with EPERM): said
    too long, with its length and the limit, and to choose a shorter name, as the env's own
    name is (not to pick a name of ASCII letters); nothing is left."""
    proc = venv_cli(target / ("n" * 256) / "env")
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: the name {'n' * 24}... in {target} is too long (256 bytes; the "
        f"filesystem takes 255; {errno_name}); choose a shorter name"
    )
    assert entry_names(target) == []


@pytest.mark.parametrize(("lab_kind", "errno_name"), [("fat", "EPERM"), ("exfat", "ENOENT")])
def test_a_refused_name_below_a_directory_made_for_the_env_is_said_so(
    target: Path, errno_name: str
) -> None:
    """``new/deep:er/env``: the refusal of ``deep:er`` is judged while ``new``, made for it,
    is still there (judged after its removal, it was said as a directory that may not be
    written, or as a missing one on exFAT); nothing is left."""
    proc = venv_cli(target / "new" / "deep:er" / "env")
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: the filesystem at {target / 'new'} refuses the name 'deep:er' "
        f"({errno_name}); {NAME_HINT}"
    )
    assert entry_names(target) == []


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_seed_where_ensurepip_is_missing_names_the_package_that_brings_it(
    target: Path, tmp_path: Path
) -> None:
    """On FAT pip is seeded by the base's ensurepip; a base without it (Debian's python
    without python3-venv) is told which package brings it, as ``python -m venv`` tells, and
    nothing is left."""
    from repair_support import disposable_base

    base = disposable_base(tmp_path / "base", "3.11")
    shutil.rmtree(base.parent.parent / "lib" / "python3.11" / "ensurepip")
    proc = run_cli("venv", str(target / "env"), "-p", str(base), "--seed")
    assert proc.returncode == 1
    said = one_line_error(proc)
    assert said.startswith(
        "anyvenv: error: seeding pip with ensurepip failed: the env's python: No module named "
        "ensurepip"
    ), said  # (not the staging directory's path, gone by now)
    assert said.endswith(
        "this Python has no ensurepip: install it (Debian, Ubuntu: apt install "
        "python3.11-venv), or retry without --seed"
    ), said
    assert not os.path.lexists(target / "env")


@pytest.mark.parametrize(
    ("umask", "directory", "data", "executable"),
    [(0o002, 0o775, 0o664, 0o775), (0o022, 0o755, 0o644, 0o755), (0o077, 0o700, 0o600, 0o700)],
)
def test_modes_follow_the_umask_as_uv_and_venv_do(
    tmp_path: Path, umask: int, directory: int, data: int, executable: int
) -> None:
    """``umask 002`` in a shared group directory: the group may write in the env as in uv's;
    ``umask 077``: nothing for others. The owner's bits are whole either way."""
    env = tmp_path / "env"
    proc = subprocess.run(
        [*ANYVENV, "venv", str(env), "--python", str(BASE), "--strategy", "copy", "-q"],
        capture_output=True, text=True, env=cli_env(), preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    modes = {
        path: stat.S_IMODE(os.stat(env / path).st_mode)
        for path in (".", "bin", "bin/activate", "pyvenv.cfg", "bin/python")
    }
    assert modes == {
        ".": directory, "bin": directory, "bin/activate": data, "pyvenv.cfg": data,
        "bin/python": executable,
    }  # fmt: skip


def test_seed_from_an_index_takes_uvs_index_options(tmp_path: Path) -> None:
    """A base that bundles no pip wheel: --seed takes pip from an index, the one uv venv's
    index options name (--no-index --find-links DIR here, offline), not uv's default."""
    from repair_support import disposable_base

    base = disposable_base(tmp_path / "base", "3.11")
    bundled = base.parent.parent / "lib" / "python3.11" / "ensurepip" / "_bundled"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for wheel in bundled.glob("pip-*.whl"):
        shutil.copy(wheel, wheels)
        wheel.unlink()  # (a hard link of the real base's: only this copy loses it)
    assert list(wheels.glob("pip-*.whl")), "the base's bundled pip"
    offline = cli_env(UV_CACHE_DIR=str(tmp_path / "cache"))
    seeded = run_cli("venv", str(tmp_path / "e"), "-p", str(base), "--seed", "--no-index",
                     "--find-links", str(wheels), "--json", env=offline)  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout)["seeded"] == ["pip"]
    assert list((tmp_path / "e").glob("lib/python3.11/site-packages/pip-*.dist-info"))
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run_cli("venv", str(tmp_path / "f"), "-p", str(base), "--seed", "--no-index",
                      "--find-links", str(empty), env=offline)  # fmt: skip
    assert nothing.returncode != 0 and "seeding pip failed" in nothing.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces", "sshfs-noreadlink"])
def test_a_link_that_cannot_be_read_back_is_said_so(target: Path) -> None:
    """Where links are made but cannot be read back, the error says that, not that the link
    names a missing `?`."""
    link = target / "env"
    link.symlink_to(target / "elsewhere")
    proc = venv_cli(link)
    assert proc.returncode == 2
    said = one_line_error(proc)
    assert f"{link} is a symbolic link that cannot be read back (E" in said, said
    assert os.path.islink(link)


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_what_uv_venv_left_when_it_failed_is_replaced(target: Path) -> None:
    """uv venv fails on the mount (its symlink) and leaves a directory with its tag: anyvenv
    venv there makes the env, as sync does (it refused, 'empty it yourself')."""
    from uv import find_uv_bin

    env = target / "env"
    failed = subprocess.run(
        [os.fspath(find_uv_bin()), "venv", "-q", "-p", str(BASE), str(env)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert failed.returncode != 0 and (env / "CACHEDIR.TAG").is_file(), failed.stderr
    made = venv_cli(env)
    assert made.returncode == 0, made.stderr
    assert (env / "pyvenv.cfg").is_file()


def test_a_parent_this_user_cannot_write_is_named_as_the_refusal(nobody_scratch: Path) -> None:
    """``venv NEWDIR/env`` where NEWDIR cannot be made: the error names the directory that
    refuses (the one above NEWDIR) and its owner, not NEWDIR as if it refused."""
    from support import one_line_error, run_cli_as_nobody

    proc = run_cli_as_nobody("venv", str(nobody_scratch / "newdir" / "env"))
    assert proc.returncode == 2, proc.stderr
    said = one_line_error(proc)
    assert (
        f"cannot create {nobody_scratch / 'newdir'} in {nobody_scratch}: "
        "you may not write to it (EACCES)"
    ) in said, said
    assert os.listdir(nobody_scratch) == []


def test_a_python_past_a_directory_this_user_cannot_enter_is_not_called_missing(
    nobody_scratch: Path,
) -> None:
    """``venv -p`` and ``doctor --python`` of a Python under a directory closed to this user
    (root's pyenv, /root at 0700): said so, as uv says Permission denied (they said "no
    interpreter at"), exit 2, nothing made."""
    from support import one_line_error, run_cli_as_nobody

    private = nobody_scratch / "private"
    (private / "bin").mkdir(parents=True)
    python = private / "bin" / "python3.11"
    shutil.copy2(os.path.realpath("/usr/bin/python3"), python)
    os.chmod(private, 0o700)
    env = nobody_scratch / "env"
    said = (
        f"anyvenv: error: {python} cannot be reached: you may not enter {private} (owned by "
        "root, mode 0700; EACCES); pass a Python you may run"
    )
    for args in (
        ["venv", str(env), "-p", str(python)],
        ["doctor", "/tmp", "--python", str(python)],
    ):
        proc = run_cli_as_nobody(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert one_line_error(proc) == said, args
    assert sorted(os.listdir(nobody_scratch)) == ["private"]
    gone = run_cli_as_nobody("venv", str(env), "-p", str(nobody_scratch / "gone" / "python"))
    assert one_line_error(gone).startswith("anyvenv: error: no interpreter at ")


def test_a_pyproject_this_user_cannot_read_stops_venv_as_it_stops_uv(
    nobody_scratch: Path,
) -> None:
    """uv venv stops at a pyproject.toml it cannot read (it goes on past invalid TOML): so
    does venv, saying which file and both ways out; python find says it too."""
    from support import one_line_error, run_cli_as_nobody

    project = nobody_scratch / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    os.chmod(project / "pyproject.toml", 0o600)  # root's, unreadable to uid 65534
    os.chown(project, 65534, 65534)
    args = ("--directory", str(project), "--python", "/usr/bin/python3")
    proc = run_cli_as_nobody("venv", *args, str(project / "env"))
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc) == (
        f"anyvenv: error: cannot read {project / 'pyproject.toml'}: Permission denied; "
        "check its permissions, or pass --no-project"
    )
    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    found = run_cli_as_nobody("python", "find", "--directory", str(project))
    assert found.returncode == 2
    assert f"cannot read {project / 'pyproject.toml'}" in one_line_error(found)
    alone = run_cli_as_nobody("venv", *args, "--no-project", str(project / "env"))
    assert alone.returncode == 0, alone.stderr


def test_an_install_dir_this_user_cannot_write_names_the_options_to_pick_another(
    nobody_scratch: Path,
) -> None:
    from standalone_build import write_downloads_json

    from support import one_line_error, run_python_as_nobody

    home = nobody_scratch / "home"  # an existing home this user may not write
    home.mkdir()
    name = "cpython-3.12.1-linux-x86_64-gnu"
    downloads = nobody_scratch / "downloads.json"
    write_downloads_json(downloads, {name: ((3, 12, 1), "file:///nowhere.tar.gz", "0" * 64)})
    os.chmod(downloads, 0o644)
    code = (
        "import os, runpy, sys; os.environ['HOME'] = sys.argv[1]; "
        "os.environ['ANYVENV_PYTHON_DOWNLOADS_JSON'] = sys.argv[2]; "
        "sys.argv = ['anyvenv', 'python', 'install', '3.12']; "
        "runpy.run_module('anyvenv', run_name='__main__')"
    )
    proc = run_python_as_nobody("-c", code, str(home), str(downloads))
    assert proc.returncode == 2, proc.stderr
    said = one_line_error(proc)
    assert f"cannot install into {home}/.local/share/anyvenv/python: {home} is not writable" in (
        said
    ), said
    assert "(owned by root, mode 0755)" in said
    assert "--install-dir or ANYVENV_PYTHON_INSTALL_DIR" in said


@pytest.mark.parametrize(
    ("lab_kind", "strategy", "why"),
    [
        ("faultfs:link-exdev", "hardlink", "hard links fail (EXDEV)"),
        ("faultfs:cifs-like", "hardlink", "the base is on another filesystem"),
        ("faultfs:cifs-like", "symlink", "symlinks fail (EOPNOTSUPP)"),
        ("faultfs:readlink-eacces", "symlink", "cannot be read back"),
    ],
)
def test_a_forced_strategy_the_filesystem_cannot_do_is_refused_with_the_probes_reason(
    target: Path, strategy: str, why: str
) -> None:
    """Not 'check free space and permissions' after a half-built env (nor an env whose links
    cannot be read): the probe's reason, before anything is made, and the fix."""
    proc = run_cli("venv", str(target / "env"), "--python", str(BASE), "--strategy", strategy)
    assert proc.returncode == 2, proc.stderr
    said = one_line_error(proc)
    assert f"the {strategy} strategy was asked for, but here" in said and why in said, said
    assert "(--strategy copy)" in said
    assert os.listdir(target) == []


def test_a_forced_hard_link_to_another_users_base_is_refused_naming_copy(
    nobody_scratch: Path,
) -> None:
    """``--strategy hardlink`` by a user who may not hard-link root's interpreter (protected
    hard links): one line naming the base and ``--strategy copy``, not a bare EPERM."""
    from support import one_line_error, run_cli_as_nobody

    if Path("/proc/sys/fs/protected_hardlinks").read_text().strip() != "1":
        pytest.skip("hard links to other users' files are allowed on this kernel")
    work = nobody_scratch / "work"
    work.mkdir()
    os.chown(work, 65534, 65534)
    env = work / "env"
    proc = run_cli_as_nobody(
        "venv", str(env), "--python", str(DEBIAN_311), "--strategy", "hardlink"
    )
    assert proc.returncode == 2, proc.stderr
    said = one_line_error(proc)
    assert "the hardlink strategy was asked for, but you may not hard-link" in said, said
    assert "(root's)" in said and "(--strategy copy)" in said
    assert os.listdir(work) == []


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_a_mount_point_env_is_planned_by_its_own_filesystem(target: Path, tmp_path: Path) -> None:
    """``/app/.venv`` a mount point (a container volume) of a filesystem without symlinks,
    on a parent that shares the base's filesystem: no hard link across the two (EXDEV); the
    interpreter is copied onto the mount."""
    env = tmp_path / "app" / ".venv"
    env.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(target), str(env)], check=True)
    try:
        proc = venv_cli(env, "--python", str(DEBIAN_311), "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["strategy"] == "copy"
        ran = subprocess.run([str(env / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
                             capture_output=True, text=True)  # fmt: skip
        assert ran.stdout.strip() == str(env), ran.stderr
    finally:
        subprocess.run(["umount", str(env)], check=True)


@pytest.mark.parametrize(("directory_mode", "env_mode"), [(0o1777, 0o777), (0o777, 0o755)])
def test_another_users_env_is_not_replaced_and_hidden(
    nobody_scratch: Path, directory_mode: int, env_mode: int
) -> None:
    """Another user's env: renamed aside, what this user may not remove of it would stay
    hidden where neither could remove it (in a sticky directory, even the rename fails).
    Refused before anything moves, as uv refuses it, whatever modes it has."""
    from support import one_line_error, run_cli_as_nobody

    shared = nobody_scratch / "shared"
    shared.mkdir()
    os.chmod(shared, directory_mode)
    env = shared / "env"
    made = run_cli("venv", str(env), "--python", str(DEBIAN_311), "-q")
    assert made.returncode == 0, made.stderr
    os.chmod(env, env_mode)
    proc = run_cli_as_nobody("venv", str(env), "--python", str(DEBIAN_311), "--clear")
    assert proc.returncode == 2, proc.stderr
    said = one_line_error(proc)
    assert f"cannot replace the environment at {env}: it is root's; work as its owner" in said
    assert (env / "pyvenv.cfg").is_file() and os.listdir(shared) == ["env"]


def test_an_env_of_another_owner_that_may_all_be_removed_is_replaced(
    nobody_scratch: Path,
) -> None:
    """An env showing another owner that this user may change through and through (a group's;
    sshfs shows the server's uid): replaced as an own env is, nothing left aside."""
    from support import run_cli_as_nobody

    shared = nobody_scratch / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    env = shared / "env"
    made = run_cli("venv", str(env), "--python", str(DEBIAN_311), "-q", "--strategy", "copy")
    assert made.returncode == 0, made.stderr
    for path in [env, *env.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o777)
    proc = run_cli_as_nobody("venv", str(env), "--python", str(DEBIAN_311), "--clear")
    assert proc.returncode == 0, proc.stderr
    assert (env / "pyvenv.cfg").stat().st_uid == 65534 and os.listdir(shared) == ["env"]


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_where_nothing_runs_the_hint_names_a_home_only_on_another_filesystem(
    target: Path,
) -> None:
    """The way out is another filesystem: ``~/.venvs`` where the home is on one, a local
    disk where the home is on the same share."""
    share_home = target / "home"
    share_home.mkdir()
    cases = ((share_home, "e.g. on a local disk"), (None, "e.g. 'anyvenv venv ~/.venvs/NAME'"))
    for home, named in cases:
        env = cli_env() if home is None else cli_env(HOME=str(home))
        proc = run_cli("venv", str(target / "env"), "--python", str(BASE), env=env)
        assert proc.returncode == 1
        said = one_line_error(proc)
        assert f"create the environment on another filesystem, {named} (" in said, said


@pytest.mark.parametrize("lab_kind", ["local", "sshfs", "exfat"])
def test_a_copied_python_replaced_at_once_gets_a_time_clear_of_the_old_one(
    lab_kind: str, target: Path
) -> None:
    """uv knows an interpreter by its path and modification time (sshfs keeps whole seconds,
    exFAT two): every python name of a copy replacing another at the same path a moment
    later is given a time 2 s clear of the old one, whether the names are one file
    hard-linked together (local) or copies of their own (exFAT)."""
    import glob

    other = sorted(glob.glob("/root/.pyenv/versions/3.1[0-9].*/bin/python3.1[0-9]"))
    other = [path for path in other if Path(path).resolve() != BASE.resolve()]
    env = target / "env"
    first = run_cli("venv", "-q", "--strategy", "copy", "--python", str(BASE), str(env))
    assert first.returncode == 0, first.stderr
    old = os.stat(env / "bin" / "python").st_mtime_ns
    again = run_cli("venv", "-q", "--clear", "--strategy", "copy", "--python", other[0], str(env))
    assert again.returncode == 0, again.stderr
    minor = ".".join(Path(other[0]).name.removeprefix("python").split(".")[:2])
    for name in ("python", "python3", f"python{minor}"):
        assert os.stat(env / "bin" / name).st_mtime_ns - old >= 2_000_000_000, name


def test_a_path_with_a_colon_is_made_and_said_not_to_activate(tmp_path: Path) -> None:
    """``python -m venv`` refuses the path, uv venv makes an env its scripts break PATH with:
    anyvenv makes it, warns, and prints no activation line that would fail."""
    env_dir = tmp_path / "a:b" / "env"
    proc = run_cli("venv", str(env_dir), env=cli_env(SHELL="/bin/bash"))
    assert proc.returncode == 0, proc.stderr
    assert "Activate with" not in proc.stderr
    assert "anyvenv: warning: the activation scripts refuse this env: its path contains ':'" in (
        proc.stderr
    )
    listed = run_cli("venv", str(env_dir), "--clear", "--json")
    assert listed.returncode == 0, listed.stderr
    assert any("contains ':'" in warning for warning in json.loads(listed.stdout)["warnings"])
    activated = subprocess.run(
        ["bash", "-c", f"source '{env_dir}/bin/activate'"], capture_output=True, text=True
    )
    assert activated.returncode != 0 and "contains ':'" in activated.stderr


@pytest.mark.parametrize("lab_kind", ["smb"])
def test_clear_of_an_env_in_use_on_smb_names_what_runs_from_it(target: Path) -> None:
    """SMB refuses to rename a directory whose python runs (EACCES, read as "permission
    denied"): `--clear` stops in one line that names the program and says to end it, and the
    old env is left whole; once it ends, `--clear` replaces the env."""
    env = target / "env"
    made = run_cli("venv", "-q", "--python", str(BASE), str(env))
    assert made.returncode == 0, made.stderr
    running = subprocess.Popen(
        [env / "bin" / "python", "-c", "import sys, time; print(sys.prefix, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert running.stdout is not None and running.stdout.readline().strip() == str(env)
        refused = run_cli("venv", "--clear", "--python", str(BASE), str(env))
        assert refused.returncode == 1
        said = one_line_error(refused)
        assert f"python (process {running.pid}) runs from the old environment" in said, said
        assert said.endswith("end what runs from it, then run the command again")
    finally:
        running.kill()
        running.wait()
    kept = subprocess.run([env / "bin" / "python", "-c", "print(1)"], capture_output=True)
    assert kept.stdout == b"1\n" and read_pyvenv_cfg(env)
    again = run_cli("venv", "-q", "--clear", "--python", str(BASE), str(env))
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("lab_kind", ["fat", "rclone"])
def test_clear_of_an_env_in_use_where_it_is_replaced_file_by_file(target: Path) -> None:
    """Where the env is replaced file by file (FAT, rclone), its python running with a file
    of a package open: fusefat keeps each file removed while open as a hidden file, so its
    directory cannot go (the old env was emptied, then the replacement failed; then the
    package's directories stayed in the new env, an empty namespace package that imports).
    The hidden files are moved into one directory aside: the new env works and holds
    nothing of the old package, the running program works, and the files go when it ends."""
    env = target / "env"
    made = run_cli("venv", "-q", "--python", str(BASE), str(env))
    assert made.returncode == 0, made.stderr
    site = next(env.glob("lib/python3*/site-packages"))
    (site / "oldpkg" / "sub").mkdir(parents=True)
    (site / "oldpkg" / "__init__.py").write_text("")
    (site / "oldpkg" / "sub" / "data.txt").write_text("old data\n")
    echo = (
        "import sys\n"
        "held = open(sys.argv[1])\n"
        "for line in sys.stdin:\n"
        "    print(line.strip(), sys.prefix, held.read(3), flush=True)\n"
        "    held.seek(0)\n"
    )
    running = subprocess.Popen(
        [env / "bin" / "python", "-c", echo, site / "oldpkg" / "sub" / "data.txt"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert running.stdin is not None and running.stdout is not None
    try:
        running.stdin.write("before\n")
        running.stdin.flush()
        assert running.stdout.readline() == f"before {env} old\n"
        again = run_cli("venv", "-q", "--clear", "--python", str(BASE), str(env))
        assert again.returncode == 0, again.stderr
        running.stdin.write("after\n")
        running.stdin.flush()
        assert running.stdout.readline() == f"after {env} old\n"
        assert not (site / "oldpkg").exists()  # (nothing of the old package in the new env)
        ran = subprocess.run(
            [env / "bin" / "python", "-c", "import sys; print(sys.prefix); import oldpkg"],
            capture_output=True,
            text=True,
        )
        assert ran.stdout == f"{env}\n" and "No module named 'oldpkg'" in ran.stderr
        checked = run_cli("check", str(env))
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        running.stdin.close()
        running.wait()
    deadline = time.monotonic() + 10  # (the daemon removes them once the release reaches it)
    while [path for path in env.rglob(".fuse_hidden*")]:
        assert time.monotonic() < deadline, list(env.rglob(".fuse_hidden*"))
        time.sleep(0.05)


@pytest.mark.parametrize("strategy", ["symlink", "copy"])
def test_what_the_env_needs_to_start_is_on_disk_before_it_is_renamed_into_place(
    strategy: str, tmp_path: Path
) -> None:
    """pyvenv.cfg and a copied python are synced in the staging directory before the rename
    that puts the env in place, and the parent directory after it (strace): a crash right
    after must not leave a committed env of empty files (ext4 keeps the rename, not the
    bytes, of files not yet written back)."""
    from support import traced_calls

    env = tmp_path / "env"
    argv = [*ANYVENV, "venv", "-q", "--strategy", strategy, "--python", BASE, str(env)]
    calls = traced_calls(argv, "fsync,rename,renameat,renameat2")
    renamed = next(i for i, call in enumerate(calls) if f', "{env}")' in call)

    def synced(part: list[str]) -> list[str]:
        return [c.split("<", 1)[1].split(">", 1)[0] for c in part if c.startswith("fsync(")]

    staging_mark = ".env.anyvenv-staging-"
    staged = {
        path.split(staging_mark, 1)[1].partition("/")[2]
        for path in synced(calls[:renamed])
        if staging_mark in path
    }
    assert {"", "pyvenv.cfg"} <= staged, calls  # (the staging directory itself: "")
    assert ("bin/python" in staged) == (strategy == "copy"), staged
    assert str(tmp_path) in synced(calls[renamed + 1 :]), calls


def _checkpoints(trace: Path) -> list[str]:
    """The names of the checkpoints an ``ANYVENV_TEST_TRACE`` run reached, in order."""
    return [line.split(" ")[1] for line in trace.read_text().splitlines()]


# what an env's files hold whatever the probe of its place answers
WRITTEN_AHEAD = ("create:activate", "create:.gitignore", "create:CACHEDIR.TAG")


@pytest.mark.parametrize("lab_kind", ["local", "faultfs:passthrough"])
def test_on_a_share_what_the_probe_does_not_decide_is_written_while_it_measures(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    """On a mount that is not local the probe, begun early in a child, still measures while
    the env is built: its staging directory, bin/, site-packages, the activation scripts,
    .gitignore and CACHEDIR.TAG are written meanwhile (each a round trip there), before what
    its answer decides (pyvenv.cfg, the interpreter). On local disk, where the probe is made
    at once in the process, the order is as it always was: the scripts after pyvenv.cfg."""
    trace = tmp_path / "trace"
    proc = run_cli(
        "venv", str(target / "env"), "--python", str(BASE), "-q",
        env=cli_env(ANYVENV_TEST_TRACE=str(trace)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    names = _checkpoints(trace)
    config = names.index("create:pyvenv.cfg")
    ahead = [names.index(name) for name in WRITTEN_AHEAD]
    assert names.index("staging:made") < min(ahead)
    if lab_kind == "local":
        assert config < min(ahead), names
    else:
        assert max(ahead) < config, names
    assert python_facts(target / "env")["prefix"] == str(target / "env")
    assert entry_names(target) == ["env", "facts.py"]


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_what_was_written_while_the_probe_measured_is_removed_where_it_refuses_the_place(
    target: Path, tmp_path: Path
) -> None:
    """Where nothing can be executed the probe refuses the place, after the files that do not
    depend on its answer were written while it measured: its refusal is said, as ever, and
    nothing of them remains."""
    trace = tmp_path / "trace"
    proc = run_cli(
        "venv", str(target / "env"), "--python", str(BASE),
        env=cli_env(ANYVENV_TEST_TRACE=str(trace)),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    said = one_line_error(proc)
    assert said.startswith(
        f"anyvenv: error: no file can be executed on the filesystem at {target} (exec: EACCES)"
    ), said
    assert "create:activate" in _checkpoints(trace)
    assert entry_names(target) == [], [(r, ds, fs) for r, ds, fs in os.walk(target)]


def test_where_writing_ahead_fails_on_a_place_the_probe_refuses_its_refusal_is_said(
    lab: Lab, tmp_path: Path
) -> None:
    """Every write() fails (EIO): the probe begun early refuses the place, and the activation
    script written while it measured fails too; what is said is the probe's refusal, as when
    it answered before anything was written, not the write's failure met meanwhile."""
    directory, set_budget = lab.eio_target()
    trace = tmp_path / "trace"
    set_budget(0)
    try:
        proc = run_cli(
            "venv", str(directory / "env"), "--python", str(BASE),
            env=cli_env(ANYVENV_TEST_TRACE=str(trace)),
        )  # fmt: skip
    finally:
        set_budget(None)
    assert proc.returncode == 1, proc.stderr
    said = one_line_error(proc)
    assert said.startswith(f"anyvenv: error: cannot probe {directory}: Input/output error (EIO)"), (
        said
    )
    assert "staging:made" in _checkpoints(trace)  # (written ahead: then failed)
    assert entry_names(directory) == [], [(r, ds, fs) for r, ds, fs in os.walk(directory)]
