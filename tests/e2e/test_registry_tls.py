"""TLS against the real registry: htpasswd over TLS with a self-signed CA given by --ca-cert or found in certs.d,
client certificates from certs.d, and clean one-line failures for an unknown CA and a wrong password."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyjib.cache import BlobCache
from pyjib.errors import PyjibError
from pyjib.log import SILENT
from pyjib.reference import Reference
from pyjib.registry import ClientPool
from pyjib.transports.remote import push
from tests.conftest import EXAMPLES, Pyjib
from tests.e2e.test_bad_input import assert_clean_failure
from tests.infra.pki import CertificateAuthority
from tests.infra.push_helpers import run_pyjib, skopeo_digest, small_image
from tests.infra.registry import Registry
from tests.infra.registry_variants import ClientCertRegistry, write_quick_htpasswd

pytestmark = pytest.mark.e2e

USER, PASSWORD = "deployer", "TLS-only-s3cret-Pa55"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory, ca: CertificateAuthority) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("tls-registry")
    server = ca.server()
    htpasswd = write_quick_htpasswd(root / "htpasswd", {USER: PASSWORD})
    with Registry(root / "registry", htpasswd_file=htpasswd, tls_cert=server.cert, tls_key=server.key) as running:
        yield running


@pytest.fixture
def no_credentials(tmp_path: Path) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(tmp_path / "docker"), "REGISTRY_AUTH_FILE": "", "XDG_RUNTIME_DIR": str(tmp_path / "run"),
            "PYJIB_USERNAME": "", "PYJIB_PASSWORD": ""}


def secret_forms(password: str) -> list[str]:
    return [password, base64.b64encode(f"{USER}:{password}".encode()).decode()]


def test_push_over_tls_with_ca_cert_and_password_stdin(pyjib: Pyjib, base_ref: str, tls_registry: Registry, ca: CertificateAuthority,
                                                       no_credentials: dict[str, str], tmp_path: Path) -> None:
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{tls_registry.host}/tls/greet:1",
                       "--ca-cert", str(ca.files.cert), "--username", USER, "--password-stdin", stdin=PASSWORD + "\n", env=no_credentials)
    assert result.returncode == 0, result.stderr
    digest = result.stdout.strip().rpartition("@")[2]
    assert result.stdout.strip() == f"{tls_registry.host}/tls/greet@{digest}"
    for text in (result.stdout, result.stderr, tls_registry.log_text()):
        assert not any(form in text for form in secret_forms(PASSWORD))
    # skopeo verifies the same chain from a cert dir holding only the CA.
    cert_dir = tmp_path / "skopeo-certs"
    cert_dir.mkdir()
    (cert_dir / "ca.crt").write_bytes(ca.files.cert.read_bytes())
    assert skopeo_digest(f"{tls_registry.host}/tls/greet:1", "--cert-dir", str(cert_dir), "--creds", f"{USER}:{PASSWORD}") == digest


def test_unknown_ca_is_one_clear_line(pyjib: Pyjib, base_ref: str, tls_registry: Registry, no_credentials: dict[str, str]) -> None:
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{tls_registry.host}/tls/unknown:1",
                       "--username", USER, "--password-stdin", stdin=PASSWORD, env=no_credentials)
    assert_clean_failure(result, tls_registry.host, "cannot verify the TLS certificate", "--ca-cert", "certs.d")
    assert not any(form in result.stderr + result.stdout for form in secret_forms(PASSWORD))


def test_wrong_password_over_tls_is_one_line_and_never_printed(pyjib: Pyjib, base_ref: str, tls_registry: Registry, ca: CertificateAuthority,
                                                              no_credentials: dict[str, str]) -> None:
    wrong = "Wr0ng-TLS-secret-e2e"
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{tls_registry.host}/tls/wrong:1",
                       "--ca-cert", str(ca.files.cert), "--username", USER, "--password-stdin", stdin=wrong, env=no_credentials)
    assert_clean_failure(result, tls_registry.host, "refused the login", "--username/--password-stdin")
    for text in (result.stdout, result.stderr, tls_registry.log_text()):
        assert not any(form in text for form in secret_forms(wrong))


def _push_in_process(host: str, repository: str, tmp_path: Path, **pool: object) -> str:
    clients = ClientPool(**pool)  # type: ignore[arg-type]
    try:
        return push(small_image(tmp_path / "image"), Reference(host, repository, "1"), ["1"], clients, BlobCache(tmp_path / "cache"), SILENT)
    finally:
        clients.close()


def test_ca_from_certs_d(tls_registry: Registry, ca: CertificateAuthority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Rootless podman's certs.d lives under $HOME; pointing HOME at a scratch folder keeps /etc untouched.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(PyjibError, match="cannot verify the TLS certificate"):
        _push_in_process(tls_registry.host, "tls/certsd", tmp_path, username=USER, password=PASSWORD, login_registry=tls_registry.host)
    host_dir = tmp_path / "home" / ".config" / "containers" / "certs.d" / tls_registry.host
    host_dir.mkdir(parents=True)
    (host_dir / "ca.crt").write_bytes(ca.files.cert.read_bytes())
    digest = _push_in_process(tls_registry.host, "tls/certsd", tmp_path, username=USER, password=PASSWORD, login_registry=tls_registry.host)
    assert digest.startswith("sha256:")


def test_client_certificate_from_certs_d(ca: CertificateAuthority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = ca.server("mtls")
    with ClientCertRegistry(tmp_path / "registry", tls_cert=server.cert, tls_key=server.key, client_cas=[ca.files.cert]) as registry:
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        host_dir = tmp_path / "home" / ".config" / "containers" / "certs.d" / registry.host
        host_dir.mkdir(parents=True)
        (host_dir / "ca.crt").write_bytes(ca.files.cert.read_bytes())
        with pytest.raises(PyjibError) as caught:
            _push_in_process(registry.host, "tls/mtls", tmp_path)
        assert "TLS handshake" in str(caught.value) and "client certificate" in str(caught.value)
        ca.client(host_dir)  # client.cert and client.key, next to the CA
        assert _push_in_process(registry.host, "tls/mtls", tmp_path).startswith("sha256:")
