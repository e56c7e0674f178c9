"""Which lock a build honours, and what format it is in (by its name, else by its content).

Without `lock-file`, the project's folder is searched in this order: pylock.toml, uv.lock, poetry.lock, pdm.lock,
requirements.txt; then, for a member of a uv workspace, the workspace root's uv.lock. A lock found but not used (a
second one, or one pyjib cannot read such as Pipfile.lock) is named in the log or as an error, never passed over in silence.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..log import SILENT, Log
from ..workspace import find_workspace
from .core import FoundLock
from .requirements import has_hashes

SEARCHED = ("pylock.toml", "uv.lock", "poetry.lock", "pdm.lock", "requirements.txt")
_BY_NAME = {"uv.lock": "uv", "poetry.lock": "poetry", "pdm.lock": "pdm", "pylock.toml": "pylock"}
_UNUSABLE = {
    "Pipfile.lock": "export it with `pipenv requirements --hash > requirements.txt`",
    "conda-lock.yml": "pyjib installs wheels from Python package indexes; export the pip part as a requirements.txt with hashes",
}


def _toml(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None


def format_of_content(document: dict[str, Any]) -> str | None:
    """The lock format a parsed TOML document is in, from the keys each format always writes."""
    metadata: dict[str, Any] = document["metadata"] if isinstance(document.get("metadata"), dict) else {}
    if "lock-version" in document and "packages" in document:
        return "pylock"
    if "lock_version" in metadata or "content_hash" in metadata:
        return "pdm"
    if "content-hash" in metadata or "lock-version" in metadata:
        return "poetry"
    if isinstance(document.get("version"), int) and "package" in document:
        return "uv"
    return None


def detect(path: Path) -> FoundLock:
    """The lock at path with its format; an error naming the file when it is no lock pyjib reads."""
    if path.name in _UNUSABLE:
        raise ConfigError(f"pyjib cannot read {path}: {_UNUSABLE[path.name]}, or set lock-file to a lock it reads "
                          f"({', '.join(SEARCHED)})")
    named = _BY_NAME.get(path.name) or ("pylock" if re.fullmatch(r"pylock\.[^.]+\.toml", path.name) else None)
    if named is None and path.suffix in (".txt", ".in"):
        return FoundLock(path, "requirements", hashed=has_hashes(path))
    document = _toml(path)
    found = format_of_content(document) if document is not None else None
    if named is not None and found not in (named, None):
        raise ConfigError(f"{path} is named like a {named} lock but holds a {found} lock; rename it or set lock-file")
    if (named or found) is None:
        if document is None:  # not TOML: a requirements file under another name
            return FoundLock(path, "requirements", hashed=has_hashes(path))
        raise ConfigError(f"{path} is no lock pyjib knows (pylock.toml, uv.lock, poetry.lock, pdm.lock, requirements.txt)")
    if document is None:
        raise ConfigError(f"{path} is not valid TOML, so not a usable {named} lock; lock again and commit it")
    kind = named or found
    if kind == "uv" and path.name != "uv.lock":
        raise ConfigError(f"{path} is a uv lock, which uv reads only as uv.lock next to pyproject.toml; name it uv.lock")
    return FoundLock(path, str(kind))


def find_lock(project_dir: Path, explicit: str | None, log: Log = SILENT) -> FoundLock | None:
    """The lock to honour: the lock-file option, else the first lock in the project's folder, else a workspace's uv.lock."""
    if explicit:
        path = Path(explicit) if Path(explicit).is_absolute() else project_dir / explicit
        if not path.is_file():
            raise ConfigError(f"lock-file {explicit} does not exist (looked for {path})")
        return _in_workspace(detect(path), project_dir)
    for name in _UNUSABLE:
        if (project_dir / name).is_file() and not any((project_dir / n).is_file() for n in SEARCHED):
            detect(project_dir / name)  # raises: say what to do rather than install something else
    present = [project_dir / name for name in SEARCHED if (project_dir / name).is_file()]
    if present:
        for other in present[1:]:
            log.info(f"{other.name} is not used: {present[0].name} comes first; set lock-file to choose another lock")
        return _in_workspace(detect(present[0]), project_dir)
    workspace = find_workspace(project_dir)
    if workspace is not None and workspace.lock.is_file():
        return FoundLock(workspace.lock, "uv", workspace_root=workspace.root)
    return None


def _in_workspace(found: FoundLock, project_dir: Path) -> FoundLock:
    """A uv.lock at a workspace's root, named from a member, is exported for that member."""
    if found.format != "uv":
        return found
    workspace = find_workspace(project_dir)
    if workspace is not None and found.path.resolve() == workspace.lock.resolve() and workspace.root != project_dir.resolve():
        return FoundLock(found.path, "uv", workspace_root=workspace.root)
    return found
