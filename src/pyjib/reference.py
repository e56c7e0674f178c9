"""Image references: registry/repository[:tag][@digest], as Docker and the OCI distribution spec spell them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InvalidReferenceError

DOCKER_HUB = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

# From the distribution spec: lowercase path components separated by / and joined by . _ __ or dashes.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")


@dataclass(frozen=True)
class Reference:
    registry: str  # host[:port]; Docker Hub is normalised to registry-1.docker.io
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def identifier(self) -> str:
        """What goes after /manifests/: the digest if pinned, else the tag, else latest."""
        return self.digest or self.tag or "latest"

    @property
    def repository_ref(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        text = self.repository_ref
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def is_loopback_host(host: str) -> bool:
    """A bare host name or address (no port, no brackets): `localhost` is the one name, else a loopback IP address.
    Names that merely start like one (127.attacker.example, 127.0.0.1.example) resolve wherever their owner says."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback(registry: str) -> bool:
    """host[:port] as in an image reference; anything with userinfo (user@host) is not a registry host at all."""
    if "@" in registry or "/" in registry:
        return False
    if registry.startswith("["):
        host, sep, rest = registry[1:].partition("]")
        return bool(sep) and (rest == "" or (rest[:1] == ":" and rest[1:].isdigit())) and is_loopback_host(host)
    if registry.count(":") > 1:  # a bare IPv6 address
        return is_loopback_host(registry)
    host, sep, port = registry.rpartition(":")
    if not sep:
        return is_loopback_host(registry)
    return port.isdigit() and ":" not in host and is_loopback_host(host)


def url_is_loopback(url: str) -> bool:
    """Whether a URL's host (parsed: userinfo dropped, as the connection will see it) is loopback."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return host is not None and is_loopback_host(host)


def parse_reference(text: str) -> Reference:
    """Parse REGISTRY/REPO[:TAG][@sha256:...]; a name without a registry means Docker Hub, as in Docker."""
    original = text
    if not text or any(c.isspace() for c in text):
        raise InvalidReferenceError(f"invalid image reference {original!r}: expected REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReferenceError(f"invalid image reference {original!r}: the digest must be sha256: and 64 hex digits")
    tag = None
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        text, tag = text.rsplit(":", 1)
        if not TAG_PATTERN.match(tag):
            raise InvalidReferenceError(f"invalid image reference {original!r}: bad tag {tag!r}")
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, repository = first, rest
        if not _HOST.match(registry):
            raise InvalidReferenceError(f"invalid image reference {original!r}: bad registry host {registry!r}")
    else:
        registry, repository = DOCKER_HUB, text
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    if not _REPOSITORY.match(repository):
        raise InvalidReferenceError(
            f"invalid image reference {original!r}: repository {repository!r} must be lowercase letters, digits and separators"
        )
    return Reference(registry, repository, tag, digest)
