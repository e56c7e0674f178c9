"""The real registry (tests/infra/registry.py) in configurations that module does not write: token auth, client certificates."""

from __future__ import annotations

import json
import pathlib

from .registry import Registry


class TokenAuthRegistry(Registry):
    """distribution with `auth: token`: clients get a JWT from `realm` signed by the key behind `root_cert`."""

    def __init__(self, directory: pathlib.Path, *, realm: str, service: str, issuer: str, root_cert: pathlib.Path, **kwargs: object) -> None:
        super().__init__(directory, **kwargs)  # type: ignore[arg-type]
        self.realm, self.service, self.issuer, self.root_cert = realm, service, issuer, root_cert

    def _config_yaml(self) -> str:
        q = json.dumps
        return super()._config_yaml() + "\n".join([
            "auth:",
            "  token:",
            f"    realm: {q(self.realm)}",
            f"    service: {q(self.service)}",
            f"    issuer: {q(self.issuer)}",
            f"    rootcertbundle: {q(str(self.root_cert))}",
        ]) + "\n"


class ClientCertRegistry(Registry):
    """distribution over TLS that also asks for a client certificate signed by one of `client_cas`."""

    def __init__(self, directory: pathlib.Path, *, client_cas: list[pathlib.Path], **kwargs: object) -> None:
        super().__init__(directory, **kwargs)  # type: ignore[arg-type]
        self.client_cas = client_cas

    def _config_yaml(self) -> str:
        text = super()._config_yaml()
        key_line = f"    key: {json.dumps(str(self.tls_key))}\n"
        assert key_line in text, "ClientCertRegistry needs tls_cert and tls_key"
        cas = "".join(f"      - {json.dumps(str(ca))}\n" for ca in self.client_cas)
        return text.replace(key_line, key_line + "    clientcas:\n" + cas)

    def _wait_ready(self) -> bool:
        # The readiness probe has no client certificate: a refused handshake still proves the registry listens.
        import socket
        import time

        assert self._proc is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.02)
        return False


def write_quick_htpasswd(path: pathlib.Path, users: dict[str, str]) -> pathlib.Path:
    """An htpasswd with bcrypt cost 4: distribution checks the hash on every request, and cost 12 takes ~0.25 s each."""
    import bcrypt

    path.write_text("".join(f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode()}\n" for user, pw in sorted(users.items())))
    return path
