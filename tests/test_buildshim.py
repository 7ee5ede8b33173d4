"""Build backends where the project's filesystem has no chmod: setuptools on FAT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from project_support import PY_MAIN, anyvenv, index_args, project_environ, run, uv_binary
from repair_support import base_python

from anyvenv.project.buildshim import (
    DEVICES_VARIABLE,
    SHIM_SOURCE,
    named_dirs,
    project_source_dirs,
    shim_directory,
    with_build_shim,
)
from lab import Lab
from support import tmpfs_mounted
from wheels import repack_installed

SETUPTOOLS_PROJECT = (
    '[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
    'dependencies = []\n\n[build-system]\nrequires = ["setuptools>=70.1"]\n'
    'build-backend = "setuptools.build_meta"\n'
)
CHMOD = "import os, sys\nos.chmod(sys.argv[1], 0o644)\nprint('chmod done')\n"


@pytest.fixture(scope="module")
def setuptools_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real setuptools (68 and later set modes in the egg-info), as a local wheel."""
    index = tmp_path_factory.mktemp("setuptools-index")
    repack_installed(index, "setuptools")
    return index


def setuptools_project(root: Path) -> Path:
    package = root / "src" / "demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("VALUE = 'built by setuptools'\n")
    (root / "pyproject.toml").write_text(SETUPTOOLS_PROJECT)
    (root / ".python-version").write_text("3.12\n")
    return root


def shimmed_python(
    environ: dict[str, str], script: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], env=environ, capture_output=True, text=True
    )


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys", "fat"])
def test_a_setuptools_project_syncs_where_chmod_fails(
    target: Path, lab_kind: str, setuptools_index: Path, tmp_path: Path
) -> None:
    project = setuptools_project(target / "proj")
    env = project_environ(tmp_path)
    if lab_kind == "faultfs:chmod-enosys":  # (where uv can make its venv at all)
        plain = run(
            [uv_binary(), "sync", *index_args(setuptools_index)],
            project,
            {**env, "UV_CACHE_DIR": str(tmp_path / "plain-cache")},
        )
        assert plain.returncode != 0
        assert "egg-info" in plain.stderr and "Errno 38" in plain.stderr, plain.stderr
        (project / "uv.lock").unlink(missing_ok=True)
        run(["rm", "-rf", ".venv", "src/demo.egg-info"], project, env)
    synced = anyvenv("sync", *index_args(setuptools_index), cwd=project, env=env)
    assert synced.returncode == 0, synced.stderr
    ran = anyvenv(
        "run", "--no-sync", "python", "-c", "import demo; print(demo.VALUE)", cwd=project, env=env
    )
    assert (ran.returncode, ran.stdout) == (0, "built by setuptools\n"), ran.stderr
    again = anyvenv("sync", "--json", *index_args(setuptools_index), cwd=project, env=env)
    assert again.returncode == 0, again.stderr
    if lab_kind == "fat":  # (fusefat: setuptools' rebuild rewrites egg-info files in place,
        return  # which fusefat keeps torn, and then spins: not asked of it)
    # the shim is uv's alone: not the command's, even when the run's sync ran uv
    shown = anyvenv(
        "run", "--reinstall-package", "demo", *index_args(setuptools_index), "python", "-c",
        f"import os; print(os.environ.get('PYTHONPATH'), os.environ.get('{DEVICES_VARIABLE}'))",
        cwd=project, env={**env, "PYTHONPATH": "/mine"},
    )  # fmt: skip
    assert (shown.returncode, shown.stdout) == (0, "/mine None\n"), shown.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_chmod_is_a_no_op_only_on_the_devices_named(target: Path, tmp_path: Path, lab: Lab) -> None:
    """Another filesystem where chmod fails (FAT) is not named: chmod still fails there."""
    fat_file = lab.target("fat", "other") / "file"
    fat_file.write_text("x")
    cache = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    cache.pop("PYTHONPATH", None)
    one = with_build_shim(cache, [str(target)])
    assert one["PYTHONPATH"] == shim_directory(cache)  # (no empty entry: no cwd on sys.path)
    still = shimmed_python(one, CHMOD, str(fat_file))
    assert still.returncode != 0 and "Errno 38" in still.stderr, still.stderr
    both = with_build_shim(cache, [str(target), str(fat_file.parent), "/nowhere/lib"])
    assert len(both[DEVICES_VARIABLE].split(",")) == 2
    done = shimmed_python(both, CHMOD, str(fat_file))
    assert (done.returncode, done.stdout) == (0, "chmod done\n"), done.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_chmod_is_a_no_op_on_the_device_named(target: Path, tmp_path: Path) -> None:
    on_mount = target / "file"
    on_mount.write_text("x")
    environ = with_build_shim(dict(os.environ, XDG_CACHE_HOME=str(tmp_path)), [str(target)])
    assert environ[DEVICES_VARIABLE] == str(os.stat(target).st_dev)
    done = shimmed_python(environ, CHMOD, str(on_mount))
    assert (done.returncode, done.stdout) == (0, "chmod done\n"), done.stderr
    elsewhere = with_build_shim(dict(os.environ, XDG_CACHE_HOME=str(tmp_path)), [str(tmp_path)])
    failed = shimmed_python(elsewhere, CHMOD, str(on_mount))
    assert failed.returncode != 0 and "Errno 38" in failed.stderr, failed.stderr
    missing = shimmed_python(environ, CHMOD, str(target / "missing"))
    assert "FileNotFoundError" in missing.stderr  # other errors stay errors


