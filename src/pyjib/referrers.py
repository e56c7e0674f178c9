"""SBOM and provenance of each platform image, as OCI 1.1 artifacts whose subject is the image's manifest, and the SBOM
read back. Each transport attaches them as it can (transports/remote_referrers.py for a registry, layout.py's index.json)."""

from __future__ import annotations

from .cache import BlobCache
from .contents import image_contents
from .imagebuild import Build, PlatformImage
from .oci import mediatypes
from .oci.image import Artifact
from .oci.platforms import parse_platform
from .provenance import statement
from .registry import ClientPool
from .sbom import FORMATS, sbom_bytes
from .settings import Settings
from .transports import Session, parse_location

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


def read_sbom(image: str, platform: str | None, clients: ClientPool, cache: BlobCache) -> bytes:
    """The SBOM attached to IMAGE (a registry reference, or oci:DIR[:TAG]); platform chooses within an index."""
    chosen = parse_platform(platform) if platform else None
    return parse_location(image).read_sbom(chosen, Session(clients, cache))
