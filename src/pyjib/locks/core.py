"""What every lock reader is given and shares: the build's request, a found lock, and markers evaluated for the image."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker

from ..errors import ResolveError
from ..indexes import IndexConfig
from ..interpreter import Interpreter
from ..markers import holds

FORMATS = ("pylock", "uv", "poetry", "pdm", "requirements")


@dataclass(frozen=True)
class FoundLock:
    path: Path
    format: str  # one of FORMATS
    hashed: bool = True  # a requirements file without --hash lines pins versions only
    workspace_root: Path | None = None  # uv.lock of a uv workspace the project is a member of

    @property
    def where(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class LockRequest:
    """What the build needs from a lock: the project's own requirements for the image and where files come from."""

    interpreter: Interpreter
    project_dir: Path
    project: str  # the project's distribution name, canonical
    requirements: tuple[str, ...]  # the project's requirements that apply in the image (extras included)
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    indexes: IndexConfig = field(default_factory=IndexConfig)
    cache_root: Path = Path(".")
    only_binary: bool = False
    refresh: bool = False


def applies(marker_text: str | None, interpreter: Interpreter, where: str, extras: frozenset[str] = frozenset()) -> bool:
    """Whether a marker holds in the image (for the given extras of the package that asks); no marker always holds."""
    if not marker_text:
        return True
    try:
        marker = Marker(marker_text)
    except InvalidMarker as exc:
        raise ResolveError(f"{where}: bad marker {marker_text!r}: {exc}") from exc
    return holds(marker, interpreter, extras)


def read_toml_lock(path: Path, hint: str = "") -> dict[str, Any]:
    """A TOML lock's document; one ResolveError naming the file (and what to do, when hint says it) if it does not parse."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ResolveError(f"{path} is not valid TOML: {exc}" + (f"; {hint}" if hint else "")) from exc
