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


def one_line(text: str, limit: int = 200) -> str:
    """Someone else's text (a registry's error) fit for the one line a user sees: whitespace runs collapsed, at most
    limit characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
