"""Read what an ELF executable needs from the dynamic loader: NEEDED, RPATH and RUNPATH.

A small reader of our own (the ELF header, program headers and the dynamic segment) keeps
this fast and free of dependencies; ``readelf -d`` is what the tests compare it against.
"""

from __future__ import annotations

import os
import struct

from anyvenv.record import record

_ELF_MAGIC = b"\x7fELF"
_PT_LOAD = 1
_PT_DYNAMIC = 2
_PT_INTERP = 3
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_STRSZ = 10
_DT_RPATH = 15
_DT_RUNPATH = 29


class NotElf(ValueError):
    """The file is not an ELF binary (a script, a Mach-O file, garbage)."""


@record
class DynamicInfo:
    """The loader-facing facts of one ELF file."""

    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    interpreter: str | None = None

    @property
    def library_search_path(self) -> tuple[str, ...]:
        """Directories the loader tries before system ones: RUNPATH if set, else RPATH."""
        return self.runpath if self.runpath else self.rpath


def read_dynamic_info(path: str | os.PathLike[str]) -> DynamicInfo:
    """Parse ``path``; raises :class:`NotElf` for a non-ELF file, ``OSError`` if unreadable."""
    with open(path, "rb") as handle:
        data = handle.read()
    return parse_dynamic_info(data)


def parse_dynamic_info(data: bytes) -> DynamicInfo:
    """The loader facts in ``data``; :class:`NotElf` for anything that is not a whole ELF file
    (garbage, a copy cut short, offsets pointing past the end)."""
    if len(data) < 64 or not data.startswith(_ELF_MAGIC):
        raise NotElf("not an ELF file")
    try:
        return _parse_elf(data)
    except (struct.error, OverflowError, IndexError) as exc:
        raise NotElf(f"a damaged or truncated ELF file ({exc})") from None


def _parse_elf(data: bytes) -> DynamicInfo:
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    if is64:
        phoff, phentsize, phnum = (
            struct.unpack_from(endian + "Q", data, 0x20)[0],
            *struct.unpack_from(endian + "HH", data, 0x36),
        )
        ph_format, dyn_format = endian + "IIQQQQQQ", endian + "qQ"
    else:
        phoff, phentsize, phnum = (
            struct.unpack_from(endian + "I", data, 0x1C)[0],
            *struct.unpack_from(endian + "HH", data, 0x2A),
        )
        ph_format, dyn_format = endian + "IIIIIIII", endian + "iI"

    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    interpreter: str | None = None
    for index in range(phnum):
        fields = struct.unpack_from(ph_format, data, phoff + index * phentsize)
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == _PT_INTERP:
            interpreter = (
                data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode("utf-8", "replace")
            )
    if dynamic is None:
        return DynamicInfo(interpreter=interpreter)

    entries: list[tuple[int, int]] = []
    entry_size = struct.calcsize(dyn_format)
    offset, size = dynamic
    for position in range(offset, offset + size, entry_size):
        tag, value = struct.unpack_from(dyn_format, data, position)
        if tag == _DT_NULL:
            break
        entries.append((tag, value))

    strtab_vaddr = next((v for t, v in entries if t == _DT_STRTAB), None)
    if strtab_vaddr is None:
        return DynamicInfo(interpreter=interpreter)
    strtab = _file_offset(loads, strtab_vaddr)

    def string_at(index: int) -> str:
        start = strtab + index
        end = data.index(b"\0", start)
        return data[start:end].decode("utf-8", "surrogateescape")

    def paths(tag: int) -> tuple[str, ...]:
        return tuple(p for t, v in entries if t == tag for p in string_at(v).split(":") if p)

    return DynamicInfo(
        needed=tuple(string_at(v) for t, v in entries if t == _DT_NEEDED),
        rpath=paths(_DT_RPATH),
        runpath=paths(_DT_RUNPATH),
        interpreter=interpreter,
    )


def _file_offset(loads: list[tuple[int, int, int]], vaddr: int) -> int:
    for seg_vaddr, seg_offset, seg_size in loads:
        if seg_vaddr <= vaddr < seg_vaddr + max(seg_size, 1):
            return vaddr - seg_vaddr + seg_offset
    return vaddr  # unmapped: treat as a file offset (prelinked or odd layouts)


def expand_origin(entry: str, origin: str) -> str:
    """Substitute ``$ORIGIN`` / ``${ORIGIN}`` as the loader does."""
    return entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
