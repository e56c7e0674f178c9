"""REGISTRY/REPO[:TAG|@DIGEST], an image in a registry: read a base (its layers mountable from its repository), push an
image or index: every blob first (in parallel), then the manifests by digest and what is attached to them, then the tags,
so a tag never points at a partial image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import BlobCache
from ..errors import BaseImageError, PyjibError
from ..log import Log
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, parse_json
from ..oci.digest import sha256_bytes
from ..oci.image import Artifact, Blob, Image, ImageIndex
from ..oci.platforms import Platform, platform_of_config
from ..reference import Reference, parse_reference
from ..registry import CONFIG_LIMIT, ClientPool, RegistryClient
from .protocols import BaseImage, Delivery, Session, Written
from .reading import DEFAULT_PLATFORM, check_platform, choose_from_index, document_of, manifest_to_image, platform_manifest, sbom_descriptor
from .remote_blobs import Mountable, push_blobs
from .remote_referrers import artifact_blobs, attach, referrers_in_registry


def parse(spec: str) -> RemoteLocation:
    return RemoteLocation(spec, parse_reference(spec))


@dataclass(frozen=True)
class RemoteLocation:
    text: str  # as the user wrote it
    reference: Reference
    scheme = "registry"

    @property
    def path(self) -> Path | None:
        return None

    def anchored(self, root: Path) -> RemoteLocation:
        return self

    def pinned(self, digest: str) -> str:
        return f"{self.reference.repository_ref}@{digest}"

    def open(self, platform: Platform | None, session: Session) -> BaseImage:
        return open_registry(self.reference, platform, session.cache, session.clients, self.text)

    def platforms(self, session: Session) -> tuple[list[Platform | None], dict[str, str]]:
        reference = self.reference
        data, media_type, _ = session.clients.get(reference.registry).get_manifest(reference.repository, reference.identifier)
        document = parse_json(data, f"the manifest of {self.text}")
        if (media_type or document.get("mediaType")) not in mediatypes.INDEXES:
            return [None], {}
        platforms = [platform_of_config(entry.get("platform") or {}) for entry in document.get("manifests") or []]
        return list(platforms), dict(document.get("annotations") or {})

    def read_sbom(self, platform: Platform | None, session: Session) -> bytes:
        return sbom_from_registry(self.reference, platform, session.clients, session.cache)

    def check_writable(self, platforms: int) -> None:
        """A registry takes any number of platforms and their artifacts."""

    def write(self, images: Sequence[Image], delivery: Delivery, session: Session) -> Written:
        """Every image by digest with what is attached to it, then the index (for several), then the tags."""
        reference, log = self.reference, session.log
        tags = list(dict.fromkeys([reference.tag or "latest", *delivery.tags]))
        client = session.clients.get(reference.registry)
        index = ImageIndex(tuple(images), delivery.index_annotations).index_bytes() if len(images) > 1 else None
        digest = images[0].digest if index is None else sha256_bytes(index)
        written = Written(f"{reference.repository_ref}@{digest}", digest, tuple(f"{reference.repository_ref}:{tag}@{digest}" for tag in tags))
        if all(client.tagged_digest(reference.repository, tag) == digest for tag in tags):
            # Tags are pushed last, so a tag naming this digest means a push of it finished: its blobs and manifests
            # are there (as go-containerregistry skips what a registry has, here in one request a tag). Its artifacts
            # may not be (an SBOM turned on since, a copy that dropped referrers, a new CI run's provenance): those
            # missing are attached.
            attached = _attach_missing(client, reference.repository, images, delivery, session)
            log.info(f"{reference.repository_ref} already holds {digest[:19]} at {', '.join(tags)}: "
                     + (f"attached {attached} missing artifacts" if attached else "nothing to push"))
            return written
        # The artifacts' blobs go up in parallel with the first image's (an SBOM that cannot be made stops the push before
        # its first blob); their manifests follow the image manifest they name.
        documents = artifact_blobs(delivery.artifacts, session.cache)
        for index_in_push, image in enumerate(images):
            push(image, reference, [], session.clients, session.cache, log, also=documents if index_in_push == 0 else [])
            attach(client, reference.repository, delivery.artifacts_about(image), session.cache, log, blobs_pushed=True)
        if index is None:
            manifest, media_type = images[0].manifest_bytes(), mediatypes.OCI_MANIFEST
        else:
            manifest, media_type = index, mediatypes.OCI_INDEX
            client.put_manifest(reference.repository, digest, manifest, media_type)
        tag_manifest(client, reference, manifest, media_type, tags, log)
        return written


def _attach_missing(client: RegistryClient, repository: str, images: Sequence[Image], delivery: Delivery, session: Session) -> int:
    """Attach each artifact of images that the registry does not list among its subject's referrers; how many were."""
    missing: list[Artifact] = []
    for image in images:
        wanted = delivery.artifacts_about(image)
        if wanted:
            listed = {d.digest for d in referrers_in_registry(client, repository, image.digest)}
            missing += [a for a in wanted if a.descriptor().digest not in listed]
    for image in images:
        attach(client, repository, tuple(a for a in missing if a.subject.digest == image.digest), session.cache, session.log)
    return len(missing)


