"""Read what an ELF executable needs from the dynamic loader: NEEDED, RPATH and RUNPATH.

A small reader of our own (the ELF header, program headers and the dynamic segment) keeps
this fast and free of dependencies; ``readelf -d`` is what the tests compare it against.
"""

from __future__ import annotations

import os

from anyvenv.record import record

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time (mypy knows this name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Literal

    ByteOrder = Literal["little", "big"]

_ELF_MAGIC = b"\x7fELF"
_PT_LOAD = 1
_PT_DYNAMIC = 2
_PT_INTERP = 3
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
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
    """Parse ``path``; raises :class:`NotElf` for a non-ELF file, ``OSError`` if unreadable.

    Only the headers, the dynamic segment and the strings it names are read, not the file: a
    python-build-standalone interpreter with libpython linked in is tens of megabytes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:

        def read_at(offset: int, size: int) -> bytes:
            if offset < 0 or size < 0:
                raise IndexError("negative offset or size")
            data = os.pread(fd, size, offset)
            if len(data) != size:
                raise IndexError(f"{size} bytes at {offset} are past the end")
            return data

        return _parse_checked(read_at)
    finally:
        os.close(fd)


def parse_dynamic_info(data: bytes) -> DynamicInfo:
    """The loader facts in ``data``; :class:`NotElf` for anything that is not a whole ELF file
    (garbage, a copy cut short, offsets pointing past the end)."""

    def read_at(offset: int, size: int) -> bytes:
        if offset < 0 or size < 0 or offset + size > len(data):
            raise IndexError(f"{size} bytes at {offset} are past the end")
        return data[offset : offset + size]

    return _parse_checked(read_at)


def _parse_checked(read_at: Callable[[int, int], bytes]) -> DynamicInfo:
    try:
        header = read_at(0, 64)
    except IndexError:
        raise NotElf("not an ELF file") from None
    if not header.startswith(_ELF_MAGIC):
        raise NotElf("not an ELF file")
    try:
        return _parse_elf(header, read_at)
    except (OverflowError, IndexError, ValueError) as exc:
        raise NotElf(f"a damaged or truncated ELF file ({exc})") from None


def _fields(data: bytes, offset: int, widths: tuple[int, ...], order: ByteOrder) -> list[int]:
    """Unsigned integers of ``widths`` bytes each, one after another from ``offset``
    (``struct`` would do, but importing it costs more than reading a whole interpreter's
    headers); :class:`IndexError` past the end of ``data``."""
    values = []
    for width in widths:
        if offset < 0 or offset + width > len(data):
            raise IndexError(f"{width} bytes at {offset} are past the end")
        values.append(int.from_bytes(data[offset : offset + width], order))
        offset += width
    return values


# Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align; Elf32_Phdr: type,
# offset, vaddr, paddr, filesz, memsz, flags, align. A dynamic entry: tag, value.
_PHDR_WIDTHS = {True: (4, 4, 8, 8, 8, 8, 8, 8), False: (4,) * 8}
_DYN_WIDTHS = {True: (8, 8), False: (4, 4)}


def _parse_elf(header: bytes, read_at: Callable[[int, int], bytes]) -> DynamicInfo:
    is64 = header[4] == 2
    order: ByteOrder = "little" if header[5] == 1 else "big"
    if is64:
        phoff, phentsize, phnum = (
            _fields(header, 0x20, (8,), order)[0],
            *_fields(header, 0x36, (2, 2), order),
        )
    else:
        phoff, phentsize, phnum = (
            _fields(header, 0x1C, (4,), order)[0],
            *_fields(header, 0x2A, (2, 2), order),
        )
    ph_widths, dyn_widths = _PHDR_WIDTHS[is64], _DYN_WIDTHS[is64]

    ph_size = sum(ph_widths)
    table = read_at(phoff, phentsize * (phnum - 1) + ph_size) if phnum else b""
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    interpreter: str | None = None
    for index in range(phnum):
        fields = _fields(table, index * phentsize, ph_widths, order)
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == _PT_INTERP:
            raw = _read_clipped(read_at, p_offset, p_filesz)
            interpreter = raw.rstrip(b"\0").decode("utf-8", "replace")
    if dynamic is None:
        return DynamicInfo(interpreter=interpreter)

    entries: list[tuple[int, int]] = []
    entry_size = sum(dyn_widths)
    offset, size = dynamic
    if size > 1 << 20:
        raise ValueError(f"a dynamic segment of {size} bytes")
    segment = read_at(offset, size)  # a copy cut short ends here: NotElf
    for position in range(0, len(segment) - entry_size + 1, entry_size):
        tag, value = _fields(segment, position, dyn_widths, order)
        if tag == _DT_NULL:
            break
        entries.append((tag, value))

    strtab_vaddr = next((v for t, v in entries if t == _DT_STRTAB), None)
    if strtab_vaddr is None:
        return DynamicInfo(interpreter=interpreter)
    strtab = _file_offset(loads, strtab_vaddr)

    def string_at(index: int) -> str:
        return _read_string(read_at, strtab + index).decode("utf-8", "surrogateescape")

    def paths(tag: int) -> tuple[str, ...]:
        return tuple(p for t, v in entries if t == tag for p in string_at(v).split(":") if p)

    return DynamicInfo(
        needed=tuple(string_at(v) for t, v in entries if t == _DT_NEEDED),
        rpath=paths(_DT_RPATH),
        runpath=paths(_DT_RUNPATH),
        interpreter=interpreter,
    )


def _read_clipped(read_at: Callable[[int, int], bytes], offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset``, as a slice of the whole file would give them: fewer where
    the file ends first (the parse then finds what it finds), none past the end."""
    chunk = min(size, 1 << 20)
    while chunk > 0:
        try:
            return read_at(offset, chunk)
        except IndexError:
            chunk //= 2
    return b""


def _read_string(read_at: Callable[[int, int], bytes], start: int) -> bytes:
    """The NUL-terminated string at ``start``; ValueError if the file ends first."""
    parts: list[bytes] = []
    position = start
    while True:
        block = _read_clipped(read_at, position, 256)
        if not block:
            raise ValueError("an unterminated string")
        end = block.find(b"\0")
        if end >= 0:
            parts.append(block[:end])
            return b"".join(parts)
        parts.append(block)
        position += len(block)
        if position - start > 1 << 16:
            raise ValueError("a string longer than 64 KiB")


def _file_offset(loads: list[tuple[int, int, int]], vaddr: int) -> int:
    for seg_vaddr, seg_offset, seg_size in loads:
        if seg_vaddr <= vaddr < seg_vaddr + max(seg_size, 1):
            return vaddr - seg_vaddr + seg_offset
    return vaddr  # unmapped: treat as a file offset (prelinked or odd layouts)


def expand_origin(entry: str, origin: str) -> str:
    """Substitute ``$ORIGIN`` / ``${ORIGIN}`` as the loader does."""
    return entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
