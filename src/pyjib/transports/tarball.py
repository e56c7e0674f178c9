"""docker-archive:FILE, tarballs as `docker save` writes them and `docker load` / `podman load` read them: one image, no
attached artifacts.

The archive is made as a stream of chunks (tar headers, then each blob read in pieces), so the same bytes can go to a
file or straight into an engine's `POST /images/load` without a copy on disk.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from ..cache import BlobCache
from ..errors import BaseImageError, ConfigError, cache_damaged
from ..layer import FILE_MTIME
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, parse_json
from ..oci.digest import CheckedReader, hex_of, sha256_bytes
from ..oci.image import Blob, Image
from ..oci.platforms import Platform
from .protocols import BaseImage, Delivery, LocalLocation, Session, Written, refuse_platforms
from .reading import check_platform

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


def parse(spec: str) -> ArchiveLocation:
    if not spec:
        raise ConfigError("docker-archive: needs a file, as in docker-archive:dist/app.tar")
    return ArchiveLocation(f"docker-archive:{spec}", Path(spec))


@dataclass(frozen=True)
class ArchiveLocation(LocalLocation):
    text: str  # as the user wrote it
    path: Path
    scheme = "docker-archive"

    def anchored(self, root: Path) -> ArchiveLocation:
        return replace(self, path=root / self.path)

    def open(self, platform: Platform | None, session: Session) -> BaseImage:
        return open_archive(self.path, platform, session.cache, self.text)

    def read_sbom(self, platform: Platform | None, session: Session) -> bytes:
        raise ConfigError("a docker-archive: image holds no SBOM; read it from the registry or an oci:DIR layout")

    def check_writable(self, platforms: int) -> None:
        refuse_platforms(self.scheme, platforms)

    def write(self, images: Sequence[Image], delivery: Delivery, session: Session) -> Written:
        """The one image (check_writable refused more), named NAME:latest and NAME:TAG for each tag."""
        image = images[0]
        write_archive(self.path, image, [f"{delivery.name}:{tag}" for tag in dict.fromkeys(["latest", *delivery.tags])])
        if delivery.artifacts:
            session.log.info("a docker-archive holds no SBOM or provenance: write oci:DIR or push to a registry to attach them")
        session.log.info(f"wrote {self.path}")
        return Written(f"{self.path}@{image.digest}", image.digest)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _constant(path: Path) -> Callable[[], Path]:
    return lambda: path


def open_archive(path: Path, platform: Platform | None, cache: BlobCache, name: str) -> BaseImage:
    """Read `docker save` output: manifest.json, the config, and layers (plain or gzipped tar) copied into the cache."""
    if not path.is_file():
        raise BaseImageError(f"base {name}: no such file {path}")
    try:
        with tarfile.open(path) as archive:
            entries = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
            if len(entries) != 1:
                raise BaseImageError(f"base {name}: the archive holds {len(entries)} images; pyjib reads archives of one")
            entry = entries[0]
            config_bytes = archive.extractfile(entry["Config"]).read()  # type: ignore[union-attr]
            layers = []
            for member_name in entry["Layers"]:
                member = archive.extractfile(member_name)
                if member is None:
                    raise BaseImageError(f"base {name}: the archive lists layer {member_name} but does not hold it")
                head = member.read(2)
                member.seek(0)
                digest, blob = cache.store_stream(_chunks(member))
                media_type = mediatypes.OCI_LAYER_GZIP if head == b"\x1f\x8b" else mediatypes.OCI_LAYER_TAR
                layers.append(Blob(Descriptor(media_type, digest, blob.stat().st_size), _constant(blob)))
    except (tarfile.TarError, KeyError, TypeError, json.JSONDecodeError, OSError) as exc:
        raise BaseImageError(f"base {name}: {path} is not a docker-archive ({exc})") from exc
    config = parse_json(config_bytes, f"the config of base {name}")
    image = Image(config=config, layers=tuple(layers))
    check_platform(image, platform, name)
    return BaseImage(image, name, sha256_bytes(image.manifest_bytes()))
