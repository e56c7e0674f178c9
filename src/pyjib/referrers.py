"""SBOM and provenance attached to each platform image as OCI 1.1 referrers, and read back.

In a registry, each artifact manifest goes up by digest after the image manifest and before the tags. A registry that
answers the PUT with OCI-Subject lists referrers itself; for one that does not (distribution 2.8, Docker Hub, GHCR),
pyjib keeps the referrers tag schema of distribution-spec 1.1: an index at tag sha256-HEX of the subject, each
artifact listed once, with its artifactType and annotations. A failure to attach fails the push.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import mediatypes
from .base import choose_from_index
from .builder import Build, PlatformImage
from .cache import BlobCache
from .contents import image_contents
from .descriptor import Descriptor, canonical_json, parse_json
from .errors import ConfigError, PyjibError
from .image import EMPTY_CONFIG, Artifact, Blob
from .layout import REF_NAME, read_index, verify_blob
from .log import Log
from .platforms import Platform, parse_platform
from .provenance import statement
from .publish import parse_target, push_blobs
from .reference import Reference
from .registry import ClientPool, RegistryClient, RegistryRequestError
from .sbom import FORMATS, sbom_bytes
from .settings import Settings

CREATED = "org.opencontainers.image.created"
DESCRIPTION = "org.opencontainers.image.description"
_FORMAT_NAMES = {"spdx": "SPDX 2.3", "cyclonedx": "CycloneDX 1.6"}
_FILENAMES = {"spdx": "sbom.spdx.json", "cyclonedx": "sbom.cdx.json"}


def artifacts_for(build: Build, platform_image: PlatformImage, settings: Settings) -> tuple[Artifact, ...]:
    """The SBOM (unless sbom = false) and the provenance (unless provenance = false) of one platform image."""
    image = platform_image.image
    subject = image.manifest_descriptor()
    created = image.created
    what = f"{build.project.name} {build.project.version} ({image.platform['os']}/{image.platform['architecture']})"
    artifacts = []
    if settings.sbom in FORMATS:
        document = sbom_bytes(image_contents(build, platform_image), settings.sbom)
        artifacts.append(Artifact(FORMATS[settings.sbom], document, subject,
                                  {CREATED: created, DESCRIPTION: f"{_FORMAT_NAMES[settings.sbom]} SBOM of {what}"},
                                  _FILENAMES[settings.sbom]))
    if settings.provenance:
        artifacts.append(Artifact(mediatypes.IN_TOTO_JSON, statement(build, platform_image, settings), subject,
                                  {CREATED: created, DESCRIPTION: f"SLSA provenance v1 of {what}, unsigned"}, "provenance.intoto.json"))
    return tuple(artifacts)


def referrers_tag(subject_digest: str) -> str:
    algorithm, _, hex_digest = subject_digest.partition(":")
    return f"{algorithm}-{hex_digest}"


def _empty_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}


def _tagged_referrers(client: RegistryClient, repository: str, subject_digest: str) -> dict[str, Any]:
    tag = referrers_tag(subject_digest)
    try:
        data, _media_type, _digest = client.get_manifest(repository, tag)
    except RegistryRequestError as exc:
        if exc.not_found:
            return _empty_index()
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


def attach(client: RegistryClient, repository: str, artifacts: tuple[Artifact, ...], cache: BlobCache, log: Log) -> None:
    """Push each artifact (blobs, then its manifest by digest); keep the referrers tag where the registry does not."""
    if not artifacts:
        return
    blobs: dict[str, Blob] = {}
    for artifact in artifacts:
        for descriptor, data in ((artifact.config_descriptor, EMPTY_CONFIG), (artifact.document_descriptor, artifact.document)):
            blobs[descriptor.digest] = _cached_blob(descriptor, data, cache)
    push_blobs(client, repository, list(blobs.values()), log)
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


def sbom_descriptor(referrers: list[Descriptor], where: str) -> Descriptor:
    """The SBOM among an image's referrers (the last listed, should there be several)."""
    sboms = [r for r in referrers if r.artifact_type in mediatypes.SBOMS]
    if not sboms:
        raise PyjibError(f"{where} has no SBOM attached (built with sbom = false, or by another tool); push it with pyjib to attach one")
    return sboms[-1]


