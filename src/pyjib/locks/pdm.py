"""pdm.lock (lock_version 4.x), read directly: the default group's dependency graph, every hash checked.

Each `[[package]]` lists PEP 508 `dependencies`, an optional package `marker` and `files` (a name or a URL with its
hash; before 4.4, in `[metadata.files]` under "NAME VERSION"). A package asked for with extras has an entry of its own
carrying `extras = [...]`, whose dependencies are the extras' plus the package itself. Local folders (`path`), direct
URLs (`url`) and git checkouts (`git`, `revision`) are installed from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import ResolveError
from ..lockedwheel import LockedWheel
from .core import LockRequest, project_pyproject, read_toml_lock
from .graph import Dependency, Entry, LockFileRef, locked_wheels, roots_of, sha256_of, walk
from .groups import group_requirements

HINT = "run `pdm lock` and commit the lock"


def _files(raw: list[dict[str, Any]], where: str) -> list[LockFileRef]:
    out = []
    for item in raw:
        url = item.get("url")
        filename = item.get("file") or str(url or "").split("#", 1)[0].rsplit("/", 1)[-1]
        out.append(LockFileRef(filename, sha256_of(item.get("hash", ""), filename, where), url))
    return out


def _source(package: Mapping[str, Any], files: list[LockFileRef], base: Path) -> dict[str, Any]:
    if package.get("git"):
        vcs = {"type": "git", "url": package["git"], "commit-id": package.get("revision") or package.get("ref") or ""}
        return {"vcs": {**vcs, **({"subdirectory": package["subdirectory"]} if package.get("subdirectory") else {})}}
    if package.get("path"):
        path = (base / package["path"]).resolve()
        if path.is_dir():
            return {"directory": {"path": str(path)}}
        file = {"path": str(path), "name": path.name, "hashes": {"sha256": files[0].sha256}} if files else {"path": str(path)}
        return {"wheels": [file]} if path.name.endswith(".whl") else {"sdist": file}
    return {}  # files from an index, or with their URLs (direct URL packages too)


def _requirements(package: Mapping[str, Any], where: str) -> list[Dependency]:
    try:
        return [Dependency.of(Requirement(line)) for line in package.get("dependencies") or []]
    except InvalidRequirement as exc:
        raise ResolveError(f"{where}: a dependency of {package.get('name')} does not parse: {exc}") from exc


def entries_of(document: Mapping[str, Any], base: Path, where: str) -> dict[str, list[Entry]]:
    legacy_files = (document.get("metadata") or {}).get("files") or {}
    entries: dict[str, list[Entry]] = {}
    extra_entries = []
    for package in document.get("package") or []:
        name, version = canonicalize_name(package["name"]), str(package.get("version", "0"))
        if package.get("extras"):
            extra_entries.append(package)
            continue
        files = _files(package.get("files") or legacy_files.get(f"{package['name']} {version}") or [], where)
        entries.setdefault(name, []).append(Entry(name, version, files, _requirements(package, where), {}, package.get("marker"),
                                                  _source(package, files, base)))
    for package in extra_entries:
        name, version = canonicalize_name(package["name"]), str(package.get("version", "0"))
        base_entries = [e for e in entries.get(name, []) if e.version == version]
        if not base_entries:
            raise ResolveError(f"{where} lists {name}[{','.join(package['extras'])}] {version} without {name} {version}; {HINT}")
        key = frozenset(canonicalize_name(e) for e in package["extras"])
        base_entries[0].extras[key] = [d for d in _requirements(package, where) if d.name != name]
    return entries


def read_pdm_lock(path: Path, request: LockRequest, pyproject: Mapping[str, Any]) -> list[LockedWheel]:
    document = read_toml_lock(path, HINT)
    where = str(path)
    try:
        roots = roots_of([*request.requirements, *group_requirements(pyproject, request.groups, where)])
    except InvalidRequirement as exc:
        raise ResolveError(f"{where}: a dependency group's requirement does not parse: {exc}") from exc
    reached = walk(roots, entries_of(document, path.parent, where), request, where, HINT)
    return locked_wheels(reached, request, where, path.parent)


@dataclass(frozen=True)
class PdmLockSource:
    """A pdm.lock, with the project's pyproject.toml for its dependency groups."""

    path: Path

    def wheels(self, request: LockRequest) -> list[LockedWheel]:
        return read_pdm_lock(self.path, request, project_pyproject(request))
