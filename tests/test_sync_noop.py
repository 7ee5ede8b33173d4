"""The no-op shortcut of ``anyvenv sync``/``run``: uv is not run while nothing it reads has
changed since the last successful sync; every change of an input makes it run again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from project_support import (
    anyvenv,
    index_args,
    needs_pythons,
    project_environ,
    replace_file,
    run,
    uv_binary,
    write_project,
)

from anyvenv.fs import env_lock_path
from anyvenv.fs.lock import current_holder
from anyvenv.project.inputfiles import glob_listing, local_sources
from anyvenv.project.inputs import (
    RECORD_NAME,
    always_runs_uv,
    deciding_args,
    entry_of,
    still_matches,
)
from anyvenv.project.uptodate import candidate_roots
from support import one_line_error, run_while_locked, waits_told
from wheels import build_wheel

pytestmark = [needs_pythons, pytest.mark.timeout(300)]


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return project_environ(home)


def sync(
    project: Path, env: dict[str, str], index: Path, *extra: str
) -> tuple[dict[str, object], subprocess.CompletedProcess[str]]:
    proc = anyvenv("sync", "--json", *index_args(index), *extra, cwd=project, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc


def uv_ran(project: Path, env: dict[str, str], index: Path, *extra: str) -> bool:
    report, proc = sync(project, env, index, *extra)
    ran = report["uv_ran"]
    assert isinstance(ran, bool)
    # uv's own lines are there exactly when it ran
    assert ("Resolved" in proc.stderr) == ran, proc.stderr
    return ran


@pytest.fixture
def synced(tmp_path: Path, env: dict[str, str], index: Path) -> Path:
    project = write_project(tmp_path / "demo")
    assert uv_ran(project, env, index)
    return project


def site_packages(project: Path) -> Path:
    return project / ".venv" / "lib" / "python3.12" / "site-packages"


def dists(project: Path) -> list[str]:
    return sorted(p.name for p in site_packages(project).glob("*.dist-info"))


ALL = ["alpha-1.0.dist-info", "beta-1.0.dist-info", "devtool-1.0.dist-info"]


def test_a_second_sync_does_not_run_uv(synced: Path, env: dict[str, str], index: Path) -> None:
    state = synced / ".venv" / ".anyvenv-sync.state"
    before = state.stat().st_mtime_ns
    report, proc = sync(synced, env, index)
    assert report["uv_ran"] is False and report["uv_exit_code"] == 0
    assert report["action"] == "reused" and report["env"] == str(synced / ".venv")
    assert report["python"] == "3.12.1" or str(report["python"]).startswith("3.12")
    assert proc.stderr == ""  # not a line from uv
    assert state.stat().st_mtime_ns == before  # nothing written
    text = anyvenv("sync", *index_args(index), cwd=synced, env=env)
    assert text.returncode == 0
    assert text.stderr.startswith(f"anyvenv: Using {synced / '.venv'} (CPython 3.12")
    assert "uv was not run" in text.stderr and len(text.stderr.splitlines()) == 1
    quiet = anyvenv("sync", "-q", *index_args(index), cwd=synced, env=env)
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_an_empty_path_option_is_refused_on_the_no_op_path_too(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv refuses ``--directory ''``: an up-to-date project is no reason to take it."""
    for command in (["sync"], ["run", "true"]):
        for option in ("--directory", "--project", "--cache-dir", "--config-file"):
            proc = anyvenv(command[0], option, "", *index_args(index), *command[1:],
                           cwd=synced, env=env)  # fmt: skip
            assert proc.returncode == 2, (command, option, proc.stderr)
            assert f"{option} was given an empty value" in proc.stderr


HEAVY = {"argparse", "tomllib", "json", "pathlib", "typing", "dataclasses", "re", "subprocess"}


