"""A client for one OCI distribution registry, over httpx: scheme and TLS, authentication, retries, blobs and manifests."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from . import mediatypes
from .auth import Challenge, Credentials, parse_challenge
from .cache import BlobCache, DigestMismatch
from .credentials import explicit_credentials, places_looked, stored_credentials
from .digest import sha256_bytes
from .errors import ConfigError, PyjibError, RegistryError
from .reference import is_loopback, parse_reference
from .retry import RETRYABLE_STATUSES, RetryPolicy, is_transient, parse_retry_after, policy_from_environment, timeout_from_environment, tls_failure
from .tls import find_tls_files, ssl_context
from .tokens import TokenCache
from .upload import BlobUpload, FileSlice, Interrupted

_CHUNK = 1 << 20
DEFAULT_CHUNK_SIZE = 8 << 20  # PATCH size when a registry asks for chunks (at least its OCI-Chunk-Min-Length)
_ACCEPT_MANIFESTS = ", ".join((*mediatypes.MANIFESTS, *mediatypes.INDEXES))
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5

Body = bytes | FileSlice


def _basic_authorization(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _ssl_reason(exc: BaseException) -> str:
    text = str(exc)
    return text.split("] ", 1)[-1].split(" (_ssl.c", 1)[0] if "] " in text else text


def _certificate_problem(exc: BaseException) -> str:
    current: BaseException | None = exc
    while current is not None:
        if reason := getattr(current, "verify_message", None):
            return str(reason)
        current = current.__cause__ or current.__context__
    return "certificate verify failed"


class RegistryClient:
    """Talks to one registry host. Plain HTTP only for loopback hosts and those named insecure; credentials never go
    over plain HTTP to any other host. Thread-safe: parallel uploads share one client (and its tokens and connections)."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        ca_certs: tuple[Path, ...] = (),
        retry: RetryPolicy | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        lookup: Callable[[str], Credentials | None] = stored_credentials,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.registry = registry
        self.insecure = insecure
        self.plain_http_allowed = insecure or is_loopback(registry)
        self.retry = retry or RetryPolicy()
        self.chunk_size = chunk_size
        # Registries named insecure may also be HTTPS with a certificate nobody can verify, as with Docker.
        # A given transport brings its own TLS settings (httpx ignores verify then), so none is built.
        verify: Any = False if insecure or transport is not None else ssl_context(find_tls_files(registry, ca_certs))
        self._client = httpx.Client(
            transport=transport, verify=verify, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False
        )
        self._explicit = credentials
        self._lookup = lookup
        self._found: Credentials | None = None
        self._looked = False
        self._tokens = token_cache or TokenCache()
        self._challenge: Challenge | None = None  # the registry's last challenge, answered before it is asked again
        self._lock = threading.Lock()
        self._base: str | None = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- scheme --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        with self._lock:
            if self._base is None:
                self._base = self._choose_scheme()
            return self._base

    def _choose_scheme(self) -> str:
        """HTTPS first; plain HTTP only where it is allowed and the host does not speak TLS at all."""
        https = f"https://{self.registry}"
        try:
            self._ping(https, retry=not self.plain_http_allowed)
            return https
        except Interrupted as exc:
            if not self.plain_http_allowed:
                raise RegistryError(
                    f"cannot reach registry {self.registry} over HTTPS ({exc.detail}); if it serves plain HTTP, add it to insecure-registries"
                ) from exc
        http = f"http://{self.registry}"
        try:
            self._ping(http, retry=True)
        except Interrupted as exc:
            raise RegistryError(f"cannot reach registry {self.registry} ({exc.detail}); check the address and that the registry is up") from exc
        return http

    def _ping(self, base: str, *, retry: bool) -> None:
        response = self._send("GET", f"{base}/v2/", headers={}, body=None, stream=False, retry=retry, step="reach /v2/", raise_interrupt=True)
        if response.status_code == 401 and (header := response.headers.get("www-authenticate")):
            self._challenge = parse_challenge(header)

    def _url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    # --- sending, with retries -------------------------------------------------------------------------
    def _tls_error(self, exc: BaseException) -> RegistryError:
        return RegistryError(
            f"cannot verify the TLS certificate of registry {self.registry} ({_certificate_problem(exc)}); "
            f"give its CA with --ca-cert FILE or put it in /etc/containers/certs.d/{self.registry}/ca.crt"
        )

    def _send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: Body | None, stream: bool, retry: bool, step: str,
        raise_interrupt: bool = False,
    ) -> httpx.Response:
        """One request, tried again on transient failures when retry is set. A body from a file is re-read on every try.
        Without retry (or when tries run out with raise_interrupt), a transient failure raises Interrupted."""
        tries = self.retry.tries if retry else 1
        for attempt in range(1, tries + 1):
            content = body.chunks() if isinstance(body, FileSlice) else body
            try:
                request = self._client.build_request(method, url, headers=dict(headers), content=content)
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                tls = tls_failure(exc)
                if tls == "certificate":
                    raise self._tls_error(exc) from exc
                if tls == "handshake":
                    raise RegistryError(
                        f"the TLS handshake with registry {self.registry} failed ({_ssl_reason(exc)}); if it asks for a client certificate, "
                        f"put NAME.cert and NAME.key in /etc/containers/certs.d/{self.registry}/"
                    ) from exc
                if tls == "not-tls" and raise_interrupt:
                    raise Interrupted(_describe(exc)) from exc
                if not is_transient(exc):
                    raise RegistryError(f"registry {self.registry}: {step} failed: {_describe(exc)}") from exc
                if attempt < tries:
                    self.retry.wait(attempt)
                    continue
                if not retry or raise_interrupt:
                    raise Interrupted(_describe(exc)) from exc
                raise RegistryError(f"registry {self.registry}: {step} failed after {attempt} tries: {_describe(exc)}") from exc
            if response.status_code in RETRYABLE_STATUSES and attempt < tries:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                response.close()
                self.retry.wait(attempt, retry_after)
                continue
            return response
        raise AssertionError("unreachable")

    # --- authentication ---------------------------------------------------------------------------------
    def credentials(self) -> Credentials | None:
        """The explicit login, else the first one found in the credentials files (looked up once, when first needed)."""
        if self._explicit is not None:
            return self._explicit
        with self._lock:
            if not self._looked:
                self._found = self._lookup(self.registry)
                self._looked = True
            return self._found

    def _credential_hint(self) -> str:
        if credentials := self.credentials():
            return f"credentials from {credentials.source} were tried: check them, or log in again"
        return (f"no credentials were found (looked at {places_looked()}): log in with `docker login {self.registry}`, "
                "or give --username with --password-stdin")

    def _may_send_credentials(self, url: str) -> bool:
        scheme, netloc = _origin(url)
        return scheme == "https" or is_loopback(netloc)

    def _authorization(self, url: str, scopes: Sequence[str]) -> dict[str, str]:
        """What to send before being asked: only to the registry's own origin, never to a redirect target."""
        if _origin(url) != _origin(self.base_url) or self._challenge is None:
            return {}
        if self._challenge.scheme == "basic":
            credentials = self.credentials()
            if credentials and not credentials.identity_token and self._may_send_credentials(url):
                return {"Authorization": _basic_authorization(credentials)}
            return {}
        if self._challenge.scheme == "bearer" and scopes and "realm" in self._challenge.params:
            token = self._tokens.get(scopes) or self._fetch_token(self._challenge, scopes)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def _answer(self, challenge: Challenge, scopes: Sequence[str], refused: str | None) -> None:
        """Take up a 401's challenge, so the request can be sent again with what it asks for."""
        if refused and refused.startswith("Bearer "):
            self._tokens.forget(refused[len("Bearer "):])
        if challenge.scheme == "basic":
            credentials = self.credentials()
            if not credentials:
                raise RegistryError(f"registry {self.registry} asks for a login and {self._credential_hint()}")
            if credentials.identity_token:
                raise RegistryError(f"registry {self.registry} asks for a password, but {credentials.source} holds only an identity token")
            if not self._may_send_credentials(self.base_url):
                raise RegistryError(
                    f"registry {self.registry} asks for a login over plain HTTP; pyjib sends credentials only over HTTPS "
                    "(or to loopback): serve the registry over TLS"
                )
            if refused and refused.startswith("Basic "):
                raise RegistryError(f"registry {self.registry} refused the login (401 unauthorized); {self._credential_hint()}")
        elif challenge.scheme == "bearer" and "realm" in challenge.params:
            wanted = [*scopes, *(challenge.params.get("scope", "").split())]
            self._fetch_token(challenge, list(dict.fromkeys(s for s in wanted if s)), force=True)
        else:
            raise RegistryError(f"registry {self.registry} asks for an unsupported authentication: {challenge.scheme or 'none given'}")
        self._challenge = challenge

    def _fetch_token(self, challenge: Challenge, scopes: Sequence[str], force: bool = False) -> str:
        with self._tokens.fetch_lock:
            if not force and (cached := self._tokens.get(scopes)):
                return cached  # another upload fetched it while this one waited
            token, expires_in = self._request_token(challenge, scopes)
            self._tokens.put(scopes, token, expires_in)
            return token

    def _request_token(self, challenge: Challenge, scopes: Sequence[str]) -> tuple[str, float | None]:
        realm = challenge.params["realm"]
        service = challenge.params.get("service")
        credentials = self.credentials()
        if credentials and not self._may_send_credentials(realm):
            raise RegistryError(
                f"the token service {realm} of {self.registry} is plain HTTP; pyjib sends credentials only over HTTPS (or to loopback)"
            )
        step = f"get a token from {realm}"
        if credentials and credentials.identity_token:
            # An identity token is an OAuth2 refresh token, exchanged with a POST (as docker and go-containerregistry do).
            form = {"grant_type": "refresh_token", "refresh_token": credentials.identity_token, "client_id": "pyjib",
                    "scope": " ".join(scopes), **({"service": service} if service else {})}
            response = self._send("POST", realm, headers={"Content-Type": "application/x-www-form-urlencoded"},
                                  body=urlencode(form).encode(), stream=False, retry=True, step=step)
        else:
            query = [*([("service", service)] if service else []), *(("scope", s) for s in scopes)]
            headers: dict[str, str] = {}
            if credentials:
                query.append(("account", credentials.username))
                headers["Authorization"] = _basic_authorization(credentials)
            url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}" if query else realm
            response = self._send("GET", url, headers=headers, body=None, stream=False, retry=True, step=step)
        if response.status_code in (401, 403):
            raise RegistryError(f"the token service of {self.registry} refused the login ({response.status_code}); {self._credential_hint()}")
        if response.status_code != 200:
            raise RegistryError(f"the token service of {self.registry} answered {response.status_code} {response.reason_phrase}".rstrip())
        try:
            answer = response.json()
            token = answer.get("token") or answer.get("access_token")
            expires_in = answer.get("expires_in")
        except (ValueError, AttributeError):
            token, expires_in = None, None
        if not token or not isinstance(token, str):
            raise RegistryError(f"the token service of {self.registry} returned no token")
        return token, float(expires_in) if isinstance(expires_in, int | float) else None

    # --- requests -------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Sequence[str],
        headers: Mapping[str, str] | None = None,
        body: Body | None = None,
        stream: bool = False,
        retry: bool = True,
        follow_redirects: bool = False,
        step: str | None = None,
    ) -> httpx.Response:
        """Send a request with the authorization its scopes need, answering one challenge. Without retry, a transient
        failure raises Interrupted or returns the retryable response, for the caller to resume."""
        url = self._url(path_or_url)
        step = step or f"{method} {urlsplit(url).path}"
        answered = False
        while True:
            authorization = self._authorization(url, scopes)
            response = self._send(method, url, headers={**(headers or {}), **authorization}, body=body, stream=stream, retry=retry, step=step)
            if response.status_code == 401 and not answered and (header := response.headers.get("www-authenticate")):
                response.close()
                self._answer(parse_challenge(header), scopes, authorization.get("Authorization"))
                answered = True
                continue
            if response.status_code == 401:
                response.close()
                raise RegistryError(f"registry {self.registry} refused to {step} (401 unauthorized); {self._credential_hint()}")
            if follow_redirects and response.status_code in _REDIRECTS:
                return self._follow(method, response, step, stream, scopes)
            return response

    def _follow(self, method: str, response: httpx.Response, step: str, stream: bool, scopes: Sequence[str]) -> httpx.Response:
        """Follow a blob redirect (S3-style): the registry's Authorization never goes to the other host."""
        for _ in range(_MAX_REDIRECTS):
            location = urljoin(str(response.url), response.headers.get("location", ""))
            response.close()
            headers = self._authorization(location, scopes)  # empty for any other origin
            response = self._send(method, location, headers=headers, body=None, stream=stream, retry=True, step=step)
            if response.status_code not in _REDIRECTS:
                return response
        raise RegistryError(f"registry {self.registry}: {step} was redirected more than {_MAX_REDIRECTS} times")

    def fail(self, response: httpx.Response, what: str) -> RegistryError:
        """The error for an unexpected answer: the step, the status, the registry's own words."""
        detail = ""
        try:
            response.read()
            errors = response.json().get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
        except (ValueError, AttributeError, httpx.HTTPError, httpx.StreamError):
            pass
        status = f"{response.status_code} {detail or response.reason_phrase}".strip()
        if response.status_code in (401, 403):
            return RegistryError(f"registry {self.registry} refused to {what} ({status}); {self._credential_hint()}")
        if response.status_code in RETRYABLE_STATUSES:
            return RegistryError(f"registry {self.registry} kept failing to {what} ({status}) after {self.retry.tries} tries; try again later")
        return RegistryError(f"registry {self.registry} failed to {what}: {status}")

    # --- the API ------------------------------------------------------------------------------------
    def get_manifest(self, repository: str, identifier: str) -> tuple[bytes, str, str]:
        """The raw manifest or index with its media type and digest."""
        response = self.request(
            "GET", f"/v2/{repository}/manifests/{identifier}", scopes=(f"repository:{repository}:pull",),
            headers={"Accept": _ACCEPT_MANIFESTS}, step=f"read manifest {repository}:{identifier}",
        )
        if response.status_code == 404:
            raise RegistryError(f"image {self.registry}/{repository}:{identifier} does not exist")
        if response.status_code != 200:
            raise self.fail(response, f"read manifest {repository}:{identifier}")
        data = response.content
        digest = sha256_bytes(data)
        if identifier.startswith("sha256:") and identifier != digest:
            raise RegistryError(f"registry {self.registry} returned a manifest whose digest is not {identifier}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return data, media_type, digest

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest a tag (or digest) points at, with one HEAD; None when there is no such manifest."""
        response = self.request(
            "HEAD", f"/v2/{repository}/manifests/{reference}", scopes=(f"repository:{repository}:pull",),
            headers={"Accept": _ACCEPT_MANIFESTS}, step=f"check manifest {repository}:{reference}",
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.fail(response, f"check manifest {repository}:{reference}")
        if digest := response.headers.get("docker-content-digest"):
            return str(digest)
        return self.get_manifest(repository, reference)[2]  # a registry that does not say: hash the manifest itself

    def blob_exists(self, repository: str, digest: str, *, push: bool = False) -> bool:
        """push asks for the push scope already, so a push's checks and uploads share one token."""
        scope = f"repository:{repository}:pull,push" if push else f"repository:{repository}:pull"
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", scopes=(scope,), follow_redirects=True,
                                step=f"check blob {digest[:19]} in {repository}")
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self.fail(response, f"check blob {digest[:19]} in {repository}")

    def fetch_blob(self, repository: str, digest: str, cache: BlobCache) -> Path:
        """Download a blob into the cache, streaming and verifying its digest; a broken download starts again."""
        if cache.has(digest):
            return cache.path(digest)
        for attempt in range(1, self.retry.tries + 1):
            response = self.request("GET", f"/v2/{repository}/blobs/{digest}", scopes=(f"repository:{repository}:pull",),
                                    stream=True, follow_redirects=True, step=f"download blob {digest[:19]} of {repository}")
            try:
                if response.status_code != 200:
                    raise self.fail(response, f"download blob {digest[:19]} of {repository}")
                return cache.put_stream(digest, response.iter_bytes(_CHUNK))
            except DigestMismatch as exc:
                raise RegistryError(f"registry {self.registry} sent blob {digest} with wrong content ({exc})") from exc
            except httpx.TransportError as exc:
                if not is_transient(exc) or attempt == self.retry.tries:
                    raise RegistryError(f"registry {self.registry}: download of blob {digest[:19]} broke: {_describe(exc)}") from exc
                self.retry.wait(attempt)
            finally:
                response.close()
        raise AssertionError("unreachable")

    def mount_blob(self, repository: str, digest: str, source_repository: str) -> bool:
        """Ask the registry to link a blob from another repository; False when it would rather have an upload."""
        query = urlencode({"mount": digest, "from": source_repository})
        scopes = (f"repository:{repository}:pull,push", f"repository:{source_repository}:pull")
        response = self.request("POST", f"/v2/{repository}/blobs/uploads/?{query}", scopes=scopes,
                                step=f"mount blob {digest[:19]} into {repository}")
        if response.status_code == 201:
            return True
        if response.status_code == 202:
            # The registry started an ordinary upload instead; abandon it, the caller uploads.
            if response.headers.get("location"):
                self.request("DELETE", urljoin(str(response.url), response.headers["location"]), scopes=scopes[:1]).close()
            return False
        raise self.fail(response, f"mount blob {digest[:19]} into {repository}")

    def upload_blob(self, repository: str, digest: str, size: int, path: Path, on_progress: Callable[[int], None] | None = None) -> None:
        """Upload a blob streamed from disk; returns once the registry has confirmed it under its digest."""
        BlobUpload(self, repository, digest, size, path, on_progress).run()

    def put_manifest(self, repository: str, identifier: str, data: bytes, media_type: str) -> str:
        return self._store_manifest(repository, identifier, data, media_type)[0]

    def _store_manifest(self, repository: str, identifier: str, data: bytes, media_type: str) -> tuple[str, httpx.Headers]:
        response = self.request(
            "PUT", f"/v2/{repository}/manifests/{identifier}", scopes=(f"repository:{repository}:pull,push",),
            headers={"Content-Type": media_type}, body=data, step=f"store manifest {repository}:{identifier}",
        )
        if response.status_code != 201:
            raise self.fail(response, f"store manifest {repository}:{identifier}")
        digest = sha256_bytes(data)
        returned = response.headers.get("docker-content-digest")
        if returned and returned != digest:
            raise RegistryError(f"registry {self.registry} stored the manifest as {returned}, expected {digest}")
        return digest, response.headers

    def put_referrer(self, repository: str, data: bytes, subject: str) -> bool:
        """Store an artifact manifest (one with a subject) by digest; True when the registry answers OCI-Subject with the
        subject's digest, i.e. it lists referrers itself, so the referrers tag needs no update (distribution-spec 1.1)."""
        _digest, headers = self._store_manifest(repository, sha256_bytes(data), data, mediatypes.OCI_MANIFEST)
        return bool(headers.get("oci-subject") == subject)

    def referrers(self, repository: str, digest: str) -> bytes | None:
        """The referrers index of a manifest from the referrers API; None where the registry has none (404)."""
        response = self.request("GET", f"/v2/{repository}/referrers/{digest}", scopes=(f"repository:{repository}:pull",),
                                headers={"Accept": mediatypes.OCI_INDEX}, step=f"list referrers of {digest[:19]} in {repository}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.fail(response, f"list referrers of {digest[:19]} in {repository}")
        return response.content


def login_registry(target: str | None, base: str | None) -> str | None:
    """The registry explicit credentials are for: the push target's, else (building to a file) the base's."""
    for text in (target, base):
        if not text or text.startswith(("oci:", "docker-archive:")):
            continue
        try:
            return parse_reference(text).registry
        except PyjibError:  # an unparsable reference is reported by whoever reads it; here it just has no login
            return None
    return None


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
