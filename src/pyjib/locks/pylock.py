"""PEP 751 pylock.toml: each package whose marker holds in the image, installed from the file the image prefers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ResolveError
from ..lockedwheel import LockedWheel
from ..resolve import pylock_wheels
from .core import LockRequest, applies, read_toml_lock, refuse_groups

_FILES = ("wheels", "sdist", "directory", "vcs", "archive")


def from_pylock(document: dict[str, Any], request: LockRequest, where: str, base: Path) -> list[LockedWheel]:
    """The lock's packages that apply in the image (an entry with no files at all, such as the project's own, is skipped)."""
    packages = []
    for package in document.get("packages", []):
        if not isinstance(package, dict) or "name" not in package:
            raise ResolveError(f"{where}: every [[packages]] entry needs a name")
        if not applies(package.get("marker"), request.interpreter, where) or not any(package.get(key) for key in _FILES):
            continue
        if package.get("archive"):
            raise ResolveError(f"{where} pins {package['name']} as an archive URL, which pyjib does not install; lock a wheel for it")
        packages.append(package)
    return pylock_wheels(packages, request.cache_root, request.indexes, base, request.interpreter, where=where,
                         only_binary=request.only_binary)


def read_pylock(path: Path, request: LockRequest) -> list[LockedWheel]:
    document = read_toml_lock(path)
    return from_pylock(document, request, str(path), path.parent)


@dataclass(frozen=True)
class PylockSource:
    """A pylock.toml (PEP 751): it records no dependency groups, so asking it for some is an error."""

    path: Path

    def wheels(self, request: LockRequest) -> list[LockedWheel]:
        refuse_groups(self.path, request)
        return read_pylock(self.path, request)
