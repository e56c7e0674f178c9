"""A small ELF reader: what a shared object or executable needs from the dynamic loader, and what it is called.

Only the dynamic section is read (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH), through the program headers, as the
loader does; section headers may be stripped. 32- and 64-bit, little- and big-endian. Every read is bounded by the
file's size and by the limits below, so a malformed or hostile file raises MalformedElf, never anything else.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

MAGIC = b"\x7fELF"
_MAX_PROGRAM_HEADERS = 4096
_MAX_DYNAMIC_ENTRIES = 65536
_MAX_STRING = 4096

_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
ET_DYN = 3
# e_machine of the CPUs wheels are tagged for (packaging's platform machine names).
MACHINES = {"x86_64": 62, "aarch64": 183, "i686": 3, "ppc64le": 21, "s390x": 22, "arm": 40, "armv7l": 40, "riscv64": 243}


class MalformedElf(ValueError):
    """The file starts like an ELF file but its headers do not hold together."""


@dataclass(frozen=True)
class ElfInfo:
    bits: int  # 32 or 64
    big_endian: bool
    file_type: int  # e_type: 2 executable, 3 shared object (or PIE executable)
    machine: int  # e_machine: 62 x86-64, 183 AArch64, 3 i386...
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()


class _Layout(NamedTuple):
    """The struct formats of one ELF class and byte order (tuples: cheaper to define at import than dataclasses)."""

    bits: int
    big_endian: bool
    header: str  # e_type .. e_shstrndx, after the 16 bytes of e_ident
    program_header: str
    dynamic_entry: str


def _layout(bits: int, big_endian: bool) -> _Layout:
    endian = ">" if big_endian else "<"
    if bits == 32:
        return _Layout(32, big_endian, endian + "HHIIIIIHHHHHH", endian + "IIIIIIII", endian + "iI")
    return _Layout(64, big_endian, endian + "HHIQQQIHHHHHH", endian + "IIQQQQQQ", endian + "qQ")


class _Segment(NamedTuple):
    kind: int
    offset: int
    vaddr: int
    filesz: int


def _read_at(handle: BinaryIO, size: int, offset: int, length: int) -> bytes:
    if offset < 0 or length < 0 or offset + length > size:
        raise MalformedElf(f"a read of {length} bytes at {offset} runs past the end ({size} bytes)")
    handle.seek(offset)
    data = handle.read(length)
    if len(data) != length:
        raise MalformedElf("the file is shorter than it said")
    return data


def _segments(handle: BinaryIO, size: int, layout: _Layout, phoff: int, phentsize: int, phnum: int) -> list[_Segment]:
    entry = struct.calcsize(layout.program_header)
    if phnum > _MAX_PROGRAM_HEADERS or (phnum and phentsize < entry):
        raise MalformedElf(f"{phnum} program headers of {phentsize} bytes")
    table = _read_at(handle, size, phoff, phentsize * phnum)
    segments = []
    for index in range(phnum):
        fields = struct.unpack_from(layout.program_header, table, index * phentsize)
        if layout.bits == 32:
            kind, offset, vaddr, _paddr, filesz = fields[:5]
        else:
            kind, _flags, offset, vaddr, _paddr, filesz = fields[:6]
        segments.append(_Segment(kind, offset, vaddr, filesz))
    return segments


def _file_offset(segments: list[_Segment], vaddr: int) -> int:
    """Where the loaded address vaddr sits in the file (DT_STRTAB is an address, not an offset)."""
    for segment in segments:
        if segment.kind == _PT_LOAD and segment.vaddr <= vaddr < segment.vaddr + segment.filesz:
            return vaddr - segment.vaddr + segment.offset
    raise MalformedElf(f"address {vaddr:#x} is in no loaded segment")


class _StringTable(NamedTuple):
    """Where the dynamic string table lies in the file. Its strings are read one by one, never the whole table: a big
    library's table runs to tens of megabytes (libtensorflow_cc's is 82 MB) and only a few names in it are wanted."""

    handle: BinaryIO
    start: int
    length: int

    def string(self, offset: int) -> str:
        if not 0 <= offset < self.length:
            raise MalformedElf(f"string offset {offset} outside the string table ({self.length} bytes)")
        self.handle.seek(self.start + offset)
        chunk = self.handle.read(min(_MAX_STRING, self.length - offset))
        end = chunk.find(b"\0")
        if end < 0:
            raise MalformedElf("an unterminated or overlong string")
        return chunk[:end].decode("utf-8", "surrogateescape")


def parse(handle: BinaryIO, size: int) -> ElfInfo:
    """The dynamic facts of the ELF file open in handle (size bytes long); MalformedElf when it is not a sound ELF file."""
    ident = _read_at(handle, size, 0, 16)
    if ident[:4] != MAGIC:
        raise MalformedElf("no ELF magic")
    if ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise MalformedElf(f"unknown ELF class {ident[4]} or byte order {ident[5]}")
    layout = _layout(32 if ident[4] == 1 else 64, ident[5] == 2)
    header = struct.unpack(layout.header, _read_at(handle, size, 16, struct.calcsize(layout.header)))
    file_type, machine, phoff, phentsize, phnum = header[0], header[1], header[4], header[8], header[9]
    info = ElfInfo(layout.bits, layout.big_endian, file_type, machine)
    segments = _segments(handle, size, layout, phoff, phentsize, phnum)
    dynamic = [s for s in segments if s.kind == _PT_DYNAMIC]
    if not dynamic:
        return info  # statically linked: it needs nothing from the loader
    entry_size = struct.calcsize(layout.dynamic_entry)
    count = min(dynamic[0].filesz // entry_size, _MAX_DYNAMIC_ENTRIES)
    raw = _read_at(handle, size, dynamic[0].offset, count * entry_size)
    entries: list[tuple[int, int]] = []
    for index in range(count):
        tag, value = struct.unpack_from(layout.dynamic_entry, raw, index * entry_size)
        if tag == _DT_NULL:
            break
        entries.append((tag, value))
    values = dict(entries)  # for the single-valued tags; DT_NEEDED repeats and is read from entries
    names = [v for t, v in entries if t in (_DT_NEEDED, _DT_SONAME, _DT_RPATH, _DT_RUNPATH)]
    if not names:
        return info
    if _DT_STRTAB not in values or _DT_STRSZ not in values:
        raise MalformedElf("a dynamic section with names but no string table")
    start, length = _file_offset(segments, values[_DT_STRTAB]), values[_DT_STRSZ]
    if start + length > size:
        raise MalformedElf(f"a string table of {length} bytes at {start} runs past the end ({size} bytes)")
    table = _StringTable(handle, start, length)

    def paths(tag: int) -> tuple[str, ...]:
        return tuple(p for t, v in entries if t == tag for p in table.string(v).split(":") if p)

    return ElfInfo(
        layout.bits, layout.big_endian, file_type, machine,
        needed=tuple(table.string(v) for t, v in entries if t == _DT_NEEDED),
        soname=table.string(values[_DT_SONAME]) if _DT_SONAME in values else None,
        rpath=paths(_DT_RPATH),
        runpath=paths(_DT_RUNPATH),
    )


def read_elf(path: Path) -> ElfInfo | None:
    """The ELF facts of the file at path; None when it is no ELF file, is malformed, or cannot be read (it is skipped)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused as no regular file.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode) or handle.read(4) != MAGIC:
                return None
            return parse(handle, status.st_size)
    except (OSError, MalformedElf, struct.error):
        return None
