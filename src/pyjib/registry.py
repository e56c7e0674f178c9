"""A client for one OCI distribution registry, over httpx: auth challenges, blobs and manifests."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx

from . import mediatypes
from .auth import Challenge, Credentials, docker_config_path, find_credentials, parse_challenge
from .cache import BlobCache, DigestMismatch
from .digest import sha256_bytes
from .errors import RegistryError
from .reference import is_loopback

_CHUNK = 1 << 20
_ACCEPT_MANIFESTS = ", ".join((*mediatypes.MANIFESTS, *mediatypes.INDEXES))


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _basic_authorization(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


class RegistryClient:
    """Talks to one registry host. Plain HTTP is used only for loopback hosts and those named insecure."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.registry = registry
        self.insecure = insecure
        self.plain_http_allowed = insecure or is_loopback(registry)
        self.credentials = credentials if credentials is not None else find_credentials(registry)
        self._client = httpx.Client(
            transport=transport, verify=not insecure, timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=False
        )
        self._base: str | None = None
        self._authorization: str | None = None
        self._scopes: set[str] = set()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._base is None:
            self._base = self._choose_scheme()
        return self._base

    def _choose_scheme(self) -> str:
        """HTTPS first; fall back to HTTP only where plain HTTP is allowed and TLS is not spoken."""
        https = f"https://{self.registry}"
        try:
            self._client.get(f"{https}/v2/")
            return https
        except (httpx.ConnectError, ssl.SSLError) as exc:
            if not self.plain_http_allowed:
                raise RegistryError(
                    f"cannot reach registry {self.registry} over HTTPS ({exc}); if it serves plain HTTP, "
                    "add it to insecure-registries"
                ) from exc
        http = f"http://{self.registry}"
        try:
            self._client.get(f"{http}/v2/")
        except httpx.TransportError as exc:
            raise RegistryError(f"cannot reach registry {self.registry}: {exc}") from exc
        return http

    def _url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    def _credential_hint(self) -> str:
        if self.credentials:
            return f"credentials from {self.credentials.source} were tried"
        return f"no credentials were found (looked at PYJIB_USERNAME/PYJIB_PASSWORD and {docker_config_path()})"

    def _authenticate(self, challenge: Challenge) -> None:
        if challenge.scheme == "basic":
            if not self.credentials:
                raise RegistryError(f"registry {self.registry} asks for a login and {self._credential_hint()}")
            self._authorization = _basic_authorization(self.credentials)
            return
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise RegistryError(f"registry {self.registry} asks for an unsupported authentication: {challenge.scheme}")
        query: list[tuple[str, str]] = []
        if service := challenge.params.get("service"):
            query.append(("service", service))
        query += [("scope", scope) for scope in sorted(self._scopes)]
        auth = httpx.BasicAuth(self.credentials.username, self.credentials.password) if self.credentials else None
        realm = challenge.params["realm"]
        try:
            response = self._client.get(f"{realm}?{urlencode(query)}" if query else realm, auth=auth)
        except httpx.TransportError as exc:
            raise RegistryError(f"cannot reach the token service {realm} of {self.registry}: {exc}") from exc
        if response.status_code in (401, 403):
            raise RegistryError(
                f"the token service of {self.registry} refused the login ({response.status_code}); {self._credential_hint()}"
            )
        if response.status_code != 200:
            raise RegistryError(f"the token service of {self.registry} answered {response.status_code}")
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"the token service of {self.registry} returned no token")
        self._authorization = f"Bearer {token}"

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        content_path: Path | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request, answering one authentication challenge. Bodies from files are re-read on a retry."""
        self._scopes.add(scope)
        for attempt in range(2):
            all_headers = dict(headers or {})
            if self._authorization:
                all_headers["Authorization"] = self._authorization
            body = _file_chunks(content_path) if content_path is not None else content
            try:
                request = self._client.build_request(method, self._url(path_or_url), headers=all_headers, content=body)
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise RegistryError(f"{method} {path_or_url} on {self.registry} failed: {exc}") from exc
            if response.status_code != 401 or attempt == 1:
                return response
            challenge = response.headers.get("www-authenticate")
            response.close()
            if not challenge:
                break
            self._authenticate(parse_challenge(challenge))
        raise RegistryError(f"registry {self.registry} refused {method} {path_or_url} (401 unauthorized); {self._credential_hint()}")

    def _fail(self, response: httpx.Response, what: str) -> RegistryError:
        detail = ""
        try:
            errors = response.json().get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        except (ValueError, AttributeError):
            pass
        if response.status_code in (401, 403):
            return RegistryError(
                f"registry {self.registry} refused to {what} ({response.status_code} {detail or 'denied'}); {self._credential_hint()}"
            )
        return RegistryError(f"registry {self.registry} failed to {what}: {response.status_code} {detail}".rstrip())

    # --- the API -----------------------------------------------------------------------------------
    def get_manifest(self, repository: str, identifier: str) -> tuple[bytes, str, str]:
        """The raw manifest or index with its media type and digest."""
        response = self.request(
            "GET", f"/v2/{repository}/manifests/{identifier}", scope=f"repository:{repository}:pull",
            headers={"Accept": _ACCEPT_MANIFESTS},
        )
        if response.status_code == 404:
            raise RegistryError(f"image {self.registry}/{repository}:{identifier} does not exist")
        if response.status_code != 200:
            raise self._fail(response, f"read manifest {repository}:{identifier}")
        data = response.content
        digest = sha256_bytes(data)
        if identifier.startswith("sha256:") and identifier != digest:
            raise RegistryError(f"registry {self.registry} returned a manifest whose digest is not {identifier}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return data, media_type, digest

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:pull")
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, f"check blob {digest} in {repository}")

    def fetch_blob(self, repository: str, digest: str, cache: BlobCache) -> Path:
        """Download a blob into the cache, streaming and verifying its digest; redirects are followed without our Authorization."""
        if cache.has(digest):
            return cache.path(digest)
        response = self.request("GET", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:pull", stream=True)
        try:
            if response.status_code in (301, 302, 303, 307, 308):
                location = urljoin(str(response.url), response.headers["location"])
                response.close()
                response = self._client.send(self._client.build_request("GET", location), stream=True)
            if response.status_code != 200:
                response.read()
                raise self._fail(response, f"download blob {digest} of {repository}")
            try:
                return cache.put_stream(digest, response.iter_bytes(_CHUNK))
            except DigestMismatch as exc:
                raise RegistryError(f"registry {self.registry} sent blob {digest} with wrong content ({exc})") from exc
        finally:
            response.close()

    def mount_blob(self, repository: str, digest: str, source_repository: str) -> bool:
        """Ask the registry to link a blob from another repository; False when it would rather have an upload."""
        query = urlencode({"mount": digest, "from": source_repository})
        response = self.request(
            "POST", f"/v2/{repository}/blobs/uploads/?{query}",
            scope=f"repository:{repository}:pull,push",
        )
        if response.status_code == 201:
            return True
        if response.status_code == 202:
            # The registry started an ordinary upload instead; abandon it, the caller uploads.
            if location := response.headers.get("location"):
                self.request("DELETE", location, scope=f"repository:{repository}:pull,push").close()
            return False
        raise self._fail(response, f"mount blob {digest} into {repository}")

    def upload_blob(self, repository: str, digest: str, size: int, path: Path) -> None:
        """A monolithic upload: POST for a session, then one PUT of the whole blob streamed from disk."""
        scope = f"repository:{repository}:pull,push"
        response = self.request("POST", f"/v2/{repository}/blobs/uploads/", scope=scope)
        if response.status_code != 202 or "location" not in response.headers:
            raise self._fail(response, f"start an upload to {repository}")
        location = response.headers["location"]
        separator = "&" if "?" in location else "?"
        response = self.request(
            "PUT", f"{location}{separator}{urlencode({'digest': digest})}", scope=scope,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            content_path=path,
        )
        if response.status_code != 201:
            raise self._fail(response, f"upload blob {digest} to {repository}")

    def put_manifest(self, repository: str, identifier: str, data: bytes, media_type: str) -> str:
        response = self.request(
            "PUT", f"/v2/{repository}/manifests/{identifier}", scope=f"repository:{repository}:pull,push",
            headers={"Content-Type": media_type}, content=data,
        )
        if response.status_code != 201:
            raise self._fail(response, f"store manifest {repository}:{identifier}")
        digest = sha256_bytes(data)
        returned = response.headers.get("docker-content-digest")
        if returned and returned != digest:
            raise RegistryError(f"registry {self.registry} stored the manifest as {returned}, expected {digest}")
        return digest


class ClientPool:
    """One client per registry host for a whole run, so tokens and connections are reused."""

    def __init__(self, insecure_registries: frozenset[str] = frozenset(), transport: httpx.BaseTransport | None = None) -> None:
        self.insecure_registries = insecure_registries
        self.transport = transport
        self._clients: dict[str, RegistryClient] = {}

    def get(self, registry: str) -> RegistryClient:
        if registry not in self._clients:
            self._clients[registry] = RegistryClient(
                registry, insecure=registry in self.insecure_registries, transport=self.transport
            )
        return self._clients[registry]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