PATH_CHMOD = (
    "import os, pathlib, shutil, sys\n"
    "for name in sys.argv[1:]:\n"
    "    pathlib.Path(name).chmod(0o640)\n"
    "    shutil.copymode(name, name)\n"
    "print(oct(os.stat(sys.argv[-1]).st_mode & 0o777))\n"
)


@pytest.mark.parametrize("minor", ["3.8", "3.9", "3.10", "3.12"])
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_path_chmod_works_under_the_shim_in_every_python(
    minor: str, target: Path, tmp_path: Path
) -> None:
    """pathlib before 3.11 keeps os.chmod as a class attribute of its accessor: a shim that
    put a function there broke every Path.chmod (poetry-core's wheel builds), on any disk."""
    python = base_python(minor)
    on_mount = target / "file"
    on_mount.write_text("x")
    local = tmp_path / "local"
    local.write_text("x")
    environ = with_build_shim(dict(os.environ, XDG_CACHE_HOME=str(tmp_path)), [str(target)])
    done = subprocess.run(
        [str(python), "-c", PATH_CHMOD, str(on_mount), str(local)],
        env=environ,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (0, "0o640\n"), done.stderr


def test_the_build_shims_chmod_is_in_the_sets_shutil_asks(tmp_path: Path) -> None:
    """The stand-ins for os.chmod and os.fchmod are in os.supports_* wherever the real ones
    are: shutil, asking those, passes them what it would pass the real ones."""
    code = SHIM_SOURCE + (
        "\nfor name in ('supports_dir_fd', 'supports_fd', 'supports_follow_symlinks'):"
        "\n    found = getattr(_os, name)"
        "\n    for wrapper in (_os.chmod, _os.fchmod):"
        "\n        assert (wrapper in found) == (wrapper._real in found), (name, wrapper)"
        "\nassert _os.chmod in _os.supports_dir_fd\nprint('in')\n"
    )
    environ = dict(os.environ, ANYVENV_CHMOD_NOOP_DEVICES=str(os.stat(tmp_path).st_dev))
    (tmp_path / "shim.py").write_text(code)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "shim.py")], env=environ, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "in\n"), done.stderr


