"""docker-archive tarballs, as `docker save` writes them and `docker load` / `podman load` read them.

The archive is made as a stream of chunks (tar headers, then each blob read in pieces), so the same bytes can go to a
file or straight into an engine's `POST /images/load` without a copy on disk.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
from collections.abc import Iterator
from pathlib import Path

from .descriptor import Descriptor
from .digest import CheckedReader, hex_of
from .errors import cache_damaged
from .image import Image
from .layer import FILE_MTIME

_CHUNK = 1 << 20
_BLOCK = tarfile.BLOCKSIZE
_END = b"\0" * (2 * _BLOCK)  # tar's end-of-archive marker: two zero blocks


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = FILE_MTIME
    info.mode = 0o644
    return info.tobuf(tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


def _member_bytes(name: str, data: bytes) -> Iterator[bytes]:
    yield _header(name, len(data))
    yield data + _padding(len(data))


def _member_blob(name: str, path: Path, descriptor: Descriptor) -> Iterator[bytes]:
    """The cached blob, checked against its digest as it is read: a damaged cache must not give an archive that lies."""
    yield _header(name, descriptor.size)
    with path.open("rb") as f:
        reader = CheckedReader(f)
        while reader.size < descriptor.size and (chunk := reader.read(min(_CHUNK, descriptor.size - reader.size))):
            yield chunk
        if reader.read(1) or not reader.matches(descriptor.digest, descriptor.size):  # shorter, longer or other bytes
            raise cache_damaged(path, descriptor.digest)
    yield _padding(descriptor.size)


def archive_chunks(image: Image, repo_tags: list[str]) -> Iterator[bytes]:
    """Config, then layers (compressed, as modern `docker load` accepts), then manifest.json, as tar bytes in pieces."""
    config_name = hex_of(image.config_descriptor().digest) + ".json"
    yield from _member_bytes(config_name, image.config_bytes())
    layer_names: list[str] = []
    for blob in image.layers:
        suffix = {"gzip": ".tar.gz", "zstd": ".tar.zst"}.get(blob.descriptor.media_type.rsplit("+", 1)[-1], ".tar")
        name = hex_of(blob.descriptor.digest) + suffix
        if name not in layer_names:
            yield from _member_blob(name, blob.fetch(), blob.descriptor)
        layer_names.append(name)
    manifest = [{"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names}]
    yield from _member_bytes("manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
    yield _END


def write_archive(path: Path, image: Image, repo_tags: list[str]) -> None:
    """The archive, written to a temp file beside path and renamed: a failed build leaves no half archive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("wb") as f:
            for chunk in archive_chunks(image, repo_tags):
                f.write(chunk)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
