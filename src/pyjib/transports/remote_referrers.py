"""Artifacts (SBOM, provenance) attached to manifests in a registry as OCI 1.1 referrers, and read back.

Each artifact manifest goes up by digest after the image manifest and before the tags. A registry that answers the PUT
with OCI-Subject lists referrers itself; for one that does not (distribution 2.8, Docker Hub, GHCR), pyjib keeps the
referrers tag schema of distribution-spec 1.1: an index at tag sha256-HEX of the subject, each artifact listed once,
with its artifactType and annotations. A failure to attach fails the push.
"""

from __future__ import annotations

from typing import Any

from ..cache import BlobCache
from ..errors import PyjibError
from ..log import Log
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, canonical_json, parse_json
from ..oci.image import EMPTY_CONFIG, Artifact, Blob
from ..registry import RegistryClient, RegistryRequestError
from .remote_blobs import push_blobs


def referrers_tag(subject_digest: str) -> str:
    algorithm, _, hex_digest = subject_digest.partition(":")
    return f"{algorithm}-{hex_digest}"


def _tagged_referrers(client: RegistryClient, repository: str, subject_digest: str) -> dict[str, Any]:
    tag = referrers_tag(subject_digest)
    try:
        data, _media_type, _digest = client.get_manifest(repository, tag)
    except RegistryRequestError as exc:
        if exc.not_found:
            return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}
        raise
    index = parse_json(data, f"the referrers index at tag {tag} of {repository}")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise PyjibError(f"tag {tag} of {client.registry}/{repository} is not a referrers index; delete it and push again")
    return index


def _add_to_referrers_tag(client: RegistryClient, repository: str, subject_digest: str, listed: list[Descriptor]) -> None:
    index = _tagged_referrers(client, repository, subject_digest)
    present = {entry.get("digest") for entry in index["manifests"] if isinstance(entry, dict)}
    added = [d.to_json() for d in listed if d.digest not in present]
    if added:
        index["manifests"] = [*index["manifests"], *added]
        client.put_manifest(repository, referrers_tag(subject_digest), canonical_json(index), mediatypes.OCI_INDEX)


def _cached_blob(descriptor: Descriptor, data: bytes, cache: BlobCache) -> Blob:
    # Through the cache, so small documents upload on the same streaming path as layers.
    return Blob(descriptor, lambda: cache.put_bytes(descriptor.digest, data))


def artifact_blobs(artifacts: tuple[Artifact, ...], cache: BlobCache) -> list[Blob]:
    """The blobs of the artifacts (each document, and the empty config once)."""
    blobs: dict[str, Blob] = {}
    for artifact in artifacts:
        for descriptor, data in ((artifact.config_descriptor, EMPTY_CONFIG), (artifact.document_descriptor, artifact.document)):
            blobs[descriptor.digest] = _cached_blob(descriptor, data, cache)
    return list(blobs.values())


def attach(client: RegistryClient, repository: str, artifacts: tuple[Artifact, ...], cache: BlobCache, log: Log, *,
           blobs_pushed: bool = False) -> None:
    """Push each artifact (blobs, unless blobs_pushed says they went up with the image's, then its manifest by digest);
    keep the referrers tag where the registry does not."""
    if not artifacts:
        return
    if not blobs_pushed:
        push_blobs(client, repository, artifact_blobs(artifacts, cache), log)
    untracked: dict[str, list[Descriptor]] = {}
    for artifact in artifacts:
        if not client.put_referrer(repository, artifact.manifest_bytes(), artifact.subject.digest):
            untracked.setdefault(artifact.subject.digest, []).append(artifact.descriptor())
    for subject_digest, listed in untracked.items():
        _add_to_referrers_tag(client, repository, subject_digest, listed)
    kinds = ", ".join(sorted({a.artifact_type for a in artifacts}))
    how = "the referrers tag" if untracked else "the registry's referrers API"
    log.info(f"attached {len(artifacts)} artifacts ({kinds}) to {len({a.subject.digest for a in artifacts})} manifests, listed by {how}")


def referrers_in_registry(client: RegistryClient, repository: str, subject_digest: str) -> list[Descriptor]:
    """The referrers of a manifest: from the referrers API where there is one, else from the referrers tag."""
    data = client.referrers(repository, subject_digest)
    index = (parse_json(data, f"the referrers of {subject_digest}") if data is not None
             else _tagged_referrers(client, repository, subject_digest))
    return [Descriptor.from_json(entry) for entry in index.get("manifests") or [] if isinstance(entry, dict)]
