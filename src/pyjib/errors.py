"""Errors a user can act on. The CLI prints each as one line and exits with code 2."""

from __future__ import annotations


class PyjibError(Exception):
    """A failure caused by input or environment, described in one actionable sentence."""

    exit_code = 2


class ConfigError(PyjibError):
    """The project's configuration or the command line is wrong."""


class InvalidReferenceError(PyjibError):
    """An image reference does not parse."""


class BaseImageError(PyjibError):
    """The base image cannot be read or holds no usable Python."""


class BuildError(PyjibError):
    """The project's wheel could not be built."""


class ResolveError(PyjibError):
    """The dependencies cannot be resolved to wheels for the image."""


class InstallError(PyjibError):
    """A wheel cannot be installed safely into the image."""


class RegistryError(PyjibError):
    """A registry refused or failed a request."""


class ImageCheckError(PyjibError):
    """The image would not run on its base: caught before anything is published."""
