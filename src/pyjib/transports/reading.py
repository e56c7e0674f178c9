"""What the readers of every transport share: a manifest made into an image, an index narrowed to a platform, the SBOM
chosen among an image's referrers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..baseconfig import check_base_config
from ..errors import BaseImageError, ConfigError, PyjibError
from ..oci import mediatypes
from ..oci.descriptor import Descriptor, Manifest, parse_json
from ..oci.image import Blob, Image
from ..oci.platforms import Platform, platform_of_config

DEFAULT_PLATFORM = Platform("linux", "amd64")  # an index read without --platform


def manifest_to_image(document: Any, read_config: Callable[[Descriptor], bytes], layer_blob: Callable[[Descriptor], Blob],
                      where: str) -> Image:
    try:
        manifest = Manifest.from_json(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise BaseImageError(f"the manifest of base {where} is malformed ({exc})") from exc
    config = check_base_config(parse_json(read_config(manifest.config), f"the config of base {where}"), where)
    blobs = []
    for descriptor in manifest.layers:
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


def check_platform(image: Image, platform: Platform | None, where: str) -> None:
    actual = platform_of_config(image.config)
    if platform and not platform.matches(image.config):
        raise BaseImageError(f"base {where} is for {actual}, not {platform}; choose a base for {platform} or drop --platform")


def platform_manifest(index: dict[str, Any], platform: Platform | None, where: str) -> Descriptor:
    """The one image of an index an SBOM is read for: the platform's, or the only one."""
    images = [m for m in index.get("manifests") or [] if isinstance(m, dict) and m.get("mediaType") in mediatypes.MANIFESTS
              and not m.get("artifactType")]
    if platform is not None:
        return choose_from_index({"manifests": images}, platform, where)
    if len(images) == 1:
        return Descriptor.from_json(images[0])
    names = ", ".join(f"{(m.get('platform') or {}).get('os')}/{(m.get('platform') or {}).get('architecture')}" for m in images)
    raise ConfigError(f"{where} has images for several platforms ({names or 'none'}); choose one with --platform")


def sbom_descriptor(referrers: list[Descriptor], where: str) -> Descriptor:
    """The SBOM among an image's referrers (the last listed, should there be several)."""
    sboms = [r for r in referrers if r.artifact_type in mediatypes.SBOMS]
    if not sboms:
        raise PyjibError(f"{where} has no SBOM attached (built with sbom = false, or by another tool); push it with pyjib to attach one")
    return sboms[-1]


def artifact_manifest(data: bytes, where: str) -> Manifest | None:
    """An artifact's manifest, or None when the bytes are no manifest."""
    try:
        return Manifest.from_json(parse_json(data, f"the artifact manifest of {where}"))
    except (PyjibError, KeyError, TypeError, ValueError):
        return None


def document_of(data: bytes, where: str) -> Descriptor:
    """The one layer of an artifact manifest: the document."""
    manifest = artifact_manifest(data, where)
    if manifest is None or len(manifest.layers) != 1:
        raise PyjibError(f"the SBOM artifact of {where} does not hold exactly one document")
    return manifest.layers[0]
