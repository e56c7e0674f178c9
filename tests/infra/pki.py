"""Certificates for tests: a self-signed CA, a server certificate for 127.0.0.1/localhost, client certificates.

Uses the `cryptography` package (a test dependency); keys are RSA-2048, valid for a day.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(directory: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey, cert_suffix: str = ".crt") -> Issued:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}{cert_suffix}", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    return Issued(cert_path, key_path)


def _builder(subject: str, issuer: x509.Name, public_key: rsa.RSAPublicKey) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


class CertificateAuthority:
    def __init__(self, directory: Path, name: str = "pyjib test CA") -> None:
        self.directory = directory
        self.key = _key()
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            _builder(name, self.name, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.files = _write(directory, "ca", self.cert, self.key)

    def server(self, name: str = "registry") -> Issued:
        key = _key()
        cert = (
            _builder("127.0.0.1", self.name, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return _write(self.directory, name, cert, key)

    def client(self, directory: Path, name: str = "client") -> Issued:
        """A client certificate, written as NAME.cert and NAME.key (the certs.d convention)."""
        key = _key()
        cert = (
            _builder("pyjib test client", self.name, key.public_key())
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return _write(directory, name, cert, key, cert_suffix=".cert")


def signing_pair(directory: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate, Path]:
    """A key and self-signed certificate for signing registry tokens; returns the certificate's path (the rootcertbundle)."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyjib test token issuer")])
    cert = _builder("pyjib test token issuer", name, key.public_key()).sign(key, hashes.SHA256())
    path = _write(directory, "token-signer", cert, key).cert
    return key, cert, path
