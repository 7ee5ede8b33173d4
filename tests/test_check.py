"""``anyvenv check``: usable or not, and why; bad paths give one line and a defined exit."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from repair_support import (
    DEMO_EXTRA,
    DEMO_MODULE,
    DEMO_SCRIPT,
    anyvenv,
    base_python,
    demo_wheel,
    disposable_base,
    env_with_demo,
    fingerprint,
    run,
    uv_bin,
    uv_venv,
)
from standalone_build import StandaloneArchive, standalone

from anyvenv.errors import UsageError
from anyvenv.repair.diagnose import check
from anyvenv.repair.findings import Code, Finding, Severity
from lab import ALL_KINDS, Lab

__all__ = ["standalone"]  # (a fixture)


def _json(proc: object) -> dict[str, object]:
    stdout = getattr(proc, "stdout", "")
    data: dict[str, object] = json.loads(stdout)
    return data


def test_healthy_uv_env_is_usable(tmp_path: Path) -> None:
    env = tmp_path / ".venv"
    uv_venv(env, base_python())
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0, proc.stderr
    data = _json(proc)
    assert data["usable"] is True and data["findings"] == []
    assert str(data["made_by"]).startswith("uv ")
    text = anyvenv("check", env)
    assert text.returncode == 0 and ": usable (made by uv" in text.stdout


def test_default_env_is_dot_venv(tmp_path: Path) -> None:
    uv_venv(tmp_path / ".venv", base_python())
    src = Path(__file__).resolve().parent.parent / "src"
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "anyvenv", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(src)),
    )
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / ".venv") in proc.stdout


@pytest.mark.parametrize("how", ["uv", "venv-copies"])
def test_dangling_base_is_reported(tmp_path: Path, how: str) -> None:
    """An env whose base interpreter (a copy of a pyenv install) was removed."""
    base = disposable_base(tmp_path / "base")
    env = tmp_path / "env"
    if how == "uv":
        uv_venv(env, base)
    else:
        made = run([base, "-m", "venv", "--copies", "--without-pip", env])
        assert made.returncode == 0, made.stderr
    assert anyvenv("check", env).returncode == 0
    shutil.rmtree(tmp_path / "base")

    before = fingerprint(env)
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 1
    findings = {f["code"]: f for f in _json(proc)["findings"]}  # type: ignore[union-attr]
    assert "home-missing" in findings
    assert findings["home-missing"]["evidence"]["home"] == str(tmp_path / "base" / "bin")
    if how == "uv":  # the links to the base now dangle
        assert "interpreter-link-dangling" in findings
    # with --copies the copy may still start, on the standard library of the prefix it was
    # built for: home-missing is what says the env lost its base
    assert fingerprint(env) == before  # check changes nothing


def _garbage_env(root: Path) -> Path:
    env = root / "garbage"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_bytes(bytes(range(256)) * 4)
    return env


BAD_PATHS = {
    "missing": (lambda root: root / "does-not-exist", "does not exist"),
    "empty-dir": (lambda root: (root / "empty").mkdir() or root / "empty", "has no pyvenv.cfg"),
    "file": (
        lambda root: (root / "file").write_text("hello\n") and root / "file",
        "is a file, not an environment directory",
    ),
    "conda": (  # (conda-meta/ and bin/python: a conda env, no venv)
        lambda root: _conda_shaped(root / "conda"),
        "is a conda environment (conda-meta/), not a virtual environment: anyvenv does not "
        "manage conda environments",
    ),
}


def _conda_shaped(env: Path) -> Path:
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("")
    (env / "bin").mkdir()
    (env / "bin" / "python").symlink_to(base_python())
    return env


@pytest.mark.parametrize("command", [["check"], ["repair"], ["repair", "--dry-run"]])
@pytest.mark.parametrize("kind", sorted(BAD_PATHS))
def test_not_an_environment_is_a_usage_error(tmp_path: Path, kind: str, command: list[str]) -> None:
    make, message = BAD_PATHS[kind]
    path = make(tmp_path)
    before = fingerprint(tmp_path)
    proc = anyvenv(*command, path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anyvenv: error: ")
    assert message in lines[0]
    assert fingerprint(tmp_path) == before


def test_a_config_without_home_is_mended_when_the_rest_says_the_python(
    tmp_path: Path,
) -> None:
    """No ``home`` line, but ``executable`` and the version are there (and lib/python3.12):
    repair writes ``home`` back, keeping the packages, instead of sending the user to
    recreate the env; a binary pyvenv.cfg's "keys" are not printed raw."""
    env = tmp_path / "env"
    run([os.fspath(base_python()), "-m", "venv", "--without-pip", os.fspath(env)])
    cfg = env / "pyvenv.cfg"
    lines = cfg.read_text().splitlines(True)
    cfg.write_text("".join(line for line in lines if not line.startswith("home")))
    cfg.chmod(0o640)  # (the user's choice: kept by the rewrite)
    checked = anyvenv("check", env)
    assert checked.returncode == 1 and "config-no-home" in checked.stdout
    assert "fix it with: anyvenv repair" in checked.stdout
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"home = {base_python().parent}" in cfg.read_text()
    assert cfg.stat().st_mode & 0o777 == 0o640
    assert anyvenv("check", env).returncode == 0
    # uv writes no executable =: with no 3.12 on PATH, the env's own python link says it
    uv_env = tmp_path / "uv-env"
    uv_venv(uv_env, base_python())
    uv_cfg = uv_env / "pyvenv.cfg"
    kept = [line for line in uv_cfg.read_text().splitlines(True) if not line.startswith("home")]
    uv_cfg.write_text("".join(kept))
    linked = anyvenv("repair", uv_env, path="/usr/bin:/bin")
    assert linked.returncode == 0, linked.stdout + linked.stderr
    assert f"home = {Path(os.path.realpath(base_python())).parent}" in uv_cfg.read_text()
    # a link to another minor's Python (3.11 for this 3.12 env) does not say the base: a
    # 3.12 is looked up instead
    uv_cfg.write_text("".join(kept))
    for name in ("python", "python3", "python3.12"):
        (uv_env / "bin" / name).unlink()
    (uv_env / "bin" / "python").symlink_to(base_python("3.11"))
    relinked = anyvenv("repair", uv_env, path=f"{base_python().parent}:/usr/bin:/bin")
    assert relinked.returncode == 0, relinked.stdout + relinked.stderr
    assert "version = 3.12." in uv_cfg.read_text() or "version_info = 3.12." in uv_cfg.read_text()
    home = next(line for line in uv_cfg.read_text().splitlines() if line.startswith("home"))
    assert "3.11" not in home, home
    assert (
        run(
            [uv_env / "bin" / "python", "-c", "import sys; print(sys.version_info[:2])"]
        ).stdout.strip()
        == "(3, 12)"
    )
    cfg.write_bytes(b"\x1b[31mred\x00 = x\n")
    shown = anyvenv("check", env).stdout
    assert "\x1b" not in shown and "'\\x1b[31mred\\x00'" in shown


def test_garbage_config_is_reported_and_never_repaired(tmp_path: Path) -> None:
    env = _garbage_env(tmp_path)
    before = fingerprint(tmp_path)
    checked = anyvenv("check", env)
    assert checked.returncode == 1
    assert "config-no-home" in checked.stdout and "no 'home' line" in checked.stdout
    for args in (["repair"], ["repair", "--dry-run"], ["repair", "--json"]):
        proc = anyvenv(*args, env)
        assert proc.returncode == 1
        line = proc.stderr.strip()
        assert "\n" not in line and line.startswith("anyvenv: error: cannot repair")
        assert "Traceback" not in proc.stderr
    assert fingerprint(tmp_path) == before


def test_pointer_file_names_the_environment(tmp_path: Path) -> None:
    env = tmp_path / "real-env"
    uv_venv(env, base_python())
    pointer = tmp_path / ".venv"
    forms = (f"{env}\n", "real-env\n", f"anyvenv-pointer = 1\nenv = {env}\nreason = x\n")
    for form in forms:  # uv's (absolute, relative), an earlier anyvenv's
        pointer.write_text(form)
        with pytest.raises(UsageError) as raised:
            check(pointer)
        assert f"it names the environment {env}" in raised.value.one_line(), form


def test_unreadable_config_is_a_finding(tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "pyvenv.cfg").mkdir(parents=True)  # reading it fails with EISDIR
    diagnosis = check(env)
    assert not diagnosis.usable
    finding = diagnosis.findings[0]
    assert finding.code is Code.CONFIG_UNREADABLE and finding.evidence["errno"] == "EISDIR"


def test_version_mismatch_between_config_and_interpreter(tmp_path: Path) -> None:
    env = tmp_path / "env"
    uv_venv(env, base_python())
    cfg = env / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace("version_info = 3.12.", "version_info = 3.12.99#"))
    diagnosis = check(env)
    mismatch = [f for f in diagnosis.findings if f.code is Code.VERSION_MISMATCH]
    assert mismatch and mismatch[0].severity is Severity.WARNING  # same 3.12: still usable
    assert mismatch[0].evidence["config"] == "3.12.99"
    assert diagnosis.usable
    # another minor in the config, but the interpreter and lib/python3.12 agree: the config
    # is what is wrong (the env works), and repair mends the config, not the interpreter
    cfg.write_text(cfg.read_text().replace("version_info = 3.12.99", "version_info = 3.11.99"))
    diagnosis = check(env)
    assert diagnosis.usable
    (wrong,) = [f for f in diagnosis.findings if f.code is Code.VERSION_MISMATCH]
    assert wrong.severity is Severity.WARNING and "lib/python3.12" in wrong.message
    python_before = os.readlink(env / "bin" / "python")
    assert anyvenv("repair", str(env)).returncode == 0
    assert "version_info = 3.12." in cfg.read_text()
    assert os.readlink(env / "bin" / "python") == python_before
    assert check(env).findings == []
    # the packages are for another minor than the interpreter: they are not seen
    (env / "lib" / "python3.12").rename(env / "lib" / "python3.11")
    cfg.write_text(cfg.read_text().replace("version_info = 3.12.", "version_info = 3.11."))
    diagnosis = check(env)
    assert not diagnosis.usable
    assert any(
        f.code is Code.VERSION_MISMATCH and f.severity is Severity.ERROR for f in diagnosis.findings
    )


