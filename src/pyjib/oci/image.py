"""The image as a value: a config, a list of layer blobs and manifest annotations, built up step by step."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import mediatypes
from .descriptor import Descriptor, canonical_json


@dataclass(frozen=True)
class Blob:
    """A blob the image needs and where its bytes can be had locally (a transport may know more: see remote.Mountable)."""

    descriptor: Descriptor
    fetch: Callable[[], Path] = field(compare=False)


@dataclass(frozen=True)
class Image:
    config: dict[str, Any]
    layers: tuple[Blob, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None  # the manifest this image is about (OCI 1.1), if any

    # --- derived documents -------------------------------------------------------------------------
    def config_bytes(self) -> bytes:
        return canonical_json(self.config)

    def config_descriptor(self) -> Descriptor:
        return Descriptor.of_bytes(mediatypes.OCI_CONFIG, self.config_bytes())

    def manifest(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": self.config_descriptor().to_json(),
            "layers": [blob.descriptor.to_json() for blob in self.layers],
        }
        if self.annotations:
            document["annotations"] = dict(sorted(self.annotations.items()))
        if self.subject is not None:
            document["subject"] = self.subject.to_json()
        return document

    def manifest_bytes(self) -> bytes:
        return canonical_json(self.manifest())

    def manifest_descriptor(self, **kwargs: Any) -> Descriptor:
        return Descriptor.of_bytes(mediatypes.OCI_MANIFEST, self.manifest_bytes(), **kwargs)

    @property
    def digest(self) -> str:
        return self.manifest_descriptor().digest

    @property
    def created(self) -> str:
        """The config's creation time; the epoch when the config has none (what pyjib writes without SOURCE_DATE_EPOCH)."""
        return str(self.config.get("created") or "1970-01-01T00:00:00Z")

    @property
    def platform(self) -> dict[str, str]:
        platform = {"architecture": self.config.get("architecture", "amd64"), "os": self.config.get("os", "linux")}
        if variant := self.config.get("variant"):
            platform["variant"] = variant
        return platform

    # --- steps -------------------------------------------------------------------------------------
    def append_blob(self, blob: Blob, diff_id: str, *, created_by: str, comment: str, created: str | None) -> Image:
        """Add a layer: its blob (local, or so far only in a registry, as the fleet cache's) and its uncompressed digest."""
        config = copy.deepcopy(self.config)
        config.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(diff_id)
        entry: dict[str, Any] = {"created_by": created_by, "comment": comment}
        if created:
            entry["created"] = created
        config.setdefault("history", []).append(entry)
        return replace(self, config=config, layers=(*self.layers, blob))

    def with_container_config(self, **fields: Any) -> Image:
        """Set keys of the config's "config" object; None removes a key."""
        config = copy.deepcopy(self.config)
        container = config["config"] = config.get("config") or {}  # a base may say "config": null
        for key, value in fields.items():
            if value is None:
                container.pop(key, None)
            else:
                container[key] = value
        return replace(self, config=config)

    def with_created(self, created: str) -> Image:
        return replace(self, config={**self.config, "created": created})

    def with_annotations(self, annotations: dict[str, str]) -> Image:
        return replace(self, annotations={**self.annotations, **annotations})

    @property
    def container_config(self) -> dict[str, Any]:
        return dict(self.config.get("config") or {})


@dataclass(frozen=True)
class ImageIndex:
    """A multi-platform image: one manifest per platform, listed with its platform."""

    images: tuple[Image, ...]
    annotations: dict[str, str] = field(default_factory=dict)

    def index(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [image.manifest_descriptor(platform=image.platform).to_json() for image in self.images],
        }
        if self.annotations:
            document["annotations"] = dict(sorted(self.annotations.items()))
        return document

    def index_bytes(self) -> bytes:
        return canonical_json(self.index())

    def descriptor(self, **kwargs: Any) -> Descriptor:
        return Descriptor.of_bytes(mediatypes.OCI_INDEX, self.index_bytes(), **kwargs)

    @property
    def digest(self) -> str:
        return self.descriptor().digest


EMPTY_CONFIG = b"{}"


@dataclass(frozen=True)
class Artifact:
    """An OCI 1.1 artifact about an image (an SBOM, a provenance statement): the empty config, the document as its one
    layer, and subject naming the image's manifest, so registries and layouts list it among the image's referrers."""

    artifact_type: str  # the document's media type
    document: bytes
    subject: Descriptor
    annotations: dict[str, str] = field(default_factory=dict)
    filename: str = ""  # the layer's title: the file `oras pull` writes the document to (it skips untitled layers)

    @property
    def config_descriptor(self) -> Descriptor:
        return Descriptor.of_bytes(mediatypes.OCI_EMPTY, EMPTY_CONFIG)

    @property
    def document_descriptor(self) -> Descriptor:
        title = {"org.opencontainers.image.title": self.filename} if self.filename else {}
        return Descriptor.of_bytes(self.artifact_type, self.document, annotations=title)

    def manifest(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": self.config_descriptor.to_json(),
            "layers": [self.document_descriptor.to_json()],
            "subject": self.subject.to_json(),
        }
        if self.annotations:
            document["annotations"] = dict(sorted(self.annotations.items()))
        return document

    def manifest_bytes(self) -> bytes:
        return canonical_json(self.manifest())

    def descriptor(self) -> Descriptor:
        """As listed in a referrers index: with the artifact type and the manifest's annotations copied in."""
        return Descriptor.of_bytes(mediatypes.OCI_MANIFEST, self.manifest_bytes(), annotations=dict(self.annotations),
                                   artifact_type=self.artifact_type)
