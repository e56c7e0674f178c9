"""Content digests, computed as a registry computes them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def hex_of(digest: str) -> str:
    """The hex part of 'sha256:HEX', checked so that it can name a file safely."""
    algorithm, _, hexpart = digest.partition(":")
    if algorithm != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return hexpart


class CheckedReader:
    """Reads a file while hashing it, so a copy can be checked against the digest it should have without a second pass."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._file.read(n)
        self._hash.update(chunk)
        self.size += len(chunk)
        return chunk

    def matches(self, digest: str, size: int) -> bool:
        return self.size == size and "sha256:" + self._hash.hexdigest() == digest
