"""poetry.lock, Poetry 1.x (lock-version 1.1 and 2.0) and 2.x (2.1), read directly: main dependencies, every hash checked.

The lock lists every group's packages with `[package.dependencies]` edges (a constraint, or a table with `markers`,
`optional` and `extras`) and `[package.extras]`; files are names with hashes, in the package (`files`) or, before
Poetry 1.3, in `[metadata.files]`. A `[package.source]` of type legacy names the index; directory, git, file and url
sources are installed from there.
"""

from __future__ import annotations

import re
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

HINT = "run `poetry lock` and commit the lock"


def _specifier(constraint: Any) -> str | None:
    """Poetry's constraint as PEP 440 when it is one (most locked edges are); None when it is `*` or Poetry-only syntax."""
    text = str(constraint or "*").strip()
    if text == "*" or re.search(r"[\^~](?!=)|\|\|", text):
        return None
    return f"=={text}" if re.match(r"\d", text) else text


def dependency(name: str, value: Any) -> list[tuple[Dependency, bool]]:
    """A `[package.dependencies]` edge (one constraint, a table, or a list of tables), each with whether it is optional."""
    out = []
    for item in value if isinstance(value, list) else [value]:
        table = item if isinstance(item, dict) else {"version": item}
        extras = frozenset(canonicalize_name(e) for e in table.get("extras") or [])
        out.append((Dependency(canonicalize_name(name), extras, table.get("markers"), _specifier(table.get("version"))),
                    bool(table.get("optional"))))
    return out


def _extra_names(entries: list[Any]) -> set[str]:
    found = (re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(entry)) for entry in entries)
    return {canonicalize_name(m.group(1)) for m in found if m}


def _source(source: Mapping[str, Any], files: list[LockFileRef], base: Path) -> tuple[dict[str, Any], str | None]:
    """A non-index source as a PEP 751 entry, or the legacy index's URL."""
    kind, url = source.get("type"), str(source.get("url") or "")
    if kind in (None, "legacy"):
        return {}, url or None
    if kind == "directory":
        return {"directory": {"path": str((base / url).resolve())}}, None
    if kind == "git":
        vcs = {"type": "git", "url": url, "commit-id": source.get("resolved_reference") or source.get("reference") or ""}
        return {"vcs": {**vcs, **({"subdirectory": source["subdirectory"]} if source.get("subdirectory") else {})}}, None
    if kind in ("file", "url") and files:
        location = {"url": url} if kind == "url" else {"path": str((base / url).resolve())}
        file = {**location, "name": files[0].filename, "hashes": {"sha256": files[0].sha256}}
        return ({"wheels": [file]} if files[0].filename.endswith(".whl") else {"sdist": file}), None
    raise ResolveError(f"poetry.lock source type {kind!r} is not one pyjib installs; use an index, a folder or git")


def entries_of(document: Mapping[str, Any], base: Path, where: str) -> dict[str, list[Entry]]:
    legacy_files = (document.get("metadata") or {}).get("files") or {}
    entries: dict[str, list[Entry]] = {}
    for package in document.get("package") or []:
        name = canonicalize_name(package["name"])
        raw_files = package.get("files") or legacy_files.get(package["name"]) or legacy_files.get(name) or []
        files = [LockFileRef(f["file"], sha256_of(f.get("hash", ""), f["file"], where)) for f in raw_files]
        edges = [edge for dep, value in (package.get("dependencies") or {}).items() for edge in dependency(dep, value)]
        optional: dict[frozenset[str], list[Dependency]] = {}
        for extra, wanted in (package.get("extras") or {}).items():
            names = _extra_names(wanted)
            optional[frozenset({canonicalize_name(extra)})] = [d for d, _ in edges if d.name in names]
        markers = package.get("markers")
        source, index = _source(package.get("source") or {}, files, base)
        entries.setdefault(name, []).append(Entry(
            name, str(package["version"]), files, [d for d, is_optional in edges if not is_optional], optional,
            markers.get("main") if isinstance(markers, dict) else markers, source, index))
    return entries


def _group_roots(pyproject: Mapping[str, Any], groups: tuple[str, ...], where: str) -> list[Dependency]:
    """Roots of the groups asked for: Poetry's [tool.poetry.group.NAME.dependencies] and PEP 735 [dependency-groups]."""
    poetry = (pyproject.get("tool") or {}).get("poetry") or {}
    tables: dict[str, Any] = {canonicalize_name(n): (g or {}).get("dependencies") or {} for n, g in (poetry.get("group") or {}).items()}
    if "dev-dependencies" in poetry:
        tables.setdefault("dev", poetry["dev-dependencies"])
    roots = [d for g in groups for name, value in tables.get(canonicalize_name(g), {}).items() if name != "python"
             for d, _ in dependency(name, value)]
    try:
        return roots + roots_of(group_requirements(pyproject, groups, where, known=tables))
    except InvalidRequirement as exc:
        raise ResolveError(f"{where}: a dependency group's requirement does not parse: {exc}") from exc


def read_poetry_lock(path: Path, request: LockRequest, pyproject: Mapping[str, Any]) -> list[LockedWheel]:
    document = read_toml_lock(path, HINT)
    where = str(path)
    roots = [Dependency.of(Requirement(r)) for r in request.requirements] + _group_roots(pyproject, request.groups, where)
    reached = walk(roots, entries_of(document, path.parent, where), request, where, HINT)
    return locked_wheels(reached, request, where, path.parent)


@dataclass(frozen=True)
class PoetryLockSource:
    """A poetry.lock, with the project's pyproject.toml for its dependency groups."""

    path: Path

    def wheels(self, request: LockRequest) -> list[LockedWheel]:
        return read_poetry_lock(self.path, request, project_pyproject(request))
