"""``anyvenv repair`` on real broken envs: made by uv, moved onto lab mounts where their
links cannot be read, repaired in place with their packages; healthy envs left untouched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from repair_support import (
    DEMO_SCRIPT,
    anyvenv,
    base_python,
    copy_keeping_links,
    demo_works,
    disposable_base,
    env_with_demo,
    fingerprint,
    install_demo,
    move_env,
    run,
    uv_venv,
)

from support import one_line_error

BROKEN_LINK_KINDS = ["faultfs:readlink-eacces", "sshfs", "sshfs-noreadlink"]


def _codes(env: Path) -> set[str]:
    proc = anyvenv("check", env, "--json")
    data = json.loads(proc.stdout)
    return {finding["code"] for finding in data["findings"]}


def _site_packages(env: Path) -> dict[str, tuple[object, ...]]:
    return fingerprint(env / "lib")


@pytest.mark.parametrize("lab_kind", BROKEN_LINK_KINDS)
def test_uv_env_moved_onto_mount_is_repaired_keeping_packages(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    local = env_with_demo(tmp_path / "made-here", base_python(), tmp_path / "wheels")
    env = target / ".venv"
    move_env(local, env)
    with pytest.raises(OSError):
        run([env / "bin" / "python", "-c", "pass"])

    checked = anyvenv("check", env)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "not usable" in checked.stdout
    codes = _codes(env)
    assert "interpreter-link-unreadable" in codes
    assert "script-interpreter-missing" in codes  # the script still runs the old path
    if lab_kind != "sshfs":  # there relative links are unreadable too
        assert "lib64-unreadable" in codes

    packages = _site_packages(env)
    before_dry_run = fingerprint(env)
    os.utime(env, ns=(10**18, 10**18))  # whole seconds: sshfs keeps no finer times
    dry = anyvenv("repair", "--dry-run", env)
    assert dry.returncode == 0, dry.stderr
    assert "place bin/python" in dry.stdout and "by copy" in dry.stdout
    assert anyvenv("repair", "--dry-run", "--json", env).returncode == 0
    assert fingerprint(env) == before_dry_run  # dry-run changes nothing
    assert os.stat(env).st_mtime_ns == 10**18  # not even the time its probe came and went

    repaired = anyvenv("repair", "--json", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    report = json.loads(repaired.stdout)
    assert report["usable_before"] is False and report["usable_after"] is True
    changed = {Path(change["path"]).name: change["action"] for change in report["changes"]}
    assert changed["python"] == changed["python3"] == "replaced"
    assert changed[DEMO_SCRIPT] == "rewrote"
    if lab_kind != "sshfs":  # there relative links are unreadable too
        assert changed["lib64"] == "removed"
    else:
        assert "lib64" not in changed  # lib64 -> lib reads back fine on sshfs: kept
        assert os.readlink(env / "lib64") == "lib"

    demo_works(env)
    assert _site_packages(env) == packages  # every package file as it was
    assert anyvenv("check", env).returncode == 0

    after_first = fingerprint(env)
    again = anyvenv("repair", env)
    assert again.returncode == 0 and "nothing to repair" in again.stdout
    assert fingerprint(env) == after_first  # safe to run twice


@pytest.mark.parametrize("lab_kind", BROKEN_LINK_KINDS)
def test_env_that_uv_made_on_the_mount_is_repaired_and_uv_can_use_it(
    lab_kind: str, target: Path, tmp_path: Path
) -> None:
    env = target / ".venv"
    uv_venv(env, base_python())  # uv succeeds, but leaves links that cannot be read here
    assert anyvenv("check", env).returncode == 1

    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "was an unreadable link" in repaired.stdout
    assert anyvenv("check", env).returncode == 0
    # uv reuses the repaired env: packages install into it and run from it
    install_demo(env, tmp_path / "wheels")
    demo_works(env)


def test_working_env_is_left_byte_for_byte(tmp_path: Path) -> None:
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    before = fingerprint(env)
    mtime = os.stat(env).st_mtime_ns
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to repair" in proc.stdout
    assert fingerprint(env) == before
    assert os.stat(env).st_mtime_ns == mtime  # not even a probe or a lock file came and went
    assert anyvenv("check", env).returncode == 0


def test_repair_rewrites_a_moved_envs_scripts_and_finds_a_new_base(tmp_path: Path) -> None:
    """An env moved on local disk whose base was removed: repair takes another X.Y base."""
    base_copy = disposable_base(tmp_path / "base")
    env = tmp_path / "env"
    uv_venv(env, base_copy)
    install_demo(env, tmp_path / "wheels")
    moved = tmp_path / "moved"
    move_env(env, moved)
    shutil.rmtree(base_copy.parent.parent)

    codes = _codes(moved)
    assert {"home-missing", "script-interpreter-missing", "activation-stale"} <= codes
    nowhere = anyvenv("repair", moved, path="/nonexistent")  # no 3.12 to take
    # the env's state, not a mistake in the command: 1, as for what else cannot be mended
    assert nowhere.returncode == 1 and "--python" not in nowhere.stderr  # repair has none
    assert "put a Python 3.12 on PATH, then run repair again" in nowhere.stderr
    real = base_python()
    path = f"{real.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = anyvenv("repair", moved, path=path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = (moved / "pyvenv.cfg").read_text()
    assert f"home = {real.parent}" in cfg
    demo_works(moved)
    activated = run(["bash", "-c", '. "$1/bin/activate" && command -v python', "_", str(moved)])
    assert activated.stdout == f"{moved}/bin/python\n", activated.stderr
    assert "activation-stale" not in _codes(moved)
    for other in ("activate.bat", "activate.xsh"):  # uv's, kept with the path renamed
        assert str(env) not in (moved / "bin" / other).read_text(), other
    assert str(moved) in (moved / "bin" / "activate.bat").read_text()  # it names its env


def test_a_new_base_is_found_under_uvs_python_preference(tmp_path: Path) -> None:
    """The base repair takes for an env whose base is gone is the one uv would take: managed
    installs first by default, PATH alone under only-system (uv's variable, or the settings
    where the env is)."""
    import sys

    base_copy = disposable_base(tmp_path / "base")
    managed = disposable_base(
        tmp_path / "data" / "uv" / "python" / "cpython-3.12.1-linux-x86_64-gnu"
    ).parent
    on_path = base_python().parent
    environ = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src"),
        "PATH": f"{on_path}:/usr/bin:/bin",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "ANYVENV_PYTHON_INSTALL_DIR": str(tmp_path / "none"),
    }
    for name in ("UV_PYTHON_INSTALL_DIR", "UV_PYTHON_PREFERENCE", "UV_NO_MANAGED_PYTHON"):
        environ.pop(name, None)
    preferences = {
        "default": ({}, managed),
        "only-system": ({"UV_NO_MANAGED_PYTHON": "1"}, on_path),
        "project/.venv": ({}, on_path),  # (its project's uv.toml says only-system)
    }
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "uv.toml").write_text('python-preference = "only-system"\n')
    for name in preferences:
        uv_venv(tmp_path / name, base_copy)
    shutil.rmtree(base_copy.parent.parent)
    for name, (extra, home) in preferences.items():
        env = tmp_path / name
        proc = run([sys.executable, "-m", "anyvenv", "repair", env], env={**environ, **extra})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"home = {home}\n" in (env / "pyvenv.cfg").read_text(), name


def test_a_virtualenv_env_on_a_new_base_names_its_prefixes_in_virtualenvs_form(
    tmp_path: Path,
) -> None:
    """virtualenv's pyvenv.cfg names its base's prefixes and a five-part version_info: once
    repaired onto a new base, they name that base (not the one that is gone), in that form."""
    import sys

    base_copy = disposable_base(tmp_path / "base")
    env = tmp_path / "env"
    made = run([sys.executable, "-m", "virtualenv", "--quiet", "--no-seed", "-p", base_copy, env])
    assert made.returncode == 0, made.stdout + made.stderr
    before = (env / "pyvenv.cfg").read_text()
    assert f"base-prefix = {tmp_path / 'base'}\n" in before
    version_info = next(line for line in before.splitlines() if line.startswith("version_info"))
    assert version_info.endswith(".final.0")
    shutil.rmtree(tmp_path / "base")
    real = base_python()
    proc = anyvenv("repair", env, path=f"{real.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = (env / "pyvenv.cfg").read_text().splitlines()
    prefix = real.parent.parent
    assert f"base-prefix = {prefix}" in cfg and f"base-exec-prefix = {prefix}" in cfg, cfg
    assert version_info in cfg, cfg  # the same release: the line as virtualenv wrote it
    facts = run([env / "bin" / "python", "-c", "import sys; print(sys.base_prefix)"])
    assert facts.stdout == f"{prefix}\n", facts.stderr


def test_a_stale_home_mended_from_the_base_the_config_names_sets_virtualenvs_prefixes_too(
    tmp_path: Path,
) -> None:
    """home names a place without the base, which base-executable still names (home-stale):
    repair sets home to the base's directory, and virtualenv's base-prefix and
    base-exec-prefix, which named the same gone place, to the base's prefixes (not left
    naming what is not there)."""
    import sys

    base = base_python()
    env = tmp_path / "env"
    made = run([sys.executable, "-m", "virtualenv", "--quiet", "--no-seed", "-p", base, env])
    assert made.returncode == 0, made.stdout + made.stderr
    cfg_path = env / "pyvenv.cfg"
    gone = tmp_path / "moved-away"
    stale = {"home": f"{gone}/bin", "base-prefix": str(gone), "base-exec-prefix": str(gone)}
    lines = [
        f"{key} = {stale[key]}" if key in stale else line
        for line in cfg_path.read_text().splitlines()
        for key in [line.partition(" = ")[0]]
    ]
    cfg_path.write_text("\n".join(lines) + "\n")
    assert "base-executable" in cfg_path.read_text()
    assert "home-stale" in _codes(env)
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = cfg_path.read_text().splitlines()
    prefix = base.parent.parent
    assert f"home = {base.parent}" in cfg, cfg
    assert f"base-prefix = {prefix}" in cfg and f"base-exec-prefix = {prefix}" in cfg, cfg
    assert "home-stale" not in _codes(env)


def test_a_new_version_keeps_the_form_of_each_version_key() -> None:
    """A pre-release too: virtualenv's five parts are sys.version_info's."""
    from anyvenv.repair.fixes import _versions

    cfg = {"version_info": "3.13.0.final.0", "version": "3.13.0"}
    assert _versions(cfg, "3.13.1rc2") == {
        "version_info": "3.13.1.candidate.2",
        "version": "3.13.1rc2",
    }
    assert _versions({"version_info": "3.13.0"}, "3.14.0a7") == {"version_info": "3.14.0a7"}
    assert _versions({"version_info": "3.12.0.beta.1"}, "3.12.2") == {
        "version_info": "3.12.2.final.0"
    }
    assert _versions({"version_info": "3.12.0.final.0"}, "3.14.0b2") == {
        "version_info": "3.14.0.beta.2"
    }
    assert _versions({"version_info": "3.12.0.final.0"}, "3.14.0a1") == {
        "version_info": "3.14.0.alpha.1"
    }


@pytest.mark.parametrize("lost", ["removed", "emptied"])
@pytest.mark.parametrize(
    ("maker", "prompt"),
    [
        ("venv", "pdm-venv-3.12"),
        ("venv", "it's"),
        ("venv", 'it\'s "both"'),  # (venv's repr escapes the quote: 'it\'s "both"')
        ("venv", "back\\slash"),  # (and a backslash: 'back\\slash')
        ("virtualenv", "demo"),
    ],
)
def test_activation_written_by_repair_takes_the_prompt_without_its_quotes(
    tmp_path: Path, maker: str, prompt: str, lost: str
) -> None:
    """venv writes pyvenv.cfg's prompt as a repr ('demo'), virtualenv in double quotes: the
    activation scripts repair writes show the prompt, not the quotes around it (where they
    were missing, and where a crash left them empty)."""
    import sys

    env = tmp_path / "env"
    python = base_python()
    if maker == "venv":
        command = [python, "-m", "venv", "--without-pip", "--prompt", prompt, env]
    else:
        command = [sys.executable, "-m", "virtualenv", "-q", "--no-seed", "-p", python, env]
        command += ["--prompt", prompt]
    made = run(command)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"prompt = {prompt}\n" not in (env / "pyvenv.cfg").read_text()  # (quoted there)
    if maker == "venv":
        assert f"prompt = {prompt!r}\n" in (env / "pyvenv.cfg").read_text()  # (a repr)
    for script in (env / "bin").glob("activate*"):
        script.unlink() if lost == "removed" else script.write_bytes(b"")
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = run(["bash", "-c", '. "$1/bin/activate" && echo "$VIRTUAL_ENV_PROMPT"', "_", env])
    assert shown.stdout == f"{prompt}\n", shown.stdout + shown.stderr


def test_a_bad_python_preference_setting_stops_only_a_repair_that_looks_up_a_base(
    tmp_path: Path,
) -> None:
    """uv's python-preference is read where a base must be found: a healthy env, or one
    whose scripts need rewriting, is repaired whatever the setting says (check agrees)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "uv.toml").write_text('python-preference = "bogus"\n')
    env = project / ".venv"
    uv_venv(env, base_python())
    assert anyvenv("repair", env).returncode == 0
    assert anyvenv("repair", "--dry-run", "--json", env).returncode == 0
    missing = anyvenv("repair", project / "nonexistent")
    assert missing.returncode == 2 and "does not exist" in missing.stderr, missing.stderr
    cfg = env / "pyvenv.cfg"
    lines = cfg.read_text().splitlines(True)
    cfg.write_text("".join(line for line in lines if not line.startswith("home")))
    (env / "bin" / "python").unlink()  # a base must be found now: the setting is read
    bad = anyvenv("repair", env)
    assert bad.returncode == 2 and "python-preference 'bogus'" in bad.stderr, bad.stderr


