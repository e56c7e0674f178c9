"""What every transport offers: reading an image (a source) and writing one (a sink), and the values they exchange.

A location is both protocols at once; a transport that cannot do one of the things (read, several platforms,
attached artifacts) says so itself in one line, so callers never ask which transport they hold.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..cache import BlobCache
from ..errors import ConfigError
from ..log import SILENT, Log
from ..oci.image import Artifact, Image
from ..oci.platforms import Platform
from ..reference import Reference
from ..registry import ClientPool


@dataclass(frozen=True)
class Session:
    """What a transport works with: one registry client per host, the blob cache, the log."""

    clients: ClientPool
    cache: BlobCache
    log: Log = SILENT


@dataclass(frozen=True)
class BaseImage:
    """An image read from a location, narrowed to one platform."""

    image: Image
    name: str  # as the user wrote it
    digest: str  # the manifest's digest, for org.opencontainers.image.base.digest
    reference: Reference | None = None  # set when the base lives in a registry
    annotations: dict[str, str] = field(default_factory=dict)  # the manifest's (rebase reads org.opencontainers.image.base.*)


@dataclass(frozen=True)
class Delivery:
    """What goes to a location with the images: more tags than the location names, the artifacts about the images
    (each names its image as subject), the index's annotations, and the image's name where a location needs one."""

    tags: tuple[str, ...] = ()
    # Made on first use, then kept: a target that writes nothing needs none (the SBOM, the provenance's git calls).
    make_artifacts: Callable[[], tuple[Artifact, ...]] = tuple
    index_annotations: dict[str, str] = field(default_factory=dict)
    name: str = "image"  # a docker-archive's RepoTags are NAME:TAG

    @functools.cached_property
    def artifacts(self) -> tuple[Artifact, ...]:
        return self.make_artifacts()

    def artifacts_about(self, image: Image) -> tuple[Artifact, ...]:
        return tuple(a for a in self.artifacts if a.subject.digest == image.digest)


@dataclass(frozen=True)
class Written:
    location: str  # REGISTRY/REPO@DIGEST, PATH@DIGEST or docker-daemon:NAME:TAG@DIGEST
    digest: str
    references: tuple[str, ...] = ()  # every NAME:TAG@DIGEST that now names the image, where the location has names


class ImageSource(Protocol):
    def open(self, platform: Platform | None, session: Session) -> BaseImage:
        """The image here (an index narrowed to platform), with its manifest's digest and annotations."""
        ...

    def platforms(self, session: Session) -> tuple[list[Platform | None], dict[str, str]]:
        """The platforms of an index here (with the index's annotations), or [None] for one image."""
        ...

    def pinned(self, digest: str) -> str:
        """This location's text naming the image of that digest (as a base is recorded and read again)."""
        ...

    def read_sbom(self, platform: Platform | None, session: Session) -> bytes:
        """The SBOM attached to the image here."""
        ...


class ImageSink(Protocol):
    def check_writable(self, platforms: int) -> None:
        """One line, before any work, when this location cannot take an image of that many platforms."""
        ...

    def write(self, images: Sequence[Image], delivery: Delivery, session: Session) -> Written:
        """One image, or an index of several: blobs first, then manifests and artifacts, then the names."""
        ...


class Location(ImageSource, ImageSink, Protocol):
    """One place an image can be: REGISTRY/REPO[:TAG|@DIGEST], oci:DIR[:TAG], docker-archive:FILE, docker-daemon:NAME[:TAG]."""

    @property
    def text(self) -> str:
        """As the user wrote it."""
        ...

    @property
    def scheme(self) -> str:
        """The prefix's name for messages ("oci", "docker-archive"...; "registry" for a reference)."""
        ...

    @property
    def reference(self) -> Reference | None:
        """The registry reference, when this location is in a registry."""
        ...

    @property
    def path(self) -> Path | None:
        """The local file or folder this location is, if it is one."""
        ...

    def anchored(self, root: Path) -> Location:
        """The location with a relative path taken from root (unchanged where there is no path)."""
        ...


class LocalLocation:
    """What the locations outside a registry share: no reference, one image (an index only as a whole), named by the
    location's own text whatever its digest."""

    text: str

    @property
    def reference(self) -> Reference | None:
        return None

    def pinned(self, digest: str) -> str:
        return self.text  # the reader compares the digest it finds

    def platforms(self, session: Session) -> tuple[list[Platform | None], dict[str, str]]:
        return [None], {}


def refuse_platforms(scheme: str, platforms: int) -> None:
    """The one line of a location that holds a single platform."""
    if platforms > 1:
        raise ConfigError(f"{scheme}: holds one platform; for several platforms write oci:DIR or push to a registry")
