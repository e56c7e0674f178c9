"""What the project's wheel says about itself: name, version, requirements, console scripts, URLs."""

from __future__ import annotations

import importlib.metadata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from .errors import BuildError


@dataclass(frozen=True)
class WheelMetadata:
    name: str
    version: str
    requires_dist: tuple[str, ...]
    console_scripts: tuple[str, ...]
    project_urls: dict[str, str]
    requires_python: str | None = None  # the Requires-Python specifier, as written


def read_wheel_metadata(wheel: Path) -> WheelMetadata:
    try:
        with zipfile.ZipFile(wheel) as archive:
            dist_infos = sorted({n.split("/")[0] for n in archive.namelist() if n.split("/")[0].endswith(".dist-info")})
            if len(dist_infos) != 1:
                raise BuildError(f"{wheel.name} has {len(dist_infos)} .dist-info folders; a wheel has exactly one")
            distribution = importlib.metadata.PathDistribution(zipfile.Path(archive, dist_infos[0] + "/"))
            metadata = distribution.metadata
            scripts = tuple(sorted(ep.name for ep in distribution.entry_points if ep.group == "console_scripts"))
            urls = {}
            for line in metadata.get_all("Project-URL") or []:
                label, _, url = line.partition(",")
                urls[label.strip().lower()] = url.strip()
            return WheelMetadata(
                name=canonicalize_name(metadata["Name"]),
                version=metadata["Version"],
                requires_dist=tuple(metadata.get_all("Requires-Dist") or []),
                console_scripts=scripts,
                project_urls=urls,
                requires_python=(metadata.get_all("Requires-Python") or [None])[0],
            )
    except (zipfile.BadZipFile, KeyError) as exc:
        raise BuildError(f"cannot read the metadata of {wheel.name}: {exc}") from exc
