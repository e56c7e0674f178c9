"""The dependency graph of a lock that records one (poetry.lock, pdm.lock), walked from the project's own requirements.

Such a lock holds every package any group or platform needs. What the image gets is what the walk reaches from the
project's main requirements (and the groups asked for), each edge's marker evaluated for the image, optional
dependencies only through the extras that ask for them. For each package reached, the file the image prefers is chosen
(section 1's one function), its URL found on the index when the lock gives only its name, and the result handed to
the same PEP 751 path as pylock.toml, so hashes are checked and sdists, folders and git checkouts built the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import ResolveError
from ..lockedwheel import LockedWheel
from ..resolve import pylock_wheels
from ..wheelchoice import best_wheel
from ..workers import worker_pool
from .core import LockRequest, applies
from .indexfiles import IndexFiles


@dataclass(frozen=True)
class Dependency:
    name: str  # canonical
    extras: frozenset[str] = frozenset()
    marker: str | None = None
    specifier: str | None = None  # PEP 440, when the lock's constraint is one: to choose among several locked versions

    @classmethod
    def of(cls, requirement: Requirement) -> Dependency:
        return cls(canonicalize_name(requirement.name), frozenset(canonicalize_name(e) for e in requirement.extras),
                   str(requirement.marker) if requirement.marker else None, str(requirement.specifier) or None)


@dataclass(frozen=True)
class LockFileRef:
    filename: str
    sha256: str
    url: str | None = None  # when the lock records it


@dataclass
class Entry:
    name: str  # canonical
    version: str
    files: list[LockFileRef] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    extras: dict[frozenset[str], list[Dependency]] = field(default_factory=dict)  # active when all these extras are asked
    marker: str | None = None  # the package's own marker, when the lock records one
    source: dict[str, Any] = field(default_factory=dict)  # a PEP 751 directory/vcs/wheels/sdist entry for non-index packages
    index: str | None = None  # the index the lock says the package came from


def sha256_of(hash_text: str, filename: str, where: str) -> str:
    algorithm, _, value = hash_text.partition(":")
    if algorithm != "sha256" or len(value) != 64:
        raise ResolveError(f"{where} gives {filename} no sha256 hash ({hash_text!r}); lock again with a current tool")
    return value.lower()


def _choose(dependency: Dependency, entries: Mapping[str, list[Entry]], request: LockRequest, where: str, hint: str) -> Entry:
    candidates = entries.get(dependency.name) or []
    if not candidates:
        raise ResolveError(f"{where} does not pin {dependency.name}, which the project needs in the image; {hint}")
    if len(candidates) > 1:
        candidates = [e for e in candidates if applies(e.marker, request.interpreter, where)] or candidates
    if len(candidates) > 1 and dependency.specifier:
        try:
            specifier = SpecifierSet(dependency.specifier)
            candidates = [e for e in candidates if specifier.contains(e.version, prereleases=True)] or candidates
        except InvalidSpecifier:
            pass
    if len({e.version for e in candidates}) > 1:
        versions = ", ".join(sorted(e.version for e in candidates))
        raise ResolveError(f"{where} pins several versions of {dependency.name} ({versions}) and none is marked for the image; {hint}")
    return candidates[0]


def walk(roots: Iterable[Dependency], entries: Mapping[str, list[Entry]], request: LockRequest, where: str, hint: str) -> list[Entry]:
    """The entries the roots reach in the image, each once, with the extras every path into it asks for."""
    chosen: dict[str, Entry] = {}
    active: dict[str, frozenset[str]] = {}
    queue = [d for d in roots if d.name != request.project and applies(d.marker, request.interpreter, where)]
    while queue:
        dependency = queue.pop()
        if dependency.name in active and dependency.extras <= active[dependency.name]:
            continue
        entry = chosen.get(dependency.name) or _choose(dependency, entries, request, where, hint)
        chosen[dependency.name] = entry
        extras = active.get(dependency.name, frozenset()) | dependency.extras
        active[dependency.name] = extras
        edges = [*entry.dependencies, *(d for key, deps in entry.extras.items() if key <= extras for d in deps)]
        queue += [d for d in edges if d.name not in (request.project, entry.name) and applies(d.marker, request.interpreter, where, extras)]
    return sorted(chosen.values(), key=lambda e: e.name)


def _file_entry(ref: LockFileRef, url: str) -> dict[str, Any]:
    return {"name": ref.filename, "url": url, "hashes": {"sha256": ref.sha256}}


def _package(entry: Entry, request: LockRequest, files: IndexFiles) -> dict[str, Any]:
    """The entry as a PEP 751 package holding only the file the image gets, its URL found on the index if need be."""
    package: dict[str, Any] = {"name": entry.name, "version": entry.version}
    if entry.source:
        return {**package, **entry.source}
    wheels = {ref.filename: ref for ref in entry.files if ref.filename.endswith(".whl")}
    sdists = [ref for ref in entry.files if not ref.filename.endswith(".whl")]
    if (chosen := best_wheel(wheels, request.interpreter)) is not None:
        ref = wheels[chosen]
        return {**package, "wheels": [_file_entry(ref, ref.url or files.url_for(entry.name, ref.filename, ref.sha256, entry.index))]}
    if sdists:
        ref = sdists[0]
        return {**package, "sdist": _file_entry(ref, ref.url or files.url_for(entry.name, ref.filename, ref.sha256, entry.index))}
    return {**package, "wheels": [{"name": name} for name in wheels]}  # none fits: the PEP 751 path says so


def locked_wheels(entries: list[Entry], request: LockRequest, where: str, base: Path) -> list[LockedWheel]:
    files = IndexFiles(request.indexes, request.cache_root, where)
    try:
        with worker_pool(4) as pool:
            packages = list(pool.map(lambda entry: _package(entry, request, files), entries))
    finally:
        files.close()
    return pylock_wheels(packages, request.cache_root, request.indexes, base, request.interpreter, where=where,
                         only_binary=request.only_binary)


def roots_of(requirements: Iterable[str]) -> list[Dependency]:
    return [Dependency.of(Requirement(line)) for line in requirements]
