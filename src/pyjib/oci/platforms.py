"""Target platforms as OCI spells them: os/architecture[/variant]."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, other: dict[str, Any]) -> bool:
        if other.get("os") != self.os or other.get("architecture") != self.architecture:
            return False
        return self.variant is None or other.get("variant") in (None, self.variant)

    @property
    def machine(self) -> str:
        """The CPU name wheels' platform tags use."""
        return {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "ppc64le": "ppc64le", "s390x": "s390x"}.get(
            self.architecture, self.architecture
        )


def parse_platform(text: str) -> Platform:
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(f"invalid platform {text!r}: expected OS/ARCH[/VARIANT], such as linux/amd64")
    return Platform(*parts)


def platform_of_config(config: dict[str, Any]) -> Platform:
    return Platform(config.get("os") or "linux", config.get("architecture") or "amd64", config.get("variant"))