def mountable(blob: Blob, reference: Reference) -> Mountable:
    """The blob, marked as held by reference's repository (a push elsewhere on that registry mounts it)."""
    return Mountable(blob.descriptor, blob.fetch, reference.registry, reference.repository)


def push(image: Image, reference: Reference, tags: list[str], clients: ClientPool, cache: BlobCache, log: Log,
         also: Sequence[Blob] = ()) -> str:
    """Every blob first (in parallel, with also's: other blobs of the same push), then the manifest by digest, then
    each tag: a tag never points at a partial image."""
    client = clients.get(reference.registry)
    repository = reference.repository
    config_descriptor = image.config_descriptor()
    # The config goes through the cache so that it uploads through the same streaming path as layers.
    config = Blob(config_descriptor, lambda: cache.put_bytes(config_descriptor.digest, image.config_bytes()))
    blobs = list({b.descriptor.digest: b for b in (*image.layers, config)}.values())
    own = {b.descriptor.digest for b in blobs}
    extra = [b for b in also if b.descriptor.digest not in own]
    outcomes = push_blobs(client, repository, [*blobs, *extra], log)[:len(blobs)]  # the count below is the image's
    log.info(", ".join(f"{outcomes.count(k)} {k}" for k in ("uploaded", "mounted", "exists")) + " blobs")
    manifest = image.manifest_bytes()
    digest = client.put_manifest(repository, image.digest, manifest, mediatypes.OCI_MANIFEST)
    tag_manifest(client, reference, manifest, mediatypes.OCI_MANIFEST, tags, log)
    return digest


def tag_manifest(client: RegistryClient, reference: Reference, manifest: bytes, media_type: str, tags: list[str], log: Log) -> None:
    """Point each tag at a manifest the registry already holds by digest (the last step of a push)."""
    for tag in tags:
        client.put_manifest(reference.repository, tag, manifest, media_type)
        log.info(f"tagged {reference.repository_ref}:{tag}")


def _manifest_document(client: RegistryClient, reference: Reference, platform: Platform | None, name: str) -> tuple[dict[str, Any], str]:
    """The image manifest reference names (an index narrowed to platform), with its digest."""
    data, media_type, digest = client.get_manifest(reference.repository, reference.identifier)
    document = parse_json(data, f"the manifest of {name}")
    media_type = media_type or document.get("mediaType", "")
    if media_type in mediatypes.INDEXES:
        chosen = choose_from_index(document, platform or DEFAULT_PLATFORM, name)
        data, media_type, digest = client.get_manifest(reference.repository, chosen.digest)
        document = parse_json(data, f"the manifest of {name}")
    if document.get("schemaVersion") != 2 or "config" not in document:
        raise BaseImageError(f"base {name} has an unsupported manifest type {media_type or 'unknown'}")
    return document, digest


def open_registry(reference: Reference, platform: Platform | None, cache: BlobCache, clients: ClientPool, name: str) -> BaseImage:
    client = clients.get(reference.registry)
    try:
        document, digest = _manifest_document(client, reference, platform, name)

        def read_config(descriptor: Descriptor) -> bytes:
            if descriptor.size > CONFIG_LIMIT:
                raise BaseImageError(f"base {name} has a config of {descriptor.size} bytes, more than the {CONFIG_LIMIT >> 20} MiB pyjib reads")
            return client.fetch_blob(reference.repository, descriptor.digest, descriptor.size, cache).read_bytes()

        def layer_blob(descriptor: Descriptor) -> Blob:
            fetch = lambda: client.fetch_blob(reference.repository, descriptor.digest, descriptor.size, cache)  # noqa: E731
            return mountable(Blob(descriptor, fetch), reference)

        image = manifest_to_image(document, read_config, layer_blob, name)
    except PyjibError as exc:
        if isinstance(exc, BaseImageError):
            raise
        raise BaseImageError(f"cannot read base image {name}: {exc}") from exc
    check_platform(image, platform, name)
    return BaseImage(image, name, digest, reference, dict(document.get("annotations") or {}))


def sbom_from_registry(reference: Reference, platform: Platform | None, clients: ClientPool, cache: BlobCache) -> bytes:
    client = clients.get(reference.registry)
    repository = reference.repository
    data, media_type, digest = client.get_manifest(repository, reference.identifier)
    document = parse_json(data, f"the manifest of {reference}")
    if media_type in mediatypes.INDEXES or (isinstance(document, dict) and "manifests" in document):
        digest = platform_manifest(document, platform, str(reference)).digest
    chosen = sbom_descriptor(referrers_in_registry(client, repository, digest), f"{reference.repository_ref}@{digest}")
    manifest, _type, _digest = client.get_manifest(repository, chosen.digest)
    layer = document_of(manifest, str(reference))
    return client.fetch_blob(repository, layer.digest, layer.size, cache).read_bytes()