def test_scripts_of_an_env_moved_to_a_long_path(tmp_path: Path) -> None:
    """Long paths get the /bin/sh trampoline shebang; repair reads and writes that form."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    env = env_with_demo(deep / "env", base_python(), tmp_path / "wheels")
    assert (env / "bin" / DEMO_SCRIPT).read_bytes().startswith(b"#!/bin/sh\n'''exec'")
    moved = tmp_path / ("m" * 70) / ("n" * 60) / "env"
    moved.parent.mkdir(parents=True)
    move_env(env, moved)
    assert "script-interpreter-missing" in _codes(moved)
    proc = anyvenv("repair", moved)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    script = (moved / "bin" / DEMO_SCRIPT).read_bytes()
    assert script.startswith(b"#!/bin/sh\n'''exec' '" + bytes(moved) + b"/bin/python'")
    demo_works(moved)


def _make_env(maker: str, env: Path) -> None:
    import sys

    python = base_python()
    if maker == "venv":
        proc = run([python, "-m", "venv", "--without-pip", env])
    elif maker == "virtualenv":
        proc = run([sys.executable, "-m", "virtualenv", "--quiet", "--no-seed", "-p", python, env])
    else:
        proc = anyvenv("venv", env, "--python", python, "--strategy", "symlink", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces"])
@pytest.mark.parametrize("maker", ["venv", "virtualenv", "anyvenv"])
def test_envs_of_other_makers_moved_onto_the_mount(
    maker: str, target: Path, tmp_path: Path
) -> None:
    local = tmp_path / "made-here"
    _make_env(maker, local)
    install_demo(local, tmp_path / "wheels")
    env = target / "env"
    move_env(local, env)
    assert "interpreter-link-unreadable" in _codes(env)
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    demo_works(env)
    repaired = fingerprint(env)
    assert anyvenv("repair", env).returncode == 0
    assert fingerprint(env) == repaired


@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces", "faultfs:cifs-like"])
def test_env_anyvenv_made_on_the_mount_is_left_alone(target: Path) -> None:
    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python(), "--quiet")
    assert made.returncode == 0, made.stderr
    before = fingerprint(env)
    assert anyvenv("check", env).returncode == 0
    proc = anyvenv("repair", env)
    assert proc.returncode == 0 and "nothing to repair" in proc.stdout
    assert fingerprint(env) == before


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_console_scripts_uv_left_without_exec_bits_are_found_and_repaired(
    target: Path, tmp_path: Path
) -> None:
    """chmod is ignored: uv installs the demo's console script with mode 0644. check says so
    (it said "usable"), and repair writes it anew with its exec bits set at creation."""
    env = env_with_demo(target / "env", base_python(), tmp_path / "wheels")
    script = env / "bin" / DEMO_SCRIPT
    assert not os.access(script, os.X_OK), "the mount ignores chmod as the lab says"
    (env / "bin" / ".tmpK8o3SW").write_text("#!/bin/sh\n")  # a uv temp file: no one's script
    assert "script-not-executable" in _codes(env)
    checked = anyvenv("check", env)
    assert checked.returncode == 1, checked.stdout
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "script-not-executable" not in _codes(env)
    assert not os.access(env / "bin" / ".tmpK8o3SW", os.X_OK)  # left as it is
    demo_works(env)


@pytest.mark.parametrize("lab_kind", ["faultfs:mode-0644"])
def test_scripts_that_nothing_can_make_executable_are_refused_not_claimed(
    target: Path, tmp_path: Path
) -> None:
    """Every file is 0644 here: writing a script anew cannot give it exec bits. repair mends
    what it can (the copied env's shebangs) and says what it cannot, and why, instead of
    "now executable" on every run; a second run changes nothing more."""
    made = env_with_demo(tmp_path / "made", base_python(), tmp_path / "wheels")
    env = target / "env"
    copy_keeping_links(made, env)
    assert "script-not-executable" in _codes(env)
    dry = anyvenv("repair", env, "--dry-run")
    assert dry.returncode == 1 and "cannot:" in dry.stdout, dry.stdout
    dry_json = anyvenv("repair", env, "--dry-run", "--json")  # the same exit code
    assert dry_json.returncode == 1 and json.loads(dry_json.stdout)["dry_run"] is True
    first = anyvenv("repair", env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "now executable" not in first.stdout
    assert f"make bin/{DEMO_SCRIPT} executable: no file can be" in first.stdout
    assert (env / "bin" / DEMO_SCRIPT).read_bytes().startswith(f"#!{env}/bin/python".encode())
    before = fingerprint(env)
    again = anyvenv("repair", env)
    assert again.returncode == 1 and "nothing repair can change" in again.stdout, again.stdout
    assert fingerprint(env) == before


@pytest.mark.parametrize("lab_kind", ["faultfs:readlink-eacces"])
def test_an_env_venv_gave_up_on_gets_its_activation_scripts(target: Path) -> None:
    """``python -m venv`` fails at its unreadable link and leaves no activation scripts:
    repair makes the env whole (bin/activate works), not just "usable"."""
    env = target / "env"
    failed = run([base_python(), "-m", "venv", env])  # its ensurepip cannot start python
    assert failed.returncode != 0 and (env / "pyvenv.cfg").exists(), failed.stderr
    assert not (env / "bin" / "activate").exists()
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "activation-missing" not in _codes(env)
    activated = run(["bash", "-c", f". {env / 'bin/activate'} && echo $VIRTUAL_ENV"])
    assert activated.stdout.strip() == str(env), activated.stderr


def test_repair_waits_for_a_sync_of_the_same_env(tmp_path: Path) -> None:
    """repair takes the env's lock beside it, as sync and venv do."""
    import subprocess
    import sys
    import time

    from anyvenv.fs.lock import env_lock

    env = tmp_path / ".venv"
    uv_venv(env, base_python())
    lock = env_lock(env)
    lock.acquire()
    try:
        src = Path(__file__).resolve().parent.parent / "src"
        proc = subprocess.Popen(
            [sys.executable, "-m", "anyvenv", "repair", str(env)],
            env={**os.environ, "PYTHONPATH": str(src)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
        assert proc.poll() is None, "it waited for the lock"
    finally:
        lock.release()
    assert proc.wait(timeout=60) == 0
    assert sorted(os.listdir(tmp_path)) == [".venv"]


def _shebang(script: Path) -> str:
    return script.read_bytes().split(b"\n", 1)[0].decode()


def test_scripts_for_other_programs_keep_their_interpreter(tmp_path: Path) -> None:
    """A moved env holding a tool's own interpreter (nodeenv's node) and a user's perl
    script: the first follows the move to the env's node, the second is left as it is (it
    ran no python before and must not after); the env stays usable."""
    made = env_with_demo(tmp_path / "made", base_python(), tmp_path / "wheels")
    shutil.copy("/bin/true", made / "bin" / "node")
    (made / "bin" / "npx").write_text(f"#!{made}/bin/node\necho npx\n")
    (made / "bin" / "myperl").write_text("#!/opt/nowhere/bin/perl\nprint 'hi';\n")
    for name in ("npx", "myperl"):
        (made / "bin" / name).chmod(0o755)
    env = tmp_path / "moved"
    move_env(made, env)
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _shebang(env / "bin" / "npx") == f"#!{env}/bin/node"
    assert _shebang(env / "bin" / "myperl") == "#!/opt/nowhere/bin/perl"
    demo_works(env)
    checked = anyvenv("check", env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_script_put_in_by_hand_to_run_another_env_is_left_alone(tmp_path: Path) -> None:
    """Copied from another env on purpose (no package of this env installed it): it works
    as it is, so repair does not point it at this env's python, where it would not."""
    tool = env_with_demo(tmp_path / "tool", base_python(), tmp_path / "wheels")
    project = tmp_path / "project"
    uv_venv(project, base_python())
    shutil.copy(tool / "bin" / DEMO_SCRIPT, project / "bin" / "tool-demo")
    before = (project / "bin" / "tool-demo").read_bytes()
    assert anyvenv("repair", project).returncode == 0
    assert (project / "bin" / "tool-demo").read_bytes() == before
    assert run([project / "bin" / "tool-demo"]).stdout.strip() == "demo-ok"
    assert "script-interpreter-foreign" in _codes(project)  # said, as a warning
    assert anyvenv("check", project).returncode == 0


def test_an_envs_own_script_running_a_new_env_at_its_old_place_is_an_error(
    tmp_path: Path,
) -> None:
    """Moved, and a new env made where it was: its console script runs that new env's python,
    which has not its package. check says so (it is not usable), repair points it home."""
    old = env_with_demo(tmp_path / "old", base_python(), tmp_path / "wheels")
    moved = tmp_path / "moved"
    move_env(old, moved)
    uv_venv(old, base_python())
    broken = run([moved / "bin" / DEMO_SCRIPT])
    assert broken.returncode != 0  # the new env at the old place lacks the package
    checked = anyvenv("check", moved)
    assert checked.returncode == 1 and "script-interpreter-foreign" in _codes(moved)
    assert anyvenv("repair", moved).returncode == 0
    demo_works(moved)


def test_other_python_names_in_bin_are_not_the_envs(tmp_path: Path) -> None:
    """A user's file called python2 and a dead link for another version: not this env's
    interpreter names, so no error, and repair replaces neither."""
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    (env / "bin" / "python2").write_text("my notes\n")
    (env / "bin" / "python3.9").symlink_to("/nonexistent/bin/python3.9")
    checked = anyvenv("check", env, "--json")
    assert checked.returncode == 0, checked.stdout
    assert "interpreter-stray" in _codes(env)
    assert anyvenv("repair", env).returncode == 0
    assert (env / "bin" / "python2").read_text() == "my notes\n"
    assert os.readlink(env / "bin" / "python3.9") == "/nonexistent/bin/python3.9"
    demo_works(env)


def test_a_copy_whose_record_names_scripts_by_absolute_path_is_repaired(tmp_path: Path) -> None:
    """Some installers write absolute paths in RECORD (where the env was made): the script
    is still this env's, so a copy's script is pointed at the copy's python."""
    made = env_with_demo(tmp_path / "made", base_python(), tmp_path / "wheels")
    (record,) = made.glob("lib/python3.*/site-packages/anyvenv_demo-1.0.dist-info/RECORD")
    text = record.read_text()
    assert f"../../../bin/{DEMO_SCRIPT}," in text
    record.write_text(text.replace("../../../bin/", f"{made}/bin/"))
    copy = tmp_path / "copy"
    shutil.copytree(made, copy, symlinks=True)
    assert anyvenv("repair", copy).returncode == 0
    assert (copy / "bin" / DEMO_SCRIPT).read_bytes().startswith(f"#!{copy}/bin/python".encode())
    demo_works(copy)


def test_a_bin_that_is_a_link_to_a_directory_is_fine(tmp_path: Path) -> None:
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    (env / "bin").rename(env / "realbin")
    (env / "bin").symlink_to("realbin")
    assert anyvenv("check", env).returncode == 0
    assert "bin-not-a-directory" not in _codes(env)


def test_repair_writes_nothing_through_a_link_that_leads_out_of_the_env(tmp_path: Path) -> None:
    """An env whose ``bin`` is a link to a directory outside it (another user's env on a
    share, made so that root's repair rewrites /usr/local/bin): repair refuses, and the
    files out there are as they were."""
    made = env_with_demo(tmp_path / "made", base_python(), tmp_path / "wheels")
    moved = tmp_path / "moved"
    shutil.copytree(made, moved, symlinks=True)
    outside = tmp_path / "sysbin"
    (moved / "bin").rename(outside)
    (moved / "bin").symlink_to(outside)
    before = {path.name: path.read_bytes() for path in outside.iterdir() if path.is_file()}
    assert f"#!{made}/bin/python".encode() in before[DEMO_SCRIPT]  # one repair would rewrite
    repaired = anyvenv("repair", moved)
    assert repaired.returncode == 1, repaired.stderr
    assert f"{moved}/bin leads out of the environment" in one_line_error(repaired)
    assert sorted(path.name for path in outside.iterdir()) == sorted(before)
    assert {name: (outside / name).read_bytes() for name in before} == before
    # with nothing to fix in it, such an env is left as it is, as check finds it usable
    made_bin = tmp_path / "made-bin"
    (made / "bin").rename(made_bin)
    (made / "bin").symlink_to(made_bin)
    assert anyvenv("check", made).returncode == 0
    left = anyvenv("repair", made)
    assert left.returncode == 0, left.stderr


@pytest.mark.parametrize("missing", ["activation scripts", "the interpreter"])
def test_no_fix_writes_through_a_bin_that_leads_out_of_the_env(
    tmp_path: Path, missing: str
) -> None:
    """An env with no console scripts whose ``bin`` is a link out: the activation scripts
    (missing there) or the interpreter it would place are written in ``bin`` itself, so
    repair refuses them too, and the directory out there stays as it was."""
    env = tmp_path / "env"
    assert anyvenv("venv", env, "--python", base_python()).returncode == 0
    outside = tmp_path / "sysbin"
    outside.mkdir()
    for entry in (env / "bin").iterdir():
        if entry.name.startswith("python"):
            shutil.copy(entry, outside / entry.name, follow_symlinks=False)
    if missing == "the interpreter":
        for name in ("activate", "activate.fish", "activate.csh"):
            shutil.copy(env / "bin" / name, outside / name)
        (outside / "python").unlink()
    shutil.rmtree(env / "bin")
    (env / "bin").symlink_to(outside)
    before = sorted(os.listdir(outside))
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 1, repaired.stdout + repaired.stderr
    assert f"{env}/bin leads out of the environment" in one_line_error(repaired)
    assert sorted(os.listdir(outside)) == before


def test_a_mode_shim_is_not_written_through_a_site_packages_that_leads_out(
    tmp_path: Path,
) -> None:
    """The site-packages the chmod shim would go into is a link out of the env: refused
    (the shim's fix names that directory itself, not a file in it)."""
    from anyvenv.errors import EnvironmentBroken
    from anyvenv.repair.apply import _refuse_links_out
    from anyvenv.repair.diagnose import Diagnosis
    from anyvenv.repair.fixes import Fix, FixKind, RepairPlan

    env = tmp_path / "env"
    (env / "lib" / "python3.12").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    site = env / "lib" / "python3.12" / "site-packages"
    site.symlink_to(outside)
    shim = Fix(FixKind.ADD_MODE_SHIM, site, "add the chmod shim")
    diagnosis = Diagnosis(env, None, "", None, False, None, [], None)
    plan = RepairPlan(diagnosis, [shim])
    with pytest.raises(EnvironmentBroken, match="site-packages leads out of the environment"):
        _refuse_links_out(plan)
    site.unlink()
    site.mkdir()
    _refuse_links_out(plan)  # (a directory of the env's own: nothing to refuse)


def test_a_path_in_other_tools_scripts_is_renamed_once() -> None:
    """Run again (a repair killed before bin/activate), or with the new path starting with the
    old one: the old path is renamed, the new one left as it is."""
    from anyvenv.repair.apply import _renamed_path

    assert _renamed_path(b'set "V=/a/m1"', b"/a/m1", b"/a/m1x") == b'set "V=/a/m1x"'
    assert _renamed_path(b'set "V=/a/m1x"', b"/a/m1", b"/a/m1x") is None
    assert _renamed_path(b'set "V=/a/envx"', b"/a/envx", b"/a/env") == b'set "V=/a/env"'
    assert _renamed_path(b"nothing here", b"/a/m1", b"/b") is None


def test_a_repair_killed_holding_its_lock_leaves_nothing_once_repaired_again(
    tmp_path: Path,
) -> None:
    """Killed after its last fix, before its lock was released: the next repair has nothing
    to fix, and clears the lock's files from the env all the same."""
    import subprocess
    import sys

    env = tmp_path / "env"
    assert anyvenv("venv", env, "--python", base_python()).returncode == 0
    minor = next(path.name for path in (env / "bin").glob("python3.*"))
    for name in ("python", "python3", minor):
        (env / "bin" / name).unlink()
        (env / "bin" / name).symlink_to("/nonexistent/python")
    src = Path(__file__).resolve().parent.parent / "src"
    killed = subprocess.run(
        [sys.executable, "-m", "anyvenv", "repair", str(env)],
        env={**os.environ, "PYTHONPATH": str(src), "ANYVENV_TEST_KILL_AT": f"repair:replaced:{minor}"},
        capture_output=True, text=True, start_new_session=True,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert (env / ".anyvenv-repair.lock").exists() or (env / ".anyvenv-repair.lock.flock").exists()
    again = anyvenv("repair", env)
    assert again.returncode == 0 and "nothing to repair" in again.stdout, again.stdout
    assert not [name for name in os.listdir(env) if name.startswith(".anyvenv-repair")]


def test_home_naming_another_build_of_the_version_is_found_and_repaired(tmp_path: Path) -> None:
    """pyvenv.cfg's home changed to another install of the same X.Y (Debian's 3.11 for pyenv's
    3.11 binary): the python starts, as the right version, but loads the other build's
    standard library, where socket and struct fail. check says so; repair puts home back where
    the base the config names is."""
    from support import BASE, DEBIAN_311

    if BASE == DEBIAN_311 or not DEBIAN_311.exists():
        pytest.skip("needs two builds of Python 3.11: pyenv's and Debian's")
    env = tmp_path / "env"
    assert anyvenv("venv", env, "--python", BASE).returncode == 0
    cfg = env / "pyvenv.cfg"
    cfg.write_text(
        "".join(
            f"home = {DEBIAN_311.parent}\n" if line.startswith("home =") else line
            for line in cfg.read_text().splitlines(keepends=True)
        )
    )
    checked = anyvenv("check", "--json", env)
    assert checked.returncode == 1, checked.stdout
    codes = {item["code"] for item in json.loads(checked.stdout)["findings"]}
    assert {"stdlib-other-build", "home-stale"} <= codes, codes
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"home = {BASE.parent}" in cfg.read_text()
    works = run([env / "bin" / "python", "-c", "import socket, struct, math"])
    assert works.returncode == 0, works.stderr
    assert anyvenv("check", env).returncode == 0


def test_home_naming_nothing_is_said_where_another_key_finds_the_base(tmp_path: Path) -> None:
    """A copied interpreter with base-executable set still starts when home names nothing, but
    python -m venv inside it (and uv) read home: a warning, and repair sets home."""
    env = tmp_path / "env"
    assert anyvenv("venv", env, "--python", base_python(), "--strategy", "copy").returncode == 0
    cfg = env / "pyvenv.cfg"
    text = cfg.read_text()
    cfg.write_text(
        "".join(
            "home = /nonexistent/bin\n" if line.startswith("home =") else line
            for line in text.splitlines(keepends=True)
        )
    )
    checked = anyvenv("check", "--json", env)
    report = json.loads(checked.stdout)
    assert [item["code"] for item in report["findings"]] == ["home-stale"], report
    assert report["usable"] is True and checked.returncode == 0
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert cfg.read_text() == text  # home as it was made


def test_a_pyvenv_cfg_of_bytes_site_cannot_read_is_rewritten(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 (and NUL) in pyvenv.cfg stop CPython's site with a fatal
    error: repair drops those lines and writes what the config must hold, rather than
    placing the interpreter again next to them and failing each time (blaming symlinks)."""
    env = tmp_path / "env"
    assert anyvenv("venv", env, "--python", base_python()).returncode == 0
    (env / "pyvenv.cfg").write_bytes(b"\xff\xfe\x00binary\n")
    dry = anyvenv("repair", "--dry-run", env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    text = (env / "pyvenv.cfg").read_text()
    assert "binary" not in text and "home = " in text and "version_info = 3.12." in text, text
    prefix = run([env / "bin" / "python", "-c", "import sys; print(sys.prefix)"])
    assert prefix.stdout.strip() == str(env), prefix.stderr
    assert anyvenv("check", env).returncode == 0


def test_a_moved_envs_activation_scripts_keep_the_users_additions(tmp_path: Path) -> None:
    """venv's own scripts, with a line the user added, name the new path after repair; the
    user's line stays, and no script of another shell is added."""
    import subprocess

    made = tmp_path / "made"
    assert run([base_python(), "-m", "venv", "--without-pip", made]).returncode == 0
    with (made / "bin" / "activate").open("a") as handle:
        handle.write("export MY_SETTING=42\n")
    names = sorted(os.listdir(made / "bin"))
    env = tmp_path / "moved"
    made.rename(env)
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert sorted(os.listdir(env / "bin")) == names
    shown = subprocess.run(
        ["bash", "-c", f'source "{env}/bin/activate" && echo "$VIRTUAL_ENV $MY_SETTING"'],
        capture_output=True, text=True,
    )  # fmt: skip
    assert shown.stdout == f"{env} 42\n", shown.stderr
    assert str(made) not in (env / "bin" / "activate.fish").read_text()


def test_a_users_own_file_without_exec_bits_in_bin_is_left_as_it_is(tmp_path: Path) -> None:
    """No package installed it: not executable may be on purpose. No finding, and repair does
    not chmod it."""
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    mine = env / "bin" / "helper.py"
    mine.write_text("#!/usr/bin/env python3\nprint('mine')\n")
    mine.chmod(0o644)
    assert _codes(env) == set()
    assert anyvenv("repair", env).returncode == 0
    assert mine.stat().st_mode & 0o777 == 0o644


def test_repair_run_as_root_leaves_the_files_it_writes_to_the_envs_owner(
    tmp_path: Path,
) -> None:
    """Not root's files in a user's env: what repair writes belongs to whom the env does."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to act on another user's env")
    env = tmp_path / "env"
    assert anyvenv("venv", env, "--python", base_python()).returncode == 0
    for root, dirs, files in os.walk(env):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), 1234, 1234)
    os.chown(env, 1234, 1234)
    shutil.rmtree(env / "bin")  # made again by repair: the directory too is the user's
    (env / "pyvenv.cfg").write_text((env / "pyvenv.cfg").read_text().replace("home =", "#"))
    repaired = anyvenv("repair", "--json", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    changed = [Path(change["path"]) for change in json.loads(repaired.stdout)["changes"]]
    assert changed and all(path.lstat().st_uid == 1234 for path in changed), changed
    assert (env / "bin").stat().st_uid == 1234


def test_scripts_on_a_noexec_mount_are_said_to_be_stopped_by_the_mount(tmp_path: Path) -> None:
    """Their exec bits are there: the message names noexec, not their mode; repair says it
    cannot make them executable there, and why."""
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    made = env_with_demo(tmp_path / "made", base_python(), tmp_path / "wheels")
    mount = tmp_path / "noexec"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=64m", "tmpfs", mount], check=True)
    try:
        env = mount / "env"
        copy_keeping_links(made, env)
        checked = anyvenv("check", "--json", env)
        messages = [item["message"] for item in json.loads(checked.stdout)["findings"]
                    if item["code"] == "script-not-executable"]  # fmt: skip
        assert messages and all("noexec" in text for text in messages), messages
        repaired = anyvenv("repair", env)
        assert repaired.returncode == 1
        assert "no file can be executable on this filesystem" in repaired.stdout, repaired.stdout
        # check's last line sends the user where it helps, not to that repair
        said = anyvenv("check", env)
        assert said.returncode == 1
        assert said.stdout.splitlines()[-1].startswith(
            "it cannot be repaired where it is: no file can be executable on this filesystem"
        ), said.stdout
        assert "fix it with: anyvenv repair" not in said.stdout
    finally:
        subprocess.run(["umount", mount], check=True)


def test_editable_installs_of_a_copied_project_name_the_copy(tmp_path: Path) -> None:
    """A project copied with its env: the copy's editable install (uv's .pth, its
    direct_url.json) named the original's source, so the copy imported the original's code
    while check said nothing. check says it; repair makes them name the copy's source, and
    leaves a path that only starts like the project's alone."""
    original = tmp_path / "ma"
    (original / "src" / "demo").mkdir(parents=True)
    (original / "src" / "demo" / "__init__.py").write_text("")
    (original / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1"\n')
    (tmp_path / "ma-other" / "lib").mkdir(parents=True)
    env = original / ".venv"
    uv_venv(env, base_python())
    site = next(env.glob("lib/python*/site-packages"))
    (site / "_demo.pth").write_text(f"{original}/src\n{tmp_path}/ma-other/lib\n")
    (site / "demo-0.1.dist-info").mkdir()
    direct_url = site / "demo-0.1.dist-info" / "direct_url.json"
    direct_url.write_text(json.dumps({"url": original.as_uri(), "dir_info": {"editable": True}}))
    before = fingerprint(original)
    copy = tmp_path / "mb"
    shutil.copytree(original, copy, symlinks=True)
    copied_env = copy / ".venv"
    assert "editable-stale" in _codes(copied_env)
    proc = anyvenv("repair", copied_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    copied_site = next(copied_env.glob("lib/python*/site-packages"))
    assert (copied_site / "_demo.pth").read_text() == f"{copy}/src\n{tmp_path}/ma-other/lib\n"
    url = json.loads((copied_site / "demo-0.1.dist-info" / "direct_url.json").read_text())["url"]
    assert url == copy.as_uri()
    imported = run([str(copied_env / "bin" / "python"), "-c", "import demo; print(demo.__file__)"])
    assert imported.stdout == f"{copy}/src/demo/__init__.py\n", imported.stderr
    assert "editable-stale" not in _codes(copied_env)
    assert fingerprint(original) == before
    # the env copied alone into another project (its own src/): whose code it means is
    # unclear, so it is not rewritten
    other = tmp_path / "other"
    (other / "src").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "0.1"\n')
    shutil.copytree(env, other / ".venv", symlinks=True)
    assert "editable-stale" not in _codes(other / ".venv")


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_repair_where_chmod_is_ignored_leaves_pip_able_to_install_scripts(
    target: Path, tmp_path: Path
) -> None:
    """An env python -m venv made where chmod is ignored: its bin/pip is 0644. repair makes
    the scripts executable and adds the chmod shim, so that what pip installs next runs too
    (it was 0644 again)."""
    from repair_support import demo_wheel

    env = target / "env"
    made = run([str(base_python()), "-m", "venv", str(env)])
    assert made.returncode == 0, made.stderr
    assert not os.access(env / "bin" / "pip", os.X_OK)
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.access(env / "bin" / "pip", os.X_OK)
    wheels = tmp_path / "wheels"
    demo_wheel(wheels)
    pip = [env / "bin" / "pip", "install", "-q", "--no-index", "--find-links", wheels]
    installed = run([*pip, "anyvenv-demo"])
    assert installed.returncode == 0, installed.stderr
    demo_works(env)


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-ignored"])
def test_the_chmod_shim_is_planned_once_where_both_its_reasons_hold(target: Path) -> None:
    """Where chmod is ignored, the shim is wanted twice over: scripts without their exec bits
    are written anew (what pip installs next must run too), and the env gets what pip needs
    whatever is mended. The plan (and what repair says it will do) names it once."""
    from anyvenv.repair.apply import apply_plan
    from anyvenv.repair.diagnose import check
    from anyvenv.repair.fixes import FixKind, plan_repair

    env = target / "env"
    made = run([str(base_python()), "-m", "venv", str(env)])  # (its bin/pip is 0644)
    assert made.returncode == 0, made.stderr
    tool = env / "bin" / "pip"
    assert not os.access(tool, os.X_OK)
    plan = plan_repair(check(env))
    assert FixKind.MAKE_EXECUTABLE in [fix.kind for fix in plan.fixes]
    shims = [fix for fix in plan.fixes if fix.kind is FixKind.ADD_MODE_SHIM]
    assert len(shims) == 1, plan.fixes
    said = anyvenv("repair", env, "--dry-run")
    assert said.returncode == 0, said.stdout + said.stderr
    assert (said.stdout + said.stderr).count("chmod shim") == 1, said.stdout + said.stderr
    changes = apply_plan(plan)
    assert [change.action for change in changes if "chmod shim" in change.detail] == ["created"]
    assert os.access(tool, os.X_OK)


def test_a_repair_waiting_for_the_envs_lock_says_so(tmp_path: Path) -> None:
    """As venv and sync: a repair that waits for another process's hold on the env tells
    what it waits for, once."""
    from anyvenv.fs import env_lock_path
    from support import run_while_locked, waits_told

    env = tmp_path / "env"
    uv_venv(env, base_python())
    (env / "bin" / "activate").unlink()  # something to repair
    proc = run_while_locked(env_lock_path(str(env)), ["repair", str(env)])
    assert proc.returncode == 0, proc.stderr
    told = waits_told(proc.stderr)
    assert len(told) == 1 and env_lock_path(str(env)) in told[0], proc.stderr
    assert (env / "bin" / "activate").is_file()


def test_a_script_naming_a_python_the_env_lacks_is_given_its_python(tmp_path: Path) -> None:
    """A script left by a move names <old env>/bin/python3.9, a name this 3.12 env does not
    have: repair points it at the env's bin/python, not at a bin/python3.9 that is not there."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    script = env / "bin" / "tool"
    script.write_text(
        f"#!{tmp_path / 'old' / 'bin' / 'python3.9'}\nimport sys\nprint(sys.prefix)\n"
    )
    script.chmod(0o755)
    assert "script-interpreter-missing" in _codes(env)
    proc = anyvenv("repair", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert script.read_text().splitlines()[0] == f"#!{env}/bin/python"
    assert run([script]).stdout.strip() == str(env)


def test_what_an_interpreter_was_is_said_as_found_a_hard_link_as_one(tmp_path: Path) -> None:
    """The change list says what each replaced interpreter was: a hard link to the base is
    not "a copy"."""
    env = tmp_path / "env"
    made = anyvenv("venv", str(env), "-q", "--strategy", "hardlink", "-p", base_python())
    assert made.returncode == 0, made.stderr
    (env / "bin" / "python3").unlink()
    fixed = anyvenv("repair", str(env), "--json")
    assert fixed.returncode == 0, fixed.stderr
    details = {
        Path(change["path"]).name: change["detail"]
        for change in json.loads(fixed.stdout)["changes"]
        if change["action"] == "replaced"
    }
    assert details["python"].startswith("was a hard link, now placed by "), details
    copied = tmp_path / "copied"  # and a copy as a copy
    made = anyvenv("venv", str(copied), "-q", "--strategy", "copy", "-p", base_python())
    assert made.returncode == 0, made.stderr
    (copied / "bin" / "python3").unlink()
    fixed = anyvenv("repair", str(copied), "--json")
    assert fixed.returncode == 0, fixed.stderr
    said = [c["detail"] for c in json.loads(fixed.stdout)["changes"]
            if c["action"] == "replaced" and c["path"].endswith("/bin/python")]  # fmt: skip
    assert said and said[0].startswith("was a copy, now placed by "), said


@pytest.mark.parametrize("lab_kind", ["smb"])
def test_a_repair_stopped_by_a_file_in_use_names_what_holds_it(target: Path) -> None:
    """SMB will not replace a file a program holds open (EBUSY): a repair that must place
    the interpreter again while a program holds it open stops in one line that names the
    file it was replacing (not its staging copy) and the program, and says to end it; once
    the program ends the repair is done."""
    import subprocess
    import sys

    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    python = env / "bin" / "python"
    python.unlink()
    python.write_bytes(b"not a program\n")  # (mode: the share's, executable)
    holding = "import sys; handle = open(sys.argv[1], 'rb'); sys.stdin.readline()"
    running = subprocess.Popen([sys.executable, "-c", holding, python], stdin=subprocess.PIPE)
    try:
        stopped = anyvenv("repair", env)
        assert stopped.returncode == 1
        said = one_line_error(stopped)
        assert f"repair of {env} stopped: Device or resource busy ({python})" in said, said
        assert f"(process {running.pid}) runs from the environment or holds" in said, said
        assert "end what runs from it, then run the command again; files changed so far" in said
    finally:
        assert running.stdin is not None
        running.stdin.close()
        running.wait()
    done = anyvenv("repair", env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert anyvenv("check", env).returncode == 0
    assert not [name for name in os.listdir(env / "bin") if name.startswith(".")]


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_a_repair_stopped_by_a_file_size_limit_says_which_limit(target: Path) -> None:
    """``ulimit -f`` of 1 MB lets a repair start but not copy an interpreter of some MB
    (no links here: a copy is placed): the line says the limit stopped it (EFBIG), not just
    "File too large"; once the limit is gone the repair is done."""
    import resource
    import subprocess
    import sys

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    env = target / "env"
    made = anyvenv("venv", env, "--python", "/usr/bin/python3")
    assert made.returncode == 0, made.stderr
    assert (env / "bin" / "python").stat().st_size > 1 << 20
    python = env / "bin" / "python"
    python.unlink()
    python.write_bytes(b"not a program\n")
    src = Path(__file__).resolve().parent.parent / "src"
    stopped = subprocess.run(
        [sys.executable, "-m", "anyvenv", "repair", str(env)], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1"),
        stdin=subprocess.DEVNULL, preexec_fn=limited,
    )  # fmt: skip
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    said = one_line_error(stopped)
    assert f"anyvenv: error: repair of {env} stopped: File too large ({env}/bin/python);" in said
    assert said.endswith(
        "; the file is larger than this process may write (ulimit -f) or than that filesystem "
        "takes (FAT: 4 GiB): raise the limit, or use another filesystem; files changed so far "
        "are complete; run 'anyvenv check' to see what is left"
    ), said
    assert not [name for name in os.listdir(env) if ".anyvenv-" in name]  # (no staging left)
    done = anyvenv("repair", env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert anyvenv("check", env).returncode == 0


@pytest.mark.parametrize("maker", ["anyvenv", "uv", "venv"])
def test_a_moved_env_whose_path_holds_quotes_is_found_stale_and_mended(
    tmp_path: Path, maker: str
) -> None:
    """Each tool quotes a path with a ``'`` its own way (``'\\''``, ``'"'"'``, ``"…"``): the
    activation script is still read as naming the old place, so check warns and repair
    rewrites it (it was taken for naming none: "usable", and activating ran another python)."""
    name = "it's" if maker == "venv" else 'it\'s "q" $x'  # (venv writes a " as it is)
    env, moved = tmp_path / name / "env", tmp_path / f"{name} moved" / "env"
    base = base_python()
    if maker == "anyvenv":
        assert anyvenv("venv", "-q", "-p", base, env).returncode == 0
    elif maker == "uv":
        uv_venv(env, base)
    else:
        assert run([str(base), "-m", "venv", "--without-pip", str(env)]).returncode == 0
    moved.parent.mkdir()
    move_env(env, moved)
    assert "activation-stale" in _codes(moved)
    repaired = anyvenv("repair", moved)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    activated = run(["bash", "-c", '. "$1/bin/activate" && command -v python', "_", str(moved)])
    assert activated.stdout == f"{moved}/bin/python\n", activated.stderr
    assert "activation-stale" not in _codes(moved)


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (['if [ "${OSTYPE:-}" = "cygwin" ]; then', '    export VIRTUAL_ENV=$(cygpath "/a b")',
          "else", '    export VIRTUAL_ENV="/a b"', "fi"], "/a b"),  # venv 3.12's
        (["VIRTUAL_ENV='/a b' # the env"], "/a b"),  # a comment after the word
        (['VIRTUAL_ENV="$(cd "$(dirname "${BASH_SOURCE[0]}")"/.. && pwd)"'], None),
        (['VIRTUAL_ENV="$HOME/env"'], None),  # relocatable, or not a path: names none
    ],
)  # fmt: skip
def test_the_dir_an_activation_script_names_is_read_as_the_shell_reads_it(
    tmp_path: Path, lines: list[str], named: str | None
) -> None:
    from anyvenv.repair.activation import activated_dir

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "activate").write_text("\n".join(["deactivate nondestructive", *lines, ""]))
    assert activated_dir(tmp_path) == named


def test_an_empty_activation_script_written_since_the_diagnosis_is_left_as_it_is(
    tmp_path: Path,
) -> None:
    """The plan names the activation scripts that were empty when the env was looked at; one
    the user (or the tool that was interrupted) has written since is theirs now: repair
    writes only those still empty, never over what is there."""
    from anyvenv.repair.apply import apply_plan
    from anyvenv.repair.diagnose import check
    from anyvenv.repair.fixes import plan_repair

    env = tmp_path / "env"
    uv_venv(env, base_python())
    for name in ("activate", "activate.fish"):
        (env / "bin" / name).write_bytes(b"")
    plan = plan_repair(check(env))
    [fix] = [fix for fix in plan.fixes if "empty" in fix.details]
    assert fix.details["empty"].split("\n") == ["activate", "activate.fish"]
    mine = b"# written by hand after the check\nset -gx VIRTUAL_ENV /somewhere/else\n"
    (env / "bin" / "activate.fish").write_bytes(mine)
    changes = apply_plan(plan)
    assert [change.path.name for change in changes] == ["activate"]
    assert (env / "bin" / "activate.fish").read_bytes() == mine
    assert str(env) in (env / "bin" / "activate").read_text()


def test_empty_activation_scripts_are_found_and_written_again(tmp_path: Path) -> None:
    """Activation scripts a crash emptied (0 bytes): check only asked whether bin/activate
    exists, so activating did nothing and nothing said why. check names them; repair writes
    them again (anyvenv's own, for the env where it is), and leaves the others as they are."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    for name in ("activate", "activate.fish", "activate_this.py"):
        (env / "bin" / name).unlink()
        (env / "bin" / name).write_bytes(b"")
    kept = (env / "bin" / "activate.csh").read_bytes()
    checked = json.loads(anyvenv("check", env, "--json").stdout)
    found = [item for item in checked["findings"] if item["code"] == "activation-empty"]
    assert len(found) == 1, checked["findings"]
    assert found[0]["evidence"]["scripts"].split("\n") == [
        "activate",
        "activate.fish",
        "activate_this.py",
    ]
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "activation-empty" not in _codes(env)
    activated = run(["bash", "-c", f". {env / 'bin/activate'} && echo $VIRTUAL_ENV"])
    assert activated.stdout.strip() == str(env), activated.stderr
    this = run(
        [
            env / "bin" / "python",
            "-c",
            f"exec(open({str(env / 'bin/activate_this.py')!r}).read()); import sys; print(sys.prefix)",
        ]
    )
    assert this.stdout.strip() == str(env), this.stderr
    assert (env / "bin" / "activate.fish").stat().st_size > 0
    assert (env / "bin" / "activate.csh").read_bytes() == kept


def test_virtualenvs_base_keys_take_the_new_bases_prefix_and_exec_prefix_each() -> None:
    """base-prefix from the base's prefix, base-exec-prefix from its exec_prefix (they differ
    where Python was built with --exec-prefix); keys the config lacks are not added."""
    from anyvenv.interpreter.query import query_interpreter
    from anyvenv.record import replace
    from anyvenv.repair.fixes import _base_prefixes

    info = replace(query_interpreter(str(base_python())), exec_prefix="/opt/exec")
    cfg = {"base-prefix": "/gone", "base-exec-prefix": "/gone", "home": "/gone/bin"}
    assert _base_prefixes(cfg, info) == {
        "base-prefix": info.prefix,
        "base-exec-prefix": "/opt/exec",
    }
    assert _base_prefixes({"home": "/gone/bin"}, info) == {}