def document_of(manifest: bytes, where: str) -> Descriptor:
    """The one layer of an artifact manifest: the document."""
    document = parse_json(manifest, f"the artifact manifest of {where}")
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list) or len(layers) != 1:
        raise PyjibError(f"the SBOM artifact of {where} does not hold exactly one document")
    return Descriptor.from_json(layers[0])


def subject_of(manifest: bytes) -> str | None:
    try:
        document = json.loads(manifest)
        return str(document["subject"]["digest"])
    except (ValueError, KeyError, TypeError):
        return None


# --- reading an attached SBOM back (python -m pyjib sbom IMAGE) ---------------------------------------------------------
def _platform_manifest(index: dict[str, Any], platform: Platform | None, where: str) -> Descriptor:
    images = [m for m in index.get("manifests") or [] if isinstance(m, dict) and m.get("mediaType") in mediatypes.MANIFESTS
              and not m.get("artifactType")]
    if platform is not None:
        return choose_from_index({"manifests": images}, platform, where)
    if len(images) == 1:
        return Descriptor.from_json(images[0])
    names = ", ".join(f"{(m.get('platform') or {}).get('os')}/{(m.get('platform') or {}).get('architecture')}" for m in images)
    raise ConfigError(f"{where} has images for several platforms ({names or 'none'}); choose one with --platform")


def sbom_from_registry(reference: Reference, platform: Platform | None, clients: ClientPool, cache: BlobCache) -> bytes:
    client = clients.get(reference.registry)
    repository = reference.repository
    data, media_type, digest = client.get_manifest(repository, reference.identifier)
    document = parse_json(data, f"the manifest of {reference}")
    if media_type in mediatypes.INDEXES or (isinstance(document, dict) and "manifests" in document):
        digest = _platform_manifest(document, platform, str(reference)).digest
    chosen = sbom_descriptor(referrers_in_registry(client, repository, digest), f"{reference.repository_ref}@{digest}")
    manifest, _type, _digest = client.get_manifest(repository, chosen.digest)
    layer = document_of(manifest, str(reference))
    return client.fetch_blob(repository, layer.digest, layer.size, cache).read_bytes()


def _layout_entry(directory: Path, tag: str | None, where: str) -> Descriptor:
    entries = [m for m in read_index(directory).get("manifests") or [] if isinstance(m, dict) and not m.get("artifactType")]
    if tag is not None:
        entries = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) == tag]
    if tag is not None and not entries:
        raise ConfigError(f"{where}: the layout has no image tagged {tag!r}")
    if len({m.get("digest") for m in entries}) != 1:
        raise ConfigError(f"{where}: the layout holds {len(entries)} images; name one as oci:{directory}:TAG")
    return Descriptor.from_json(entries[0])


def sbom_from_layout(directory: Path, tag: str | None, platform: Platform | None) -> bytes:
    where = f"oci:{directory}" + (f":{tag}" if tag else "")
    if not (directory / "index.json").is_file():
        raise ConfigError(f"{where} is not an OCI image layout (no index.json)")
    try:
        descriptor = _layout_entry(directory, tag, where)
        data = verify_blob(directory, descriptor).read_bytes()
        document = parse_json(data, f"a manifest in {directory}")
        if descriptor.media_type in mediatypes.INDEXES or (isinstance(document, dict) and "manifests" in document):
            descriptor = _platform_manifest(document, platform, where)
        referrers = [Descriptor.from_json(m) for m in read_index(directory).get("manifests") or []
                     if isinstance(m, dict) and m.get("artifactType") in mediatypes.SBOMS]
        about = [r for r in referrers if subject_of(verify_blob(directory, r).read_bytes()) == descriptor.digest]
        chosen = sbom_descriptor(about, f"{where}@{descriptor.digest}")
        return verify_blob(directory, document_of(verify_blob(directory, chosen).read_bytes(), where)).read_bytes()
    except (FileNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def read_sbom(image: str, platform: str | None, clients: ClientPool, cache: BlobCache) -> bytes:
    """The SBOM attached to IMAGE (a registry reference, or oci:DIR[:TAG]); platform chooses within an index."""
    chosen = parse_platform(platform) if platform else None
    target = parse_target(image)
    if target.kind in ("docker-archive", "docker-daemon"):
        raise ConfigError(f"a {target.kind}: image holds no SBOM; read it from the registry or an oci:DIR layout")
    if target.reference is not None:
        return sbom_from_registry(target.reference, chosen, clients, cache)
    assert target.path is not None
    return sbom_from_layout(target.path, target.tag, chosen)
