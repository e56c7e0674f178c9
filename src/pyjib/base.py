"""Open a base image from a registry, an OCI layout (oci:DIR[:TAG]) or a docker-archive tarball (docker-archive:FILE)."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import mediatypes
from .baseconfig import check_base_config
from .cache import BlobCache
from .descriptor import Descriptor, parse_json
from .digest import sha256_bytes
from .errors import BaseImageError, PyjibError
from .image import Blob, Image
from .layout import REF_NAME, read_index, verify_blob
from .platforms import Platform, platform_of_config
from .reference import Reference, parse_reference
from .registry import CONFIG_LIMIT, ClientPool


@dataclass(frozen=True)
class BaseImage:
    image: Image
    name: str  # as the user wrote it
    digest: str  # the manifest's digest, for org.opencontainers.image.base.digest
    reference: Reference | None = None  # set when the base lives in a registry
    annotations: dict[str, str] = field(default_factory=dict)  # the manifest's (rebase reads org.opencontainers.image.base.*)


def _manifest_to_image(manifest: dict[str, Any], read_config: Any, layer_blob: Any, where: str) -> Image:
    try:
        config_descriptor = Descriptor.from_json(manifest["config"])
        layers = [Descriptor.from_json(layer) for layer in manifest.get("layers", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise BaseImageError(f"the manifest of base {where} is malformed ({exc})") from exc
    config = check_base_config(parse_json(read_config(config_descriptor), f"the config of base {where}"), where)
    blobs = []
    for descriptor in layers:
        media_type = mediatypes.LAYER_RENAMES.get(descriptor.media_type, descriptor.media_type)
        if media_type not in (mediatypes.OCI_LAYER_GZIP, mediatypes.OCI_LAYER_TAR, mediatypes.OCI_LAYER_ZSTD):
            raise BaseImageError(f"base {where} has a layer of unsupported type {descriptor.media_type}")
        blobs.append(layer_blob(Descriptor(media_type, descriptor.digest, descriptor.size)))
    return Image(config=config, layers=tuple(blobs))


def choose_from_index(index: dict[str, Any], platform: Platform, where: str) -> Descriptor:
    manifests = index.get("manifests") or []
    for entry in manifests:
        if entry.get("mediaType") in mediatypes.MANIFESTS and platform.matches(entry.get("platform") or {}):
            return Descriptor.from_json(entry)
    available = ", ".join(
        f"{p.get('os')}/{p.get('architecture')}" for p in (m.get("platform") or {} for m in manifests) if p
    )
    raise BaseImageError(f"base {where} has no image for {platform} (it has: {available or 'none'}); choose another --platform or base")


def _check_platform(image: Image, platform: Platform | None, where: str) -> None:
    actual = platform_of_config(image.config)
    if platform and not platform.matches(image.config):
        raise BaseImageError(f"base {where} is for {actual}, not {platform}; choose a base for {platform} or drop --platform")


def _open_registry(reference: Reference, platform: Platform | None, cache: BlobCache, clients: ClientPool, name: str) -> BaseImage:
    client = clients.get(reference.registry)
    try:
        data, media_type, digest = client.get_manifest(reference.repository, reference.identifier)
        document = parse_json(data, f"the manifest of {name}")
        media_type = media_type or document.get("mediaType", "")
        if media_type in mediatypes.INDEXES:
            chosen = choose_from_index(document, platform or Platform("linux", "amd64"), name)
            data, media_type, digest = client.get_manifest(reference.repository, chosen.digest)
            document = parse_json(data, f"the manifest of {name}")
        if document.get("schemaVersion") != 2 or "config" not in document:
            raise BaseImageError(f"base {name} has an unsupported manifest type {media_type or 'unknown'}")

        def read_config(descriptor: Descriptor) -> bytes:
            if descriptor.size > CONFIG_LIMIT:
                raise BaseImageError(f"base {name} has a config of {descriptor.size} bytes, more than the {CONFIG_LIMIT >> 20} MiB pyjib reads")
            return client.fetch_blob(reference.repository, descriptor.digest, descriptor.size, cache).read_bytes()

        def layer_blob(descriptor: Descriptor) -> Blob:
            return Blob(
                descriptor,
                lambda: client.fetch_blob(reference.repository, descriptor.digest, descriptor.size, cache),
                origin=reference,
            )

        image = _manifest_to_image(document, read_config, layer_blob, name)
    except PyjibError as exc:
        if isinstance(exc, BaseImageError):
            raise
        raise BaseImageError(f"cannot read base image {name}: {exc}") from exc
    _check_platform(image, platform, name)
    return BaseImage(image, name, digest, reference, dict(document.get("annotations") or {}))


def _split_layout_spec(spec: str) -> tuple[Path, str | None]:
    path, sep, tag = spec.rpartition(":")
    if sep and path and "/" not in tag and not Path(spec).exists():
        return Path(path), tag
    return Path(spec), None


def _open_layout(spec: str, platform: Platform | None, name: str) -> BaseImage:
    layout, tag = _split_layout_spec(spec)
    if not (layout / "index.json").is_file():
        raise BaseImageError(f"base {name}: {layout} is not an OCI image layout (no index.json)")
    index = read_index(layout)
    entries = [m for m in index.get("manifests") or [] if not m.get("artifactType")]  # SBOMs and provenance are no images
    if tag is not None:
        entries = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) == tag]
        if not entries:
            raise BaseImageError(f"base {name}: the layout at {layout} has no image tagged {tag!r}")
    if not entries:
        raise BaseImageError(f"base {name}: the layout at {layout} holds no image")
    descriptor = Descriptor.from_json(entries[0])
    if len(entries) > 1 and platform:
        descriptor = choose_from_index({"manifests": entries}, platform, name)
    elif len(entries) > 1 and tag is None:
        raise BaseImageError(f"base {name}: the layout at {layout} holds several images; name one as oci:{layout}:TAG")
    try:
        document = parse_json(verify_blob(layout, descriptor).read_bytes(), f"a manifest in {layout}")
        if descriptor.media_type in mediatypes.INDEXES or document.get("manifests") is not None:
            descriptor = choose_from_index(document, platform or Platform("linux", "amd64"), name)
            document = parse_json(verify_blob(layout, descriptor).read_bytes(), f"a manifest in {layout}")
    except (FileNotFoundError, ValueError) as exc:
        raise BaseImageError(f"base {name}: {exc}") from exc

    def layer_blob(d: Descriptor) -> Blob:
        return Blob(d, lambda: verify_blob(layout, d))

    try:
        image = _manifest_to_image(document, lambda d: verify_blob(layout, d).read_bytes(), layer_blob, name)
    except (FileNotFoundError, ValueError) as exc:
        raise BaseImageError(f"base {name}: {exc}") from exc
    _check_platform(image, platform, name)
    return BaseImage(image, name, descriptor.digest, annotations=dict(document.get("annotations") or {}))


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(1 << 20):
        yield chunk


def _constant(path: Path) -> Callable[[], Path]:
    return lambda: path


def _open_archive(path: Path, platform: Platform | None, cache: BlobCache, name: str) -> BaseImage:
    """Read `docker save` output: manifest.json, the config, and layers (plain or gzipped tar) copied into the cache."""
    if not path.is_file():
        raise BaseImageError(f"base {name}: no such file {path}")
    try:
        with tarfile.open(path) as archive:
            entries = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
            if len(entries) != 1:
                raise BaseImageError(f"base {name}: the archive holds {len(entries)} images; pyjib reads archives of one")
            entry = entries[0]
            config_bytes = archive.extractfile(entry["Config"]).read()  # type: ignore[union-attr]
            layers = []
            for member_name in entry["Layers"]:
                member = archive.extractfile(member_name)
                if member is None:
                    raise BaseImageError(f"base {name}: the archive lists layer {member_name} but does not hold it")
                head = member.read(2)
                member.seek(0)
                digest, blob = cache.store_stream(_chunks(member))
                media_type = mediatypes.OCI_LAYER_GZIP if head == b"\x1f\x8b" else mediatypes.OCI_LAYER_TAR
                layers.append(Blob(Descriptor(media_type, digest, blob.stat().st_size), _constant(blob)))
    except (tarfile.TarError, KeyError, TypeError, json.JSONDecodeError, OSError) as exc:
        raise BaseImageError(f"base {name}: {path} is not a docker-archive ({exc})") from exc
    config = parse_json(config_bytes, f"the config of base {name}")
    image = Image(config=config, layers=tuple(layers))
    _check_platform(image, platform, name)
    return BaseImage(image, name, sha256_bytes(image.manifest_bytes()))


def open_base(spec: str, *, platform: Platform | None, cache: BlobCache, clients: ClientPool) -> BaseImage:
    """The base image named by spec, narrowed to platform when it is an index."""
    if spec.startswith("oci:"):
        return _open_layout(spec[len("oci:"):], platform, spec)
    if spec.startswith("docker-archive:"):
        return _open_archive(Path(spec[len("docker-archive:"):]), platform, cache, spec)
    return _open_registry(parse_reference(spec), platform, cache, clients, spec)

