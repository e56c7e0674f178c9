"""Where an image goes: a registry (push), an OCI layout (oci:DIR[:TAG]) or a docker-archive (docker-archive:FILE)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import archive, layout, mediatypes
from .cache import BlobCache
from .errors import ConfigError
from .image import Blob, Image
from .log import Log
from .reference import Reference, parse_reference
from .registry import ClientPool, RegistryClient

PARALLEL_UPLOADS = 4


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


def _push_blob(client: RegistryClient, repository: str, blob: Blob, log: Log) -> str:
    digest = blob.descriptor.digest
    if client.blob_exists(repository, digest):
        return "exists"
    origin = blob.origin
    same_registry = origin is not None and origin.registry == client.registry and origin.repository != repository
    if same_registry and origin is not None and client.mount_blob(repository, digest, origin.repository):
        return "mounted"
    client.upload_blob(repository, digest, blob.descriptor.size, blob.fetch())
    log.info(f"uploaded {digest[:19]} ({blob.descriptor.size} bytes)")
    return "uploaded"


def push(image: Image, reference: Reference, tags: list[str], clients: ClientPool, cache: BlobCache, log: Log) -> str:
    """Every blob first (in parallel), then the manifest by digest, then each tag: a tag never points at a partial image."""
    client = clients.get(reference.registry)
    repository = reference.repository
    config_descriptor = image.config_descriptor()
    # The config goes through the cache so that it uploads through the same streaming path as layers.
    config = Blob(config_descriptor, lambda: cache.put_bytes(config_descriptor.digest, image.config_bytes()))
    blobs = list({b.descriptor.digest: b for b in (*image.layers, config)}.values())
    with ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool:
        outcomes = list(pool.map(lambda blob: _push_blob(client, repository, blob, log), blobs))
    log.info(", ".join(f"{outcomes.count(k)} {k}" for k in ("uploaded", "mounted", "exists")) + " blobs")
    manifest = image.manifest_bytes()
    digest = client.put_manifest(repository, image.digest, manifest, mediatypes.OCI_MANIFEST)
    for tag in tags:
        client.put_manifest(repository, tag, manifest, mediatypes.OCI_MANIFEST)
        log.info(f"tagged {reference.repository_ref}:{tag}")
    return digest


def write_layout(image: Image, directory: Path, tags: list[str]) -> str:
    return layout.write_image(directory, image, tags).digest


def write_archive(image: Image, path: Path, repo_tags: list[str]) -> str:
    archive.write_archive(path, image, repo_tags)
    return image.digest
