"""oci:DIR[:TAG], OCI image layouts on disk: read a base (or an SBOM) from one, write an image or index into one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BaseImageError, ConfigError, cache_damaged
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, canonical_json, parse_json
from ..oci.digest import CheckedReader, hex_of, sha256_file
from ..oci.image import EMPTY_CONFIG, Artifact, Blob, Image, ImageIndex
from ..oci.platforms import Platform
from .protocols import BaseImage, Delivery, LocalLocation, Session, Written
from .reading import DEFAULT_PLATFORM, artifact_manifest, check_platform, choose_from_index, document_of, manifest_to_image, platform_manifest, sbom_descriptor

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
        shutil.copyfileobj(reader, into, _CHUNK)
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


def parse(spec: str) -> LayoutLocation:
    """DIR[:TAG] after oci:; a last part with a / in it is part of the folder's name, not a tag."""
    directory, sep, tag = spec.rpartition(":")
    if sep and directory and "/" not in tag:
        return LayoutLocation(f"oci:{spec}", Path(directory), tag)
    if not spec:
        raise ConfigError("oci: needs a folder, as in oci:dist/image")
    return LayoutLocation(f"oci:{spec}", Path(spec))


@dataclass(frozen=True)
class LayoutLocation(LocalLocation):
    text: str  # as the user wrote it: a base's name is recorded in the image as written
    path: Path
    tag: str | None = None  # the name in index.json; a write without one names "latest"
    scheme = "oci"

    def anchored(self, root: Path) -> LayoutLocation:
        return replace(self, path=root / self.path)

    def _read_split(self) -> tuple[Path, str | None]:
        """A folder whose own name has a colon is read as that folder, as the user most likely meant."""
        whole = Path(f"{self.path}:{self.tag}")
        return (whole, None) if self.tag is not None and whole.exists() else (self.path, self.tag)

    def open(self, platform: Platform | None, session: Session) -> BaseImage:
        layout, tag = self._read_split()
        return open_layout(layout, tag, platform, self.text)

    def read_sbom(self, platform: Platform | None, session: Session) -> bytes:
        return sbom_from_layout(self.path, self.tag, platform)

    def check_writable(self, platforms: int) -> None:
        """A layout holds any number of platforms and their artifacts."""

    def write(self, images: Sequence[Image], delivery: Delivery, session: Session) -> Written:
        names = list(dict.fromkeys([self.tag or "latest", *delivery.tags]))
        if len(images) == 1:
            digest = write_image(self.path, images[0], names, delivery.artifacts).digest
        else:
            digest = write_index(self.path, ImageIndex(tuple(images), delivery.index_annotations), names, delivery.artifacts).digest
        session.log.info(f"wrote {self.path}")
        return Written(f"{self.path}@{digest}", digest)


def _chosen_entry(layout: Path, tag: str | None, platform: Platform | None, name: str) -> Descriptor:
    entries = [m for m in read_index(layout).get("manifests") or [] if not m.get("artifactType")]  # SBOMs and provenance are no images
    if tag is not None:
        entries = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) == tag]
        if not entries:
            raise BaseImageError(f"base {name}: the layout at {layout} has no image tagged {tag!r}")
    if not entries:
        raise BaseImageError(f"base {name}: the layout at {layout} holds no image")
    if len(entries) > 1 and platform:
        return choose_from_index({"manifests": entries}, platform, name)
    if len(entries) > 1 and tag is None:
        raise BaseImageError(f"base {name}: the layout at {layout} holds several images; name one as oci:{layout}:TAG")
    return Descriptor.from_json(entries[0])


def open_layout(layout: Path, tag: str | None, platform: Platform | None, name: str) -> BaseImage:
    if not (layout / "index.json").is_file():
        raise BaseImageError(f"base {name}: {layout} is not an OCI image layout (no index.json)")
    descriptor = _chosen_entry(layout, tag, platform, name)
    try:
        document = parse_json(verify_blob(layout, descriptor).read_bytes(), f"a manifest in {layout}")
        if descriptor.media_type in mediatypes.INDEXES or document.get("manifests") is not None:
            descriptor = choose_from_index(document, platform or DEFAULT_PLATFORM, name)
            document = parse_json(verify_blob(layout, descriptor).read_bytes(), f"a manifest in {layout}")
    except (FileNotFoundError, ValueError) as exc:
        raise BaseImageError(f"base {name}: {exc}") from exc

    def layer_blob(d: Descriptor) -> Blob:
        return Blob(d, lambda: verify_blob(layout, d))

    try:
        image = manifest_to_image(document, lambda d: verify_blob(layout, d).read_bytes(), layer_blob, name)
    except (FileNotFoundError, ValueError) as exc:
        raise BaseImageError(f"base {name}: {exc}") from exc
    check_platform(image, platform, name)
    return BaseImage(image, name, descriptor.digest, annotations=dict(document.get("annotations") or {}))


def _sbom_subject_entry(directory: Path, tag: str | None, where: str) -> Descriptor:
    entries = [m for m in read_index(directory).get("manifests") or [] if isinstance(m, dict) and not m.get("artifactType")]
    if tag is not None:
        entries = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) == tag]
    if tag is not None and not entries:
        raise ConfigError(f"{where}: the layout has no image tagged {tag!r}")
    if len({m.get("digest") for m in entries}) != 1:
        raise ConfigError(f"{where}: the layout holds {len(entries)} images; name one as oci:{directory}:TAG")
    return Descriptor.from_json(entries[0])


def _is_about(directory: Path, referrer: Descriptor, subject_digest: str) -> bool:
    manifest = artifact_manifest(verify_blob(directory, referrer).read_bytes(), str(directory))
    return manifest is not None and manifest.subject is not None and manifest.subject.digest == subject_digest


def sbom_from_layout(directory: Path, tag: str | None, platform: Platform | None) -> bytes:
    """The SBOM index.json lists (untagged, with its artifactType) about the image of tag (an index narrowed to platform)."""
    where = f"oci:{directory}" + (f":{tag}" if tag else "")
    if not (directory / "index.json").is_file():
        raise ConfigError(f"{where} is not an OCI image layout (no index.json)")
    try:
        descriptor = _sbom_subject_entry(directory, tag, where)
        document = parse_json(verify_blob(directory, descriptor).read_bytes(), f"a manifest in {directory}")
        if descriptor.media_type in mediatypes.INDEXES or (isinstance(document, dict) and "manifests" in document):
            descriptor = platform_manifest(document, platform, where)
        referrers = [Descriptor.from_json(m) for m in read_index(directory).get("manifests") or []
                     if isinstance(m, dict) and m.get("artifactType") in mediatypes.SBOMS]
        about = [r for r in referrers if _is_about(directory, r, descriptor.digest)]
        chosen = sbom_descriptor(about, f"{where}@{descriptor.digest}")
        return verify_blob(directory, document_of(verify_blob(directory, chosen).read_bytes(), where)).read_bytes()
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
