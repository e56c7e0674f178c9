"""docker-daemon:NAME[:TAG], loading an image into a running container engine through the Docker Engine API (what
`docker load` does): write only, one platform, no attached artifacts.

The engine is found as the docker CLI finds it (DOCKER_HOST, else /var/run/docker.sock), then podman's API socket
(`podman system service`). Only Unix sockets are spoken: a tcp:// engine needs TLS client certificates pyjib does not
handle yet. The docker-archive is streamed into `POST /images/load`, never written to disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..errors import ConfigError, PyjibError, one_line
from ..oci.image import Image
from ..oci.platforms import Platform
from ..reference import parse_reference
from .protocols import BaseImage, Delivery, LocalLocation, Session, Written, refuse_platforms
from .tarball import archive_chunks

DOCKER_SOCKET = Path("/var/run/docker.sock")
ROOTFUL_PODMAN_SOCKET = Path("/run/podman/podman.sock")
_API_BASE = "http://engine"  # the host part is ignored on a Unix socket, but httpx needs one
_LOAD_TIMEOUT = httpx.Timeout(30.0, read=600.0)  # the engine unpacks every layer before it answers


class EngineError(PyjibError):
    """No engine to load into, or the engine refused the image."""


@dataclass(frozen=True)
class Engine:
    socket: Path
    source: str  # how it was found, for messages: "DOCKER_HOST", "docker's socket", "podman's socket"


def _candidates(environ: Mapping[str, str]) -> list[Engine]:
    found = [Engine(DOCKER_SOCKET, "docker's socket")]
    if runtime_dir := environ.get("XDG_RUNTIME_DIR"):
        found.append(Engine(Path(runtime_dir) / "podman" / "podman.sock", "podman's socket"))
    found.append(Engine(ROOTFUL_PODMAN_SOCKET, "podman's socket"))
    return found


def find_engine(environ: Mapping[str, str] = os.environ) -> Engine:
    """DOCKER_HOST when set (unix:// only), else the first engine socket that exists."""
    host = environ.get("DOCKER_HOST", "")
    if host:
        if not host.startswith("unix://"):
            raise EngineError(f"DOCKER_HOST={host!r}: pyjib loads images over a Unix socket only; "
                              "set DOCKER_HOST=unix:///path/to/docker.sock or unset it")
        socket = Path(host[len("unix://"):])
        if not socket.is_socket():
            raise EngineError(f"DOCKER_HOST={host!r} names no socket: start the engine there, or fix or unset DOCKER_HOST")
        return Engine(socket, "DOCKER_HOST")
    for engine in _candidates(environ):
        if engine.socket.is_socket():
            return engine
    tried = ", ".join(str(e.socket) for e in _candidates(environ))
    raise EngineError(f"no container engine found (tried {tried}): start Docker or `podman system service`, "
                      "or set DOCKER_HOST=unix:///path/to/socket")


def _load_error(body: bytes) -> str | None:
    """The engine's refusal inside a 200 answer: docker streams JSON lines and puts a failure in `error`."""
    for line in body.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and (error := message.get("error") or message.get("errorDetail")):
            return str(error.get("message", error) if isinstance(error, dict) else error)
    return None


def load(engine: Engine, archive: Iterable[bytes]) -> None:
    """Stream a docker-archive into the engine; returns once the engine has stored the image (else raises)."""
    transport = httpx.HTTPTransport(uds=str(engine.socket))
    with httpx.Client(transport=transport, base_url=_API_BASE, timeout=_LOAD_TIMEOUT) as client:
        try:
            response = client.post("/images/load", params={"quiet": "1"}, content=archive,
                                   headers={"Content-Type": "application/x-tar"})
        except httpx.TransportError as exc:
            raise EngineError(f"cannot reach the container engine at {engine.socket} ({engine.source}): {one_line(str(exc))}; "
                              "is it running?") from None
    if response.status_code != 200:
        raise EngineError(f"the container engine at {engine.socket} refused the image "
                          f"(HTTP {response.status_code}: {one_line(response.text)})")
    if (error := _load_error(response.content)) is not None:
        raise EngineError(f"the container engine at {engine.socket} refused the image: {one_line(error)}")


def parse(spec: str) -> DaemonLocation:
    """NAME[:TAG] after docker-daemon:, NAME as `docker tag` takes it (checked as a reference; a digest names no new image)."""
    if not spec:
        raise ConfigError("docker-daemon: needs an image name, as in docker-daemon:myapp:dev")
    if "@" in spec:
        raise ConfigError(f"docker-daemon:{spec} names a digest; give a name and a tag, as in docker-daemon:myapp:dev")
    parse_reference(spec)  # one clear line when the name is not one an engine accepts
    name, sep, tag = spec.rpartition(":")
    if sep and "/" not in tag:
        return DaemonLocation(f"docker-daemon:{spec}", name, tag)
    return DaemonLocation(f"docker-daemon:{spec}", spec)


@dataclass(frozen=True)
class DaemonLocation(LocalLocation):
    text: str  # as the user wrote it
    name: str  # the image's name in the engine
    tag: str | None = None
    scheme = "docker-daemon"

    @property
    def path(self) -> Path | None:
        return None

    def anchored(self, root: Path) -> DaemonLocation:
        return self

    def open(self, platform: Platform | None, session: Session) -> BaseImage:
        raise ConfigError(f"{self.text}: pyjib cannot read an image from an engine; "
                          "read it from a registry or an oci:DIR layout instead (`skopeo copy` can put it there)")

    def read_sbom(self, platform: Platform | None, session: Session) -> bytes:
        raise ConfigError("a docker-daemon: image holds no SBOM; read it from the registry or an oci:DIR layout")

    def check_writable(self, platforms: int) -> None:
        refuse_platforms(self.scheme, platforms)
        find_engine()  # no engine is told before the build, not after it

    def write(self, images: Sequence[Image], delivery: Delivery, session: Session) -> Written:
        """The one image (check_writable refused more), streamed in as a docker-archive named NAME:TAG for each tag."""
        image = images[0]
        names = [f"{self.name}:{tag}" for tag in dict.fromkeys([self.tag or "latest", *delivery.tags])]
        engine = find_engine()
        load(engine, archive_chunks(image, names))
        session.log.info(f"loaded {', '.join(names)} into the engine at {engine.socket}")
        if delivery.artifacts:
            session.log.info("an engine's image store holds no SBOM or provenance: write oci:DIR or push to a registry to attach them")
        digest = image.digest
        return Written(f"docker-daemon:{names[0]}@{digest}", digest, tuple(f"{name}@{digest}" for name in names))
