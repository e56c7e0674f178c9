"""Where an image goes: a registry (push), an OCI layout (oci:DIR[:TAG]) or a docker-archive (docker-archive:FILE)."""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, wait
from dataclasses import dataclass
from pathlib import Path

from . import archive, layout, mediatypes
from .cache import BlobCache
from .digest import sha256_bytes
from .errors import ConfigError
from .image import Artifact, Blob, Image, ImageIndex
from .log import Log
from .progress import Progress
from .reference import Reference, parse_reference
from .registry import ClientPool, RegistryClient
from .workers import worker_pool

PARALLEL_UPLOADS = 4  # enough to fill a CI runner's uplink; more mostly adds registry load


@dataclass(frozen=True)
class Target:
    kind: str  # "registry", "oci" or "docker-archive"
    path: Path | None = None
    reference: Reference | None = None
    tag: str | None = None  # the tag named in an oci: target


def parse_target(text: str) -> Target:
    if text.startswith("oci:"):
        spec = text[len("oci:"):]
        directory, sep, tag = spec.rpartition(":")
        if sep and directory and "/" not in tag:
            return Target("oci", Path(directory), tag=tag)
        if not spec:
            raise ConfigError("oci: needs a folder, as in oci:dist/image")
        return Target("oci", Path(spec))
    if text.startswith("docker-archive:"):
        spec = text[len("docker-archive:"):]
        if not spec:
            raise ConfigError("docker-archive: needs a file, as in docker-archive:dist/app.tar")
        return Target("docker-archive", Path(spec))
    return Target("registry", reference=parse_reference(text))


def _push_blob(client: RegistryClient, repository: str, blob: Blob, progress: Progress) -> str:
    """Make the registry hold one blob: it may already, it may link it from the base's repository, else it is uploaded."""
    digest, size = blob.descriptor.digest, blob.descriptor.size
    bar = progress.blob(digest[:19], size)
    if client.blob_exists(repository, digest, push=True):
        outcome = "exists"
    else:
        origin = blob.origin
        same_registry = origin is not None and origin.registry == client.registry and origin.repository != repository
        if same_registry and origin is not None and client.mount_blob(repository, digest, origin.repository):
            outcome = "mounted"
        else:
            client.upload_blob(repository, digest, size, blob.fetch(), on_progress=bar.update)
            outcome = "uploaded"
    bar.finish(outcome)
    return outcome


def push_blobs(client: RegistryClient, repository: str, blobs: list[Blob], log: Log) -> list[str]:
    """Every blob, PARALLEL_UPLOADS at a time; returns only when the registry has confirmed each one (else raises)."""
    progress = Progress(log)
    try:
        with worker_pool(PARALLEL_UPLOADS) as pool:
            futures = [pool.submit(_push_blob, client, repository, blob, progress) for blob in blobs]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()  # after a failure, blobs not started yet are not worth sending
    finally:
        progress.close()
    for future in futures:  # the pool has finished every started upload by now
        if not future.cancelled() and (error := future.exception()) is not None:
            raise error
    return [future.result() for future in futures]


def push(image: Image, reference: Reference, tags: list[str], clients: ClientPool, cache: BlobCache, log: Log) -> str:
    """Every blob first (in parallel), then the manifest by digest, then each tag: a tag never points at a partial image."""
    client = clients.get(reference.registry)
    repository = reference.repository
    config_descriptor = image.config_descriptor()
    # The config goes through the cache so that it uploads through the same streaming path as layers.
    config = Blob(config_descriptor, lambda: cache.put_bytes(config_descriptor.digest, image.config_bytes()))
    blobs = list({b.descriptor.digest: b for b in (*image.layers, config)}.values())
    outcomes = push_blobs(client, repository, blobs, log)
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


def push_index(client: RegistryClient, repository: str, index: bytes, children: list[tuple[bytes, str]], tags: list[str]) -> str:
    """An index goes up only after every child manifest (each given with its media type), by digest; then its tags."""
    for data, media_type in children:
        client.put_manifest(repository, sha256_bytes(data), data, media_type)
    digest = client.put_manifest(repository, sha256_bytes(index), index, mediatypes.OCI_INDEX)
    for tag in tags:
        client.put_manifest(repository, tag, index, mediatypes.OCI_INDEX)
    return digest


def write_layout(image: Image, directory: Path, tags: list[str], artifacts: tuple[Artifact, ...] = ()) -> str:
    return layout.write_image(directory, image, tags, artifacts).digest


def write_archive(image: Image, path: Path, repo_tags: list[str]) -> str:
    archive.write_archive(path, image, repo_tags)
    return image.digest


def deliver_images(images: list[Image], target: Target, clients: ClientPool, cache: BlobCache, log: Log,
                   index_annotations: dict[str, str] | None = None, archive_name: str = "image:latest") -> tuple[str, str]:
    """(location, digest) of one image, or an index of several, pushed (blobs, manifests, then the tag) or written."""
    index = ImageIndex(tuple(images), index_annotations or {})
    if target.reference is not None:
        reference, tags = target.reference, [target.reference.tag or "latest"]
        if len(images) == 1:
            digest = push(images[0], reference, tags, clients, cache, log)
        else:
            for image in images:
                push(image, reference, [], clients, cache, log)
            digest = push_index(clients.get(reference.registry), reference.repository, index.index_bytes(), [], tags)
        return f"{reference.repository_ref}@{digest}", digest
    assert target.path is not None
    if target.kind == "oci":
        names = [target.tag or "latest"]
        digest = (layout.write_image(target.path, images[0], names) if len(images) == 1 else layout.write_index(target.path, index, names)).digest
    else:
        digest = write_archive(images[0], target.path, [archive_name])
    log.info(f"wrote {target.path}")
    return f"{target.path}@{digest}", digest
