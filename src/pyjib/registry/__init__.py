"""The client of OCI distribution registries.

transport (HTTP, scheme, TLS via tls, retries via retry) <- auth (challenges, tokens, credentials) <- client (the
distribution API, uploads via upload) <- pool (one client per host). Failed requests raise errors.RegistryRequestError.
The names below are what the rest of pyjib uses.
"""

from .client import RegistryClient
from .errors import BodyTooLarge, Interrupted, RegistryRequestError
from .limits import CONFIG_LIMIT, MANIFEST_LIMIT, TOKEN_LIMIT
from .pool import Access, ClientPool

__all__ = [
    "CONFIG_LIMIT",
    "MANIFEST_LIMIT",
    "TOKEN_LIMIT",
    "Access",
    "BodyTooLarge",
    "ClientPool",
    "Interrupted",
    "RegistryClient",
    "RegistryRequestError",
]
