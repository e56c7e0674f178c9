"""Where a registry's login comes from, in the order Jib and go-containerregistry use.

1. Explicit: --username/--password-stdin, else PYJIB_USERNAME/PYJIB_PASSWORD (only for the registry pyjib pushes to).
2. $DOCKER_CONFIG/config.json or ~/.docker/config.json: credHelpers for the host, then credsStore, then auths.
3. $REGISTRY_AUTH_FILE, then podman's ${XDG_RUNTIME_DIR}/containers/auth.json (same format).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..reference import DOCKER_HUB
from .challenges import Credentials
from .credhelper import helper_get

HUB_KEY = "https://index.docker.io/v1/"  # the key `docker login` writes for Docker Hub
_HUB_KEYS = (HUB_KEY, "index.docker.io", "docker.io", "registry-1.docker.io", "https://registry-1.docker.io", "https://docker.io")
ENVIRONMENT = "PYJIB_USERNAME/PYJIB_PASSWORD"


def docker_config_path() -> Path:
    if directory := os.environ.get("DOCKER_CONFIG"):
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def auth_files() -> list[Path]:
    """Every credentials file pyjib reads, in order; files that do not exist are skipped when reading."""
    files = [docker_config_path()]
    if explicit := os.environ.get("REGISTRY_AUTH_FILE"):
        files.append(Path(explicit))
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        files.append(Path(runtime) / "containers" / "auth.json")
    return files


def config_keys(registry: str) -> tuple[str, ...]:
    """The keys a config may file a registry under; the first is what a credential helper is asked for."""
    if registry == DOCKER_HUB:
        return _HUB_KEYS
    return (registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/")


def _read_config(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix or remove the file") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"cannot read {path}: it is not a JSON object; fix or remove the file")
    return document


def _from_auths(auths: dict[str, Any], registry: str, path: Path) -> Credentials | None:
    for key in config_keys(registry):
        entry = auths.get(key)
        if not isinstance(entry, dict):
            continue
        source = f"{path} (auths[{key!r}])"
        username, password = entry.get("username") or "", entry.get("password") or ""
        if entry.get("auth"):
            try:
                username, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
            except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
                raise ConfigError(f"the auth entry for {key} in {path} is not base64 of user:password; log in again") from exc
            if not sep:
                raise ConfigError(f"the auth entry for {key} in {path} is not base64 of user:password; log in again")
        if token := entry.get("identitytoken"):
            return Credentials(username or "<token>", "", source, identity_token=str(token))
        if username and password:
            return Credentials(str(username), str(password), source)
    return None


def _from_config(path: Path, registry: str) -> Credentials | None:
    document = _read_config(path)
    if document is None:
        return None
    keys = config_keys(registry)
    helpers = document.get("credHelpers") or {}
    for key in keys:
        if isinstance(helpers, dict) and isinstance(helpers.get(key), str) and helpers[key]:
            found = helper_get(helpers[key], key, f"credHelpers[{key!r}] of {path}")
            if found is not None:
                return found
            break
    if isinstance(store := document.get("credsStore"), str) and store:
        found = helper_get(store, keys[0], f"credsStore of {path}")
        if found is not None:
            return found
    auths = document.get("auths") or {}
    return _from_auths(auths, registry, path) if isinstance(auths, dict) else None


def stored_credentials(registry: str) -> Credentials | None:
    """The first login any credentials file holds for registry (helpers run only when a file names them)."""
    for path in auth_files():
        if found := _from_config(path, registry):
            return found
    return None


def explicit_credentials(username: str | None = None, password: str | None = None) -> Credentials | None:
    """--username with --password-stdin, else PYJIB_USERNAME/PYJIB_PASSWORD; half a login is an error, not a silent anonymous push."""
    if username is not None or password is not None:
        if username is None or password is None:
            raise ConfigError("--username and --password-stdin go together: give both, or neither")
        if not username or not password:
            raise ConfigError(f"--{'password-stdin read an empty password' if username else 'username is empty'}; "
                              "pipe the password in, as in: echo \"$TOKEN\" | pyjib push ... --username USER --password-stdin")
        return Credentials(username, password, "--username/--password-stdin")
    env_user, env_password = os.environ.get("PYJIB_USERNAME"), os.environ.get("PYJIB_PASSWORD")
    if env_user and env_password:
        return Credentials(env_user, env_password, ENVIRONMENT)
    if env_user or env_password:
        missing = "PYJIB_PASSWORD" if env_user else "PYJIB_USERNAME"
        raise ConfigError(f"{ENVIRONMENT}: {missing} is not set; set both, or neither")
    return None


def places_looked() -> str:
    """Where pyjib looked, for the message that says no login was found."""
    return ", ".join([f"--username/{ENVIRONMENT}", *(str(p) for p in auth_files())])
