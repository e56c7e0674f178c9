"""A Packages index: every binary package of a suite for one architecture, with what the resolver and the download need."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .control import ControlError, parse_relations
from .version import sort_key

_KEPT = frozenset({"Package", "Version", "Architecture", "Filename", "SHA256", "Size", "Depends", "Pre-Depends", "Provides"})


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    architecture: str
    filename: str  # relative to the archive's root: pool/main/p/python3.11/python3.11-minimal_3.11.2-6+deb12u6_amd64.deb
    sha256: str  # hex
    size: int
    depends: str = ""
    pre_depends: str = ""
    provides: str = ""
    uri: str = ""  # the archive it was listed by

    @property
    def url(self) -> str:
        return f"{self.uri.rstrip('/')}/{self.filename}"


def parse_packages(text: str, uri: str, what: str) -> list[Package]:
    """The packages of a Packages file (only the fields kept; continuation lines belong to fields not kept)."""
    found = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.split("\n"):
            if not line or line[0] in " \t":
                continue
            key, sep, value = line.partition(":")
            if sep and key in _KEPT:
                fields[key] = value.strip()
        if not fields:
            continue
        try:
            found.append(Package(fields["Package"], fields["Version"], fields["Architecture"], fields["Filename"], fields["SHA256"].lower(),
                                 int(fields["Size"]), fields.get("Depends", ""), fields.get("Pre-Depends", ""), fields.get("Provides", ""), uri))
        except (KeyError, ValueError) as exc:
            raise ControlError(f"{what} has a package without a valid {exc} field") from None
    return found


@dataclass
class PackageIndex:
    """Every version of every package across a suite and its update suites, newest first, as apt would choose."""

    versions: dict[str, list[Package]] = field(default_factory=dict)
    providers: dict[str, list[tuple[Package, str | None]]] = field(default_factory=dict)  # virtual name -> (provider, version)

    @classmethod
    def of(cls, packages: Iterable[Package]) -> PackageIndex:

        index = cls()
        for package in packages:
            index.versions.setdefault(package.name, []).append(package)
        for name, versions in index.versions.items():
            # Newest first; of equal versions the first source listed wins (a reverse sort stays stable).
            newest_first: dict[str, Package] = {}
            for package in sorted(versions, key=lambda p: sort_key(p.version), reverse=True):
                newest_first.setdefault(package.version, package)
            unique = index.versions[name] = list(newest_first.values())
            for package in unique:
                if package.provides:
                    for clause in parse_relations(package.provides, f"Provides of {package.name}"):
                        for provided in clause:
                            index.providers.setdefault(provided.name, []).append((package, provided.version))
        return index
