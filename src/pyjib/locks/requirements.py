"""requirements.txt as a lock: pins with --hash are installed exactly and checked; pins without hashes exactly, unchecked.

A file with hashes follows pip's --require-hashes: every line is `name==version` with at least one --hash, and nothing
else is installed. A file without hashes is what a Dockerfile's `pip install -r` would install: its lines are resolved
together with the project's own requirements, so an exact pin gets exactly that version and a looser line (`flask>=3`)
is one more requirement of the image.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import ResolveError
from ..lockedwheel import LockedWheel
from ..resolve import resolve_wheels
from .core import LockRequest, applies, refuse_groups

_HASH = re.compile(r"--hash[=\s]+sha256:([0-9a-fA-F]{64})")
_INCLUDE = re.compile(r"^(?:-r|--requirement)[=\s]+(\S+)$")


@dataclass(frozen=True)
class Line:
    requirement: Requirement
    hashes: frozenset[str]
    where: str


def _logical_lines(text: str) -> Iterator[str]:
    for line in text.replace("\\\n", " ").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield line


def requirement_lines(path: Path, seen: frozenset[Path] = frozenset()) -> list[Line]:
    """Every requirement of the file and of the files it includes with -r; other options (-e ., --index-url) are pip's."""
    if path.resolve() in seen:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResolveError(f"cannot read {path}: {exc.strerror}") from exc
    out: list[Line] = []
    for line in _logical_lines(text):
        if include := _INCLUDE.match(line):
            out += requirement_lines(path.parent / include.group(1), seen | {path.resolve()})
            continue
        if line.startswith("-"):
            continue
        spec = re.sub(r"\s*--hash[=\s]+\S+", "", line).strip()
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise ResolveError(f"{path}: {spec!r} does not parse: {exc}") from exc
        out.append(Line(requirement, frozenset(h.lower() for h in _HASH.findall(line)), str(path)))
    return out


def has_hashes(path: Path) -> bool:
    return any(line.hashes for line in requirement_lines(path))


def exact_pin(requirement: Requirement) -> str | None:
    pinned = [s.version for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version]
    return pinned[0] if len(pinned) == 1 and requirement.url is None else None


def _applying(path: Path, request: LockRequest) -> list[Line]:
    return [line for line in requirement_lines(path)
            if applies(str(line.requirement.marker) if line.requirement.marker else None, request.interpreter, line.where)]


def _read_hashed(path: Path, lines: list[Line], request: LockRequest) -> list[LockedWheel]:
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for line in lines:
        version = exact_pin(line.requirement)
        if version is None or not line.hashes:
            raise ResolveError(f"{line.where}: {line.requirement.name} must be pinned with == and carry --hash=sha256:..., "
                               "as pip's --require-hashes demands")
        pins[canonicalize_name(line.requirement.name)] = (version, line.hashes)
    # Each pin's wheel for the image is chosen by the resolver (no dependencies: the file lists them all); its hash is checked.
    wheels = resolve_wheels([f"{name}=={version}" for name, (version, _) in sorted(pins.items())], request.interpreter, request.cache_root,
                  indexes=request.indexes, only_binary=True, project_dir=request.project_dir, refresh=request.refresh, no_deps=True)
    for wheel in wheels:
        if wheel.sha256 not in pins[wheel.name][1]:
            raise ResolveError(f"{wheel.filename} has sha256 {wheel.sha256}, which {path} does not allow; "
                               "update the lock's hashes if this release is the one you want")
    return wheels


def _read_unhashed(path: Path, lines: list[Line], request: LockRequest) -> list[LockedWheel]:
    requested = sorted({*request.requirements, *(str(line.requirement) for line in lines)})
    wheels = resolve_wheels(requested, request.interpreter, request.cache_root, indexes=request.indexes, only_binary=request.only_binary,
                  project_dir=request.project_dir, refresh=request.refresh)
    versions = {w.name: w.version for w in wheels}
    for line in lines:
        name, pinned = canonicalize_name(line.requirement.name), exact_pin(line.requirement)
        if pinned is not None and versions.get(name) != pinned:
            raise ResolveError(f"{path} pins {name}=={pinned} but the resolver chose {versions.get(name, 'nothing')}; check the pin")
    return wheels


def read_requirements(path: Path, request: LockRequest) -> list[LockedWheel]:
    lines = _applying(path, request)
    if any(line.hashes for line in requirement_lines(path)):
        return _read_hashed(path, lines, request)
    return _read_unhashed(path, lines, request)


@dataclass(frozen=True)
class RequirementsSource:
    """A requirements file: it records no dependency groups, so asking it for some is an error."""

    path: Path

    def wheels(self, request: LockRequest) -> list[LockedWheel]:
        refuse_groups(self.path, request)
        return read_requirements(self.path, request)