def test_packages_for_another_minor_than_config_and_interpreter_agree_on(
    tmp_path: Path,
) -> None:
    """pyvenv.cfg and bin/python both say 3.11 (a relink, a hand edit), but the packages are
    in lib/python3.12 alone: not seen, so not usable; repair puts back a 3.12 interpreter and
    its config, and the package imports again."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    site = env / "lib" / "python3.12" / "site-packages"
    (site / "mypkg.py").write_text("VALUE = 12\n")
    other = Path("/usr/bin/python3.11")  # Debian's, linked statically: no libpython finding
    if not other.is_file():
        pytest.skip("needs Debian's /usr/bin/python3.11")
    for name in ("python", "python3", "python3.12"):
        (env / "bin" / name).unlink()
    (env / "bin" / "python").symlink_to(other)
    (env / "bin" / "python3").symlink_to("python")
    cfg = env / "pyvenv.cfg"  # (its home still names the 3.12 base, which is there)
    lines = [line for line in cfg.read_text().splitlines() if not line.startswith("version")]
    cfg.write_text("\n".join(["version_info = 3.11.9", *lines]) + "\n")
    diagnosis = check(env)
    assert not diagnosis.usable
    errors = [f for f in diagnosis.findings if f.severity is Severity.ERROR]
    assert [f.code for f in errors] == [Code.VERSION_MISMATCH], errors
    assert "the packages are in lib/python3.12" in errors[0].message
    repaired = anyvenv("repair", str(env))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert check(env).usable
    ran = run(
        [
            str(env / "bin" / "python"),
            "-c",
            "import sys, mypkg; print(sys.version_info[:2], mypkg.VALUE)",
        ]
    )
    assert ran.stdout.strip() == "(3, 12) 12", ran.stdout + ran.stderr


def test_packages_of_a_free_threaded_build_under_a_default_build_are_not_seen(
    tmp_path: Path,
) -> None:
    """The packages are in lib/python3.13t (a free-threaded build's), and the config and
    bin/python name a default 3.13, which reads lib/python3.13: not usable, each said; repair
    wants a 3.13t (none here) and changes nothing rather than relink the same default build."""
    env = tmp_path / "env"
    uv_venv(env, base_python("3.13"))
    (env / "lib" / "python3.13").rename(env / "lib" / "python3.13t")
    (env / "lib" / "python3.13t" / "site-packages" / "mypkg.py").write_text("VALUE = 13\n")
    diagnosis = check(env)
    assert not diagnosis.usable and diagnosis.free_threaded
    errors = {f.code: f.message for f in diagnosis.findings if f.severity is Severity.ERROR}
    assert (
        "a default build (not free-threaded) that reads lib/python3.13, but the packages "
        "are in lib/python3.13t" in errors[Code.VERSION_MISMATCH]
    ), errors
    assert "not a free-threaded build" in errors[Code.BASE_DOES_NOT_RUN], errors
    before = fingerprint(env)
    repaired = anyvenv("repair", str(env), path=str(tmp_path))  # (no 3.13t on PATH either)
    assert repaired.returncode == 1, repaired.stdout + repaired.stderr
    assert "no Python matching '3.13t'" in repaired.stderr
    assert "anyvenv python install 3.13t" in repaired.stderr
    assert fingerprint(env) == before


def test_copied_interpreter_without_its_libpython(tmp_path: Path) -> None:
    """A copy of an executable that finds libpython via $ORIGIN, without the library."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    python = env / "bin" / "python"
    real = os.path.realpath(python)
    for name in ("python", "python3", "python3.12"):
        (env / "bin" / name).unlink()
    shutil.copy2(real, python)
    patched = run(["patchelf", "--set-rpath", "$ORIGIN/../lib", python])
    if patched.returncode != 0:
        pytest.skip(f"patchelf unavailable: {patched.stderr}")
    diagnosis = check(env)
    codes = {f.code for f in diagnosis.findings}
    assert Code.LIBPYTHON_UNRESOLVED in codes
    assert not diagnosis.usable


def test_unreadable_lib64_on_the_mount_is_named(tmp_path: Path, lab: object) -> None:
    from lab import Lab

    assert isinstance(lab, Lab)
    target = lab.target("faultfs:readlink-eacces")
    env = target / "env"
    uv_venv(env, base_python())
    diagnosis = check(env)
    lib64 = [f for f in diagnosis.findings if f.code is Code.LIB64_UNREADABLE]
    assert lib64 and lib64[0].evidence["readlink"] == "EACCES"
    unreadable = [f for f in diagnosis.findings if f.code is Code.INTERPRETER_LINK_UNREADABLE]
    assert {Path(f.path or "").name for f in unreadable} == {"python", "python3", "python3.12"}
    assert all(f.evidence.get("owner_uid") == "65534" for f in unreadable)
    assert "owned by nobody" in unreadable[0].message


@pytest.mark.parametrize("home_name", ["private/bin", "private"])
def test_a_base_this_user_cannot_enter_is_not_called_missing(
    nobody_scratch: Path, home_name: str
) -> None:
    """Run as another user, a base Python under a directory they cannot enter (or in one:
    ``home`` itself closed, its parents open) is there: the finding says it cannot be
    entered (EACCES), not that it no longer exists."""
    from support import one_line_error, run_cli_as_nobody

    top = nobody_scratch
    home = top / home_name
    (top / "private" / "bin").mkdir(parents=True)
    os.chmod(top / "private", 0o700)
    env = top / "env"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text(
        f"home = {home}\nversion_info = 3.11.7\ninclude-system-site-packages = false\n"
    )
    for path in (env, env / "bin"):
        os.chmod(path, 0o755)
    proc = run_cli_as_nobody("check", "--json", str(env))
    assert proc.returncode == 1, proc.stderr
    messages = [item["message"] for item in json.loads(proc.stdout)["findings"]]
    assert any("cannot be entered by this user" in text for text in messages), messages
    assert not any("no longer exists" in text for text in messages), messages
    # (not sent to repair, which would move the env onto another Python: it refuses)
    reason = (
        f"its base Python's directory {home} (pyvenv.cfg 'home'), which you "
        f"cannot reach (you may not enter {top / 'private'}, owned by root, mode 0700); ask "
        f"root to let you into {top / 'private'}"
    )
    told = run_cli_as_nobody("check", str(env))
    assert told.stdout.endswith(f"repair cannot mend it for you: {reason}\n"), told.stdout
    refused = run_cli_as_nobody("repair", "--dry-run", str(env))
    assert refused.returncode == 1, refused.stderr
    assert one_line_error(refused) == f"anyvenv: error: cannot repair {env}: {reason}"


def test_a_path_this_user_cannot_reach_is_not_called_missing(nobody_scratch: Path) -> None:
    """``check``, ``repair`` and ``probe`` of a path under a directory the user may not enter:
    said so (EACCES), not "does not exist"."""
    from support import one_line_error, run_cli_as_nobody

    top = nobody_scratch
    (top / "locked" / "inner").mkdir(parents=True)
    os.chmod(top / "locked", 0o700)
    for command in ("check", "repair", "probe"):
        proc = run_cli_as_nobody(command, str(top / "locked" / "inner"))
        assert proc.returncode == 2, (command, proc.stderr)
        said = one_line_error(proc)
        assert (
            f"cannot be reached: you may not enter {top / 'locked'} (owned by root, mode 0700; "
            "EACCES)" in said
        ), said
    missing = run_cli_as_nobody("check", str(top / "gone"))
    assert "gone does not exist" in one_line_error(missing)


def test_another_users_env_is_not_sent_to_a_repair_that_cannot_write(
    nobody_scratch: Path,
) -> None:
    """Checked by a user who may not write to it, a broken env's advice says so, and repair
    (dry run too) refuses in those words, changing nothing."""
    from support import run_cli_as_nobody

    top = nobody_scratch
    env = top / "env"
    made = anyvenv("venv", env, "--python", "/usr/bin/python3")
    assert made.returncode == 0, made.stderr
    working = os.readlink(env / "bin" / "python")
    (env / "bin" / "python").unlink()
    (env / "bin" / "python").symlink_to("/nonexistent/python3")
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    checked = run_cli_as_nobody("check", str(env))
    assert checked.returncode == 1, checked.stderr
    assert checked.stdout.splitlines()[-1] == (
        "it cannot be repaired where it is: you may not write to it; work as its owner, "
        f"then run: anyvenv repair {env}"
    ), checked.stdout
    for dry_run in ([], ["--dry-run"]):
        refused = run_cli_as_nobody("repair", str(env), *dry_run)
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr == (
            f"anyvenv: error: cannot repair {env}: you may not write to it; "
            "work as its owner, then run anyvenv repair again\n"
        )
    assert os.readlink(env / "bin" / "python") == "/nonexistent/python3"
    # only what repair leaves alone (a stray link): nothing to write, so no refusal
    (env / "bin" / "python").unlink()
    (env / "bin" / "python").symlink_to(working)
    (env / "bin" / "python3.99").symlink_to("/nonexistent/python3.99")
    for dry_run in ([], ["--dry-run"]):
        calm = run_cli_as_nobody("repair", str(env), *dry_run)
        assert calm.returncode == 0, calm.stderr
        assert "nothing repair can change" in calm.stdout, calm.stdout


def test_an_env_on_a_read_only_mount_is_sent_to_remount_first(tmp_path: Path) -> None:
    """A broken env seen through a read-only bind mount: check says it cannot be repaired
    there and what to do first; repair (dry run too) refuses in those words."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to make a read-only bind mount")
    backing, mounted = tmp_path / "backing", tmp_path / "ro"
    mounted.mkdir()
    made = anyvenv("venv", backing / "env", "--python", "/usr/bin/python3")
    assert made.returncode == 0, made.stderr
    (backing / "env" / "bin" / "python").unlink()
    (backing / "env" / "bin" / "python").symlink_to("/nonexistent/python3")
    subprocess.run(["mount", "--bind", str(backing), str(mounted)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)], check=True)
        env = mounted / "env"
        checked = anyvenv("check", env)
        assert checked.returncode == 1
        assert checked.stdout.splitlines()[-1] == (
            f"it cannot be repaired where it is: it is on a read-only mount ({mounted}); "
            f"remount it read-write, then run: anyvenv repair {env}"
        )
        for dry_run in ([], ["--dry-run"]):
            refused = anyvenv("repair", env, *dry_run)
            assert (refused.returncode, refused.stdout) == (1, "")
            assert refused.stderr == (
                f"anyvenv: error: cannot repair {env}: it is on a read-only mount ({mounted}); "
                "remount it read-write, then run anyvenv repair again\n"
            )
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
    assert os.readlink(backing / "env" / "bin" / "python") == "/nonexistent/python3"


def test_check_suggests_what_works_when_repair_would_refuse(tmp_path: Path) -> None:
    """A pyvenv.cfg with no home: repair refuses it, so check does not send the user there."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_bytes(b"\xff\xfe garbage\n")
    checked = anyvenv("check", env)
    assert checked.returncode == 1
    assert f"recreate it: anyvenv venv --clear {env}" in checked.stdout, checked.stdout
    assert "anyvenv repair" not in checked.stdout


def test_a_package_whose_install_stopped_half_way_is_reported(tmp_path: Path) -> None:
    """What uv leaves where chmod fails (a .dist-info with only its RECORD): check names the
    package and how to reinstall it; the rest of the env is still usable."""
    env = tmp_path / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    site = next((env / "lib").glob("python3.*/site-packages"))
    (site / "alpha-1.0.dist-info").mkdir()
    (site / "alpha-1.0.dist-info" / "RECORD").write_text("")
    diagnosis = check(env)
    found = [item for item in diagnosis.findings if item.code is Code.PACKAGE_INCOMPLETE]
    assert [item.evidence["package"] for item in found] == ["alpha"]
    assert f"'anyvenv pip install --python {env} --reinstall alpha'" in found[0].message
    assert diagnosis.usable
    (site / "beta-2.0.dist-info").mkdir()  # metadata, but no RECORD: uninstall cannot work
    (site / "beta-2.0.dist-info" / "METADATA").write_text("Name: beta\nVersion: 2.0\n")
    found = [item for item in check(env).findings if item.code is Code.PACKAGE_INCOMPLETE]
    assert [item.evidence["package"] for item in found] == ["alpha", "beta"]
    assert "has no RECORD: an uninstall cannot tell its files" in found[1].message
    # by name, the index's package of that name would come: the hint says so; one whose
    # dist-info names where it came from (a local path) is reinstalled from there
    assert "with its path or URL for the name if it is not from your index" in found[0].message
    (site / "gamma-0.1.dist-info").mkdir()
    (site / "gamma-0.1.dist-info" / "direct_url.json").write_text(
        '{"url": "file:///work/gamma pkg", "dir_info": {}}'
    )
    found = [item for item in check(env).findings if item.code is Code.PACKAGE_INCOMPLETE]
    assert "--reinstall 'gamma @ file:///work/gamma pkg''" in found[2].message
    assert "if it is not from your index" not in found[2].message


@pytest.mark.parametrize(
    ("lab_kind", "maker"), [("fat", "anyvenv"), ("faultfs:chmod-enosys", "uv")]
)
def test_where_chmod_fails_a_half_made_package_is_reinstalled_with_anyvenv_pip(
    target: Path, maker: str
) -> None:
    """Where chmod fails plain uv cannot install (ENOSYS): the hint names anyvenv's pip,
    which installs there through a shadow env, not a uv command that fails the same way (nor
    the env's pip, which an env made without --seed lacks); for an env uv made there too."""
    env = target / "env"
    if maker == "uv":
        uv_venv(env, base_python())
    else:
        made = anyvenv("venv", env, "--python", base_python())
        assert made.returncode == 0, made.stderr
    site = next((env / "lib").glob("python3.*/site-packages"))
    (site / "alpha-1.0.dist-info").mkdir()
    (site / "alpha-1.0.dist-info" / "RECORD").write_text("")
    found = [item for item in check(env).findings if item.code is Code.PACKAGE_INCOMPLETE]
    assert f"'anyvenv pip install --python {env} --reinstall alpha'" in found[0].message
    assert "'uv pip" not in found[0].message


@pytest.mark.parametrize("lab_kind", ["sshfs-noreadlink", "sshfs", "local"])
def test_another_tools_link_in_bin_that_cannot_be_followed_is_named(
    target: Path, lab_kind: str
) -> None:
    """A link another tool put in bin/ (nodeenv's ``node``): where it cannot be read (the
    sshfs of a VM's host folder: EACCES; the lab's sshfs refuses an absolute target: EPERM)
    or leads nowhere (a removed target), its command fails: a warning says so, and why. A
    link that works is not named; the env stays usable."""
    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    tool = env / "bin" / "tool"
    tool.symlink_to("/bin/true")
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0, proc.stderr
    found = [item for item in _json(proc)["findings"] if item["code"] == "bin-link-broken"]  # type: ignore[attr-defined]
    if lab_kind == "local":
        assert found == []
        tool.unlink()
        tool.symlink_to(target / "gone")
        found = [
            item for item in _json(anyvenv("check", env, "--json"))["findings"]  # type: ignore[attr-defined]
            if item["code"] == "bin-link-broken"
        ]  # fmt: skip
        assert [item["message"] for item in found] == [
            f"bin/tool points to {target / 'gone'}, which does not exist: running it fails"
        ]
        return
    assert len(found) == 1 and found[0]["severity"] == "warning"
    message = found[0]["message"]
    errno_name = {"sshfs-noreadlink": "EACCES", "sshfs": "EPERM"}[lab_kind]  # (absolute: refused)
    assert found[0]["evidence"] == {"readlink": errno_name}
    assert message.startswith(f"bin/tool is a symlink that cannot be read ({errno_name}): running")
    with pytest.raises(OSError):  # (what the finding says: the kernel cannot follow it)
        run([tool])


def _rewrite(path: Path, data: bytes) -> None:
    """A new file with ``data`` in the place of ``path`` (not written in place: uv hard-links
    what it installs from its cache, which would change too)."""
    path.unlink()
    path.write_bytes(data)


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    _rewrite(path, data[: len(data) // 2])


def _damaged(findings: list[dict[str, object]]) -> list[dict[str, object]]:
    return [item for item in findings if item["code"] == "package-files-damaged"]


def test_a_package_file_missing_or_cut_short_is_named_with_the_reinstall_that_mends_it(
    tmp_path: Path,
) -> None:
    """A file a package's RECORD lists that is gone or not the size recorded (a full disk, a
    killed copy, a mount that lost writes): the dist-info says it is installed, so nothing
    else tells. A warning names the files and the reinstall, which mends it."""
    wheels = tmp_path / "wheels"
    env = env_with_demo(tmp_path / "env", base_python(), wheels)
    assert _damaged(_json(anyvenv("check", env, "--json"))["findings"]) == []  # type: ignore[arg-type]
    site = next(env.glob("lib/python3.*/site-packages"))
    module = site / DEMO_MODULE / "__init__.py"
    size = module.stat().st_size
    _cut_short(module)
    (site / "anyvenv_demo_extra" / f"{DEMO_EXTRA}.py").unlink()
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0, proc.stderr  # (usable: the env is, one package is not)
    found = _damaged(_json(proc)["findings"])  # type: ignore[arg-type]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert found[0]["evidence"] == {
        "package": "anyvenv_demo",
        "files": f"{site.relative_to(env)}/{DEMO_MODULE}/__init__.py\n"
        f"{site.relative_to(env)}/anyvenv_demo_extra/{DEMO_EXTRA}.py",
    }
    message = str(found[0]["message"])
    assert message.startswith("2 files of anyvenv_demo are missing or not the size its RECORD")
    assert f": {DEMO_MODULE}/__init__.py ({size // 2} bytes, recorded {size})" in message
    assert f", anyvenv_demo_extra/{DEMO_EXTRA}.py (missing, recorded 11)" in message
    assert "'anyvenv sync --reinstall-package anyvenv_demo' in a project" in message
    command = f"anyvenv pip install --python {env} --reinstall anyvenv_demo"
    assert f"'{command}'" in message
    text = anyvenv("check", env)
    assert text.returncode == 0 and "package-files-damaged  2 files of anyvenv_demo" in text.stdout
    mended = anyvenv(*command.split()[1:], "--no-index", "--find-links", wheels)
    assert mended.returncode == 0, mended.stderr
    assert _damaged(_json(anyvenv("check", env, "--json"))["findings"]) == []  # type: ignore[arg-type]


def test_files_changed_on_purpose_are_not_taken_for_damage(tmp_path: Path) -> None:
    """Scripts in bin/ (shebangs rewritten for a moved env), the files of editable installs
    (rewritten by repair) and a file two packages list (the later install's bytes won) may
    differ from a RECORD: none is called damaged; rows without a size, or naming a path
    outside the env, are not compared."""
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    site = next(env.glob("lib/python3.*/site-packages"))
    script = next(path for path in (env / "bin").iterdir() if path.name == "demo-tool")
    _rewrite(script, script.read_bytes().replace(b"#!", b"#!/usr/bin/env -S ", 1))
    _rewrite(site / "anyvenv_demo.pth", b"anyvenv_demo_extra\n# moved\n")
    other = site / "other-2.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: other\nVersion: 2.0\n")
    module = f"{DEMO_MODULE}/__init__.py"
    size = (site / module).stat().st_size
    (site / "__editable___other_finder.py").write_text("MAPPING = {}\n")  # (written anew)
    (other / "direct_url.json").write_text('{"url": "file:///moved/other"}')
    (other / "RECORD").write_text(
        f"{module},sha256=x,{size + 5}\n"  # (its own, overwritten)
        "other/gone.py,,\n"  # no size: not compared
        f"{tmp_path / 'elsewhere.py'},sha256=x,10\n"  # outside the env
        "__editable___other_finder.py,sha256=x,999\n"  # rewritten by repair for a move
        "other-2.0.dist-info/direct_url.json,sha256=x,999\n"
        "other-2.0.dist-info/RECORD,,\n"
    )
    found = check(env).findings
    assert [item for item in found if item.code is Code.PACKAGE_FILES_DAMAGED] == []
    _rewrite(site / module, (site / module).read_bytes() + b"# 5\n\n")  # other's, 5 longer
    assert [item for item in check(env).findings if item.code is Code.PACKAGE_FILES_DAMAGED] == []
    _cut_short(site / module)  # neither package's size: both are named, the larger said
    named = [item for item in check(env).findings if item.code is Code.PACKAGE_FILES_DAMAGED]
    assert sorted(item.evidence["package"] for item in named) == ["anyvenv_demo", "other"]
    assert f": {module} ({(size + 5) // 2} bytes, recorded {size + 5})" in named[0].message


def test_a_dist_info_without_metadata_is_said_half_made_not_damaged(tmp_path: Path) -> None:
    """An install stopped before its METADATA: package-incomplete says so, with its fix;
    the files its RECORD lists are not compared too (one finding per fault)."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    site = next(env.glob("lib/python3.*/site-packages"))
    (site / "half-1.0.dist-info").mkdir()
    (site / "half-1.0.dist-info" / "RECORD").write_text("half/__init__.py,sha256=x,10\n")
    codes = [item.code for item in check(env).findings]
    assert codes == [Code.PACKAGE_INCOMPLETE]


def test_files_installed_as_links_are_compared_through_them(tmp_path: Path) -> None:
    """uv's ``--link-mode symlink`` leaves links into its cache: their targets' sizes are
    the files' (no finding); a target removed from the cache is a missing file."""
    wheels = tmp_path / "wheels"
    demo_wheel(wheels)
    env = tmp_path / "env"
    uv_venv(env, base_python())
    cache = tmp_path / "uv-cache"
    proc = run(
        [
            uv_bin(), "pip", "install", "--quiet", "--python", env / "bin" / "python",
            "--link-mode", "symlink", "--cache-dir", cache, "--no-index", "--find-links",
            wheels, "anyvenv-demo",
        ]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    site = next(env.glob("lib/python3.*/site-packages"))
    module = site / DEMO_MODULE / "__init__.py"
    assert module.is_symlink()
    assert _damaged(_json(anyvenv("check", env, "--json"))["findings"]) == []  # type: ignore[arg-type]
    module.resolve().unlink()
    found = _damaged(_json(anyvenv("check", env, "--json"))["findings"])  # type: ignore[arg-type]
    assert f": {DEMO_MODULE}/__init__.py (missing, recorded " in str(found[0]["message"])


@pytest.mark.parametrize("lab_kind", ["sshfs", "sshfs-noreadlink"])
def test_package_files_that_are_links_this_filesystem_will_not_read_are_damaged(
    target: Path, lab_kind: str, tmp_path: Path
) -> None:
    """uv's ``--link-mode symlink`` on sshfs leaves links into its cache that cannot be read
    (the lab's sshfs refuses an absolute target: EPERM; a server refusing readlink: EACCES):
    the package cannot be imported, though its target has the size recorded. check names
    its files as damaged, why, and the reinstall (with another link mode)."""
    wheels = tmp_path / "wheels"
    demo_wheel(wheels)
    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    installed = anyvenv(
        "pip", "install", "--python", env, "--no-index", "--find-links", wheels, "anyvenv-demo"
    )
    assert installed.returncode == 0, installed.stderr
    assert _damaged(_json(anyvenv("check", env, "--json"))["findings"]) == []  # type: ignore[arg-type]
    site = next(env.glob("lib/python3.*/site-packages"))
    module = site / DEMO_MODULE / "__init__.py"
    cached = tmp_path / "cache" / "__init__.py"  # (as uv's cache: on the local disk, whole)
    cached.parent.mkdir()
    cached.write_bytes(module.read_bytes())
    module.unlink()
    module.symlink_to(cached)
    with pytest.raises(OSError):  # (what the finding says: the file cannot be opened)
        module.read_bytes()
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0, proc.stderr  # (usable: the env is, one package is not)
    found = _damaged(_json(proc)["findings"])  # type: ignore[arg-type]
    assert [item["evidence"] for item in found] == [
        {"package": "anyvenv_demo", "files": f"{site.relative_to(env)}/{DEMO_MODULE}/__init__.py"}
    ]
    message = str(found[0]["message"])
    errno_name = {"sshfs-noreadlink": "EACCES", "sshfs": "EPERM"}[lab_kind]
    size = cached.stat().st_size
    assert f": {DEMO_MODULE}/__init__.py (a link that cannot be read, {errno_name}, " in message
    assert f"recorded {size})" in message
    assert "link mode symlink makes" in message and "with another link mode" in message
    assert "'anyvenv sync --reinstall-package anyvenv_demo' in a project" in message


def test_a_package_file_linked_past_a_directory_this_user_may_not_enter_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A link that reads, whose target lies past a directory this user may not enter
    (another user's uv cache: stat EACCES), is not called damaged: its owner imports it."""
    wheels = tmp_path / "wheels"
    env = env_with_demo(tmp_path / "env", base_python(), wheels)
    site = next(env.glob("lib/python3.*/site-packages"))
    module = site / DEMO_MODULE / "__init__.py"
    cached = tmp_path / "cache" / "__init__.py"
    cached.parent.mkdir()
    cached.write_bytes(module.read_bytes())
    module.unlink()
    module.symlink_to(cached)
    stat = os.stat

    def refused(path: str | os.PathLike[str], *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path) == os.fspath(module) and kwargs.get("follow_symlinks", True):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", refused)
    assert [item for item in check(env).findings if item.code is Code.PACKAGE_FILES_DAMAGED] == []


def test_a_package_file_past_a_directory_this_user_may_not_enter_is_left_out(
    nobody_scratch: Path,
) -> None:
    """A package's files in a directory another user closed (0700) cannot be looked at by
    this user: left out, not called damaged (nor a link that cannot be read: readlink of a
    path past a closed directory fails EACCES too, as the link mode symlink's on sshfs)."""
    from support import run_cli_as_nobody

    env = env_with_demo(nobody_scratch / "env", Path("/usr/bin/python3.11"), nobody_scratch)
    for path in [env, *env.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
    package = next(env.glob("lib/python3.*/site-packages")) / DEMO_MODULE
    os.chmod(package, 0o700)
    proc = run_cli_as_nobody("check", "--json", str(env))
    codes = [item["code"] for item in json.loads(proc.stdout)["findings"]]
    assert Code.PACKAGE_FILES_DAMAGED.value not in codes, proc.stdout


def _env_with_two_names_differing_in_case(env: Path, wheels: Path) -> Path:
    """An env made at ``env`` with a package (its wheel built in ``wheels``) listing
    ``Readme.py`` and ``README.py``; returns the directory of those two."""
    from wheels import build_wheel

    wheels.mkdir()
    build_wheel(
        wheels,
        "coll",
        modules={
            "coll/__init__.py": "",
            "coll/Readme.py": "# " + "x" * 50 + "\n",
            "coll/README.py": "#\n",
        },
    )
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    installed = anyvenv(
        "pip", "install", "--python", env, "--no-index", "--find-links", wheels, "coll"
    )
    assert installed.returncode == 0, installed.stderr
    return next(env.glob("lib/python3.*/site-packages")) / "coll"


@pytest.mark.parametrize("lab_kind", ["fat", "smb", "local"])
def test_two_names_of_a_package_that_differ_only_in_case(
    target: Path, lab_kind: str, tmp_path: Path
) -> None:
    """A wheel with ``Readme.py`` and ``README.py``: where case is not told apart they are
    one file, which has one of their sizes. Not damage a reinstall mends (it collides
    again): said as what it is. Where case is told apart, nothing is said."""
    env = target / "env"
    _env_with_two_names_differing_in_case(env, tmp_path / "wheels")
    collide = _collisions(env)
    if lab_kind == "local":
        assert collide == []
        return
    assert [item["evidence"]["package"] for item in collide] == ["coll"]
    message = collide[0]["message"]
    assert "coll has files whose names differ only in case (coll/" in message
    assert "no reinstall can place both" in message


def _collisions(env: Path) -> list[dict[str, object]]:
    """check's package-names-collide findings of ``env``, which has no damaged package."""
    findings = _json(anyvenv("check", env, "--json"))["findings"]
    assert isinstance(findings, list)
    assert _damaged(findings) == []
    return [item for item in findings if item["code"] == "package-names-collide"]


@pytest.mark.parametrize("lab_kind", ["fat", "smb", "local"])
def test_a_directory_another_package_made_in_another_case(
    target: Path, lab_kind: str, tmp_path: Path
) -> None:
    """eps has ``Shared/a.py``, zeta ``shared/b.py``: where case is not told apart, zeta's
    file lands in eps's ``Shared/``, where ``import shared.b`` finds nothing. Said, naming
    the spelling there and the package that made it; where case is told apart, nothing."""
    from wheels import build_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "eps", modules={"Shared/__init__.py": "", "Shared/a.py": "A = 1\n"})
    build_wheel(wheels, "zeta", modules={"shared/b.py": "B = 2\n"})
    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    for package in ("eps", "zeta"):  # (eps first: its spelling is the directory's)
        installed = anyvenv(
            "pip", "install", "--python", env, "--no-index", "--find-links", wheels, package
        )
        assert installed.returncode == 0, installed.stderr
    imported = subprocess.run([env / "bin" / "python", "-c", "import shared.b"])
    assert (imported.returncode == 0) == (lab_kind == "local")
    collide = _collisions(env)
    if lab_kind == "local":
        assert collide == []
        return
    assert [item["evidence"] for item in collide] == [
        {
            "package": "zeta",
            "directory": "shared",
            "there": "Shared",
            "files": "lib/python3.12/site-packages/shared/b.py",
        }
    ]
    assert str(collide[0]["message"]).startswith(
        "zeta's directory shared/ is Shared/ on this filesystem (eps's spelling), "
    )
    assert "does not find them as shared" in str(collide[0]["message"])


@pytest.mark.parametrize("lab_kind", ["fat"])
def test_a_data_file_outside_site_packages_is_no_spelling_of_a_directory_in_it(
    target: Path, tmp_path: Path
) -> None:
    """As above, and iota installs a data file whose path below the env, cut at the length of
    site-packages' own, would read ``Shared/x.dat`` (``share/<padding>/Shared/x.dat``): it is
    outside site-packages, so iota spells no directory there; zeta's finding names eps alone
    as the package whose spelling the directory has."""
    from wheels import build_wheel

    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    site = str(next(env.glob("lib/python3.*/site-packages")).relative_to(env)) + "/"
    padding = "p" * (len(site) - len("share//"))
    data = f"share/{padding}/Shared/x.dat"
    assert data[len(site) :] == "Shared/x.dat"
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels, "eps", modules={"Shared/__init__.py": "", "Shared/a.py": "A = 1\n"})
    build_wheel(wheels, "zeta", modules={"shared/b.py": "B = 2\n"})
    build_wheel(wheels, "iota", data_files={f"iota-1.0.data/data/{data}": b"data\n"})
    for package in ("eps", "zeta", "iota"):  # (eps first: its spelling is the directory's)
        installed = anyvenv(
            "pip", "install", "--python", env, "--no-index", "--find-links", wheels, package
        )
        assert installed.returncode == 0, installed.stderr
    assert (env / data).is_file()
    collide = _collisions(env)
    typed = _collisions(target / "ENV")  # (the env typed in another case: the same env)
    assert [(i["message"], i["evidence"]) for i in typed] == [
        (i["message"], i["evidence"]) for i in collide
    ]
    assert [item["evidence"] for item in collide] == [
        {
            "package": "zeta",
            "directory": "shared",
            "there": "Shared",
            "files": f"{site}shared/b.py",
        }
    ]
    assert str(collide[0]["message"]).startswith(
        "zeta's directory shared/ is Shared/ on this filesystem (eps's spelling), "
    ), collide[0]["message"]


@pytest.mark.parametrize("lab_kind", ["fat", "local"])
def test_files_and_scripts_of_two_packages_that_differ_only_in_case(
    target: Path, lab_kind: str, tmp_path: Path
) -> None:
    """alpha has ``Mod/__init__.py`` and the script ``bin/Tool``, beta ``mod/__init__.py``
    and ``bin/tool``: where case is not told apart each pair is one file. Each package's
    finding names the other's twin, scripts in bin/ too (not compared by size)."""
    from wheels import build_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name, module, script in (("alpha", "Mod", "Tool"), ("beta", "mod", "tool")):
        text = f"X = {name!r}\ndef main():\n    print(X)\n"
        modules = {f"{module}/__init__.py": text}
        build_wheel(wheels, name, modules=modules, console_scripts={script: f"{module}:main"})
    env = target / "env"
    made = anyvenv("venv", env, "--python", base_python())
    assert made.returncode == 0, made.stderr
    installed = anyvenv(
        "pip", "install", "--python", env, "--no-index", "--find-links", wheels, "alpha", "beta"
    )
    assert installed.returncode == 0, installed.stderr
    findings = _json(anyvenv("check", env, "--json"))["findings"]
    assert isinstance(findings, list)
    collide = [item for item in findings if item["code"] == "package-names-collide"]
    if lab_kind == "local":
        assert collide == []
        return
    site = "lib/python3.12/site-packages"
    assert [item["evidence"] for item in collide] == [
        {"package": "alpha", "files": f"{site}/Mod/__init__.py\nbin/Tool", "others": "beta"},
        {"package": "beta", "files": f"{site}/mod/__init__.py\nbin/tool", "others": "alpha"},
    ]
    assert "alpha has files whose names differ only in case (Mod/__init__.py and beta's " \
        "mod/__init__.py; bin/Tool and beta's bin/tool), one file on this filesystem" in str(
        collide[0]["message"]
    )  # fmt: skip


def test_names_differing_in_case_in_a_directory_not_listed_are_not_said_to_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the directory of two such names cannot be listed (EACCES), nothing tells they
    are one file: not said to collide (both are there, each of its size: nothing is said)."""
    env = tmp_path / "env"  # (on the local disk: case told apart)
    coll = _env_with_two_names_differing_in_case(env, tmp_path / "wheels")
    listdir = os.listdir

    def refused(path: str | os.PathLike[str] = ".") -> list[str]:
        if os.fspath(path) == os.fspath(coll):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return listdir(path)

    monkeypatch.setattr(os, "listdir", refused)
    codes = [item.code for item in check(env).findings]
    assert Code.PACKAGE_NAMES_COLLIDE not in codes and Code.PACKAGE_FILES_DAMAGED not in codes


def test_one_of_two_names_differing_in_case_removed_is_missing_not_a_collision(
    tmp_path: Path,
) -> None:
    """Where case is told apart, one of ``Readme.py`` and ``README.py`` gone is a file
    missing (a reinstall mends it), not two names that are one file."""
    env = tmp_path / "env"  # (on the local disk: case told apart)
    coll = _env_with_two_names_differing_in_case(env, tmp_path / "wheels")
    (coll / "Readme.py").unlink()
    findings = _json(anyvenv("check", env, "--json"))["findings"]
    assert isinstance(findings, list)
    assert [item for item in findings if item["code"] == "package-names-collide"] == []
    site = coll.parent
    assert [item["evidence"] for item in _damaged(findings)] == [
        {"package": "coll", "files": f"{site.relative_to(env)}/coll/Readme.py"}
    ]
    assert "coll/Readme.py (missing, recorded 53)" in str(_damaged(findings)[0]["message"])


def test_repair_reports_damaged_package_files_it_leaves_after_its_fixes(tmp_path: Path) -> None:
    """repair mends the interpreter, not a package's files: its report after the fixes still
    names them (from its first look: no fix touches them), and the env is usable."""
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    site = next(env.glob("lib/python3.*/site-packages"))
    _cut_short(site / DEMO_MODULE / "__init__.py")
    (env / "bin" / "python").unlink()
    proc = anyvenv("repair", env, "--json")
    assert proc.returncode == 0, proc.stderr
    report = _json(proc)
    assert report["usable_after"] is True and report["changes"]
    after = report["findings_after"]
    assert isinstance(after, list)
    assert [item["evidence"]["package"] for item in _damaged(after)] == ["anyvenv_demo"]


def test_a_pointer_to_a_gone_env_is_named_as_the_pointer(tmp_path: Path) -> None:
    """anyvenv's pointer file, its env removed: check and repair name the pointer and send
    the user to sync, rather than naming a path the user never typed."""
    from anyvenv.envbuild.pointerfile import write_pointer

    gone = tmp_path / "envs" / "demo-0123"
    pointer = tmp_path / ".venv"
    write_pointer(str(pointer), str(gone))
    for command in ("check", "repair"):
        proc = anyvenv(command, str(pointer))
        assert proc.returncode == 2
        said = proc.stderr.strip()
        assert said.startswith(f"anyvenv: error: {pointer} points to the environment {gone}")
        assert "anyvenv sync" in said and "\n" not in said
    assert pointer.is_file() and not gone.exists()


def test_a_base_upgraded_to_another_minor_is_said_so(tmp_path: Path) -> None:
    """The env's home now holds a python3 of another X.Y (upgraded in place): it runs, so
    "does not run" would be false; check says it is another version."""
    home = tmp_path / "base" / "bin"
    home.mkdir(parents=True)
    (home / "python3").symlink_to(base_python("3.12"))
    env = tmp_path / "env"
    uv_venv(env, home / "python3")
    (home / "python3").unlink()
    (home / "python3").symlink_to(base_python("3.11"))
    diagnosis = check(env)
    (finding,) = [f for f in diagnosis.findings if f.code is Code.BASE_DOES_NOT_RUN]
    assert "is now another version than the env's 3.12" in finding.message
    assert "is Python 3.11" in finding.message


def test_a_bin_that_is_a_file_is_refused_by_repair(tmp_path: Path) -> None:
    """Whatever the file is, it is not replaced: check names it, repair refuses in one line."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    shutil.rmtree(env / "bin")
    (env / "bin").write_text("x\n")
    checked = anyvenv("check", env)
    assert checked.returncode == 1 and "bin-not-a-directory" in checked.stdout
    assert "recreate it" in checked.stdout
    refused = anyvenv("repair", env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("anyvenv: error: cannot repair")
    assert "bin is not a directory" in refused.stderr and "Traceback" not in refused.stderr
    assert (env / "bin").read_text() == "x\n"


@pytest.mark.parametrize("locked", ["env", "bin"])
def test_an_env_this_user_cannot_read_is_said_so_not_missing_or_to_be_recreated(
    nobody_scratch: Path, locked: str
) -> None:
    """Another user's env made with umask 077: check and repair say it cannot be read, and
    by whom, instead of "no pyvenv.cfg" or "recreate it with venv --clear"."""
    from support import one_line_error, run_cli_as_nobody

    env = nobody_scratch / "env"
    made = anyvenv("venv", env, "--python", "/usr/bin/python3")
    assert made.returncode == 0, made.stderr
    os.chmod(env, 0o700 if locked == "env" else 0o755)
    os.chmod(env / "bin", 0o700)
    where = env if locked == "env" else env / "bin"
    for command in ("check", "repair"):
        proc = run_cli_as_nobody(command, str(env))
        assert proc.returncode == 1, (command, proc.stderr, proc.stdout)
        said = one_line_error(proc)
        assert f"cannot read {where}: you may not list or enter it (owned by root, mode 0700)" in (
            said
        ), said
        assert "recreate" not in proc.stdout + said and "no pyvenv.cfg" not in said


def test_a_pointer_written_by_hand_to_a_projects_own_env_is_followed(tmp_path: Path) -> None:
    """Only a pointer copied from a project whose env sync put elsewhere is refused; one a
    user wrote (outside any project, or in a subdirectory, to the project's own .venv) is
    followed, as uv follows it."""
    project = tmp_path / "proj"
    made = anyvenv("venv", project / ".venv", "--python", "/usr/bin/python3")
    assert made.returncode == 0, made.stderr
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\n')
    (tmp_path / "notproj").mkdir()
    (tmp_path / "notproj" / ".venv").write_text(f"{project / '.venv'}\n")
    (project / "sub").mkdir()
    (project / "sub" / ".venv").write_text("../.venv\n")
    for pointer in (tmp_path / "notproj" / ".venv", project / "sub" / ".venv"):
        proc = anyvenv("check", pointer)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"{project / '.venv'}: usable"), proc.stdout


def _not_executable(env: Path) -> None:
    for name in ("python", "python3", "python3.12"):
        (env / "bin" / name).chmod(0o644)


def _python_missing(env: Path) -> None:
    (env / "bin" / "python").unlink()  # (python3 and python3.12 still there and running)


def _a_wrapper_of_the_base(env: Path) -> None:
    base = base_python()
    for name in ("python", "python3", "python3.12"):
        (env / "bin" / name).unlink()
        (env / "bin" / name).write_text(f'#!/bin/sh\nexec {base} "$@"\n')
        (env / "bin" / name).chmod(0o755)


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (_not_executable, Code.INTERPRETER_NOT_EXECUTABLE),
        (_python_missing, Code.INTERPRETER_MISSING),
        (_a_wrapper_of_the_base, Code.INTERPRETER_NOT_IN_ENV),
    ],
)
def test_an_interpreter_that_cannot_serve_the_env_is_an_error_and_repaired(
    tmp_path: Path, damage: object, code: Code
) -> None:
    """bin/python with no execute bit, bin/python gone (python3 still runs), or a wrapper that
    starts the base outside the env: each is an error (exit 1), not "usable", and repair
    places the interpreter again."""
    env = tmp_path / "env"
    made = anyvenv("venv", "--strategy", "copy", "--python", str(base_python()), str(env))
    assert made.returncode == 0, made.stderr
    assert callable(damage)
    damage(env)
    proc = anyvenv("check", str(env), "--json")
    assert proc.returncode == 1, proc.stdout
    found = _json(proc)
    assert found["usable"] is False
    assert {"code": code.value, "severity": "error"}.items() <= next(
        f for f in found["findings"] if isinstance(f, dict) and f["code"] == code.value
    ).items(), found
    repaired = anyvenv("repair", str(env))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert anyvenv("check", str(env)).returncode == 0
    ran = run([env / "bin" / "python", "-c", "import sys; print(sys.prefix)"])
    assert ran.stdout.strip() == str(env), ran.stderr


