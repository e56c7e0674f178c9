"""docker-archive tarballs, as `docker save` writes them and `docker load` / `podman load` read them."""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
from pathlib import Path

from .descriptor import Descriptor
from .digest import CheckedReader, hex_of
from .errors import cache_damaged
from .image import Image
from .layer import FILE_MTIME


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = FILE_MTIME
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_blob(tar: tarfile.TarFile, name: str, path: Path, descriptor: Descriptor) -> None:
    """The cached blob, checked against its digest as it is copied: a damaged cache must not give an archive that lies."""
    info = tarfile.TarInfo(name)
    info.size = descriptor.size
    info.mtime = FILE_MTIME
    info.mode = 0o644
    with path.open("rb") as f:
        reader = CheckedReader(f)
        try:
            tar.addfile(info, reader)  # type: ignore[arg-type]
        except OSError:
            if reader.size < descriptor.size:  # tarfile's "unexpected end of data": the file is shorter than it should be
                raise cache_damaged(path, descriptor.digest) from None
            raise
    if not reader.matches(descriptor.digest, descriptor.size):
        raise cache_damaged(path, descriptor.digest)


def write_archive(path: Path, image: Image, repo_tags: list[str]) -> None:
    """Config, then layers (compressed, as modern `docker load` accepts), then manifest.json; written to a temp file and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    config_name = hex_of(image.config_descriptor().digest) + ".json"
    layer_names = []
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            _add_bytes(tar, config_name, image.config_bytes())
            for blob in image.layers:
                suffix = {"gzip": ".tar.gz", "zstd": ".tar.zst"}.get(blob.descriptor.media_type.rsplit("+", 1)[-1], ".tar")
                name = hex_of(blob.descriptor.digest) + suffix
                if name not in layer_names:
                    _add_blob(tar, name, blob.fetch(), blob.descriptor)
                layer_names.append(name)
            manifest = [{"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names}]
            _add_bytes(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
