"""A cache that lives in the registry, for fleets of ephemeral CI runners.

After a push, pyjib stores in the target repository a small OCI artifact, tagged pyjib-cache-KEY, whose config records
what a fresh runner would otherwise recompute: the base's interpreter and libraries, the resolved wheels and the environment and
dependency layers (digest, size, diff_id). Its manifest lists those layers, so registry garbage collection keeps it. KEY hashes the inputs
(base config digest, the project's requirements and extras, index settings, layer options), so a runner with empty local caches finds
the record with one GET and skips detecting, resolving, downloading, installing and compressing.

Trust: anyone who can push to the repository can write a record, so a record is read only when it is authenticated, or
where the user says everyone who can push there is trusted. With PYJIB_CACHE_KEY (a CI secret only trusted builds hold),
records carry an HMAC-SHA256 over their KEY and their config's digest (which covers the layers' digests and `created`);
a record without a valid one is ignored with a warning. Without a key, records are written but read only with
registry-cache-trust = "repository".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .cache import BlobCache
from .errors import PyjibError, RegistryError
from .interpreter import BaseFacts
from .lockedwheel import LockedWheel
from .oci import mediatypes
from .oci.descriptor import Descriptor, canonical_json
from .reference import Reference
from .registry import CONFIG_LIMIT, ClientPool, RegistryClient, RegistryRequestError
from .resolve import RESOLUTION_TTL
from .wheelfacts import WheelFacts

CACHE_MEDIA_TYPE = "application/vnd.pyjib.cache.v1+json"
CLOCK_SKEW_S = 300  # how far ahead of this runner's clock another runner's may be
TAG_PREFIX = "pyjib-cache-"
KEY_VARIABLE = "PYJIB_CACHE_KEY"
MAC_ANNOTATION = "dev.pyjib.cache.hmac-sha256"


@dataclass(frozen=True)
class Trust:
    """Which records may be read: those authenticated with secret (when there is one), or, without a secret and only
    where the user opted in, any record in the repository."""

    secret: bytes | None = field(default=None, repr=False)
    repository: bool = False

    @classmethod
    def of(cls, mode: str, environ: Mapping[str, str] = os.environ) -> Trust:
        secret = environ.get(KEY_VARIABLE)
        return cls(secret.encode() if secret else None, mode == "repository")

    @property
    def reads(self) -> bool:
        return self.secret is not None or self.repository

    def mac(self, key: str, config_digest: str) -> str | None:
        if self.secret is None:
            return None
        return hmac.new(self.secret, f"pyjib-cache-v1\n{key}\n{config_digest}".encode(), hashlib.sha256).hexdigest()

    def accepts(self, key: str, config_digest: str, mac: object) -> bool:
        """With a secret, only a record whose MAC verifies; without one, any record, if the user trusts the repository."""
        expected = self.mac(key, config_digest)
        if expected is None:
            return self.repository
        return isinstance(mac, str) and hmac.compare_digest(mac, expected)


@dataclass(frozen=True)
class FleetRecord:
    base: BaseFacts  # the interpreter, and what the image checks need to know of the base
    locked: list[LockedWheel]
    layers: list[dict[str, Any]]  # environment and dependency layers: name, comment, descriptor fields, diff_id
    created: float
    facts: tuple[WheelFacts, ...] = ()  # each locked wheel's licence and requirements, so the SBOM needs no download

    def is_fresh(self, now: float) -> bool:
        """Whether a runner may still use it at now (epoch seconds): its resolution is no older than a local one may be,
        and it was not made in the future (beyond runners' clock skew), which would keep it fresh for ever."""
        return -CLOCK_SKEW_S <= now - self.created <= RESOLUTION_TTL

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base.to_json(),
            "locked": [w.__dict__ for w in self.locked],
            "layers": self.layers,
            "created": self.created,
            "facts": [f.to_json() for f in self.facts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetRecord:
        return cls(
            BaseFacts.from_json(data["base"]),
            [LockedWheel(**w) for w in data["locked"]],
            [dict(layer) for layer in data["layers"]],
            float(data["created"]),
            tuple(WheelFacts.from_json(f) for f in data["facts"]),  # a record without them is a miss (KeyError)
        )


def tag_for(key: str) -> str:
    return TAG_PREFIX + key[:32]


def load(clients: ClientPool, repository: Reference, key: str, cache: BlobCache, trust: Trust,
         warn: Callable[[str], None]) -> FleetRecord | None:
    """The record for key in repository, or None when there is none, it is stale, it cannot be read, or it is not to be
    trusted. A registry that refuses or fails the read gets one warning (what failed, and what to do); a record that is
    not there (404) or cannot be used is a quiet miss. Either way the build goes the long way."""
    if not trust.reads:
        return None
    try:
        return _read(clients.get(repository.registry), repository, key, cache, trust, warn)
    except PyjibError as exc:
        if not (isinstance(exc, RegistryRequestError) and exc.not_found):
            warn(f"the fleet cache in {repository.repository_ref} was not read ({exc}); the layers are built here")
        return None
    except (ValueError, KeyError, TypeError):
        return None  # a record this build cannot use


def _read(client: RegistryClient, repository: Reference, key: str, cache: BlobCache, trust: Trust,
          warn: Callable[[str], None]) -> FleetRecord | None:
    data, _media_type, _digest = client.get_manifest(repository.repository, tag_for(key))
    manifest = json.loads(data)
    config = manifest["config"]
    if config.get("mediaType") != CACHE_MEDIA_TYPE or not isinstance(config.get("size"), int) or config["size"] > CONFIG_LIMIT:
        return None
    if not trust.accepts(key, config["digest"], (manifest.get("annotations") or {}).get(MAC_ANNOTATION)):
        warn(f"the fleet cache record {tag_for(key)} in {repository.repository_ref} is not authenticated with {KEY_VARIABLE}; "
             "ignored, the layers are built here")
        return None
    record = FleetRecord.from_json(json.loads(client.fetch_blob(repository.repository, config["digest"], config["size"], cache).read_bytes()))
    if not record.is_fresh(time.time()):
        return None
    if not all(client.blob_exists(repository.repository, layer["digest"]) for layer in record.layers):
        return None
    return record


def _hold_layers(clients: ClientPool, repository: Reference, record: FleetRecord, cache: BlobCache, pushed_to: Reference) -> None:
    """A cache repository apart from the image's must hold the record's layers too: linked from where the image was
    pushed when it is on the same registry, else uploaded from the local cache (they were built here)."""
    client = clients.get(repository.registry)
    for layer in record.layers:
        digest, size = layer["digest"], layer["size"]
        if client.blob_exists(repository.repository, digest, push=True):
            continue
        if pushed_to.registry == repository.registry and client.mount_blob(repository.repository, digest, pushed_to.repository):
            continue
        if not cache.has(digest):
            raise RegistryError(f"layer {digest[:19]} is neither in {repository.repository_ref} nor in the local cache")
        client.upload_blob(repository.repository, digest, size, cache.path(digest))


def store(clients: ClientPool, repository: Reference, key: str, record: FleetRecord, cache: BlobCache, trust: Trust,
          pushed_to: Reference | None = None) -> None:
    """Store the record after the image is pushed to pushed_to (its layers are then there), with its MAC when there is a
    secret. repository is pushed_to's, or a cache repository of its own."""
    if pushed_to is not None and pushed_to.repository_ref != repository.repository_ref:
        _hold_layers(clients, repository, record, cache, pushed_to)
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
        "annotations": {"org.opencontainers.image.description": "pyjib build cache: resolved wheels and dependency layer",
                        **({MAC_ANNOTATION: mac} if (mac := trust.mac(key, config.digest)) else {})},
    }
    client.put_manifest(repository.repository, tag_for(key), canonical_json(manifest), mediatypes.OCI_MANIFEST)

