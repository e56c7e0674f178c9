"""The ELF reader against readelf on real files (the host's libraries, wheels from the index) and on malformed input."""

from __future__ import annotations

import os
import random
import re
import struct
import subprocess
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from pyjib.elf import ET_DYN, ElfInfo, read_elf
from tests.unit.wheels import download_wheel

HOST_FILES = [Path(p) for p in ("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3.11")]
LIB_DYNLOAD = sorted(Path("/usr/lib/python3.11/lib-dynload").glob("*.so"))


def readelf(path: Path) -> dict[str, list[str]]:
    """NEEDED, SONAME, RPATH and RUNPATH as binutils' readelf reports them: the independent reading."""
    out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    found: dict[str, list[str]] = {"NEEDED": [], "SONAME": [], "RPATH": [], "RUNPATH": []}
    for kind, value in re.findall(r"\((NEEDED|SONAME|RPATH|RUNPATH)\)\s+[^\[]*\[(.*)\]", out):
        found[kind] += [value] if kind in ("NEEDED", "SONAME") else [p for p in value.split(":") if p]
    return found


def assert_matches_readelf(info: ElfInfo | None, path: Path) -> None:
    assert info is not None, path
    expected = readelf(path)
    assert list(info.needed) == expected["NEEDED"], path
    assert ([info.soname] if info.soname else []) == expected["SONAME"], path
    assert (list(info.rpath), list(info.runpath)) == (expected["RPATH"], expected["RUNPATH"]), path


@pytest.mark.parametrize("path", HOST_FILES + LIB_DYNLOAD[:12], ids=lambda p: p.name)
def test_host_files_read_as_readelf_reads_them(path: Path) -> None:
    info = read_elf(path)
    assert_matches_readelf(info, path)
    assert info is not None and (info.bits, info.big_endian, info.machine) == (64, False, 62)


def test_host_libstdcxx_names_itself_and_needs_libc() -> None:
    info = read_elf(HOST_FILES[0])
    assert info is not None and info.soname == "libstdc++.so.6" and "libc.so.6" in info.needed and info.file_type == ET_DYN


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ujson (a C++ extension) and pyzmq (auditwheel's pyzmq.libs/ and RPATH $ORIGIN) from the public index, unpacked."""
    root = tmp_path_factory.mktemp("wheels")
    for requirement in ("ujson==6.1.0", "pyzmq==27.3.0"):
        with zipfile.ZipFile(download_wheel(requirement)) as archive:
            archive.extractall(root)
    return root


def test_wheel_files_read_as_readelf_reads_them(unpacked: Path) -> None:
    shared_objects = sorted(p for p in unpacked.rglob("*") if p.is_file() and ".so" in p.name)
    assert len(shared_objects) >= 4
    for path in shared_objects:
        assert_matches_readelf(read_elf(path), path)


def test_cxx_extension_needs_libstdcxx(unpacked: Path) -> None:
    (extension,) = unpacked.glob("ujson.cpython-311-*.so")
    info = read_elf(extension)
    assert info is not None and "libstdc++.so.6" in info.needed and info.soname is None


def test_auditwheel_rpath_points_at_the_libs_folder_whose_soname_is_needed(unpacked: Path) -> None:
    (extension,) = unpacked.glob("zmq/backend/cython/_zmq.cpython-311-*.so")
    (libzmq,) = unpacked.glob("pyzmq.libs/libzmq-*.so*")
    info, library = read_elf(extension), read_elf(libzmq)
    assert info is not None and library is not None
    assert info.rpath == ("$ORIGIN/../../../pyzmq.libs",)
    assert library.soname in info.needed and library.soname == libzmq.name


def synthetic_elf(bits: int, big_endian: bool, needed: list[str], soname: str | None = None, rpath: str | None = None,
                  runpath: str | None = None, machine: int = 62, padding: int = 0) -> bytes:
    """A minimal shared object: a header, a PT_LOAD over the whole file, a PT_DYNAMIC, its entries and string table
    (with padding bytes of other strings before the names, as a big library's table has)."""
    endian = ">" if big_endian else "<"
    strings = b"\0" * (1 + padding)
    offsets = {}
    for text in [*needed, soname, rpath, runpath]:
        if text is not None and text not in offsets:
            offsets[text] = len(strings)
            strings += text.encode() + b"\0"
    entries = [(1, offsets[n]) for n in needed]
    entries += [(tag, offsets[v]) for tag, v in ((14, soname), (15, rpath), (29, runpath)) if v is not None]
    header_size, phentsize = (52, 32) if bits == 32 else (64, 56)
    vaddr = 0x10000
    dynamic_offset = header_size + 2 * phentsize
    entry_format = endian + ("iI" if bits == 32 else "qQ")
    dynamic_size = (len(entries) + 3) * struct.calcsize(entry_format)
    strtab_offset = dynamic_offset + dynamic_size
    entries += [(5, vaddr + strtab_offset), (10, len(strings)), (0, 0)]
    total = strtab_offset + len(strings)
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 2 if big_endian else 1, 1]) + b"\0" * 9
    if bits == 32:
        header = struct.pack(endian + "HHIIIIIHHHHHH", ET_DYN, machine, 1, 0, header_size, 0, 0, header_size, phentsize, 2, 40, 0, 0)
        phdrs = struct.pack(endian + "IIIIIIII", 1, 0, vaddr, vaddr, total, total, 4, 0x1000)
        phdrs += struct.pack(endian + "IIIIIIII", 2, dynamic_offset, vaddr + dynamic_offset, vaddr + dynamic_offset, dynamic_size, dynamic_size, 6, 4)
    else:
        header = struct.pack(endian + "HHIQQQIHHHHHH", ET_DYN, machine, 1, 0, header_size, 0, 0, header_size, phentsize, 2, 64, 0, 0)
        phdrs = struct.pack(endian + "IIQQQQQQ", 1, 4, 0, vaddr, vaddr, total, total, 0x1000)
        phdrs += struct.pack(endian + "IIQQQQQQ", 2, 6, dynamic_offset, vaddr + dynamic_offset, vaddr + dynamic_offset, dynamic_size, dynamic_size, 8)
    dynamic = b"".join(struct.pack(entry_format, tag, value) for tag, value in entries)
    return ident + header + phdrs + dynamic + strings


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big_endian", [False, True], ids=["little", "big"])
def test_both_classes_and_byte_orders(tmp_path: Path, bits: int, big_endian: bool) -> None:
    path = tmp_path / "libdemo.so.1"
    path.write_bytes(synthetic_elf(bits, big_endian, ["libstdc++.so.6", "libc.so.6"], soname="libdemo.so.1",
                                   rpath="$ORIGIN/../demo.libs:/opt/lib", runpath="$ORIGIN", machine=22))
    info = read_elf(path)
    assert_matches_readelf(info, path)
    assert info == ElfInfo(bits, big_endian, ET_DYN, 22, ("libstdc++.so.6", "libc.so.6"), "libdemo.so.1",
                           ("$ORIGIN/../demo.libs", "/opt/lib"), ("$ORIGIN",))


