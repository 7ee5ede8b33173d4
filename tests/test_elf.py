"""The ELF reader against readelf, and libpython linkage decided from real binaries."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from anyvenv.interpreter.elf import NotElf, parse_dynamic_info, read_dynamic_info
from anyvenv.interpreter.linkage import LibpythonLink, libpython_linkage

BINARIES = sorted(
    {
        *glob.glob("/root/.pyenv/versions/3.*/bin/python3.*[0-9]"),
        "/usr/bin/python3.11",
        "/bin/ls",
        "/usr/bin/env",
    }
)
BINARIES = [b for b in BINARIES if Path(b).is_file()]


def readelf_dynamic(path: str) -> dict[str, list[str]]:
    out = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True).stdout
    found: dict[str, list[str]] = {"NEEDED": [], "RPATH": [], "RUNPATH": []}
    for tag, value in re.findall(r"\((NEEDED|RPATH|RUNPATH)\)\s+\S.*?: \[(.*)\]", out):
        found[tag].extend(value.split(":") if tag != "NEEDED" else [value])
    return found


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) is not installed")
@pytest.mark.parametrize("binary", BINARIES)
def test_dynamic_section_matches_readelf(binary: str) -> None:
    expected = readelf_dynamic(binary)
    info = read_dynamic_info(binary)
    assert list(info.needed) == expected["NEEDED"]
    assert list(info.rpath) == expected["RPATH"]
    assert list(info.runpath) == expected["RUNPATH"]


def test_non_elf_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(NotElf):
        read_dynamic_info(script)
    with pytest.raises(NotElf):
        parse_dynamic_info(b"\x7fELF")


def test_debian_python_is_static_although_sysconfig_says_shared() -> None:
    if not Path("/usr/bin/python3.11").exists():
        pytest.skip("no Debian python3.11 here")
    assert libpython_linkage("/usr/bin/python3.11").kind is LibpythonLink.STATIC


def test_pyenv_build_finds_libpython_through_an_absolute_runpath() -> None:
    exe = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")
    if not exe.exists():
        pytest.skip("no pyenv 3.11.7 here")
    linkage = libpython_linkage(exe)
    assert linkage.kind is LibpythonLink.ABSOLUTE
    assert linkage.library == "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
    assert not linkage.copy_needs_library


@pytest.mark.skipif(shutil.which("patchelf") is None, reason="patchelf is not installed")
def test_origin_relative_build_needs_its_library(tmp_path: Path) -> None:
    """A copy of a pyenv build with RUNPATH $ORIGIN/../lib behaves like a standalone build."""
    source = Path("/root/.pyenv/versions/3.11.7")
    if not source.exists():
        pytest.skip("no pyenv 3.11.7 here")
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    exe = tmp_path / "bin" / "python3.11"
    shutil.copy2(source / "bin" / "python3.11", exe)
    shutil.copy2(source / "lib" / "libpython3.11.so.1.0", tmp_path / "lib")
    subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(exe)], check=True)
    linkage = libpython_linkage(exe)
    assert linkage.kind is LibpythonLink.ORIGIN
    assert linkage.library == str(tmp_path / "lib" / "libpython3.11.so.1.0")
    assert linkage.relative_library_dir() == "../lib"
    assert linkage.copy_needs_library
