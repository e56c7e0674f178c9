"""The registry clients of one run: one per host, with the command line's login and CAs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..errors import ConfigError
from .client import RegistryClient
from .credentials import explicit_credentials
from .retry import RetryPolicy, policy_from_environment, timeout_from_environment


@dataclass(frozen=True)
class Access:
    """What the command line adds for reaching registries: a login (for the target registry only) and extra CAs."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_certs: tuple[Path, ...] = ()


class ClientPool:
    """One client per registry host for a whole run, so tokens and connections are reused."""

    def __init__(
        self,
        insecure_registries: frozenset[str] = frozenset(),
        transport: httpx.BaseTransport | None = None,
        *,
        ca_certs: tuple[Path, ...] = (),
        username: str | None = None,
        password: str | None = None,
        login_registry: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.insecure_registries = insecure_registries
        self.transport = transport
        self.ca_certs = ca_certs
        self.login_registry = login_registry
        for ca in ca_certs:
            if not ca.is_file():
                raise ConfigError(f"CA certificate {ca} does not exist; give --ca-cert a PEM file")
        # Read now, so half a login is reported before any work is done.
        self._explicit = explicit_credentials(username, password)
        self.timeout = timeout if timeout is not None else timeout_from_environment()
        self.retry = retry or policy_from_environment()
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def get(self, registry: str) -> RegistryClient:
        with self._lock:
            if registry not in self._clients:
                self._clients[registry] = RegistryClient(
                    registry,
                    insecure=registry in self.insecure_registries,
                    transport=self.transport,
                    credentials=self._explicit if registry == self.login_registry else None,
                    timeout=self.timeout,
                    ca_certs=self.ca_certs,
                    retry=self.retry,
                )
            return self._clients[registry]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
