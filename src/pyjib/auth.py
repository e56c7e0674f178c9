"""Registry credentials and authentication challenges."""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .reference import DOCKER_HUB

_HUB_CONFIG_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    source: str  # where they came from, for error messages; never the secret itself

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"Credentials(username={self.username!r}, source={self.source!r})"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" or "basic"
    params: dict[str, str]


_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str) -> Challenge:
    """Parse a WWW-Authenticate header such as: Bearer realm="https://auth/token",service="reg",scope="..."."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


def docker_config_path() -> Path:
    if directory := os.environ.get("DOCKER_CONFIG"):
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def _config_keys(registry: str) -> tuple[str, ...]:
    if registry == DOCKER_HUB:
        return _HUB_CONFIG_KEYS
    return (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/")


def credentials_from_docker_config(registry: str, path: Path | None = None) -> Credentials | None:
    """Credentials stored under `auths` in a Docker config.json, by any of the keys Docker writes."""
    path = path or docker_config_path()
    if not path.is_file():
        return None
    try:
        auths = json.loads(path.read_text()).get("auths") or {}
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix or remove the file") from exc
    for key in _config_keys(registry):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        source = f"{path} (auths[{key!r}])"
        if entry.get("auth"):
            try:
                username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ConfigError(f"the auth entry for {key} in {path} is not base64 of user:password") from exc
            return Credentials(username, password, source)
        if entry.get("username") and entry.get("password"):
            return Credentials(entry["username"], entry["password"], source)
    return None


def credentials_from_environment() -> Credentials | None:
    username, password = os.environ.get("PYJIB_USERNAME"), os.environ.get("PYJIB_PASSWORD")
    if username and password:
        return Credentials(username, password, "PYJIB_USERNAME/PYJIB_PASSWORD")
    return None


def find_credentials(registry: str) -> Credentials | None:
    return credentials_from_environment() or credentials_from_docker_config(registry)