@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_the_sitecustomize_it_hides_still_runs(target: Path, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.mkdir()
    (users / "sitecustomize.py").write_text("import builtins\nbuiltins.USERS_RAN = True\n")
    environ = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(users))
    assert with_build_shim(environ, [str(tmp_path)]) == environ  # chmod works there: none
    shimmed = with_build_shim(environ, [str(tmp_path), str(target)])
    first, rest = shimmed["PYTHONPATH"].split(os.pathsep, 1)
    assert rest == str(users) and (Path(first) / "sitecustomize.py").read_text() == SHIM_SOURCE
    probe = "import builtins, os\nprint(getattr(builtins, 'USERS_RAN', False), os.chmod.__module__)"
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=shimmed, capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout.split()) == (0, ["True", "sitecustomize"]), proc.stderr


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_pip_and_lock_build_a_setuptools_project_where_chmod_fails(
    target: Path, setuptools_index: Path, tmp_path: Path
) -> None:
    """``anyvenv pip install -e .`` builds it; ``anyvenv lock`` builds it for its metadata
    when that is dynamic."""
    project = setuptools_project(target / "proj")
    env = project_environ(tmp_path)
    installed = anyvenv(
        "pip", "install", *index_args(setuptools_index), "-e", ".", cwd=project, env=env
    )
    assert installed.returncode == 0, installed.stderr
    ran = anyvenv("run", "--no-sync", "python", "-c", "import demo", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr
    text = SETUPTOOLS_PROJECT.replace("dependencies = []\n", 'dynamic = ["dependencies"]\n')
    dynamic = '\n[tool.setuptools.dynamic]\ndependencies = {file = ["requirements.txt"]}\n'
    (project / "pyproject.toml").write_text(text + dynamic)
    (project / "requirements.txt").write_text("setuptools\n")
    locked = anyvenv("lock", *index_args(setuptools_index), cwd=project, env=env)
    assert locked.returncode == 0, locked.stderr
    assert '{ name = "setuptools" }' in (project / "uv.lock").read_text()  # read by building


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
@pytest.mark.parametrize("table", ["dependencies", "dependency-groups"])
def test_a_direct_reference_to_a_directory_where_chmod_fails_is_built_there(
    table: str, target: Path, setuptools_index: Path, tmp_path: Path
) -> None:
    """``demo @ file:///...`` in the project's dependencies (or a dependency group, which
    uv syncs by default for ``dev``): the directory it names is where uv builds, so the shim
    covers it as it does a ``[tool.uv.sources]`` path."""
    env = project_environ(tmp_path)
    lib = setuptools_project(target / "lib")
    app = tmp_path / "app"
    app.mkdir()
    requirement = f"\"demo @ {lib.as_uri()} ; python_version >= '3.10'\""
    listed = (
        f"dependencies = [{requirement}]\n"
        if table == "dependencies"
        else f"dependencies = []\n\n[dependency-groups]\ndev = [{requirement}]\n"
    )
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\n' + listed
    )
    (app / ".python-version").write_text("3.12\n")
    synced = anyvenv("sync", *index_args(setuptools_index), cwd=app, env=env)
    assert synced.returncode == 0, synced.stderr
    ran = anyvenv(
        "run", "--no-sync", "python", "-c", "import demo; print(demo.VALUE)", cwd=app, env=env
    )
    assert (ran.returncode, ran.stdout) == (0, "built by setuptools\n"), ran.stderr


