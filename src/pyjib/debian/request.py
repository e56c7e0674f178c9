"""What `pyjib base` is asked for: the command line over [tool.pyjib.base] of pyproject.toml, key by key."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..oci.platforms import Platform, parse_platform

# key -> "str" or "list"
KEYS = {"to": "str", "suite": "str", "python": "str", "packages": "list", "exclude": "list", "platforms": "list", "lock": "str",
        "mirror": "list", "keyring": "str"}
# Docker's architecture names -> Debian's
DEBIAN_ARCH = {"amd64": "amd64", "arm64": "arm64", "386": "i386", "ppc64le": "ppc64el", "s390x": "s390x", "arm": "armhf"}
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.\-]+")


@dataclass(frozen=True)
class BaseRequest:
    to: str
    suite: str = "bookworm"
    python: str = "3.11"
    packages: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # default packages left out (sorted), such as libstdc++6 for an image with no C++ code
    platforms: tuple[Platform, ...] = (Platform("linux", "amd64"),)
    lock: Path | None = None
    mirrors: tuple[str, ...] = ()
    keyring: Path | None = None


def _checked(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), list(KEYS), n=1)
            raise ConfigError(f"{where}: unknown key {key!r} ({f'did you mean {close[0]!r}?' if close else 'known: ' + ', '.join(KEYS)})")
        if KEYS[key] == "list":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {key} must be a list of strings, not {value!r}")
            out[key] = tuple(v for entry in value for v in (s.strip() for s in entry.split(",")) if v)
        elif not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key} must be a non-empty string, not {value!r}")
        else:
            out[key] = value
    return out


def base_table(pyproject: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """[tool.pyjib.base] of a parsed pyproject.toml ({} without one); a value that is no table is an error."""
    table: Any = pyproject
    for key in ("tool", "pyjib", "base"):
        table = table.get(key) if isinstance(table, Mapping) else None
        if table is None:
            return {}
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    return table


def debian_arch(platform: Platform) -> str:
    if platform.os != "linux" or platform.architecture not in DEBIAN_ARCH:
        raise ConfigError(f"platform {platform} has no Debian architecture; use linux/amd64 or linux/arm64")
    return DEBIAN_ARCH[platform.architecture]


def base_request(file_table: Mapping[str, Any], cli: Mapping[str, Any], where: str) -> BaseRequest:
    """The request; an unknown key, a bad package name, platform or Python version is one ConfigError before any download."""
    options = {**_checked(file_table, where), **_checked(cli, "command line")}
    if "to" not in options:
        raise ConfigError("no target: give --to REGISTRY/REPO:TAG or oci:DIR[:TAG] (or `to` in [tool.pyjib.base])")
    for name in (*options.get("packages", ()), *options.get("exclude", ())):
        if not _PACKAGE_NAME.fullmatch(name):
            raise ConfigError(f"invalid Debian package name {name!r}: lower-case letters, digits and + - . only")
    if both := sorted(set(options.get("packages", ())) & set(options.get("exclude", ()))):
        raise ConfigError(f"{', '.join(both)} is both a package to add and one to exclude: give it in one of packages and exclude")
    if not re.fullmatch(r"3\.\d+", options.get("python", "3.11")):
        raise ConfigError(f"invalid python {options['python']!r}: give the suite's Python as X.Y, such as 3.11")
    platforms = tuple(dict.fromkeys(parse_platform(p) for p in options.get("platforms", ("linux/amd64",))))
    for platform in platforms:
        debian_arch(platform)
    return BaseRequest(
        to=options["to"], suite=options.get("suite", "bookworm"), python=options.get("python", "3.11"),
        packages=tuple(sorted(set(options.get("packages", ())))), exclude=tuple(sorted(set(options.get("exclude", ())))), platforms=platforms,
        lock=Path(options["lock"]) if "lock" in options else None, mirrors=options.get("mirror", ()),
        keyring=Path(options["keyring"]) if "keyring" in options else None,
    )
