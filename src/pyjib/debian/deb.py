"""Reading a .deb without dpkg: an ar archive of debian-binary, control.tar.* and data.tar.* (xz, zstd, gzip or none)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import PyjibError
from .control import ControlError, one_paragraph

_AR_MAGIC = b"!<arch>\n"
_HEADER = 60


class DebError(PyjibError):
    """A .deb that is not the archive it claims to be."""


def ar_members(data: bytes, what: str) -> dict[str, bytes]:
    """The members of an ar archive by name (the common format: 60-byte headers, bodies padded to an even length)."""
    if not data.startswith(_AR_MAGIC):
        raise DebError(f"{what} is not a .deb (no ar archive header)")
    members, offset = {}, len(_AR_MAGIC)
    while offset < len(data):
        header = data[offset:offset + _HEADER]
        if len(header) < _HEADER or header[58:60] != b"`\n":
            raise DebError(f"{what} has a damaged ar member header at byte {offset}")
        name = header[:16].decode("ascii", errors="replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise DebError(f"{what} has an ar member with an unreadable size at byte {offset}") from None
        start = offset + _HEADER
        if start + size > len(data):
            raise DebError(f"{what} is truncated (member {name} runs past the end)")
        members[name] = data[start:start + size]
        offset = start + size + (size % 2)
    return members


def _zstd(data: bytes) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise DebError("this package's files are zstd-compressed: pip install 'pyjib[zstd]'") from None
    return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()


_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".xz": lzma.decompress, ".zst": _zstd, ".gz": gzip.decompress, ".bz2": bz2.decompress, "": bytes,
}


def _tar_member(members: dict[str, bytes], stem: str, what: str) -> tarfile.TarFile:
    for suffix, decompress in _DECOMPRESSORS.items():
        if (body := members.get(stem + suffix)) is not None:
            try:
                return tarfile.open(fileobj=io.BytesIO(decompress(body)), mode="r:")
            except (lzma.LZMAError, OSError, EOFError, tarfile.TarError) as exc:
                raise DebError(f"{what}: {stem}{suffix} does not unpack ({exc})") from exc
    raise DebError(f"{what} has no {stem}.tar member (found: {', '.join(sorted(members))})")


@dataclass(frozen=True)
class Deb:
    control_text: str  # the control file as it is, for /var/lib/dpkg/status.d
    control: dict[str, str]
    data: tarfile.TarFile  # the files it installs

    def files(self) -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
        """Each member of data.tar with its bytes (None for anything but a regular file)."""
        for member in self.data.getmembers():
            body = None
            if member.isreg():
                extracted = self.data.extractfile(member)
                body = extracted.read() if extracted is not None else b""
            yield member, body


def read_deb(path: Path, what: str) -> Deb:
    members = ar_members(path.read_bytes(), what)
    if not members.get("debian-binary", b"").startswith(b"2."):
        raise DebError(f"{what} is not a version 2 .deb")
    control_tar = _tar_member(members, "control.tar", what)
    control_member = next((m for m in control_tar.getmembers() if m.name.lstrip("./") == "control" and m.isreg()), None)
    extracted = control_tar.extractfile(control_member) if control_member is not None else None
    if extracted is None:
        raise DebError(f"{what} has no control file")
    text = extracted.read().decode("utf-8", errors="replace")
    try:
        control = one_paragraph(text, f"{what}'s control file")
    except ControlError as exc:
        raise DebError(str(exc)) from exc
    return Deb(text if text.endswith("\n") else text + "\n", control, _tar_member(members, "data.tar", what))
