"""The client of OCI distribution registries (one module per concern)."""

from .client import CONFIG_LIMIT, MANIFEST_LIMIT, TOKEN_LIMIT, Access, ClientPool, RegistryClient, login_registry

__all__ = ["CONFIG_LIMIT", "MANIFEST_LIMIT", "TOKEN_LIMIT", "Access", "ClientPool", "RegistryClient", "login_registry"]
