"""A real OCI registry for tests: Debian's ``docker-registry`` (CNCF distribution 2.8).

Started per test session/module on a free loopback port, storage on disk, deletes
enabled. Optional htpasswd basic auth and TLS, configured as in FACTS.md.
Token auth is out of scope here.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from typing import Self

BINARY = "docker-registry"
_READY_TIMEOUT_S = 10.0


class RegistryError(RuntimeError):
    pass


class Registry:
    """``with Registry(tmp_dir) as reg: push to reg.host ...``

    ``directory`` holds the config, the log and (unless ``storage_dir`` is given)
    the blobs, so a failed test can be diagnosed from it.
    """

    def __init__(
        self,
        directory: pathlib.Path,
        *,
        storage_dir: pathlib.Path | None = None,
        htpasswd_file: pathlib.Path | None = None,
        tls_cert: pathlib.Path | None = None,
        tls_key: pathlib.Path | None = None,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        self.directory = directory
        self.storage_dir = storage_dir or directory / "storage"
        self.htpasswd_file = htpasswd_file
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.config_file = directory / "config.yml"
        self.log_file = directory / "registry.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        binary = shutil.which(BINARY)
        if binary is None:
            raise RegistryError(f"`{BINARY}` not found on PATH: install Debian's docker-registry package")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        # The port is picked before the registry binds it; another process may win the
        # race, so retry with a new port when the registry dies at start.
        for _ in range(3):
            self.port = _free_port()
            self.config_file.write_text(self._config_yaml())
            with open(self.log_file, "ab") as log:
                self._proc = subprocess.Popen(
                    [binary, "serve", str(self.config_file)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            if self._wait_ready():
                return
            if self._proc.poll() is None:  # alive but deaf: no point retrying
                break
        self.stop()
        raise RegistryError(f"registry did not answer on {self.url}/v2/; log:\n{self.log_text()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ------------------------------------------------------------------ helpers

    def _wait_ready(self) -> bool:
        """Poll ``GET /v2/`` until any HTTP answer (401 counts: auth is on)."""
        assert self._proc is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        context = _insecure_context() if self.tls_cert else None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1, context=context):
                    return True
            except urllib.error.HTTPError:
                return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        return False

    def _config_yaml(self) -> str:
        """The registry config, written by hand (no YAML library here). JSON strings are valid YAML."""
        q = json.dumps
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {q(str(self.storage_dir))}",
            "  delete:",
            "    enabled: true",
            "  maintenance:",  # no background upload purging while tests run
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: {q(self.host)}",
            "  secret: pyjib-test-secret",  # silences the random-secret warning
        ]
        if self.tls_cert and self.tls_key:
            lines += [
                "  tls:",
                f"    certificate: {q(str(self.tls_cert))}",
                f"    key: {q(str(self.tls_key))}",
            ]
        if self.htpasswd_file:
            lines += [
                "auth:",
                "  htpasswd:",
                "    realm: pyjib-test",
                f"    path: {q(str(self.htpasswd_file))}",
            ]
        return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _insecure_context() -> ssl.SSLContext:
    # Readiness only: the caller's client verifies against tls_cert itself.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------------- auth/TLS material


def write_htpasswd(path: pathlib.Path, users: dict[str, str]) -> pathlib.Path:
    """Write an htpasswd file with bcrypt hashes (the only kind distribution accepts).

    Uses the ``bcrypt`` package when installed, else the stdlib ``crypt`` module
    (glibc's libxcrypt makes ``$2b$`` hashes; ``crypt`` is gone in Python 3.13).
    """
    lines = [f"{user}:{_bcrypt(password)}\n" for user, password in sorted(users.items())]
    path.write_text("".join(lines))
    return path


def _bcrypt(password: str) -> str:
    try:
        import bcrypt

        hashed: str = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        return hashed
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not hashed or not hashed.startswith("$2"):
        raise RegistryError("no bcrypt available: pip install bcrypt")
    return hashed


def make_self_signed_cert(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """A self-signed cert for 127.0.0.1/localhost; returns (cert, key). Needs the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RegistryError("`openssl` not found on PATH")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "registry.crt", directory / "registry.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
