""".deb files read in Python (ar, then control.tar and data.tar in xz, zstd or gzip) and unpacked into a merged-/usr tree."""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from pyjib.debian.deb import DebError, ar_members, read_deb
from pyjib.debian.rootfs import assemble, image_path, unpack
from pyjib.layer import Ownership

CONTROL = "Package: demo\nVersion: 1.0-1\nArchitecture: amd64\nDescription: a test\n with two lines\n"


def _tar(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            info, body = entry if isinstance(entry, tuple) else (entry, b"")
            if info.isreg():
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body) if info.isreg() else None)
    return buffer.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = "", uid: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.uid, info.gid = kind, mode, link, uid, uid
    return info


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, body in members:
        out.append(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode() + body + (b"\n" if len(body) % 2 else b""))
    return b"".join(out)


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"xz": lzma.compress, "zst": _zstd, "gz": gzip.compress}


Entry = tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]  # a member of a test archive: a header alone, or with its body


def make_deb(path: Path, data: list[Entry], compression: str = "xz", control: str = CONTROL) -> Path:
    compress = COMPRESSORS[compression]
    control_tar = _tar([(_entry("./control"), control.encode())])
    path.write_bytes(_ar([("debian-binary", b"2.0\n"), (f"control.tar.{compression}", compress(control_tar)),
                          (f"data.tar.{compression}", compress(_tar(data)))]))
    return path


STANDARD: list[Entry] = [
    _entry("./", tarfile.DIRTYPE, 0o755), _entry("./usr/", tarfile.DIRTYPE, 0o755), _entry("./lib/", tarfile.DIRTYPE, 0o755),
    (_entry("./lib/libdemo.so.1.0"), b"\x7fELF library"),
    _entry("./lib/libdemo.so.1", tarfile.SYMTYPE, 0o777, "libdemo.so.1.0"),
    (_entry("./usr/bin/demo", mode=0o4755), b"#!binary"),
    _entry("./usr/bin/demo-again", tarfile.LNKTYPE, link="./usr/bin/demo"),
    (_entry("./usr/share/doc/demo/changelog.gz"), b"long history"),
    (_entry("./usr/share/doc/demo/copyright"), b"the licence"),
    _entry("./var/cache/demo/", tarfile.DIRTYPE, 0o750, uid=5),
]


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_control_and_files_in_each_compression(tmp_path: Path, compression: str) -> None:
    deb = read_deb(make_deb(tmp_path / "demo.deb", STANDARD, compression), "demo")
    assert deb.control["Package"] == "demo" and deb.control["Description"] == "a test\nwith two lines"
    assert deb.control_text == CONTROL
    files = {member.name: body for member, body in deb.files()}
    assert files["./lib/libdemo.so.1.0"] == b"\x7fELF library" and files["./lib/libdemo.so.1"] is None


def test_unpack_merges_usr_prunes_docs_and_keeps_special_modes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    deb = read_deb(make_deb(tmp_path / "demo.deb", STANDARD), "demo")
    ownership: dict[str, Ownership] = {}
    unpack(root, deb, "demo", ownership)
    assert (root / "usr/lib/libdemo.so.1.0").read_bytes() == b"\x7fELF library"
    assert (root / "usr/lib/libdemo.so.1").readlink() == Path("libdemo.so.1.0")
    assert (root / "usr/bin/demo-again").read_bytes() == b"#!binary" and not (root / "usr/bin/demo-again").is_symlink()
    assert not (root / "usr/share/doc/demo/changelog.gz").exists() and (root / "usr/share/doc/demo/copyright").is_file()
    assert ownership == {"usr/bin/demo": Ownership(0o4755, 0, 0), "var/cache/demo": Ownership(0o750, 5, 5)}
    assert not (root / "lib").exists()  # the link to usr/lib is made once every package is in


@pytest.mark.parametrize("name", ["../etc/passwd", "./usr/../../x"])
def test_a_path_outside_the_root_is_refused(name: str) -> None:
    with pytest.raises(DebError, match="outside the image's root"):
        image_path(name, "evil")


def test_a_file_through_a_packaged_symlink_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    deb = read_deb(make_deb(tmp_path / "evil.deb", [_entry("./usr/escape", tarfile.SYMTYPE, 0o777, "/tmp"),
                                                    (_entry("./usr/escape/owned"), b"x")]), "evil")
    with pytest.raises(DebError, match="no folder here"):
        unpack(root, deb, "evil", {})
    assert not (Path("/tmp") / "owned").exists() or (Path("/tmp") / "owned").read_bytes() != b"x"


def test_damaged_archives_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DebError, match=r"not a \.deb"):
        ar_members(b"PK\x03\x04", "zip")
    good = make_deb(tmp_path / "demo.deb", STANDARD).read_bytes()
    with pytest.raises(DebError, match="truncated"):
        ar_members(good[:-100], "short")
    no_data = _ar([("debian-binary", b"2.0\n"), ("control.tar.gz", gzip.compress(_tar([(_entry("./control"), CONTROL.encode())])))])
    (tmp_path / "nodata.deb").write_bytes(no_data)
    with pytest.raises(DebError, match=r"no data\.tar"):
        read_deb(tmp_path / "nodata.deb", "nodata")


def test_assemble_adds_accounts_links_certificates_and_status(tmp_path: Path) -> None:
    python: list[Entry] = [_entry("./usr/bin/", tarfile.DIRTYPE, 0o755), (_entry("./usr/bin/python3.11", mode=0o755), b"python"),
              (_entry("./usr/share/ca-certificates/mozilla/B.crt"), b"-----B-----"), (_entry("./usr/share/ca-certificates/mozilla/A.crt"), b"-----A-----")]
    control = CONTROL.replace("demo", "python3.11-minimal")
    debs = [("python3.11-minimal", read_deb(make_deb(tmp_path / "p.deb", python, control=control), "p")),
            ("demo", read_deb(make_deb(tmp_path / "demo.deb", STANDARD), "demo"))]
    root = tmp_path / "root"
    root.mkdir()
    ownership = assemble(root, debs, "3.11")
    assert (root / "lib").readlink() == Path("usr/lib") and (root / "bin").readlink() == Path("usr/bin")
    assert (root / "usr/bin/python3").readlink() == Path("python3.11")
    assert (root / "etc/ssl/certs/ca-certificates.crt").read_text() == "-----A-----\n-----B-----\n"
    assert "nonroot:x:65532:65532:nonroot:/home/nonroot:" in (root / "etc/passwd").read_text()
    assert (root / "var/lib/dpkg/status.d/python3.11-minimal").read_text() == control
    assert ownership["tmp"] == Ownership(0o1777) and ownership["home/nonroot"] == Ownership(0o700, 65532, 65532)
    assert not (root / "usr/bin/sh").exists()


def test_merged_usr_links_a_package_ships_are_left_to_the_assembly(tmp_path: Path) -> None:
    """Debian 13's base-files ships /bin -> usr/bin itself; the tree gets the link once, from merge_usr."""
    control = CONTROL.replace("demo", "base-files")
    files: list[Entry] = [_entry("./bin", tarfile.SYMTYPE, 0o777, "usr/bin"), _entry("./lib", tarfile.SYMTYPE, 0o777, "usr/lib"),
             (_entry("./usr/bin/python3.13", mode=0o755), b"python")]
    root = tmp_path / "root"
    root.mkdir()
    assemble(root, [("base-files", read_deb(make_deb(tmp_path / "b.deb", files, control=control), "b"))], "3.13")
    assert (root / "bin").readlink() == Path("usr/bin") and (root / "usr/bin").is_dir() and not (root / "usr/bin").is_symlink()
