"""Whether uv.lock still matches pyproject.toml, told without an interpreter, for hosts where `uv export --locked` cannot run.

uv checks a lock only with a host Python that satisfies the project's requires-python; a build host often has another
Python than the image (3.11 on the host, 3.13 in the image). Then pyjib compares what uv recorded for the project
(`[package.metadata]`: requires-dist and requires-dev) with what pyproject.toml asks now: names, extras and version
specifiers, markers aside. A changed, added or removed requirement is a stale lock, as `uv sync --locked` would say.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from .groups import group_requirements

Key = tuple[str, str, tuple[str, ...]]  # name, specifier, extras


def _key(name: str, specifier: str, extras: Iterable[str]) -> Key:
    try:
        normalized = str(SpecifierSet(specifier))
    except InvalidSpecifier:
        normalized = specifier.replace(" ", "")
    return canonicalize_name(name), normalized, tuple(sorted(canonicalize_name(e) for e in extras))


def _wanted(lines: Iterable[str]) -> set[Key]:
    out = set()
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        out.add(_key(requirement.name, str(requirement.specifier), requirement.extras))
    return out


def _recorded(entries: Iterable[Mapping[str, Any]]) -> set[Key]:
    return {_key(str(e.get("name", "")), str(e.get("specifier") or ""), e.get("extras") or []) for e in entries}


def _difference(recorded: set[Key], wanted: set[Key], what: str) -> str | None:
    if recorded == wanted:
        return None
    changed = sorted({k[0] for k in recorded ^ wanted})
    return f"{what} changed for {', '.join(changed)}"


def stale_reason(lock_path: Path, project_dir: Path, project: str) -> str | None:
    """Why the lock no longer fits the project's pyproject.toml, or None when what it records still matches."""
    lock = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    pyproject = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))
    metadata_table = pyproject.get("project") or {}
    if "dependencies" in (metadata_table.get("dynamic") or []):
        return None  # only a build can tell; uv would build it too
    entry = next((p for p in lock.get("package") or [] if canonicalize_name(str(p.get("name", ""))) == project
                  and {"editable", "virtual", "directory"} & set(p.get("source") or {})), None)
    if entry is None:
        return f"it has no entry for {project}"
    metadata = entry.get("metadata") or {}
    wanted = _wanted(metadata_table.get("dependencies") or [])
    for lines in (metadata_table.get("optional-dependencies") or {}).values():
        wanted |= _wanted(lines)
    if reason := _difference(_recorded(metadata.get("requires-dist") or []), wanted, "requirements"):
        return reason
    recorded_groups = {canonicalize_name(g): _recorded(v) for g, v in (metadata.get("requires-dev") or {}).items()}
    # uv records a group with its included groups' entries expanded, as group_requirements gives them.
    wanted_groups = {canonicalize_name(g): _wanted(group_requirements(pyproject, [g], str(project_dir / "pyproject.toml")))
                     for g in pyproject.get("dependency-groups") or {}}
    for group in sorted(set(recorded_groups) | set(wanted_groups)):
        if reason := _difference(recorded_groups.get(group, set()), wanted_groups.get(group, set()), f"dependency group {group}"):
            return reason
    return None
