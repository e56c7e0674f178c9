"""uv workspaces and `[tool.uv.sources]`: where a project's siblings and other local or git dependencies really come from.

A project in a folder below a `pyproject.toml` with `[tool.uv.workspace]` (and matched by its `members` globs, not its
`exclude`) is a member of that workspace: its lock is the root's `uv.lock`, and a `{ workspace = true }` source names a
sibling member's folder. Without a lock, the project's sources (the root's apply to every member unless the member
names its own) turn into direct requirements before resolution, so a sibling is built from its folder and never looked
up on a package index: `path` becomes `name @ file://...`, `git` `name @ git+URL@REV`, `url` `name @ URL`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .errors import ConfigError
from .interpreter import Interpreter
from .markers import holds


def _pyproject(folder: Path) -> dict[str, Any] | None:
    path = folder / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _uv(document: dict[str, Any]) -> dict[str, Any]:
    return (document.get("tool") or {}).get("uv") or {}


@dataclass(frozen=True)
class Workspace:
    root: Path
    members: dict[str, Path]  # canonical name -> folder (resolved)

    @property
    def lock(self) -> Path:
        return self.root / "uv.lock"


def _members(root: Path, table: dict[str, Any]) -> dict[str, Path]:
    excluded = {p.resolve() for pattern in table.get("exclude") or [] for p in root.glob(pattern)}
    folders = [root, *(p for pattern in table.get("members") or [] for p in sorted(root.glob(pattern)))]
    members: dict[str, Path] = {}
    for folder in folders:
        folder = folder.resolve()
        document = _pyproject(folder) if folder.is_dir() and folder not in excluded else None
        name = ((document or {}).get("project") or {}).get("name")
        if isinstance(name, str):
            members[canonicalize_name(name)] = folder
    return members


def find_workspace(project_dir: Path) -> Workspace | None:
    """The uv workspace the project is a member of (the project may be its root), or None."""
    project_dir = project_dir.resolve()
    for folder in (project_dir, *project_dir.parents):
        document = _pyproject(folder)
        if document is None or "workspace" not in _uv(document):
            continue
        members = _members(folder, _uv(document)["workspace"] or {})
        return Workspace(folder, members) if project_dir == folder or project_dir in members.values() else None
    return None


@dataclass(frozen=True)
class UvSources:
    """The project's [tool.uv.sources] (over the workspace root's), each entry with the folder its paths are relative to."""

    entries: dict[str, list[tuple[dict[str, Any], Path]]] = field(default_factory=dict)
    workspace: Workspace | None = None

    def direct_url(self, name: str, interpreter: Interpreter) -> str | None:
        """The URL a requirement on name becomes in the image; None when its source is an index or it has none."""
        for entry, folder in self.entries.get(canonicalize_name(name), []):
            marker = entry.get("marker")
            try:
                if marker and not holds(Marker(marker), interpreter):
                    continue
            except InvalidMarker as exc:
                raise ConfigError(f"{folder / 'pyproject.toml'}: [tool.uv.sources] {name} has a bad marker: {exc}") from exc
            return self._url(name, entry, folder)
        return None

    def _url(self, name: str, entry: dict[str, Any], folder: Path) -> str | None:
        subdirectory = f"#subdirectory={entry['subdirectory']}" if entry.get("subdirectory") else ""
        if entry.get("workspace"):
            member: Path | None = (self.workspace.members if self.workspace else {}).get(canonicalize_name(name))
            if member is None:
                raise ConfigError(f"{folder / 'pyproject.toml'}: {name} = {{ workspace = true }}, but {name} is no member of a uv workspace "
                                  "above it; add it to [tool.uv.workspace] members")
            return member.as_uri()
        if entry.get("path"):
            return (folder / str(entry["path"])).resolve().as_uri()
        if entry.get("git"):
            revision = entry.get("rev") or entry.get("tag") or entry.get("branch")
            return f"git+{entry['git']}" + (f"@{revision}" if revision else "") + subdirectory
        if entry.get("url"):
            return str(entry["url"]) + subdirectory
        return None  # an `index = "..."` source: the package comes from an index

    def local_folders(self) -> list[Path]:
        """Every folder a source points at, whatever its marker: what cached resolutions of this project depend on."""
        folders = [f for name in self.entries for f in (self._folder(name, e, d) for e, d in self.entries[name]) if f]
        return sorted(set(folders))

    def _folder(self, name: str, entry: dict[str, Any], folder: Path) -> Path | None:
        if entry.get("workspace") and self.workspace:
            return self.workspace.members.get(canonicalize_name(name))
        return (folder / entry["path"]).resolve() if entry.get("path") else None

    def apply(self, requirements: list[str], interpreter: Interpreter) -> list[str]:
        """The requirements (markers already applied) with each sourced one as a direct reference to its source."""
        out = []
        for line in requirements:
            requirement = Requirement(line)
            url = None if requirement.url else self.direct_url(requirement.name, interpreter)
            if url is not None:
                extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
                line = f"{requirement.name}{extras} @ {url}"
            out.append(line)
        return out


def uv_sources(project_dir: Path) -> UvSources:
    """The sources uv would use for the project, with the workspace it belongs to."""
    project_dir = project_dir.resolve()
    workspace = find_workspace(project_dir)
    entries: dict[str, list[tuple[dict[str, Any], Path]]] = {}
    folders = [project_dir] if workspace is None or workspace.root == project_dir else [workspace.root, project_dir]
    for folder in folders:  # the member's own entries replace the root's
        for name, value in (_uv(_pyproject(folder) or {}).get("sources") or {}).items():
            items = value if isinstance(value, list) else [value]
            entries[canonicalize_name(name)] = [(item, folder) for item in items if isinstance(item, dict)]
    return UvSources(entries, workspace)
