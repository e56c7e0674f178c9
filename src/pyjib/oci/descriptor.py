"""Descriptors and the JSON documents that point at blobs: manifests, indexes and image configs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import PyjibError
from .digest import sha256_bytes


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: dict[str, str] | None = None
    artifact_type: str | None = None  # set on descriptors of OCI 1.1 artifact manifests (SBOMs, provenance)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform:
            out["platform"] = self.platform
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        return cls(
            media_type=data["mediaType"],
            digest=data["digest"],
            size=int(data["size"]),
            annotations=dict(data.get("annotations") or {}),
            platform=data.get("platform"),
            artifact_type=data.get("artifactType"),
        )

    @classmethod
    def of_bytes(cls, media_type: str, data: bytes, **kwargs: Any) -> Descriptor:
        return cls(media_type, sha256_bytes(data), len(data), **kwargs)


@dataclass(frozen=True)
class Manifest:
    """An image or artifact manifest as read: its config, its layers and, for an artifact, its type and subject."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None
    subject: Descriptor | None = None  # the manifest an artifact is about

    @classmethod
    def from_json(cls, document: Any) -> Manifest:
        """Raises KeyError, TypeError or ValueError for a document that is no manifest (the caller says where it was)."""
        if not isinstance(document, dict):
            raise TypeError("a manifest is a JSON object")
        subject = document.get("subject")
        return cls(
            config=Descriptor.from_json(document["config"]),
            layers=tuple(Descriptor.from_json(layer) for layer in document.get("layers", [])),  # null is malformed
            annotations=dict(document.get("annotations") or {}),
            artifact_type=document.get("artifactType"),
            subject=Descriptor.from_json(subject) if subject is not None else None,
        )


def canonical_json(document: Any) -> bytes:
    """Stable bytes for a document: sorted keys and no whitespace, so equal content gives an equal digest."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PyjibError(f"{what} is not valid JSON: {exc}") from exc