def test_a_copied_interpreter_that_loads_another_builds_libpython_is_said_so(
    tmp_path: Path,
) -> None:
    """A copy of bin/python whose RUNPATH leads to another libpython3.12 (another build's
    bytes): check names the library it loads and the base's it should, from the ELF facts."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    real = os.path.realpath(env / "bin" / "python")
    base_lib = next(Path(real).parent.parent.glob("lib/libpython3.12.so.1.0"))
    other = tmp_path / "otherlib"
    other.mkdir()
    shutil.copy2(base_lib, other / base_lib.name)
    stripped = run(["strip", "--strip-unneeded", other / base_lib.name])
    assert stripped.returncode == 0, stripped.stderr
    for name in ("python", "python3", "python3.12"):
        (env / "bin" / name).unlink()
    shutil.copy2(real, env / "bin" / "python")
    patched = run(["patchelf", "--set-rpath", str(other), env / "bin" / "python"])
    assert patched.returncode == 0, patched.stderr
    diagnosis = check(env)
    assert not diagnosis.usable
    (wrong,) = [f for f in diagnosis.findings if f.code is Code.LIBPYTHON_OTHER_BUILD]
    assert wrong.message.startswith(f"bin/python loads {other / base_lib.name}, which is not")
    assert str(base_lib) in wrong.message or os.path.realpath(base_lib) in wrong.message


def test_a_lib64_link_to_another_directory_is_named_and_relinked(tmp_path: Path) -> None:
    """lib64 that leads somewhere else than lib (a copy that rewrote it, a hand edit): a
    warning naming where it leads, and repair makes it lead to lib again."""
    env = tmp_path / "env"
    uv_venv(env, base_python())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (env / "lib64").unlink()
    (env / "lib64").symlink_to(elsewhere)
    diagnosis = check(env)
    (finding,) = [f for f in diagnosis.findings if f.code is Code.LIB64_DANGLING]
    assert finding.severity is Severity.WARNING and str(elsewhere) in finding.message
    repaired = anyvenv("repair", str(env))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert os.path.samefile(env / "lib64", env / "lib")
    assert check(env).findings == []


def test_a_copied_env_under_a_directory_named_libpython_is_usable(tmp_path: Path) -> None:
    """Only a file named libpython* is the loaded libpython: the env's own python, mapped
    from under ``libpython-env/``, is not taken for one (check called it another build's)."""
    from support import cli_env, run_cli

    env = tmp_path / "libpython-env"
    made = run_cli("venv", str(env), "-q", "--strategy", "copy", "-p", base_python(),
                   env=cli_env())  # fmt: skip
    assert made.returncode == 0, made.stderr
    diagnosis = check(env)
    assert diagnosis.usable, [f.message for f in diagnosis.findings]
    assert not [f for f in diagnosis.findings if f.code is Code.LIBPYTHON_OTHER_BUILD]


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_what_plain_uv_left_of_a_venv_is_named_with_what_makes_one(target: Path) -> None:
    """uv venv fails on the share (EOPNOTSUPP) and leaves its tag and empty directories:
    check and repair say that is what it is and which command makes the env there."""
    from project_support import uv_binary

    left = target / ".venv"
    failed = run([uv_binary(), "venv", str(left), "--python", base_python()])
    assert failed.returncode != 0 and left.is_dir()
    for command in ("check", "repair"):
        said = anyvenv(command, left)
        assert said.returncode == 2, said.stderr
        assert "it is what uv left of one it could not make" in said.stderr, said.stderr
        assert "'anyvenv sync' in a project, else 'anyvenv venv'" in said.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:cifs-like"])
def test_a_copied_python_whose_base_directory_names_another_python_is_warned_of(
    target: Path, tmp_path: Path, standalone: StandaloneArchive
) -> None:
    """A base directory with python3.12 beside a python3 that is another Python, and no
    python (Ubuntu's deadsnakes): a copied bin/python takes that python3 for its base, so
    `python -m venv` run with it makes an env of the other Python. check says so, naming
    what CPython itself takes (as the env's python reports it)."""
    import tarfile

    with tarfile.open(standalone.path) as archive:
        archive.extractall(tmp_path / "base", filter="tar")
    bin_dir = tmp_path / "base" / "python" / "bin"
    (bin_dir / "python").unlink()
    (bin_dir / "python3").unlink()
    import sys

    other = Path(sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    assert sys.version_info[:2] != standalone.version[:2]  # (the tests' own base: another one)
    (bin_dir / "python3").symlink_to(other)
    env = target / "env"
    made = anyvenv("venv", env, "--python", bin_dir / standalone.executable_name)
    assert made.returncode == 0, made.stderr
    reported = subprocess.run(
        [env / "bin" / "python", "-c", "import sys; print(sys._base_executable)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert reported == str(bin_dir / "python3")
    found = [item for item in check(env).findings if item.code is Code.BASE_NAMED_OTHERWISE]
    assert sorted(Path(item.path or "").name for item in found) == ["python", "python3"]
    assert all(item.evidence["taken"] == reported for item in found)
    assert f"run them with bin/{standalone.executable_name}" in found[0].message
    # the usual base directory: home/python and python3 links to python3.X, which is the base
    usual = target / "usual"
    made = anyvenv("venv", usual, "--python", other)
    assert made.returncode == 0, made.stderr
    assert not check(usual).has(Code.BASE_NAMED_OTHERWISE)


def test_an_empty_console_script_of_a_package_is_an_error_naming_its_reinstall(
    tmp_path: Path,
) -> None:
    """A console script a package's RECORD lists, emptied by a crash (0 bytes, so no
    shebang): check skipped it, and the env was "usable" while the command ran nothing and
    said nothing. An error now names the package and the reinstall, which mends it; an empty
    file of the user's own in bin/ is left alone."""
    wheels = tmp_path / "wheels"
    env = env_with_demo(tmp_path / "env", base_python(), wheels)
    _rewrite(env / "bin" / "demo-tool", b"")
    (env / "bin" / "mine").write_bytes(b"")
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 1, proc.stdout
    found = [item for item in _json(proc)["findings"] if item["code"] == "script-empty"]  # type: ignore[attr-defined]
    assert len(found) == 1 and found[0]["severity"] == "error", found
    assert found[0]["evidence"] == {"package": "anyvenv_demo"}
    message = str(found[0]["message"])
    assert message.startswith("bin/demo-tool of anyvenv_demo is empty (0 bytes)"), message
    command = f"anyvenv pip install --python {env} --reinstall anyvenv_demo"
    assert f"'{command}'" in message, message
    text = anyvenv("check", env)
    assert text.stdout.splitlines()[-1].startswith("reinstall the packages named above"), text
    mended = anyvenv(*command.split()[1:], "--no-index", "--find-links", wheels)
    assert mended.returncode == 0, mended.stderr
    assert anyvenv("check", env).returncode == 0


def test_doctor_sends_an_env_whose_only_errors_a_reinstall_mends_to_the_reinstall(
    tmp_path: Path,
) -> None:
    """doctor beside an env whose one error is an empty console script: check it, then
    reinstall as it says (repair writes no package's files), not "repair it"."""
    env = env_with_demo(tmp_path / "proj" / ".venv", base_python(), tmp_path / "wheels")
    _rewrite(env / "bin" / "demo-tool", b"")
    proc = anyvenv("doctor", tmp_path / "proj", "--json")
    assert proc.returncode == 0, proc.stderr
    said = [str(option["advice"]) for option in _json(proc)["options"]]  # type: ignore[attr-defined]
    line = next(text for text in said if "is not usable" in text)
    assert line.endswith("for all of it, then reinstall as it says"), line


def test_a_default_build_with_a_free_threaded_site_beside_its_own_is_usable(
    tmp_path: Path,
) -> None:
    """lib/python3.13 and lib/python3.13t both there (a 3.13t tool's directory left beside):
    the default build reads its own, so the env is usable and taken for a default build."""
    env = tmp_path / "env"
    uv_venv(env, base_python("3.13"))
    (env / "lib" / "python3.13t" / "site-packages").mkdir(parents=True)
    diagnosis = check(env)
    assert diagnosis.usable and not diagnosis.free_threaded, diagnosis.findings


def test_virtualenvs_base_prefix_naming_a_gone_base_is_not_reported_while_home_works(
    tmp_path: Path,
) -> None:
    """virtualenv's ``base-prefix`` and ``base-exec-prefix`` are its record of the base: no
    CPython 3 reads them (sys.base_prefix, the standard library and ``python -m venv``
    inside come from ``home``; virtualenv's own reader was its Python 2 site.py, and uv reads
    neither), so where they name a base that is gone while ``home`` holds the env's base (a
    base reinstalled elsewhere behind the links of ``home``), the env works: check reports
    nothing and repair leaves the file alone. (When repair moves the env to a new base, it
    sets them with ``home``.)"""
    import sys

    base = base_python()
    env = tmp_path / "env"
    made = run([sys.executable, "-m", "virtualenv", "--quiet", "--no-seed", "-p", base, env])
    assert made.returncode == 0, made.stdout + made.stderr
    cfg_path = env / "pyvenv.cfg"
    gone = tmp_path / "gone-base"
    lines = cfg_path.read_text().splitlines()
    assert any(line.startswith("base-prefix = ") for line in lines)
    edited = [
        f"{line.partition(' = ')[0]} = {gone}"
        if line.startswith(("base-prefix = ", "base-exec-prefix = "))
        else line
        for line in lines
    ]
    cfg_path.write_text("\n".join(edited) + "\n")
    before = cfg_path.read_bytes()
    prefix = base.parent.parent
    facts = run(
        [env / "bin" / "python", "-c", "import sys, json; print(sys.base_prefix, json.__file__)"]
    )
    assert facts.returncode == 0, facts.stderr
    assert facts.stdout.split() == [
        str(prefix),
        str(prefix / "lib" / base.name / "json" / "__init__.py"),
    ]
    inner = tmp_path / "inner"
    nested = run([env / "bin" / "python", "-m", "venv", "--without-pip", inner])
    assert nested.returncode == 0, nested.stderr
    assert f"home = {base.parent}\n" in (inner / "pyvenv.cfg").read_text()
    checked = anyvenv("check", env, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert _json(checked)["findings"] == []
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert cfg_path.read_bytes() == before


def test_an_emptied_record_or_metadata_is_named_with_the_reinstall_that_mends_it(
    tmp_path: Path,
) -> None:
    """A RECORD of 0 bytes (a crash of the machine kept its name, not its bytes): nothing of
    the package could be compared, so check said nothing. A warning names it and the
    reinstall, which mends it; an emptied METADATA too, in the same line."""
    wheels = tmp_path / "wheels"
    env = env_with_demo(tmp_path / "env", base_python(), wheels)
    dist_info = next(env.glob("lib/python3.*/site-packages/anyvenv_demo-1.0.dist-info"))
    _rewrite(dist_info / "RECORD", b"")
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0, proc.stderr  # (the package imports: a warning)
    found = [item for item in _json(proc)["findings"] if item["severity"] != "ok"]  # type: ignore[attr-defined]
    assert [item["code"] for item in found] == ["package-record-empty"], found
    assert found[0]["severity"] == "warning"
    assert found[0]["evidence"] == {"package": "anyvenv_demo", "files": "RECORD"}
    message = str(found[0]["message"])
    assert message.startswith("anyvenv_demo-1.0.dist-info/RECORD is empty (0 bytes"), message
    command = f"anyvenv pip install --python {env} --reinstall anyvenv_demo"
    assert f"'{command}'" in message
    _rewrite(dist_info / "METADATA", b"")
    [both] = [item for item in check(env).findings if item.code is Code.PACKAGE_RECORD_EMPTY]
    assert both.evidence["files"] == "METADATA\nRECORD"
    assert both.message.startswith("anyvenv_demo-1.0.dist-info/METADATA and RECORD are empty")
    repaired = anyvenv("repair", env)  # (nothing else to mend: it says what it left)
    assert "package-record-empty" in repaired.stdout, repaired.stdout
    assert repaired.stdout.splitlines()[-1].startswith("reinstall the packages named above")
    mended = anyvenv(*command.split()[1:], "--no-index", "--find-links", wheels)
    assert mended.returncode == 0, mended.stderr
    assert check(env).findings == []


_CONSOLE_SCRIPTS = {  # as each installer writes one (after a shebang of its own form)
    "uv": b'# -*- coding: utf-8 -*-\nimport sys\nfrom anyvenv_demo import main\nif __name__ == "__main__":\n    if sys.argv[0].endswith("-script.pyw"):\n        sys.argv[0] = sys.argv[0][:-11]\n    elif sys.argv[0].endswith(".exe"):\n        sys.argv[0] = sys.argv[0][:-4]\n    sys.exit(main())\n',
    "distlib": b"# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom anyvenv_demo import main\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())\n",
    "installer": b'# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom anyvenv_demo import main\nif __name__ == "__main__":\n    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])\n    sys.exit(main.run())\n',
}  # fmt: skip
_SHEBANGS = [
    b"#!/env/bin/python\n",
    b"#!/bin/sh\n'''exec' '/a path/bin/python3' \"$0\" \"$@\"\n' '''\n",
    b"#!/bin/sh\n'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")\"/'python' \"$0\" \"$@\"\n' '''\n",
]


@pytest.mark.parametrize("writer", sorted(_CONSOLE_SCRIPTS))
@pytest.mark.parametrize("shebang", _SHEBANGS, ids=["plain", "sh", "relocatable"])
def test_a_console_script_cut_at_any_byte_is_damaged_and_a_whole_one_is_not(
    writer: str, shebang: bytes
) -> None:
    """Each installer's console script, whole, is not judged damaged; cut short after any
    of its bytes (a crash, a copy stopped part-way: its size is not compared, as its shebang
    moves with the env) it is, whether it would fail (a SyntaxError) or run nothing; so is
    one whose bytes are all NUL."""
    from anyvenv.envbuild.shebang import parse_shebang
    from anyvenv.repair.scripts import _script_damage

    whole = shebang + _CONSOLE_SCRIPTS[writer]
    assert _script_damage(whole, parse_shebang(whole)) is None
    for end in range(1, len(whole)):
        cut = whole[:end]
        assert _script_damage(cut, parse_shebang(cut)) is not None, cut
    zeroed = b"\0" * len(whole)
    assert _script_damage(zeroed, parse_shebang(zeroed)) == (
        "its bytes are all NUL: the size kept, not the contents"
    )


def test_a_script_of_its_shebang_line_alone_is_cut_short_whatever_it_runs() -> None:
    """No program's script is its #! line and nothing after: it would run nothing."""
    from anyvenv.envbuild.shebang import parse_shebang
    from anyvenv.repair.scripts import _script_damage

    for head in (b"#!/usr/bin/perl\n", b"#!/usr/bin/env node\n", b"#!/env/bin/python\n"):
        assert _script_damage(head, parse_shebang(head)) == (
            f"cut short: {len(head)} bytes, nothing after its #! line"
        ), head


def test_other_scripts_in_bin_are_not_judged_by_a_console_scripts_shape() -> None:
    """A package's own script (not written from an entry point: no coding line first), a
    shell script, or one longer than any console script: not called damaged."""
    from anyvenv.envbuild.shebang import HEAD_BYTES, parse_shebang
    from anyvenv.repair.scripts import _script_damage

    for data in [
        b"#!/env/bin/python\nimport sys\nprint(sys.argv)",
        b"#!/bin/sh\necho hi",
        b"#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\nimport sys\n",
        b"#!/env/bin/python\n# -*- coding: utf-8 -*-\n" + b"#" * HEAD_BYTES,
        b"\x7fELF\x02\x01\x01" + b"\0" * 9000,
    ]:
        assert _script_damage(data, parse_shebang(data)) is None, data


def test_a_packages_data_script_is_not_judged_by_a_console_scripts_shape(
    tmp_path: Path,
) -> None:
    """A script a package ships as data (setuptools' ``scripts=``: ``#!python``, rewritten
    on install), with the coding line installers write but ending in ``main()``, not
    ``sys.exit(...)``: it runs, and is not called cut short; all NUL bytes, it is damaged."""
    env = env_with_demo(tmp_path / "env", base_python(), tmp_path / "wheels")
    site = next(env.glob("lib/python3.*/site-packages"))
    record = next(site.glob("*.dist-info/RECORD"))
    tool = env / "bin" / "demo-data"
    tool.write_bytes(
        f"#!{env / 'bin' / 'python'}\n# -*- coding: utf-8 -*-\n".encode()
        + b'"""Run the tool."""\nprint("data script")\n'
    )
    tool.chmod(0o755)
    with record.open("a") as stream:
        stream.write(f"../../../bin/demo-data,,{tool.stat().st_size}\n")
    assert run([tool]).stdout == "data script\n"
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0 and _json(proc)["findings"] == [], proc.stdout
    _rewrite(tool, b"\0" * tool.stat().st_size)
    proc = anyvenv("check", env, "--json")
    assert [item["code"] for item in _json(proc)["findings"]] == ["script-damaged"], proc.stdout


@pytest.mark.parametrize("how", ["mid-line", "at-a-line-end", "nul"])
def test_a_console_script_cut_short_is_an_error_naming_its_reinstall(
    tmp_path: Path, how: str
) -> None:
    """A package's console script that still starts with its shebang but lost its end (or
    whose bytes are NUL): the env was "usable" while the command failed with a SyntaxError or
    ran nothing. An error names the package and its reinstall, which mends it; repair says
    so; a file of the user's own in bin/ is left alone."""
    wheels = tmp_path / "wheels"
    env = env_with_demo(tmp_path / "env", base_python(), wheels)
    script = env / "bin" / "demo-tool"
    data = script.read_bytes()
    damaged = {
        "mid-line": data[: len(data) * 2 // 3],
        "at-a-line-end": data[: data.rindex(b"    sys.exit(")],  # (runs, and does nothing)
        "nul": b"\0" * len(data),
    }[how]
    _rewrite(script, damaged)
    script.chmod(0o755)
    (env / "bin" / "mine").write_bytes(damaged)
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 1, proc.stdout
    found = _json(proc)["findings"]
    assert [item["code"] for item in found] == ["script-damaged"], found  # type: ignore[index]
    assert found[0]["severity"] == "error"  # type: ignore[index]
    assert found[0]["evidence"] == {"package": "anyvenv_demo"}  # type: ignore[index]
    message = str(found[0]["message"])  # type: ignore[index]
    assert message.startswith("bin/demo-tool of anyvenv_demo is damaged ("), message
    command = f"anyvenv pip install --python {env} --reinstall anyvenv_demo"
    assert f"'{command}'" in message, message
    text = anyvenv("check", env)
    assert text.stdout.splitlines()[-1].startswith("reinstall the packages named above"), text
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 1 and "script-damaged" in repaired.stdout, repaired
    assert repaired.stdout.splitlines()[-1].startswith("reinstall the packages named above")
    assert script.read_bytes() == damaged  # (repair writes no package's files)
    mended = anyvenv(*command.split()[1:], "--no-index", "--find-links", wheels)
    assert mended.returncode == 0, mended.stderr
    assert anyvenv("check", env).returncode == 0


def test_package_files_of_nul_bytes_are_named_with_the_reinstall_that_mends_them(
    tmp_path: Path,
) -> None:
    """Files of the size their RECORD gives whose bytes are NUL (what XFS and others leave
    of a file written just before a crash of the machine): source whose first block, or
    last, is NUL, a shared object whose first is. Other files (data, whose zeros may be
    meant) and a shared object's last block (padding) are not read. A warning names them
    with the reinstall; repair carries it through its fixes and says so."""
    from wheels import build_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    body = "".join(f"VALUE_{number} = {number}\n" for number in range(1000))  # (> 4 KiB)
    elf = b"\x7fELF\x02\x01\x01" + b"\x01" * 9000
    build_wheel(
        wheels,
        "zeroed",
        modules={"zeroed/__init__.py": body, "zeroed/small.py": "X = 1\n"},
        data_files={"zeroed/native.so": elf, "zeroed/tail.so": elf, "zeroed/data.bin": elf},
    )
    env = tmp_path / "env"
    uv_venv(env, base_python())
    installed = anyvenv(
        "pip", "install", "--python", env, "--no-index", "--find-links", wheels, "zeroed"
    )
    assert installed.returncode == 0, installed.stderr
    assert check(env).findings == []
    package = next(env.glob("lib/python3.*/site-packages")) / "zeroed"
    source = (package / "__init__.py").read_bytes()
    _rewrite(package / "__init__.py", source[:4096] + b"\0" * (len(source) - 4096))  # (its end)
    _rewrite(package / "small.py", b"\0" * 6)
    _rewrite(package / "native.so", b"\0" * len(elf))
    _rewrite(package / "tail.so", elf[:-4096] + b"\0" * 4096)
    _rewrite(package / "data.bin", b"\0" * len(elf))
    proc = anyvenv("check", env, "--json")
    assert proc.returncode == 0, proc.stderr  # (usable: the env is, one package is not)
    found = _json(proc)["findings"]
    assert [item["code"] for item in found] == ["package-files-zeroed"], found  # type: ignore[index]
    site = package.parent.relative_to(env)
    assert found[0]["evidence"] == {  # type: ignore[index]
        "package": "zeroed",
        "files": f"{site}/zeroed/__init__.py\n{site}/zeroed/native.so\n{site}/zeroed/small.py",
    }
    message = str(found[0]["message"])  # type: ignore[index]
    assert message.startswith(
        "3 files of zeroed hold NUL bytes where their contents should be (the size its RECORD "
        "gives, not the bytes: a crash of the machine): zeroed/__init__.py, zeroed/native.so, "
        "zeroed/small.py; reinstall it ("
    ), message
    (env / "bin" / "python").unlink()  # (something repair mends)
    repaired = anyvenv("repair", env)
    assert repaired.returncode == 0, repaired.stderr
    assert "package-files-zeroed" in repaired.stdout, repaired.stdout
    assert repaired.stdout.splitlines()[-1].startswith("reinstall the packages named above")
    _rewrite(package / "small.py", b"\0" * 5)  # (not the size recorded: damaged, only)
    found_now = {item.code: item.evidence["files"] for item in check(env).findings}
    assert found_now[Code.PACKAGE_FILES_DAMAGED] == f"{site}/zeroed/small.py", found_now
    assert "small.py" not in found_now[Code.PACKAGE_FILES_ZEROED], found_now


def _files_of_every_answer(root: Path, outside: Path) -> list[str]:
    """Paths under ``root`` giving each answer a stat gives check: files of several sizes
    (in subdirectories, as a package's), missing ones (and one past a missing directory), a
    file where a directory is expected, and links: relative, absolute to outside the mount,
    dangling (where the filesystem makes links at all)."""
    paths: list[str] = []
    for number in range(24):
        package = root / f"pkg{number % 3}"
        package.mkdir(exist_ok=True)
        path = package / f"m{number}.py"
        path.write_bytes(b"x" * (number * 37))
        paths.append(str(path))
    paths += [str(root / "pkg0" / "gone.py"), str(root / "gone" / "x.py")]
    paths.append(str(root / "pkg1" / "m1.py" / "below-a-file"))
    for name, target in (("rel.py", "m0.py"), ("abs.py", str(outside)), ("dangling.py", "no")):
        try:
            os.symlink(target, root / "pkg0" / name)
        except OSError:
            continue
        paths.append(str(root / "pkg0" / name))
    return paths


@pytest.mark.parametrize("lab_kind", ALL_KINDS)
def test_sizes_asked_at_once_are_the_sizes_asked_in_turn(
    lab: Lab, lab_kind: str, target: Path
) -> None:
    """On a share check asks for the sizes of a package's files several at once (each stat
    a round trip): every answer (a size, missing, a link the filesystem will not read, left
    out) is the one asked in turn gives, on every kind of the lab, in the same order."""
    from anyvenv.repair.package_files import _sizes_at_once, _sizes_on_disk

    paths = _files_of_every_answer(target, lab.outside_file())
    in_turn = _sizes_on_disk(paths)
    at_once = _sizes_on_disk(paths, at_once=True)
    assert list(at_once.items()) == list(in_turn.items())
    assert len(_sizes_at_once(paths)) == len(paths)
    assert in_turn[paths[5]] == 5 * 37 and in_turn[paths[24]] == in_turn[paths[25]] == -1


@pytest.mark.parametrize(
    ("lab_kind", "threads"), [("local", False), ("faultfs:passthrough", True), ("smb", False)]
)
def test_check_asks_for_sizes_at_once_only_where_a_share_answers_together(
    target: Path, threads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sizes of the files RECORDs list are asked by several threads where the env is on
    a share (a FUSE daemon or a server: its answers come together), not on a local disk, nor
    on smbnetfs, which answers one at a time (threads only queue there). The findings are
    the same either way."""
    from anyvenv.repair import package_files

    env = target / "env"
    site = env / "lib" / "python3.12" / "site-packages"
    info = site / "many-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: many\nVersion: 1.0\n")
    (site / "many").mkdir()
    rows = []
    for number in range(40):
        (site / "many" / f"m{number}.py").write_bytes(b"#" * number)
        rows.append(f"many/m{number}.py,sha256=x,{number + (number == 7)}")
    (info / "RECORD").write_text("\n".join([*rows, "many/gone.py,sha256=x,3", ""]))
    asked: list[int] = []
    real = package_files._sizes_at_once

    def counted(paths: list[str]) -> list[int | str | None]:
        asked.append(len(paths))
        return real(paths)

    monkeypatch.setattr(package_files, "_sizes_at_once", counted)
    findings: list[Finding] = []
    package_files.check_package_files(env, [(3, 12, False)], findings)
    assert asked == ([41] if threads else [])
    [damaged] = findings
    assert damaged.evidence["files"].splitlines() == [
        "lib/python3.12/site-packages/many/m7.py",
        "lib/python3.12/site-packages/many/gone.py",
    ]


def test_only_far_mounts_that_answer_together_are_asked_at_once() -> None:
    from anyvenv.fs.mounts import MountInfo

    kinds = "ext4 tmpfs fuseblk vfat cifs nfs4 fuse.sshfs fuse.rclone fuse.faultfs fuse.smbnetfs"
    at_once = [
        kind
        for kind in kinds.split()
        if MountInfo(
            mount_point="/m", fstype=kind, source="s", options=(), device="0:1"
        ).answers_at_once
    ]
    assert at_once == ["cifs", "nfs4", "fuse.sshfs", "fuse.rclone", "fuse.faultfs"]


@pytest.mark.parametrize("lab_kind", ["faultfs:passthrough"])
def test_checks_made_at_once_on_a_share_find_what_checks_in_turn_find(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a share that answers calls together, check looks at the interpreter, the scripts,
    the packages, their files and the activation scripts at once (each call a round trip:
    10 packages on a mount answering in 20 ms, 4.0 s in turn, 1.2 s at once); what it finds,
    and the order it says it in, are what it finds looking at each in turn: each group in
    its place (the interpreter, the scripts, the packages, their files, the activation
    scripts), two findings in each of the packages' and the files' groups, by package."""
    from anyvenv.repair import diagnose, package_files, packages, scripts

    env = env_with_demo(target / "env", base_python(), target / "wheels")
    site = next(env.glob("lib/python3.*/site-packages"))
    _cut_short(site / DEMO_MODULE / "__init__.py")  # package-files-damaged
    zeta = site / "zeta-1.0.dist-info"  # package-files-damaged: 3 bytes, recorded 50
    zeta.mkdir()
    (zeta / "METADATA").write_text("Metadata-Version: 2.1\nName: zeta\nVersion: 1.0\n")
    (zeta / "RECORD").write_text("zeta/__init__.py,sha256=AAAA,50\nzeta-1.0.dist-info/RECORD,,\n")
    (site / "zeta").mkdir()
    (site / "zeta" / "__init__.py").write_text("#\n")
    (env / "bin" / DEMO_SCRIPT).chmod(0o644)  # script-not-executable
    for name in ("ghost", "aghost"):  # package-incomplete (no METADATA)
        ghost = site / f"{name}-1.0.dist-info"
        ghost.mkdir()
        (ghost / "RECORD").write_text(f"{name}/__init__.py,,\n")
    _rewrite(env / "bin" / "activate.fish", b"")  # activation-empty
    (env / "bin" / "python3").unlink()  # an interpreter name missing
    asked: list[bool] = []
    real = diagnose.run_together

    def recorded(calls: list[object], at_once: bool) -> None:
        asked.append(at_once)
        real(calls, at_once)  # type: ignore[arg-type]

    monkeypatch.setattr(diagnose, "run_together", recorded)
    # at once, the packages' group ends last, after their files' (in turn it comes first)
    files_done = threading.Event()
    check_packages, check_package_files = diagnose.check_packages, diagnose.check_package_files

    def packages_last(*args: object) -> None:
        if asked[-1]:
            assert files_done.wait(60)
        check_packages(*args)

    def files_first(*args: object) -> None:
        try:
            check_package_files(*args)
        finally:
            files_done.set()

    monkeypatch.setattr(diagnose, "check_packages", packages_last)
    monkeypatch.setattr(diagnose, "check_package_files", files_first)
    together = [finding.to_json() for finding in check(env).findings]
    monkeypatch.setattr(diagnose, "_answers_at_once", lambda env: False)
    for looking_in in (scripts, packages, package_files):  # (each looks it up in its own)
        monkeypatch.setattr(looking_in, "asks_at_once", lambda path: False)
    in_turn = [finding.to_json() for finding in check(env).findings]
    assert asked == [True, False]
    assert together == in_turn
    said = [(finding["code"], Path(str(finding["path"])).name) for finding in together]
    assert said == [
        (Code.INTERPRETER_MISSING.value, "python3"),
        (Code.SCRIPT_NOT_EXECUTABLE.value, DEMO_SCRIPT),
        (Code.PACKAGE_INCOMPLETE.value, "aghost-1.0.dist-info"),
        (Code.PACKAGE_INCOMPLETE.value, "ghost-1.0.dist-info"),
        (Code.PACKAGE_FILES_DAMAGED.value, next(site.glob("anyvenv_demo-*.dist-info")).name),
        (Code.PACKAGE_FILES_DAMAGED.value, "zeta-1.0.dist-info"),
        (Code.ACTIVATION_EMPTY.value, "activate.fish"),
    ], said
