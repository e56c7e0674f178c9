"""Dependency groups (PEP 735 `[dependency-groups]`) named in the `groups` option: more roots for a lock's walk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from packaging.utils import canonicalize_name

from ..errors import ConfigError


def _tables(pyproject: Mapping[str, Any]) -> dict[str, list[Any]]:
    """[dependency-groups], and PDM's older [tool.pdm.dev-dependencies] (the same shape), by normalized group name."""
    tables: dict[str, list[Any]] = {}
    pdm = ((pyproject.get("tool") or {}).get("pdm") or {}).get("dev-dependencies") or {}
    for source in (pdm, pyproject.get("dependency-groups") or {}):
        for name, entries in source.items():
            tables.setdefault(canonicalize_name(name), []).extend(entries if isinstance(entries, list) else [])
    return tables


def group_requirements(pyproject: Mapping[str, Any], groups: Iterable[str], where: str, known: Iterable[str] = ()) -> list[str]:
    """The requirement strings of the groups, include-group followed; a group neither table nor `known` has is an error."""
    tables = _tables(pyproject)
    known_names = {canonicalize_name(k) for k in known}
    out: list[str] = []

    def expand(name: str, trail: tuple[str, ...]) -> None:
        key = canonicalize_name(name)
        if key in trail:
            raise ConfigError(f"{where}: dependency group {name} includes itself")
        if key not in tables:
            if key in known_names:
                return
            raise ConfigError(f"{where} has no dependency group {name!r} (groups: {', '.join(sorted(tables)) or 'none'})")
        for entry in tables[key]:
            if isinstance(entry, str):
                out.append(entry)
            elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                expand(entry["include-group"], (*trail, key))

    for group in groups:
        expand(group, ())
    return out
