"""The local content-addressed store: blobs named by digest, written atomically so concurrent builds can share it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .atomicfile import staged_file, write_text
from .cachelayout import BLOBS
from .oci.digest import hex_of


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
        self.blobs = root / BLOBS

    def path(self, digest: str) -> Path:
        return self.blobs / hex_of(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def store_stream(self, chunks: Iterable[bytes], expected: str | None = None) -> tuple[str, Path]:
        """Store chunks under their digest; with expected, refuse bytes whose digest differs."""
        h = hashlib.sha256()
        with staged_file(self.blobs) as staged:
            for chunk in chunks:
                h.update(chunk)
                staged.file.write(chunk)
            actual = "sha256:" + h.hexdigest()
            if expected is not None and actual != expected:
                raise DigestMismatch(expected, actual)
            final = self.path(actual)
            staged.commit(final)
            return actual, final

    def put_stream(self, digest: str, chunks: Iterable[bytes]) -> Path:
        return self.store_stream(chunks, expected=digest)[1]

    def put_bytes(self, digest: str, data: bytes) -> Path:
        return self.put_stream(digest, [data])


def cache_key(*parts: object) -> str:
    """A stable key for a recipe: the sha256 of its parts as canonical JSON."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


class Records:
    """Small JSON records under cache/NAMESPACE/KEY.json, written atomically so concurrent builds never see half a record."""

    def __init__(self, root: Path, namespace: str) -> None:
        self.directory = root / namespace

    def get(self, key: str, max_age: float | None = None) -> Any:
        path = self.directory / f"{key}.json"
        try:
            if max_age is not None and time.time() - path.stat().st_mtime > max_age:
                return None
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: Any) -> None:
        write_text(self.directory / f"{key}.json", json.dumps(value, sort_keys=True))


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, for work two builds must not do at once (creating one build environment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
