"""What every lock reader is given and shares: the build's request, a found lock, the LockSource protocol every reader
implements, and markers evaluated for the image."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from packaging.markers import InvalidMarker, Marker

from ..errors import ConfigError, ResolveError
from ..indexes import IndexConfig
from ..interpreter import Interpreter
from ..lockedwheel import LockedWheel
from ..markers import holds
from ..settings import read_pyproject

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


class LockSource(Protocol):
    """A lock file the build installs from: the wheels it pins for the image, whatever its format.

    Each format's reader is one (pylock.PylockSource, uvlock.UvLockSource, poetry.PoetryLockSource, pdm.PdmLockSource,
    requirements.RequirementsSource); the build asks only this, as pypa/installer's callers ask a WheelSource.
    """

    @property
    def path(self) -> Path: ...

    def wheels(self, request: LockRequest) -> list[LockedWheel]:
        """One wheel for each distribution the request needs in the image, every file's hash pinned."""
        ...


def refuse_groups(path: Path, request: LockRequest) -> None:
    """For a lock that records no dependency groups: asking it for some is an error, never a silent omission."""
    if request.groups:
        raise ConfigError(f"groups {', '.join(request.groups)} cannot be taken from {path.name}, which records no dependency "
                          "groups; lock them in, or use uv.lock, poetry.lock or pdm.lock")


def project_pyproject(request: LockRequest) -> dict[str, Any]:
    """The project's pyproject.toml (its dependency groups), or nothing for a folder without one."""
    return read_pyproject(request.project_dir) if (request.project_dir / "pyproject.toml").is_file() else {}


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
