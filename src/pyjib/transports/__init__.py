"""Where images come from and go to, each transport a module that reads and writes what it can: `remote` (a registry),
`layout` (oci:DIR), `tarball` (docker-archive:FILE), `daemon` (docker-daemon:NAME, write only). `location` parses
every form into one value that is both a source and a sink (`protocols`)."""

from .location import login_registry, parse_location
from .protocols import BaseImage, Delivery, ImageSink, ImageSource, Location, Session, Written

__all__ = ["BaseImage", "Delivery", "ImageSink", "ImageSource", "Location", "Session", "Written", "login_registry", "parse_location"]