def test_a_no_op_sync_imports_next_to_nothing(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """Python's start-up is most of a no-op sync: it must not load parsers or the pipeline."""
    show = "import sys; print(' '.join(sorted(sys.modules)))"
    baseline = set(run([sys.executable, "-c", show], synced, env).stdout.split())
    code = f"import sys; from anyvenv.__main__ import main; code = main(sys.argv[1:]); {show}"
    proc = run([sys.executable, "-c", code, "sync", "-q", *index_args(index)], synced, env)
    assert (proc.returncode, proc.stderr) == (0, "")
    loaded = set(proc.stdout.split()) - baseline
    assert "anyvenv.project.uptodate" in loaded  # the shortcut answered
    pipeline = {"anyvenv.project.sync", "anyvenv.project.session", "anyvenv.project.prepare"}
    assert not loaded & (HEAVY | pipeline | {"uv"}), sorted(loaded)


def test_run_without_sync_takes_the_shortcut_when_a_sync_would_change_nothing(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """``run --no-sync`` (``UV_NO_SYNC``) on an up-to-date env: the env a sync would leave as
    it is, executed at once, without the pipeline (as fast as a no-op ``run``)."""
    for args, extra in ((["--no-sync"], {}), ([], {"UV_NO_SYNC": "1"})):
        proc = run(
            [sys.executable, "-X", "importtime", "-m", "anyvenv", "run", *args,
             *index_args(index), "true"],
            synced, {**env, **extra},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
        assert "anyvenv.project.uptodate" in imported  # the shortcut answered
        pipeline = {"anyvenv.project.session", "anyvenv.project.prepare", "argparse"}
        assert not imported & pipeline, (args, sorted(imported & pipeline))


def test_run_skips_uv_too(synced: Path, env: dict[str, str], index: Path) -> None:
    code = "import os, sys, alpha; print(sys.prefix, os.environ['VIRTUAL_ENV'])"
    proc = anyvenv("run", *index_args(index), "--", "python", "-c", code, cwd=synced, env=env)
    venv = synced / ".venv"
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{venv} {venv}\n", "")
    failing = anyvenv("run", *index_args(index), "--", "python", "-c", "raise SystemExit(5)",
                      cwd=synced, env=env)  # fmt: skip
    assert failing.returncode == 5
    missing = anyvenv("run", *index_args(index), "--", "no-such-tool", cwd=synced, env=env)
    assert missing.returncode == 2 and "no-such-tool" in missing.stderr


def test_a_script_with_inline_metadata_is_left_to_uv_after_a_sync_too(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """A synced project (a record that would answer a no-op) is no reason to run a script
    that declares its own dependencies in the project env: uv runs it in its own."""
    script = synced / "tool.py"
    script.write_text("# /// script\n# dependencies = []\n# ///\nimport sys\nprint(sys.prefix)\n")
    ran = anyvenv("run", *index_args(index), "tool.py", cwd=synced, env=env)
    assert ran.returncode == 0, ran.stderr
    prefix = ran.stdout.strip()
    assert prefix and os.path.realpath(prefix) != os.path.realpath(synced / ".venv"), prefix


def test_a_dependency_edit_runs_uv(synced: Path, env: dict[str, str], index: Path) -> None:
    write_project(synced, dependencies=["alpha", "gamma"])
    assert uv_ran(synced, env, index)
    assert "gamma-1.0.dist-info" in dists(synced)
    assert not uv_ran(synced, env, index)


def test_a_same_size_edit_within_the_same_mtime_is_seen(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """Right after a sync an mtime may not move on the next write: the content is compared."""
    pyproject = synced / "pyproject.toml"
    old = pyproject.stat()
    text = pyproject.read_text()
    replace_file(pyproject, text.replace('"alpha"', '"gamma"').encode())
    os.utime(pyproject, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert pyproject.stat().st_size == old.st_size
    assert uv_ran(synced, env, index)
    assert dists(synced) == ["devtool-1.0.dist-info", "gamma-1.0.dist-info"]


def test_a_touched_lock_runs_uv(synced: Path, env: dict[str, str], index: Path) -> None:
    os.utime(synced / "uv.lock")
    assert uv_ran(synced, env, index)
    assert not uv_ran(synced, env, index)


def test_a_sync_under_way_is_waited_for_and_a_dead_ones_lock_cleared(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """While another sync or venv holds the env's lock, a no-op sync waits for it (the env may
    be half changed) instead of answering from the record; the lock file a killed one left
    is cleared by the next no-op sync, not kept until inputs change."""
    lock_path = env_lock_path(str(synced / ".venv"))
    proc = run_while_locked(lock_path, ["sync", "--json", *index_args(index)], env, synced)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["uv_ran"] is False  # the record still held, under the lock
    # the wait is told once, naming what it waits for (uv says it only with -v)
    told = waits_told(proc.stderr)
    assert len(told) == 1 and lock_path in told[0], proc.stderr

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    Path(lock_path).write_text(json.dumps({**current_holder().__dict__, "pid": dead.pid}))
    assert not uv_ran(synced, env, index)
    assert not os.path.lexists(lock_path), "the killed sync's lock file is gone"


def test_uv_variables_and_arguments_are_inputs(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    compiled = {**env, "UV_COMPILE_BYTECODE": "1"}
    assert uv_ran(synced, compiled, index)
    assert not uv_ran(synced, compiled, index)
    assert uv_ran(synced, env, index)
    assert uv_ran(synced, env, index, "--no-dev")
    assert "devtool-1.0.dist-info" not in dists(synced)
    assert not uv_ran(synced, env, index, "--no-dev")
    assert uv_ran(synced, env, index)
    assert dists(synced) == ALL
    assert uv_ran(synced, env, index, "--python", "3.12")  # anyvenv's own option
    assert not uv_ran(synced, env, index, "--python", "3.12")


@pytest.mark.parametrize(
    "always", [["--reinstall-package", "beta"], ["--reinstall"], ["-U"], ["--no-cache"]]
)
def test_some_arguments_always_run_uv(
    synced: Path, env: dict[str, str], index: Path, always: list[str]
) -> None:
    assert uv_ran(synced, env, index, *always)
    assert uv_ran(synced, env, index, *always)
    assert uv_ran(synced, env, index)  # and leave no record behind


def test_always_runs_uv_reads_flags_clusters_and_variables() -> None:
    assert always_runs_uv(["--upgrade-package=alpha"], {})
    assert always_runs_uv(["-qU"], {}) and always_runs_uv(["-Palpha"], {})
    assert always_runs_uv([], {"UV_EXCLUDE_NEWER": "2025-01-01"})
    assert always_runs_uv([], {"UV_NO_CACHE": "1"})
    assert not always_runs_uv([], {"UV_NO_CACHE": "0"})
    assert not always_runs_uv(["-q", "--frozen", "--find-links", "/wheels/Upload"], {})


def test_what_a_run_sets_for_its_command_is_no_input() -> None:
    """The depth of nested runs, and a VIRTUAL_ENV naming the env being synced (a run inside
    it), change nothing for uv sync; another active env does (uv warns of it)."""
    from anyvenv.project.inputs import Invocation

    def key(**environ: str) -> list[str]:
        return Invocation(None, None, [], "/p", environ).key(env="/p/.venv")

    assert key(UV_RUN_RECURSION_DEPTH="3", UV_RUN_MAX_RECURSION_DEPTH="9") == key()
    assert key(VIRTUAL_ENV="/p/.venv") == key() == key(VIRTUAL_ENV="/p/.venv/")
    assert key(VIRTUAL_ENV="/elsewhere") != key()
    assert key(UV_FROZEN="1") != key()


def test_output_options_do_not_count() -> None:
    args = ["-q", "--color", "never", "--frozen", "-qq", "--color=auto", "--no-progress", "-v"]
    assert deciding_args([*args, "--extra", "x"]) == ["--frozen", "-v", "--extra", "x"]


def test_a_package_installed_by_hand_is_removed(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    python = synced / ".venv" / "bin" / "python"
    command = [uv_binary(), "pip", "install", "--python", str(python), *index_args(index), "gamma"]
    assert run(command, synced, env).returncode == 0
    assert "gamma-1.0.dist-info" in dists(synced)
    assert uv_ran(synced, env, index)
    assert dists(synced) == ALL  # uv sync is exact


def test_a_removed_dist_info_is_put_back(synced: Path, env: dict[str, str], index: Path) -> None:
    site = site_packages(synced)
    before = site.stat()
    shutil.rmtree(site / "beta-1.0.dist-info")
    os.utime(site, ns=(before.st_atime_ns, before.st_mtime_ns))  # its names still differ
    assert uv_ran(synced, env, index)
    assert dists(synced) == ALL
    hello = anyvenv("run", "alpha-hello", cwd=synced, env=env)
    assert hello.stdout == "alpha says hi\n"


def test_anyvenv_pip_makes_the_next_sync_run_uv(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    assert (
        anyvenv("pip", "install", *index_args(index), "gamma", cwd=synced, env=env).returncode == 0
    )
    assert not (synced / ".venv" / RECORD_NAME).exists()
    assert uv_ran(synced, env, index)
    assert dists(synced) == ALL


def test_a_new_python_version_runs_uv_in_a_new_env(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    replace_file(synced / ".python-version", b"3.11\n")
    report, _ = sync(synced, env, index)
    assert report["uv_ran"] is True and report["action"] == "rebuilt"
    assert str(report["python"]).startswith("3.11")
    assert not uv_ran(synced, env, index)


def test_an_input_edited_after_the_sync_read_it_and_before_uv_runs_leaves_no_record(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    """.python-version saved (3.12 to 3.11) after the sync chose the env by it and before the
    inputs are fingerprinted for uv: the fingerprint shows the new file, but the env was chosen
    by the old one (FileMemo.changed tells it), so no record is left and the next sync runs uv
    in an env of the new version, not a no-op on the word of a record of the edited file."""
    from anyvenv.project import sync as syncing

    project = write_project(tmp_path / "demo")
    real_inputs_before = syncing.inputs_before
    edited: list[bool] = []

    def edit_then_fingerprint(session: object) -> object:
        replace_file(project / ".python-version", b"3.11\n")
        edited.append(True)
        return real_inputs_before(session)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(syncing, "inputs_before", edit_then_fingerprint)
        patch.chdir(project)
        result = syncing.sync(syncing.SyncOptions(uv_args=tuple(index_args(index))), env)
    assert edited == [True] and result.uv_exit_code == 0
    assert result.prepared.state.version[:2] == [3, 12]
    assert not (project / ".venv" / RECORD_NAME).exists()
    report, _ = sync(project, env, index)
    assert report["uv_ran"] is True and report["action"] == "rebuilt", report
    assert str(report["python"]).startswith("3.11")
    assert not uv_ran(project, env, index)


def test_a_failed_uv_run_is_never_a_no_op(synced: Path, env: dict[str, str], index: Path) -> None:
    pyproject = synced / "pyproject.toml"
    good, old = pyproject.read_bytes(), pyproject.stat()
    write_project(synced, dependencies=["alpha", "no-such-package"])
    failed = anyvenv("sync", *index_args(index), cwd=synced, env=env)
    assert failed.returncode != 0
    assert not (synced / ".venv" / RECORD_NAME).exists()
    replace_file(pyproject, good)  # exactly as it was when the record was made
    os.utime(pyproject, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert uv_ran(synced, env, index)
    assert not uv_ran(synced, env, index)


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe9" * 64])
def test_a_damaged_record_is_ignored(
    synced: Path, env: dict[str, str], index: Path, damage: bytes
) -> None:
    (synced / ".venv" / RECORD_NAME).write_bytes(damage)
    assert uv_ran(synced, env, index)
    assert not uv_ran(synced, env, index)


def test_a_record_of_an_earlier_record_version_is_not_trusted(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """A record as an earlier release wrote it (its record version, in the data and the key;
    anyvenv's own version is the same across releases) makes uv run once. Version 3 is the
    last one made under the rules before inputs on sshfs and exFAT were compared by content."""
    import marshal

    from anyvenv.project.inputs import RECORD_VERSION

    record = synced / ".venv" / RECORD_NAME
    data = marshal.loads(record.read_bytes())
    earlier = 3
    data["version"] = earlier
    data["key"] = [
        line.replace(f" {RECORD_VERSION}", f" {earlier}") if line.startswith("anyvenv ") else line
        for line in data["key"]
    ]
    record.write_bytes(marshal.dumps(data))
    assert uv_ran(synced, env, index)
    assert not uv_ran(synced, env, index)


def test_a_new_config_file_runs_uv(synced: Path, env: dict[str, str], index: Path) -> None:
    user_config = Path(env["XDG_CONFIG_HOME"]) / "uv" / "uv.toml"
    beside = synced / "uv.toml"
    for config in (beside, user_config):
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("compile-bytecode = false\n")
        try:
            assert uv_ran(synced, env, index)
            assert not uv_ran(synced, env, index)
        finally:
            config.unlink()
        assert uv_ran(synced, env, index)


def test_exclude_newer_and_cache_keys_always_run_uv(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    project = write_project(tmp_path / "demo")
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.uv]\ncache-keys = [{ file = "pyproject.toml" }]\n')
    assert uv_ran(project, env, index)
    assert uv_ran(project, env, index)
    (project / "uv.toml").write_text('exclude-newer = "2099-01-01T00:00:00Z"\n')
    write_project(project)
    assert uv_ran(project, env, index)
    assert uv_ran(project, env, index)


def test_a_lock_resolved_with_exclude_newer_is_no_fingerprintable_input(tmp_path: Path) -> None:
    """uv.lock, read once for its local sources, is searched for exclude-newer as the
    settings files are: what uv resolves then depends on the time too."""
    from anyvenv.project.inputfiles import NotFingerprintable, sync_inputs
    from anyvenv.project.model import discover

    project = write_project(tmp_path / "demo")
    lock = project / "uv.lock"
    lock.write_text('version = 1\n[options]\nexclude-newer = "2099-01-01T00:00:00Z"\n')
    args = (discover(project), str(project), "/usr/bin/uv", [], {"HOME": str(tmp_path)})
    with pytest.raises(NotFingerprintable, match="exclude-newer"):
        sync_inputs(*args, str(project))
    lock.write_text("version = 1\n")
    assert str(lock) in sync_inputs(*args, str(project))


def test_another_directory_has_a_record_of_its_own(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    sub = synced / "sub"
    sub.mkdir()
    assert uv_ran(sub, env, index)
    assert not uv_ran(sub, env, index)
    (sub / "pyproject.toml").write_text('[project]\nname = "sub"\nversion = "1"\n')
    report, _ = sync(sub, env, index)  # now a project of its own
    assert report["uv_ran"] is True and report["env"] == str(sub / ".venv")


def test_a_new_workspace_member_runs_uv(tmp_path: Path, env: dict[str, str], index: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "root"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
        'dependencies = []\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'
    )
    (root / ".python-version").write_text("3.12\n")
    write_project(root / "packages" / "app", python_version=None, name="app")
    assert uv_ran(root, env, index, "--all-packages")
    assert not uv_ran(root, env, index, "--all-packages")
    write_project(
        root / "packages" / "tool", dependencies=["gamma"], python_version=None, name="tool"
    )
    assert uv_ran(root, env, index, "--all-packages")
    assert "gamma-1.0.dist-info" in dists(root)
    member = root / "packages" / "app"
    assert uv_ran(member, env, index)  # from the member: another start, another record
    assert not uv_ran(member, env, index)
    # a member's setup.py is one of uv's cache keys: made, then changed with its size and
    # mtime put back (a restore with cp -p): the ctime still tells
    setup = member / "setup.py"
    setup.write_text("# dynamic metadata: 1\n")
    an_hour_ago = time.time_ns() - 3600 * 10**9  # (not racy: no digest of it is kept)
    for path in (setup, member):
        os.utime(path, ns=(an_hour_ago, an_hour_ago))
    assert uv_ran(root, env, index, "--all-packages")
    assert not uv_ran(root, env, index, "--all-packages")
    setup.write_text("# dynamic metadata: 2\n")
    os.utime(setup, ns=(an_hour_ago, an_hour_ago))
    assert uv_ran(root, env, index, "--all-packages")


def test_a_local_wheel_dependency_is_an_input(
    tmp_path: Path, env: dict[str, str], index: Path
) -> None:
    local = tmp_path / "local"
    wheel = build_wheel(local, "gamma", modules={"gamma/__init__.py": "VALUE = 3\n"})
    project = write_project(tmp_path / "demo", dependencies=["gamma"])
    with (project / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.uv.sources]\ngamma = {{ path = "../local/{wheel.name}" }}\n')
    assert uv_ran(project, env, index)
    assert not uv_ran(project, env, index)
    build_wheel(local, "gamma", modules={"gamma/__init__.py": "VALUE = 4\n"})
    changed = anyvenv("sync", *index_args(index), cwd=project, env=env)
    assert changed.returncode != 0  # uv ran, and found the wheel no longer matches uv.lock
    assert "Hash mismatch" in changed.stderr
    assert not (project / ".venv" / RECORD_NAME).exists()


# -- the pieces --------------------------------------------------------------------------------


def test_candidate_roots_are_the_two_nearest_projects(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    for directory in (tmp_path, tmp_path / "a" / "b"):
        (directory / "pyproject.toml").write_text("")
    start = str(tmp_path / "a" / "b" / "c")
    assert candidate_roots(start) == [str(tmp_path / "a" / "b"), str(tmp_path)]


def test_glob_listing_watches_the_listed_directories(tmp_path: Path) -> None:
    (tmp_path / "packages" / "app").mkdir(parents=True)
    (tmp_path / "packages" / "notes.txt").write_text("")
    root = str(tmp_path)
    watched, matched = glob_listing(root, "packages/*")
    assert set(watched) == {str(tmp_path / "packages")}
    assert matched == [str(tmp_path / "packages" / "app")]
    watched, matched = glob_listing(root, "libs/*")
    assert watched == [str(tmp_path / "libs")] and matched == []  # a directory that may appear
    watched, matched = glob_listing(root, "./packages//*/")  # split as PurePath splits it
    assert matched == [str(tmp_path / "packages" / "app")]


def test_local_sources_come_from_the_lock(tmp_path: Path) -> None:
    lock = (
        '[[package]]\nname = "app"\nsource = { editable = "packages/app" }\n'
        '[[package]]\nname = "w"\nsource = { path = "dist/w-1.0-py3-none-any.whl" }\n'
        '[[package]]\nname = "x"\nsource = { registry = "https://pypi.org/simple" }\n'
    )
    found = local_sources(str(tmp_path), lock)
    assert str(tmp_path / "packages" / "app" / "pyproject.toml") in found
    assert str(tmp_path / "packages" / "app" / "src") in found
    assert str(tmp_path / "dist" / "w-1.0-py3-none-any.whl") in found
    assert len(found) == 5
    # the workspace root's own package: its files by the paths the project's are known by
    # (no ./ twins, each a stat more at every no-op), a .. kept for the kernel to follow
    root = local_sources(str(tmp_path), '[[package]]\nsource = { virtual = "." }\n')
    assert str(tmp_path / "pyproject.toml") in root and str(tmp_path / "src") in root
    assert not [path for path in root if "/./" in path or path.endswith("/.")], root
    up = local_sources(str(tmp_path), '[[package]]\nsource = { editable = "../lib" }\n')
    assert str(tmp_path / ".." / "lib" / "src") in up


def test_the_lock_is_read_as_the_documented_regex_reads_it() -> None:
    """Read without re (every sync that runs uv reads uv.lock): the same entries as
    ``re.findall`` of the expression, escapes, unclosed strings and odd line breaks included."""
    import random
    import re

    from anyvenv.project.inputfiles import _LOCAL_SOURCE, local_source_entries

    pieces = ['source = { editable = "', 'source = { virtual = "', 'source = { path = "']
    pieces += ['source = { registry = "', '"', "\\", "\n", "a", ".", " ", "}", '\\"', "x/y"]
    rng = random.Random(9)
    found = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        expected = re.findall(_LOCAL_SOURCE, text, re.MULTILINE)
        assert local_source_entries(text) == expected, repr(text)
        found += len(expected)
    assert found > 100


def test_a_racy_input_is_compared_by_content(tmp_path: Path) -> None:
    """A file written just before the record may change again within the same mtime tick."""
    path = tmp_path / "pyproject.toml"
    path.write_text("alpha")
    entry = entry_of(str(path), recorded_at_ns=time.time_ns())
    assert entry is not None and entry[3] is not None  # racy: its CRC is kept
    assert still_matches(str(path), entry)
    path.write_text("gamma")
    st = path.stat()
    same_stat = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, entry[3])
    assert not still_matches(str(path), same_stat)
    old = entry_of(str(path), recorded_at_ns=st.st_mtime_ns + 10 * 1_000_000_000)
    assert old is not None and old[3] is None  # long before the record: not racy
    listing = entry_of(str(tmp_path), recorded_at_ns=time.time_ns())
    assert listing is not None and listing[3] == "pyproject.toml"
    assert still_matches(str(tmp_path / "missing"), None)
    assert not still_matches(str(path), None)


@pytest.mark.parametrize("lab_kind", ["fat", "local"])
def test_where_a_rewrite_keeps_the_times_inputs_are_compared_by_content(
    lab_kind: str, target: Path
) -> None:
    """fusefat keeps a file's mtime and ctime when it is rewritten in place: an edit of
    pyproject.toml of the same size ("alpha" to "gamma") must still be seen, so every input
    there is recorded with its content; elsewhere only a racy one is."""
    path = target / "pyproject.toml"
    path.write_text('dependencies = ["alpha"]\n')
    st = path.stat()
    entry = entry_of(str(path), recorded_at_ns=st.st_mtime_ns + 10 * 1_000_000_000)
    assert entry is not None and (entry[3] is not None) == (lab_kind == "fat"), entry
    with open(path, "r+b") as stream:  # in place, same size, no truncation
        stream.write(b'dependencies = ["gamma"]\n')
    if lab_kind == "fat":
        assert path.stat().st_mtime_ns == st.st_mtime_ns  # (what fusefat does)
        assert not still_matches(str(path), entry)


def test_a_racy_fifo_among_the_inputs_is_not_read(tmp_path: Path) -> None:
    """A FIFO at an input's path (``mkfifo .python-version``) would block a read forever."""
    fifo = tmp_path / ".python-version"
    os.mkfifo(fifo)
    found: list[object] = []
    reader = threading.Thread(
        target=lambda: found.append(entry_of(str(fifo), recorded_at_ns=time.time_ns())),
        daemon=True,  # (if it blocks, it must not keep the test run alive)
    )
    reader.start()
    reader.join(10)
    assert found, "entry_of blocked on the FIFO"
    entry = found[0]
    assert isinstance(entry, tuple) and str(entry[3]).startswith("type ")
    assert still_matches(str(fifo), entry)


def test_an_empty_command_is_a_usage_error(synced: Path, env: dict[str, str]) -> None:
    for args in (["run", ""], ["run", "--no-sync", "--", ""]):
        proc = anyvenv(*args, cwd=synced, env=env)
        assert proc.returncode == 2 and "command to run is empty" in one_line_error(proc)


def test_a_no_op_still_warns_of_another_active_env(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """uv warns on every sync and run that an activated env other than the project's is
    ignored; a no-op that does not run uv says it too, in uv's words."""
    active = {**env, "VIRTUAL_ENV": str(synced / "elsewhere")}
    first = anyvenv("sync", *index_args(index), cwd=synced, env=active)
    assert first.returncode == 0 and "Resolved" in first.stderr
    warning = next(line for line in first.stderr.splitlines() if "VIRTUAL_ENV=" in line)
    for command in (["sync", *index_args(index)], ["sync", "--json", *index_args(index)]):
        again = anyvenv(*command, cwd=synced, env=active)
        assert again.returncode == 0 and "Resolved" not in again.stderr, again.stderr
        assert warning in again.stderr.splitlines()
    same = {**env, "VIRTUAL_ENV": str(synced / ".venv")}
    anyvenv("sync", *index_args(index), cwd=synced, env=same)
    quiet = anyvenv("sync", *index_args(index), cwd=synced, env=same)
    assert "VIRTUAL_ENV" not in quiet.stderr


def test_an_env_behind_a_pointer_is_active_through_the_pointer_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``VIRTUAL_ENV=<project>/.venv`` where .venv is a pointer to the env elsewhere: uv is
    told that env, so the no-op says nothing (the ordinary sync said nothing either)."""
    from anyvenv.cli.fastpath import _warn_if_another_env_is_active
    from anyvenv.project.uptodate import UpToDate

    found = UpToDate(str(tmp_path / "envs" / "demo"), {}, str(tmp_path / "project" / ".venv"))
    for active, warned in (
        (found.declared, False),
        (found.env, False),
        (str(tmp_path / "other"), True),
    ):
        monkeypatch.setenv("VIRTUAL_ENV", active)
        _warn_if_another_env_is_active(found, [])
        assert ("does not match the project environment" in capsys.readouterr().err) is warned


EDITING_BACKEND = '''
import base64, hashlib, os, pathlib, zipfile

def _edit_pyproject():
    """As an editor saving pyproject.toml while the sync runs (once); with SAME_SIZE, an
    edit of the same size whose old mtime is put back (a checkout or a restore)."""
    if not pathlib.Path("edited").exists():
        pathlib.Path("edited").write_text("")
        path = pathlib.Path("pyproject.toml")
        st = path.stat()
        old, new = ('["alpha"]', '["gamma"]') if SAME_SIZE else ("[]", '["gamma"]')
        path.write_text(path.read_text().replace("dependencies = " + old, "dependencies = " + new))
        if SAME_SIZE:
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

def _wheel(directory):
    _edit_pyproject()
    name = "demo-0.1-py3-none-any.whl"
    files = {
        "demo_mod.py": b"VALUE = 1\\n",
        "demo-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: demo\\nVersion: 0.1\\n",
        "demo-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }
    lines = []
    with zipfile.ZipFile(os.path.join(directory, name), "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            lines.append(f"{member},sha256={digest.decode()},{len(data)}")
        lines.append("demo-0.1.dist-info/RECORD,,")
        wheel.writestr("demo-0.1.dist-info/RECORD", "\\n".join(lines) + "\\n")
    return name

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory)

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory)
'''


@pytest.mark.parametrize("same_size", [False, True], ids=["edit", "same-size-mtime-kept"])
def test_an_edit_made_while_uv_runs_is_not_taken_as_synced(
    tmp_path: Path, env: dict[str, str], index: Path, same_size: bool
) -> None:
    """pyproject.toml saved while the sync runs (here by the project's own build backend,
    called by uv after it read the file): the sync that follows runs uv, which sees the new
    dependency, as uv run would; not a no-op on the word of a record taken after the edit.
    Also when the edit keeps the file's size and mtime (its ctime tells)."""
    project = tmp_path / "demo"
    project.mkdir()
    (project / "backend.py").write_text(f"SAME_SIZE = {same_size}\n{EDITING_BACKEND}")
    (project / ".python-version").write_text("3.12\n")
    dependencies = '["alpha"]' if same_size else "[]"
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
        f"dependencies = {dependencies}\n\n[build-system]\nrequires = []\n"
        'build-backend = "backend"\nbackend-path = ["."]\n'
    )
    assert uv_ran(project, env, index)
    assert (project / "edited").exists() and "gamma" in (project / "pyproject.toml").read_text()
    assert uv_ran(project, env, index), "the edit made while uv ran was taken as synced"
    ran = anyvenv("run", "--no-sync", "python", "-c", "import gamma", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr
    assert not uv_ran(project, env, index)


@pytest.mark.parametrize("lab_kind", ["exfat", "sshfs"])
@pytest.mark.parametrize("recorded_by", ["this release", "an earlier release"])
def test_where_ctime_follows_a_restored_mtime_an_edit_is_still_seen(
    target: Path, env: dict[str, str], index: Path, recorded_by: str
) -> None:
    """On sshfs and exFAT a file's ctime is its mtime: setting the mtime back (``cp -p``,
    ``tar -x``, ``rsync -a``) sets the ctime back too, so a same-size edit whose old mtime was
    restored must be seen by content; also where the record was made by an earlier release,
    which recorded no content there (it trusted the times)."""
    import marshal

    project = write_project(target / "demo", dependencies=["alpha"])
    pyproject = project / "pyproject.toml"
    os.utime(pyproject, ns=(1_577_836_800_000_000_000,) * 2)  # (2020-01-01, as from a tarball)
    assert uv_ran(project, env, index)
    assert not uv_ran(project, env, index)
    if recorded_by == "an earlier release":
        (record,) = project.glob(".venv/.anyvenv-sync.inputs")
        data = marshal.loads(record.read_bytes())
        data["files"] = {
            path: entry if entry is None or not entry[2] else (*entry[:3], None)
            for path, entry in data["files"].items()
        }
        record.write_bytes(marshal.dumps(data))
    pyproject.write_bytes(pyproject.read_bytes().replace(b'["alpha"]', b'["gamma"]'))
    os.utime(pyproject, ns=(1_577_836_800_000_000_000,) * 2)
    assert pyproject.stat().st_ctime_ns == pyproject.stat().st_mtime_ns  # (the mount's way)
    assert uv_ran(project, env, index), "a same-size edit with its mtime restored went unseen"
    ran = anyvenv("run", "--no-sync", "python", "-c", "import gamma", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr


def test_only_local_disks_and_the_kernels_network_clients_are_trusted_by_their_times(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the times may not tell an edit, an input is recorded with its content, but one
    over 4 MiB (the uv binary of an anyvenv on a share) is not read at every no-op."""
    from anyvenv.fs import mounts
    from anyvenv.project import inputs

    for fstype, untrusted in [("ext4", False), ("cifs", False), ("nfs4", False),
                              ("ntfs3", False), ("fuse.sshfs", True), ("fuseblk", True),
                              ("exfat", True), ("vfat", True), ("9p", True)]:  # fmt: skip
        inputs._times_untrusted.clear()
        mount = mounts.MountInfo("/m", fstype, "src", ("rw",), "0:99")
        monkeypatch.setattr(mounts, "mount_of", lambda path, found=mount: found)
        assert inputs._times_do_not_tell(str(tmp_path), 99) is untrusted, fstype
    inputs._times_untrusted.clear()
    monkeypatch.setattr(inputs, "_times_do_not_tell", lambda path, device: True)
    small, big = tmp_path / "uv.lock", tmp_path / "uv"
    small.write_bytes(b"x" * 100)
    big.write_bytes(b"x" * (inputs.UNTOLD_DIGEST_MAX_BYTES + 1))
    for path in (small, big):
        os.utime(path, ns=(1_577_836_800_000_000_000,) * 2)
    later = time.time_ns()
    small_entry, big_entry = entry_of(str(small), later), entry_of(str(big), later)
    assert small_entry is not None and small_entry[3] is not None
    assert big_entry is not None and big_entry[3] is None
    # and one recorded so is vouched for by its times alone: no uv run at every no-op
    assert still_matches(str(big), big_entry) and still_matches(str(small), small_entry)


def test_files_an_uninstall_left_without_a_record_are_told_of(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """An uninstall that stopped half-way (a file another program held open, on a share): uv
    removes the dist-info's files first, so its RECORD and METADATA are gone and the module
    stays. The project no longer wants the package, so no reinstall puts it right: the sync
    says that files of it may be left, and where, rather than nothing."""
    site = site_packages(synced)
    dist_info = site / "beta-1.0.dist-info"
    for name in os.listdir(dist_info):
        os.unlink(dist_info / name)
    pyproject = synced / "pyproject.toml"
    replace_file(pyproject, pyproject.read_bytes().replace(b'["alpha"]', b'["gamma"]'))
    dry, _ = sync(synced, env, index, "--dry-run")  # (it changes nothing, says nothing)
    assert dry["notes"] == [] and (site / "beta-1.0.dist-info").is_dir(), dry
    report, proc = sync(synced, env, index)
    assert not (site / "beta-1.0.dist-info").exists() and (site / "beta").is_dir()
    assert report["notes"] == [
        "the install record of beta had been lost (an install or an uninstall of it that "
        "stopped half-way), and beta was not installed again: files of it may be left in "
        f"{site}, where they can still be imported; remove them by hand, or make the env "
        f"again (remove {synced / '.venv'}, then run 'anyvenv sync')"
    ], proc.stderr
    # a package still wanted is installed again, with nothing to say
    dist_info = site / "gamma-1.0.dist-info"
    for name in os.listdir(dist_info):
        os.unlink(dist_info / name)
    os.unlink(site / "gamma" / "__init__.py")
    replace_file(pyproject, pyproject.read_bytes())  # (an input changed: uv runs)
    report, proc = sync(synced, env, index)
    assert report["notes"] == [], proc.stderr
    assert (site / "gamma" / "__init__.py").is_file() and (site / "gamma-1.0.dist-info").is_dir()


def test_a_script_on_standard_input_takes_the_shortcut_too(
    synced: Path, env: dict[str, str], index: Path
) -> None:
    """``run -`` on an up-to-date env: the script is read once, found to declare nothing
    (else uv runs it in an env of its own) and run at once, without the pipeline."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "anyvenv", "run", *index_args(index), "-"],
        cwd=synced, env=env, input="import sys; print(sys.prefix)\n", capture_output=True,
        text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{synced / '.venv'}\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "anyvenv.project.uptodate" in imported  # the shortcut answered
    pipeline = {"anyvenv.project.session", "anyvenv.project.prepare", "argparse"}
    assert not imported & pipeline, sorted(imported & pipeline)


# runs `anyvenv run ARGS` the short way (as the command line does) or the ordinary way (as
# argparse's dispatch does), and prints who would have run the command instead of running it
_ROUTE_SHOWN = """
import json, sys
import anyvenv.cli.run as run
run.exec_uv_run = lambda words, environ: print("uv", json.dumps(words)) or 0
run.exec_target = lambda env, target, workdir: print("in the env", target.kind) or 0
if sys.argv[1] == "short":
    from anyvenv.__main__ import main
else:
    from anyvenv.cli.main import run as main
print("exit", main(sys.argv[2:]))
"""


@pytest.mark.parametrize(
    "given",
    [
        ["true"],
        ["tool.py"],
        ["plain.py"],
        ["--script", "tool.py"],
        ["--gui-script", "plain.py"],
        ["-m", "alpha"],
        ["-"],
        ["https://example.invalid/x.py"],
        ["--with", "beta", "true"],
        ["--isolated", "true"],
        ["--no-project", "true"],
        ["--no-sync", "tool.py"],
        ["--show-settings", "true"],
    ],
    ids=lambda given: " ".join(given),
)
def test_the_shortcut_and_the_ordinary_way_route_a_run_alike(
    synced: Path, env: dict[str, str], index: Path, given: list[str]
) -> None:
    """Whether uv runs it alone, uv runs it on the env, or anyvenv runs it in the env: the
    same for an up-to-date project whichever way the command line is answered."""
    (synced / "tool.py").write_text("# /// script\n# dependencies = []\n# ///\nprint(1)\n")
    (synced / "plain.py").write_text("print(1)\n")
    said = {}
    for way in ("short", "ordinary"):
        proc = subprocess.run(
            [sys.executable, "-c", _ROUTE_SHOWN, way, "run", *index_args(index), *given],
            cwd=synced, env=env, input="print(2)\n", capture_output=True, text=True,
            timeout=240,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        said[way] = proc.stdout
    assert said["short"] == said["ordinary"] and said["short"].endswith("exit 0\n"), said
