"""A cache that lives in the registry, for fleets of ephemeral CI runners.

After a push, pyjib stores in the target repository a small OCI artifact, tagged pyjib-cache-KEY, whose config records
what a fresh runner would otherwise recompute: the base's interpreter, the resolved wheels and the environment and
dependency layers (digest, size, diff_id). Its manifest lists those layers, so registry garbage collection keeps it. KEY hashes the inputs
(base config digest, the project's requirements and extras, index settings, layer options), so a runner with empty local caches finds
the record with one GET and skips detecting, resolving, downloading, installing and compressing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from . import mediatypes
from .cache import BlobCache
from .descriptor import Descriptor, canonical_json
from .errors import PyjibError
from .interpreter import Interpreter
from .reference import Reference
from .registry import ClientPool
from .resolve import RESOLUTION_TTL, LockedWheel
from .wheelfacts import WheelFacts

CACHE_MEDIA_TYPE = "application/vnd.pyjib.cache.v1+json"
TAG_PREFIX = "pyjib-cache-"


@dataclass(frozen=True)
class FleetRecord:
    interpreter: Interpreter
    locked: list[LockedWheel]
    layers: list[dict[str, Any]]  # environment and dependency layers: name, comment, descriptor fields, diff_id
    created: float
    facts: tuple[WheelFacts, ...] = ()  # each locked wheel's licence and requirements, so the SBOM needs no download

    def to_json(self) -> dict[str, Any]:
        return {
            "interpreter": self.interpreter.to_json(),
            "locked": [w.__dict__ for w in self.locked],
            "layers": self.layers,
            "created": self.created,
            "facts": [f.to_json() for f in self.facts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetRecord:
        return cls(
            Interpreter.from_json(data["interpreter"]),
            [LockedWheel(**w) for w in data["locked"]],
            [dict(layer) for layer in data["layers"]],
            float(data["created"]),
            tuple(WheelFacts.from_json(f) for f in data["facts"]),  # a record without them is a miss (KeyError)
        )


def tag_for(key: str) -> str:
    return TAG_PREFIX + key[:32]


def load(clients: ClientPool, repository: Reference, key: str, cache: BlobCache) -> FleetRecord | None:
    """The record for key in repository, or None when there is none, it is stale, or it cannot be read."""
    client = clients.get(repository.registry)
    try:
        data, _media_type, _digest = client.get_manifest(repository.repository, tag_for(key))
        manifest = json.loads(data)
        config = manifest["config"]
        if config.get("mediaType") != CACHE_MEDIA_TYPE:
            return None
        record = FleetRecord.from_json(json.loads(client.fetch_blob(repository.repository, config["digest"], cache).read_bytes()))
        if time.time() - record.created > RESOLUTION_TTL:
            return None
        if not all(client.blob_exists(repository.repository, layer["digest"]) for layer in record.layers):
            return None
        return record
    except (PyjibError, ValueError, KeyError, TypeError):
        return None  # a cache: anything unusable is a miss, and the build goes the long way


def store(clients: ClientPool, repository: Reference, key: str, record: FleetRecord, cache: BlobCache) -> None:
    """Store the record after the image is pushed (its dependency layer is then in the repository)."""
    client = clients.get(repository.registry)
    config_bytes = canonical_json(record.to_json())
    config = Descriptor.of_bytes(CACHE_MEDIA_TYPE, config_bytes)
    path = cache.put_bytes(config.digest, config_bytes)
    if not client.blob_exists(repository.repository, config.digest):
        client.upload_blob(repository.repository, config.digest, config.size, path)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "artifactType": CACHE_MEDIA_TYPE,
        "config": config.to_json(),
        # Listing the layers keeps them from garbage collection while the record exists.
        "layers": [Descriptor(layer["mediaType"], layer["digest"], layer["size"]).to_json() for layer in record.layers],
        "annotations": {"org.opencontainers.image.description": "pyjib build cache: resolved wheels and dependency layer"},
    }
    client.put_manifest(repository.repository, tag_for(key), canonical_json(manifest), mediatypes.OCI_MANIFEST)

