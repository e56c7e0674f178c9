"""The one parser of image locations: a prefix names the transport, anything without one is a registry reference."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import PyjibError
from . import daemon, layout, remote, tarball
from .protocols import Location

# prefix -> the transport's parser of what follows it; a new transport is its module and one line here.
TRANSPORTS: dict[str, Callable[[str], Location]] = {
    "oci:": layout.parse,
    "docker-archive:": tarball.parse,
    "docker-daemon:": daemon.parse,
}


def parse_location(text: str) -> Location:
    """REGISTRY/REPO[:TAG|@DIGEST], oci:DIR[:TAG], docker-archive:FILE or docker-daemon:NAME[:TAG]; one line when bad."""
    for prefix, parse in TRANSPORTS.items():
        if text.startswith(prefix):
            return parse(text[len(prefix):])
    return remote.parse(text)


def login_registry(target: str | None, base: str | None) -> str | None:
    """The registry explicit credentials are for: the push target's, else (building to a file) the base's."""
    for text in (target, base):
        if not text:
            continue
        try:
            reference = parse_location(text).reference
        except PyjibError:  # an unparsable location is reported by whoever reads it; here it just has no login
            return None
        if reference is not None:
            return reference.registry
    return None
