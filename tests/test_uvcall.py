"""Finding uv's binary: the same file as the uv package's ``find_uv_bin``, without sysconfig."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anyvenv.uvbinary import find_uv

# Every CPython the machine has (pyenv's builds, Debian's), to check the shortcut's premise.
INTERPRETERS = sorted(
    {
        *glob.glob("/root/.pyenv/versions/3.1[0-9].*/bin/python3.1[0-9]"),
        *(p for p in ("/usr/bin/python3",) if os.access(p, os.X_OK)),
    }
)

SCRIPTS_CHECK = (
    "import os, sys, sysconfig\n"
    "print(sysconfig.get_path('scripts') == os.path.join(sys.prefix, 'bin'))\n"
)


def test_find_uv_gives_the_uv_package_s_binary() -> None:
    from uv import find_uv_bin

    assert os.path.samefile(find_uv(), find_uv_bin())


def test_find_uv_does_not_import_sysconfig_in_a_venv() -> None:
    assert sys.prefix != sys.base_prefix, "the tests run in a virtual environment"
    code = "import sys\nfrom anyvenv.uvbinary import find_uv\nfind_uv()\nprint('sysconfig' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("base", INTERPRETERS)
def test_a_venv_s_scripts_dir_is_its_prefix_bin(base: str, tmp_path: Path) -> None:
    """What the shortcut relies on: in a virtual environment sysconfig's scripts dir is
    ``{sys.prefix}/bin``, on upstream builds and on Debian's (whose default is posix_local)."""
    env = tmp_path / "env"
    made = subprocess.run([base, "-m", "venv", "--without-pip", env], capture_output=True)
    if made.returncode != 0:  # Debian's python3 without python3-venv
        pytest.skip(f"{base} cannot make a venv: {made.stderr.decode().strip()[-200:]}")
    out = subprocess.run(
        [env / "bin" / "python", "-c", SCRIPTS_CHECK], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def _uv_package(site: Path, binary: Path) -> Path:
    """A ``uv`` package in ``site`` and its binary at ``binary``, as pip lays them out."""
    (site / "uv").mkdir(parents=True)
    (site / "uv" / "__init__.py").write_text("")
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_text("#!/bin/sh\necho 'uv 0.13.9'\n")
    binary.chmod(0o755)
    return binary


def test_outside_a_venv_the_uv_installed_with_the_package_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install --user anyvenv`` puts the uv package and its binary under ~/.local,
    while the base Python's scripts directory may hold an older uv: the one beside the
    package ``import uv`` loads comes before it; an entry of the path without uv is passed."""
    import sysconfig

    from anyvenv.uvbinary import uv_candidates

    user = tmp_path / "user"
    site = user / "lib" / "python3.11" / "site-packages"
    binary = _uv_package(site, user / "bin" / "uv")
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)  # (as a Python outside a venv)
    found = list(
        uv_candidates([str(tmp_path / "empty"), str(site), "/usr/lib/python3/dist-packages"])
    )
    assert found[0] == str(binary)
    assert found[1:] == [os.path.join(sysconfig.get_path("scripts"), "uv")]


@pytest.mark.parametrize(
    "layout",
    [
        ("lib/python3.12/site-packages", "bin/uv"),
        ("lib64/python3.12/site-packages", "bin/uv"),
        ("local/lib/python3.11/dist-packages", "local/bin/uv"),  # (Debian's pip)
        ("target", "target/bin/uv"),  # (pip install --target)
    ],
)
def test_the_uv_beside_a_package_in_each_layout(layout: tuple[str, str], tmp_path: Path) -> None:
    from anyvenv.uvbinary import _beside_uv_package

    site, binary = (tmp_path / part for part in layout)
    _uv_package(site, binary)
    assert _beside_uv_package(["", str(tmp_path / "nothing"), str(site)]) == str(binary)
    assert _beside_uv_package([str(tmp_path / "nothing")]) is None


def test_a_user_install_runs_its_own_uv(tmp_path: Path) -> None:
    """The base interpreter itself (no venv) with a user site holding uv: anyvenv there
    finds the user's uv binary."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    user = tmp_path / "user"
    minor = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    binary = _uv_package(user / "lib" / minor / "site-packages", user / "bin" / "uv")
    src = Path(__file__).resolve().parents[1] / "src"
    out = subprocess.run(
        [base, "-c", "from anyvenv.uvbinary import find_uv; print(find_uv())"],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONUSERBASE": str(user), "PYTHONPATH": str(src)},
    )  # fmt: skip
    assert out.stdout.strip() == str(binary)
