"""The local content-addressed store: blobs named by digest, written atomically so concurrent builds can share it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .digest import hex_of


def default_cache_dir() -> Path:
    if explicit := os.environ.get("PYJIB_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyjib"


class DigestMismatch(Exception):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class BlobCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"

    def path(self, digest: str) -> Path:
        return self.blobs / hex_of(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def store_stream(self, chunks: Iterable[bytes], expected: str | None = None) -> tuple[str, Path]:
        """Store chunks under their digest; with expected, refuse bytes whose digest differs."""
        self.blobs.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.blobs, prefix=".incoming-")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    f.write(chunk)
            actual = "sha256:" + h.hexdigest()
            if expected is not None and actual != expected:
                raise DigestMismatch(expected, actual)
            final = self.path(actual)
            os.replace(tmp_name, final)
            return actual, final
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    def put_stream(self, digest: str, chunks: Iterable[bytes]) -> Path:
        return self.store_stream(chunks, expected=digest)[1]

    def put_bytes(self, digest: str, data: bytes) -> Path:
        return self.put_stream(digest, [data])
