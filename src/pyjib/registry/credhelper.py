"""Docker credential helpers: `docker-credential-NAME get`, the server on stdin, JSON on stdout."""

from __future__ import annotations

import json
import shutil
import subprocess

from ..errors import PyjibError
from .challenges import Credentials

_TIMEOUT_S = 60.0
# A helper that has nothing for a server says so on stdout and exits 1; that is not a failure.
_NOT_FOUND = "credentials not found"
_TOKEN_USERNAME = "<token>"  # the helper's way of saying "Secret is an identity token"


class CredentialHelperError(PyjibError):
    """A credential helper is missing or failed."""


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line[:200]


def helper_get(name: str, server: str, where: str) -> Credentials | None:
    """Ask docker-credential-NAME for server's login; None when it has none. `where` names the config that chose it."""
    program = f"docker-credential-{name}"
    path = shutil.which(program)
    if path is None:
        raise CredentialHelperError(f"credential helper {program} (named in {where}) is not on PATH; install it or remove it from {where}")
    try:
        result = subprocess.run([path, "get"], input=server, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialHelperError(f"credential helper {program} (named in {where}) could not run: {exc}") from exc
    if result.returncode != 0:
        message = _first_line(result.stdout) or _first_line(result.stderr)
        if _NOT_FOUND in message.lower():
            return None
        raise CredentialHelperError(
            f"credential helper {program} (named in {where}) failed for {server} with exit code {result.returncode}"
            f"{': ' + message if message else ''}; check its login or remove it from {where}"
        )
    try:
        answer = json.loads(result.stdout)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialHelperError(f"credential helper {program} (named in {where}) printed no Username/Secret JSON for {server}") from exc
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    source = f"credential helper {program} (from {where})"
    if username == _TOKEN_USERNAME:
        return Credentials(username, "", source, identity_token=secret)
    return Credentials(username, secret, source)
