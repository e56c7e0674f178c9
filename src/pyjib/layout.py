"""OCI image layouts on disk: read a base from one, write an image into one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from . import mediatypes
from .descriptor import Descriptor, canonical_json
from .digest import hex_of, sha256_file
from .errors import ConfigError
from .image import Image, ImageIndex

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / hex_of(digest)


def _write_blob_bytes(layout: Path, data: bytes, digest: str) -> None:
    path = blob_path(layout, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def _copy_blob(layout: Path, source: Path, digest: str) -> None:
    path = blob_path(layout, digest)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        os.link(source, tmp)  # same filesystem as the cache: no copy needed
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, path)


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
        _copy_blob(layout, blob.fetch(), blob.descriptor.digest)
    _write_blob_bytes(layout, image.config_bytes(), image.config_descriptor().digest)
    descriptor = image.manifest_descriptor()
    _write_blob_bytes(layout, image.manifest_bytes(), descriptor.digest)
    return descriptor


def _name_in_index(layout: Path, descriptor: Descriptor, tags: list[str], platform: dict[str, str] | None) -> None:
    """index.json names descriptor under each tag, replacing what those tags named before."""
    (layout / "oci-layout").write_bytes(canonical_json(LAYOUT_VERSION))
    index = read_index(layout)
    kept = [m for m in index.get("manifests", []) if (m.get("annotations") or {}).get(REF_NAME) not in tags]
    for tag in tags:
        kept.append(Descriptor(descriptor.media_type, descriptor.digest, descriptor.size, annotations={REF_NAME: tag}, platform=platform).to_json())
    tmp = layout / ".index.json.tmp"
    tmp.write_bytes(canonical_json({"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": kept}))
    os.replace(tmp, layout / "index.json")


def write_image(layout: Path, image: Image, tags: list[str]) -> Descriptor:
    """Write blobs first, then the manifest, then index.json naming it under each tag (replacing older images of those tags)."""
    layout.mkdir(parents=True, exist_ok=True)
    descriptor = _write_manifest_and_blobs(layout, image)
    _name_in_index(layout, descriptor, tags, image.platform)
    return descriptor


def write_index(layout: Path, index: ImageIndex, tags: list[str]) -> Descriptor:
    """A multi-platform image: every platform's blobs and manifest, then the index blob, then index.json naming it."""
    layout.mkdir(parents=True, exist_ok=True)
    for image in index.images:
        _write_manifest_and_blobs(layout, image)
    descriptor = index.descriptor()
    _write_blob_bytes(layout, index.index_bytes(), descriptor.digest)
    _name_in_index(layout, descriptor, tags, None)
    return descriptor


def verify_blob(layout: Path, descriptor: Descriptor) -> Path:
    """The blob's path, after checking that it exists with the size and digest its descriptor promises."""
    path = blob_path(layout, descriptor.digest)
    if not path.is_file():
        raise FileNotFoundError(f"{layout} has no blob {descriptor.digest}")
    if path.stat().st_size != descriptor.size or sha256_file(path) != descriptor.digest:
        raise ValueError(f"blob {descriptor.digest} in {layout} does not match its descriptor")
    return path