@pytest.mark.skipif(PY_MAIN is None, reason="needs pyenv's 3.12")
@pytest.mark.parametrize("lab_kind", ["faultfs:chmod-enosys"])
def test_a_path_source_on_another_filesystem_and_pip_outside_a_project_build_there(
    target: Path, setuptools_index: Path, tmp_path: Path
) -> None:
    """The project on local disk, its path source (setuptools) where chmod fails: the source
    is built there. And outside any project, ``pip install -e DIR`` into the active env on
    local disk of a setup.py-only project where chmod fails."""
    env = project_environ(tmp_path)
    lib = setuptools_project(target / "lib")
    app = tmp_path / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
        'dependencies = ["demo"]\n\n[tool.uv.sources]\n'
        f'demo = {{ path = "{lib}", editable = true }}\n'
    )
    (app / ".python-version").write_text("3.12\n")
    synced = anyvenv("sync", *index_args(setuptools_index), cwd=app, env=env)
    assert synced.returncode == 0, synced.stderr
    ran = anyvenv(
        "run", "--no-sync", "python", "-c", "import demo; print(demo.VALUE)", cwd=app, env=env
    )
    assert (ran.returncode, ran.stdout) == (0, "built by setuptools\n"), ran.stderr

    legacy = target / "legacy"
    (legacy / "legacy").mkdir(parents=True)
    (legacy / "legacy" / "__init__.py").write_text("WHERE = 'legacy'\n")
    (legacy / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='legacy', version='1.0', packages=['legacy'])\n"
    )
    venv = tmp_path / "venv"
    made = anyvenv("venv", "-q", "--python", str(PY_MAIN), str(venv), cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    active = {**env, "VIRTUAL_ENV": str(venv)}
    installed = anyvenv(
        "pip", "install", *index_args(setuptools_index), "-e", str(legacy), cwd=tmp_path, env=active
    )
    assert installed.returncode == 0, installed.stderr
    imported = run([str(venv / "bin" / "python"), "-c", "import legacy"], tmp_path, env)
    assert imported.returncode == 0, imported.stderr


def test_the_directories_pip_and_add_are_given_are_found_in_every_form(tmp_path: Path) -> None:
    lib, other, third = (tmp_path / name for name in ("lib", "other", "third"))
    for directory in (lib, other, third):
        directory.mkdir()
    (tmp_path / "req.txt").write_text(f"-e {third}  # ours\nrequests\n")
    args = [
        "--editable=lib", f"-e{other}", "lib[extra]", f"demo @ file://{third}", "-r", "req.txt",
        "https://example.org/x.whl", "--find-links", "nowhere", "requests",
    ]  # fmt: skip
    found = named_dirs(args, str(tmp_path))
    assert found[0] == str(tmp_path)
    assert {os.path.normpath(p) for p in found[1:]} == {str(lib), str(other), str(third)}
    assert named_dirs(["--requirement=req.txt"], str(tmp_path))[1:] == [str(third)]


def test_the_source_directories_of_a_workspace(tmp_path: Path) -> None:
    """Members' path sources count too, in every form uv takes (a list of them, ``~``)."""
    from anyvenv.project.model import discover

    root, member = tmp_path / "ws", tmp_path / "ws" / "packages" / "m"
    member.mkdir(parents=True)
    for name in ("lib-a", "lib-b", "lib-c"):
        (tmp_path / name).mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "ws"\nversion = "0"\n\n[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        f'[tool.uv.sources]\na = {{ path = "{tmp_path / "lib-a"}" }}\n'
    )
    (member / "pyproject.toml").write_text(
        '[project]\nname = "m"\nversion = "0"\n\n[tool.uv.sources]\n'
        'b = [{ path = "../../../lib-b", marker = "sys_platform == \'linux\'" }]\n'
        'c = { path = "../../../lib-c/dist/c-1.0.tar.gz" }\n'
    )
    found = {os.path.normpath(p) for p in project_source_dirs(discover(str(member)))}
    expected = {str(root), str(member), *(str(tmp_path / n) for n in ("lib-a", "lib-b"))}
    assert expected <= found, found
    assert str(tmp_path / "lib-c" / "dist") in found  # (an archive: its directory)


def test_direct_references_in_every_table_uv_reads_are_source_directories(
    tmp_path: Path,
) -> None:
    """``name @ file:///DIR`` in dependencies, an extra, a dependency group and uv's
    dev-dependencies: each DIR is where uv builds (a URL not on this machine is not)."""
    from anyvenv.project.model import discover

    names = ("dep", "extra", "group", "dev")
    for name in names:
        (tmp_path / name).mkdir()
    uri = {name: (tmp_path / name).as_uri() for name in names}
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0"\n'
        f'dependencies = ["d @ {uri["dep"]}", "r @ https://example.com/r.whl"]\n'
        f"[project.optional-dependencies]\nx = [\"e @ {uri['extra']} ; python_version > '3'\"]\n"
        f'[dependency-groups]\ng = ["g @ {uri["group"]}", {{ include-group = "h" }}]\nh = []\n'
        f'[tool.uv]\ndev-dependencies = ["v[extra] @ {uri["dev"]}"]\n'
    )
    found = set(project_source_dirs(discover(str(project))))
    assert found == {str(project), *(str(tmp_path / name) for name in names)}, found


def test_a_shim_that_cannot_be_written_leaves_no_directory(tmp_path: Path) -> None:
    """The cache is on a full disk: no shim (uv's own error then shows), and none of the
    directories made for it is left behind, empty."""
    with tmpfs_mounted(tmp_path / "full", "size=64k") as full:
        with open(full / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError:
                pass
        assert shim_directory({"XDG_CACHE_HOME": str(full / "cache")}) is None
        assert sorted(os.listdir(full)) == ["filler"]
    written = shim_directory({"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert written is not None and os.path.isfile(os.path.join(written, "sitecustomize.py"))
