"""Finding uv's binary: the same file as the uv package's ``find_uv_bin``, without sysconfig."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anyvenv.project.uvcall import find_uv

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
    code = "import sys\nfrom anyvenv.project.uvcall import find_uv\nfind_uv()\nprint('sysconfig' in sys.modules)"
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
