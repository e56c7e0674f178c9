"""OCI image layouts on disk: read a base from one, write an image into one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from . import mediatypes
from .descriptor import Descriptor, canonical_json
from .digest import CheckedReader, hex_of, sha256_file
from .errors import ConfigError, cache_damaged
from .image import EMPTY_CONFIG, Artifact, Image, ImageIndex

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
_CHUNK = 1 << 20


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / hex_of(digest)


_TEMP_PREFIX = ".pyjib-tmp-"


@contextlib.contextmanager
def _locked(layout: Path) -> Iterator[None]:
    """Exclusive use of the layout while one build writes it: two builds that name tags at once would lose one's tags.

    The lock is on the layout folder itself (flock on a directory), so no extra file enters the layout. Holding it, any
    temp file left in the layout is a killed writer's and is removed.
    """
    layout.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for stale in [*layout.glob(f"{_TEMP_PREFIX}*"), *layout.glob(f"blobs/sha256/{_TEMP_PREFIX}*")]:
            stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """path gets what write() writes, or keeps what it had: a unique temp name, then a rename; the temp never stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def _present(path: Path, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size


def _write_blob_bytes(layout: Path, data: bytes, digest: str) -> None:
    path = blob_path(layout, digest)
    if not _present(path, len(data)):
        _write_atomically(path, lambda f: f.write(data))


def _copy_checked(source: Path, descriptor: Descriptor, into: BinaryIO) -> None:
    """A copy, never a hard link (damage to the cache must not reach layouts already written), checked on the way."""
    with source.open("rb") as f:
        reader = CheckedReader(f)
        shutil.copyfileobj(reader, into, _CHUNK)  # type: ignore[misc]
    if not reader.matches(descriptor.digest, descriptor.size):
        raise cache_damaged(source, descriptor.digest)


def _copy_blob(layout: Path, source: Path, descriptor: Descriptor) -> None:
    path = blob_path(layout, descriptor.digest)
    if not _present(path, descriptor.size):
        _write_atomically(path, lambda f: _copy_checked(source, descriptor, f))


def read_index(layout: Path) -> dict[str, Any]:
    index_path = layout / "index.json"
    if not index_path.is_file():
        return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}
    try:
        index: dict[str, Any] = json.loads(index_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{index_path} is not valid JSON ({exc}); fix it, or use a new folder for the layout") from exc
    if not isinstance(index, dict):
        raise ConfigError(f"{index_path} is not an OCI index; use a new folder for the layout")
    return index


def _write_manifest_and_blobs(layout: Path, image: Image) -> Descriptor:
    for blob in image.layers:
        _copy_blob(layout, blob.fetch(), blob.descriptor)
    _write_blob_bytes(layout, image.config_bytes(), image.config_descriptor().digest)
    descriptor = image.manifest_descriptor()
    _write_blob_bytes(layout, image.manifest_bytes(), descriptor.digest)
    return descriptor


def _write_artifact(layout: Path, artifact: Artifact) -> Descriptor:
    _write_blob_bytes(layout, EMPTY_CONFIG, artifact.config_descriptor.digest)
    _write_blob_bytes(layout, artifact.document, artifact.document_descriptor.digest)
    descriptor = artifact.descriptor()
    _write_blob_bytes(layout, artifact.manifest_bytes(), descriptor.digest)
    return descriptor


def _name_in_index(layout: Path, descriptor: Descriptor, tags: list[str], platform: dict[str, str] | None,
                   referrers: list[Descriptor]) -> None:
    """index.json names descriptor under each tag, replacing what those tags named before, and lists each referrer
    (untagged, with its artifactType) once, as oras and skopeo find an image's referrers in a layout."""
    _write_atomically(layout / "oci-layout", lambda f: f.write(canonical_json(LAYOUT_VERSION)))
    index = read_index(layout)
    kept = [m for m in index.get("manifests", []) if (m.get("annotations") or {}).get(REF_NAME) not in tags]
    for tag in tags:
        kept.append(Descriptor(descriptor.media_type, descriptor.digest, descriptor.size, annotations={REF_NAME: tag}, platform=platform).to_json())
    listed = {m.get("digest") for m in kept}
    kept += [r.to_json() for r in referrers if r.digest not in listed]
    document = canonical_json({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": kept})
    _write_atomically(layout / "index.json", lambda f: f.write(document))


def write_image(layout: Path, image: Image, tags: list[str], artifacts: tuple[Artifact, ...] = ()) -> Descriptor:
    """Write blobs first, then the manifest and the artifacts about it, then index.json naming it under each tag
    (replacing older images of those tags) and listing the artifacts."""
    with _locked(layout):
        descriptor = _write_manifest_and_blobs(layout, image)
        referrers = [_write_artifact(layout, artifact) for artifact in artifacts]
        _name_in_index(layout, descriptor, tags, image.platform, referrers)
    return descriptor


def write_index(layout: Path, index: ImageIndex, tags: list[str], artifacts: tuple[Artifact, ...] = ()) -> Descriptor:
    """A multi-platform image: every platform's blobs and manifest, the artifacts about them, then the index blob, then
    index.json naming it."""
    with _locked(layout):
        for image in index.images:
            _write_manifest_and_blobs(layout, image)
        referrers = [_write_artifact(layout, artifact) for artifact in artifacts]
        descriptor = index.descriptor()
        _write_blob_bytes(layout, index.index_bytes(), descriptor.digest)
        _name_in_index(layout, descriptor, tags, None, referrers)
    return descriptor


def verify_blob(layout: Path, descriptor: Descriptor) -> Path:
    """The blob's path, after checking that it exists with the size and digest its descriptor promises."""
    path = blob_path(layout, descriptor.digest)
    if not path.is_file():
        raise FileNotFoundError(f"{layout} has no blob {descriptor.digest}")
    if path.stat().st_size != descriptor.size or sha256_file(path) != descriptor.digest:
        raise ValueError(f"blob {descriptor.digest} in {layout} does not match its descriptor")
    return path
