"""The TLS context for one registry: the usual roots, plus CAs and client certificates named for that host.

Docker's and podman's convention: certs.d/HOST[:PORT]/ holds `*.crt` files (extra CAs) and `NAME.cert` with
`NAME.key` (a client certificate), under /etc/containers/certs.d, /etc/docker/certs.d, or (rootless podman)
~/.config/containers/certs.d.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import certifi

from ..errors import ConfigError


def certs_d_roots() -> list[Path]:
    return [Path("/etc/containers/certs.d"), Path("/etc/docker/certs.d"), Path.home() / ".config" / "containers" / "certs.d"]


@dataclass(frozen=True)
class TlsFiles:
    """What certs.d and --ca-cert give one host."""

    ca_files: tuple[Path, ...] = ()
    client_pairs: tuple[tuple[Path, Path], ...] = ()  # (certificate, key)


def _host_dirs(registry: str, roots: list[Path]) -> list[Path]:
    return [root / registry for root in roots if (root / registry).is_dir()]


def find_tls_files(registry: str, ca_certs: tuple[Path, ...] = (), roots: list[Path] | None = None) -> TlsFiles:
    cas = list(ca_certs)
    pairs: list[tuple[Path, Path]] = []
    for directory in _host_dirs(registry, certs_d_roots() if roots is None else roots):
        cas += sorted(directory.glob("*.crt"))
        for cert in sorted(directory.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise ConfigError(f"client certificate {cert} has no key {key.name} next to it; add the key or remove the certificate")
            pairs.append((cert, key))
    return TlsFiles(tuple(cas), tuple(pairs))


def ssl_context(files: TlsFiles) -> ssl.SSLContext:
    """Verify as httpx does (certifi), and also trust the system's store and the host's own CAs."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()  # the system store, where a company CA is usually installed
    for ca in files.ca_files:
        try:
            context.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot use CA certificate {ca}: {exc}; give a PEM file") from exc
    for cert, key in files.client_pairs:
        try:
            context.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot use client certificate {cert} with {key}: {exc}") from exc
    return context
