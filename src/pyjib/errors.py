"""Errors a user can act on. The CLI prints each as one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


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


class CacheDamagedError(PyjibError):
    """A file in pyjib's local cache no longer matches its digest (it was removed; a new build remakes it)."""


def cache_damaged(path: Path, digest: str) -> CacheDamagedError:
    """The error for a cached blob whose bytes no longer match its digest; the blob is removed so the next build remakes it."""
    path.unlink(missing_ok=True)
    return CacheDamagedError(f"the cached blob {digest} at {path} was damaged (its bytes no longer match its digest); "
                             "it has been removed: run the build again to rebuild it")


def one_line(text: str, limit: int = 200) -> str:
    """Someone else's text (a registry's error) fit for the one line a user sees: whitespace runs collapsed, at most
    limit characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
