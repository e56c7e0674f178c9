"""The scheme a registry is reached by, against real loopback servers: a plain-HTTP registry is told without loading a
CA store, while every HTTPS URL (a TLS registry, or storage a plain registry redirects to) is still verified."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyjib.errors import RegistryError
from pyjib.registry import transport as transport_module
from pyjib.registry.retry import RetryPolicy
from pyjib.registry.tls import ssl_context
from pyjib.registry.transport import Transport
from tests.infra.hostile import Answer, Hostile, Received
from tests.infra.pki import CertificateAuthority

NO_WAIT = RetryPolicy(tries=1, sleep=lambda _: None)


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on loopback with a certificate from a CA of the test's own: (host, the CA's file)."""
    authority = CertificateAuthority(tmp_path)
    issued = authority.server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(issued.cert), str(issued.key))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", authority.files.cert
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every verifying TLS context the transport makes (the real function, counted)."""
    made: list[object] = []
    real: Callable[..., ssl.SSLContext] = ssl_context

    def counted(*args: Any) -> ssl.SSLContext:
        made.append(args)
        return real(*args)

    monkeypatch.setattr(transport_module, "ssl_context", counted)
    return made


def _transport(host: str, ca_certs: tuple[Path, ...] = ()) -> Transport:
    return Transport(host, insecure=False, transport=None, timeout=5.0, ca_certs=ca_certs, retry=NO_WAIT)


def _ok(request: Received, server: Hostile) -> Answer:
    return Answer(200)


def test_a_plain_http_loopback_registry_is_told_without_a_ca_store(contexts_made: list[object]) -> None:
    with Hostile(_ok) as registry:
        transport = _transport(registry.host)
        try:
            assert transport.base_url == f"http://{registry.host}"
            assert transport.send("GET", transport.url("/v2/"), headers={}, body=None, stream=False, retry=False, step="x").status_code == 200
        finally:
            transport.close()
    assert contexts_made == []


def test_an_https_url_is_verified_even_from_a_plain_http_registry(contexts_made: list[object], tls_server: tuple[str, Path]) -> None:
    """Storage a plain registry redirects to is HTTPS with a certificate pyjib does not trust: refused, not read."""
    storage, _ca = tls_server
    with Hostile(_ok) as registry:
        transport = _transport(registry.host)
        try:
            assert transport.base_url.startswith("http://")
            with pytest.raises(RegistryError, match="cannot verify the TLS certificate"):
                transport.send("GET", f"https://{storage}/blob", headers={}, body=None, stream=False, retry=False, step="x")
        finally:
            transport.close()
    assert len(contexts_made) == 1


def test_a_tls_loopback_registry_is_reached_over_verified_https(contexts_made: list[object], tls_server: tuple[str, Path]) -> None:
    host, ca = tls_server
    trusted = _transport(host, (ca,))
    untrusted = _transport(host)
    try:
        assert trusted.base_url == f"https://{host}"
        with pytest.raises(RegistryError, match="cannot verify the TLS certificate"):
            untrusted.base_url  # noqa: B018 (the property chooses the scheme)
    finally:
        trusted.close()
        untrusted.close()
    assert len(contexts_made) == 2
