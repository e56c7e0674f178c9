"""The base's lock: for each platform, the exact packages (version, URL, SHA256) a base was built from.

A lock read back is the whole recipe: the packages are downloaded from its URLs and checked against its SHA256, with no
InRelease or Packages index involved, so the same lock gives the same base on any day, even after the archive moved on
(point --mirror at snapshot.debian.org for files the archive dropped). The lock was written from verified indexes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..atomicfile import write_text
from ..errors import ConfigError
from ..oci.digest import sha256_bytes
from .packages import Package

LOCK_VERSION = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    architecture: str
    url: str
    sha256: str
    size: int

    @classmethod
    def of(cls, package: Package) -> LockedPackage:
        return cls(package.name, package.version, package.architecture, package.url, package.sha256, package.size)


@dataclass(frozen=True)
class BaseLock:
    suite: str
    python: str
    packages: tuple[str, ...]  # the extra packages asked for, sorted
    platforms: dict[str, tuple[LockedPackage, ...]]
    exclude: tuple[str, ...] = ()  # the default packages left out, sorted

    def document(self) -> dict[str, Any]:
        document = {"lock-version": LOCK_VERSION, "suite": self.suite, "python": self.python, "packages": list(self.packages),
                    "platforms": {p: [asdict(x) for x in pkgs] for p, pkgs in sorted(self.platforms.items())}}
        if self.exclude:  # only then: a lock of a base that leaves nothing out reads as it did before exclude existed
            document["exclude"] = list(self.exclude)
        return document

    def digest(self, platform: str) -> str:
        """What the label names: the sha256 of the platform's package list, so equal labels mean equal packages."""
        listing = [[p.name, p.version, p.architecture, p.sha256] for p in self.platforms[platform]]
        return sha256_bytes(json.dumps(listing, separators=(",", ":")).encode())


def write_lock(path: Path, lock: BaseLock) -> None:
    write_text(path, json.dumps(lock.document(), indent=2, sort_keys=True) + "\n", permissions=0o644)


def _package(entry: Any, where: str) -> LockedPackage:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each package must be a table")
    try:
        package = LockedPackage(str(entry["name"]), str(entry["version"]), str(entry["architecture"]), str(entry["url"]),
                                str(entry["sha256"]), int(entry["size"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: a package lacks a valid {exc} field; delete the lock to resolve again") from None
    if not _HEX64.fullmatch(package.sha256) or not package.url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: package {package.name} needs a 64-digit hex sha256 and an http(s) url")
    return package


def read_lock(path: Path) -> BaseLock:
    where = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the base lock {where} ({exc}); delete it to resolve again") from exc
    if not isinstance(document, dict) or document.get("lock-version") != LOCK_VERSION:
        raise ConfigError(f"{where} is not a pyjib base lock of version {LOCK_VERSION}; delete it to resolve again")
    platforms = document.get("platforms")
    if not isinstance(platforms, dict) or not platforms or not all(isinstance(v, list) for v in platforms.values()):
        raise ConfigError(f"{where}: platforms must be a table of package lists")
    return BaseLock(str(document.get("suite")), str(document.get("python")), tuple(str(p) for p in document.get("packages") or ()),
                    {str(name): tuple(_package(e, where) for e in entries) for name, entries in platforms.items()},
                    tuple(str(p) for p in document.get("exclude") or ()))
