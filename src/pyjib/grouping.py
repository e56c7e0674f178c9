"""Which dependency goes in which layer, by how often it changes and how big it is.

Lowest first: the groups the project names ([[tool.pyjib.layers]]), then each distribution bigger than the threshold on
its own (a numpy upgrade re-pushes numpy only), then compiled distributions, then pure-Python ones (the same bytes on
every platform, so one digest serves all), then snapshots: pre-releases and dev versions, which change like the
application does. A layer's bytes depend only on what it holds, so services sharing dependencies share blobs.
"""

from __future__ import annotations

import fnmatch
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .errors import ConfigError
from .lockedwheel import LockedWheel
from .wheelchoice import is_pure

BIG_DISTRIBUTION = 50 * 1000 * 1000  # unpacked bytes
MAX_LAYERS = 100  # some registries and runtimes refuse images with more (Docker's own limit is 127)


@dataclass(frozen=True)
class LayerGroup:
    """A group the project names: [[tool.pyjib.layers]] name = "scientific", packages = ["numpy", "scipy*"]."""

    name: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class WheelInfo:
    wheel: LockedWheel
    unpacked_size: int

    @property
    def pure(self) -> bool:
        return is_pure(self.wheel.filename)

    @property
    def snapshot(self) -> bool:
        if self.wheel.source in ("local", "vcs"):  # a sibling folder or a branch: changes as often as the application
            return True
        try:
            version = Version(self.wheel.version)
        except InvalidVersion:
            return True
        return version.is_prerelease or version.is_devrelease


@dataclass(frozen=True)
class LayerPlan:
    name: str
    wheels: tuple[LockedWheel, ...]


def unpacked_size(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        return sum(info.file_size for info in archive.infolist())


def plan_layers(wheels: Sequence[WheelInfo], groups: Sequence[LayerGroup], big: int = BIG_DISTRIBUTION) -> list[LayerPlan]:
    remaining = sorted(wheels, key=lambda w: w.wheel.name)
    plans: list[LayerPlan] = []

    def take(name: str, chosen: list[WheelInfo]) -> None:
        nonlocal remaining
        if chosen:
            plans.append(LayerPlan(name, tuple(w.wheel for w in chosen)))
            remaining = [w for w in remaining if w not in chosen]

    for group in groups:
        take(group.name, [w for w in remaining if any(fnmatch.fnmatchcase(w.wheel.name, p) for p in group.packages)])
    for info in [w for w in remaining if w.unpacked_size > big]:
        take(info.wheel.name, [info])
    snapshots = [w for w in remaining if w.snapshot]
    take("native dependencies", [w for w in remaining if not w.pure and not w.snapshot])
    take("dependencies", [w for w in remaining if w.pure and not w.snapshot])
    take("snapshot dependencies", snapshots)
    return plans


def check_layer_count(base_layers: int, own_layers: int) -> None:
    total = base_layers + own_layers
    if total > MAX_LAYERS:
        raise ConfigError(
            f"the image would have {total} layers ({base_layers} from the base), more than {MAX_LAYERS}; "
            "merge [[tool.pyjib.layers]] groups or raise the big-distribution threshold"
        )


def parse_groups(value: object, where: str) -> tuple[LayerGroup, ...]:
    """[[tool.pyjib.layers]]: a list of tables with a name and package globs."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: layers must be a list of tables ([[tool.pyjib.layers]])")
    groups = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) - {"name", "packages"}:
            raise ConfigError(f"{where}: each [[tool.pyjib.layers]] has a name and packages, nothing else")
        name, packages = entry.get("name"), entry.get("packages")
        if not isinstance(name, str) or not name or not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
            raise ConfigError(f"{where}: [[tool.pyjib.layers]] needs name = \"...\" and packages = [\"glob\", ...]")
        groups.append(LayerGroup(name, tuple(p.lower().replace("_", "-") for p in packages)))
    return tuple(groups)
