"""The error a failed registry request raises: its one-line message, and the status and registry error code behind it,
so a caller can tell "not there" (404, MANIFEST_UNKNOWN) from "not allowed" (401, DENIED) without reading the words."""

from __future__ import annotations

import json

from ..errors import RegistryError

# The distribution spec's codes for a manifest, blob or repository that does not exist.
NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"})


class RegistryRequestError(RegistryError):
    """A request to a registry failed. status is the HTTP status of the answer, None when no answer came (unreachable,
    TLS refused, connection dropped); code is the errors[0].code of the answer's body, when it held one."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def not_found(self) -> bool:
        """The thing asked for does not exist (as opposed to being refused, or the registry failing)."""
        return self.status == 404 or self.code in NOT_FOUND_CODES


class Interrupted(RegistryRequestError):
    """A request that broke in a way a retry may mend: a dropped connection, a timeout, or a retryable status."""

    def __init__(self, detail: str, retry_after: float | None = None, *, status: int | None = None) -> None:
        super().__init__(detail, status=status)
        self.detail = detail
        self.retry_after = retry_after


class BodyTooLarge(RegistryRequestError):
    """A registry sent more than was asked for or than may be held in memory."""


def _entries(body: bytes) -> list[dict[str, object]]:
    """The entries of a distribution error body ({"errors": [{"code", "message"}, ...]}); none when it is something else."""
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_detail(body: bytes) -> str:
    """The registry's own words: "CODE: message" for each entry."""
    return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in _entries(body))


def first_code(body: bytes) -> str | None:
    """errors[0].code, by which a client tells the failures apart."""
    entries = _entries(body)
    code = entries[0].get("code") if entries else None
    return code if isinstance(code, str) else None