def test_files_that_are_not_elf_are_none(tmp_path: Path) -> None:
    for name, data in {"empty": b"", "text.py": b"print('hello')\n", "magic-only": b"\x7fELF", "zip.whl": b"PK\x03\x04" + b"\0" * 60}.items():
        (tmp_path / name).write_bytes(data)
        assert read_elf(tmp_path / name) is None
    assert read_elf(tmp_path / "absent.so") is None
    os.mkfifo(tmp_path / "pipe.so")  # would block a plain open() until someone writes
    assert read_elf(tmp_path / "pipe.so") is None and read_elf(tmp_path) is None


def _patched(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    return data[:offset] + struct.pack(fmt, *values) + data[offset + struct.calcsize(fmt):]


def test_malformed_headers_are_skipped(tmp_path: Path) -> None:
    good = synthetic_elf(64, False, ["libc.so.6"], soname="libx.so")
    dynamic = 64 + 2 * 56
    cases = {
        "bad-class": good[:4] + b"\x03" + good[5:],
        "bad-order": good[:5] + b"\x07" + good[6:],
        "program-headers-past-the-end": _patched(good, 32, "<Q", len(good) - 8),
        "too-many-program-headers": _patched(good, 56, "<H", 0xFFFF),
        "short-program-header-entries": _patched(good, 54, "<H", 8),
        "dynamic-past-the-end": _patched(good, 64 + 56 + 8, "<Q", 1 << 40),
        "string-table-unmapped": _patched(good, dynamic + 16 * 2, "<qQ", 5, 0x999999),
        "string-table-huge": _patched(good, dynamic + 16 * 3, "<qQ", 10, 1 << 40),
        "name-outside-string-table": _patched(good, dynamic, "<qQ", 1, 1 << 20),
        "unterminated-string": good[:-1] + b"x",
        "truncated": good[: len(good) // 2],
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert read_elf(tmp_path / name) is None, name
    (tmp_path / "good").write_bytes(good)
    assert read_elf(tmp_path / "good") is not None


def test_truncated_and_corrupted_real_files_never_raise(tmp_path: Path) -> None:
    data = HOST_FILES[0].read_bytes()
    path = tmp_path / "libmangled.so"
    rng = random.Random(11)
    for length in [*range(0, 256, 7), *rng.sample(range(256, len(data)), 40)]:
        path.write_bytes(data[:length])
        result = read_elf(path)
        assert result is None or isinstance(result, ElfInfo)
    head = bytearray(data[:8192])
    for _ in range(300):
        mangled = bytearray(head)
        for _flip in range(rng.randint(1, 8)):
            mangled[rng.randrange(16, 4096)] = rng.randrange(256)
        path.write_bytes(bytes(mangled) + data[8192:])
        result = read_elf(path)
        assert result is None or isinstance(result, ElfInfo)


def test_a_string_table_of_tens_of_megabytes_is_read_name_by_name(tmp_path: Path) -> None:
    """libtensorflow_cc.so.2's table is 82 MB: its names are found, and the table is never read whole."""
    path = tmp_path / "libbig.so.2"
    path.write_bytes(synthetic_elf(64, False, ["libc.so.6"], soname="libbig.so.2", padding=40 << 20))
    tracemalloc.start()
    try:
        info = read_elf(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info is not None and info.soname == "libbig.so.2" and info.needed == ("libc.so.6",)
    assert peak < 1 << 20
