"""A client for one OCI distribution registry, over httpx: scheme and TLS, authentication, retries, blobs and manifests."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from . import mediatypes
from .auth import Challenge, Credentials, parse_challenge, redact
from .cache import BlobCache, DigestMismatch
from .credentials import explicit_credentials, places_looked, stored_credentials
from .digest import sha256_bytes
from .errors import ConfigError, PyjibError, RegistryError, one_line
from .reference import is_loopback, url_is_loopback
from .retry import RETRYABLE_STATUSES, RetryPolicy, is_transient, parse_retry_after, policy_from_environment, timeout_from_environment, tls_failure
from .tls import find_tls_files, ssl_context
from .tokens import TokenCache
from .upload import BlobUpload, FileSlice, Interrupted

_CHUNK = 1 << 20
# Caps on what is read into memory (go-containerregistry caps tokens and error bodies at 64 KiB; manifests here at the
# 4 MiB that registries accept, as distribution and the OCI distribution spec's "at least 4 MiB" put it).
MANIFEST_LIMIT = 4 << 20  # any body read whole that is not a token or an error: manifests, indexes, upload answers
TOKEN_LIMIT = 64 << 10
ERROR_LIMIT = 64 << 10  # of an error answer's body, the rest is not read
CONFIG_LIMIT = 16 << 20  # a config blob, read into memory (image configs, fleet cache records)
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


class BodyTooLarge(RegistryError):
    """A registry sent more than was asked for or than may be held in memory."""


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def _raw_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body as it came (no decoding: pyjib asks for identity), in chunks as they arrive."""
    try:
        content = response.content  # already read: an in-process transport hands over bytes, not a stream
    except httpx.ResponseNotRead:
        yield from response.iter_raw(_CHUNK)
        return
    yield content


def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most limit bytes of the body, and whether there was more (which is not read)."""
    parts: list[bytes] = []
    total = 0
    for chunk in _raw_chunks(response):
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            break
    return b"".join(parts)[:limit], total > limit


def _at_most(chunks: Iterator[bytes], size: int, what: str) -> Iterator[bytes]:
    """The chunks, cut off with an error as soon as they go past size: nothing past it is ever written."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > size:
            raise BodyTooLarge(f"{what} is longer than the {size} bytes its descriptor gives; refusing it")
        yield chunk


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


# getaddrinfo's words (glibc, musl, macOS) as the connection error carries them.
_NAME_RESOLUTION_FAILURES = ("Name or service not known", "Temporary failure in name resolution", "nodename nor servname",
                             "No address associated with hostname", "Name does not resolve", "[Errno -2]", "[Errno -3]", "[Errno -5]")


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
        # identity: bodies are read as sent, so a cap counts what arrives (no decompression bomb), and blobs keep their digest.
        self._client = httpx.Client(
            transport=transport, verify=verify, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False,
            headers={"Accept-Encoding": "identity"},
        )
        self._explicit = credentials
        self._lookup = lookup
        self._found: Credentials | None = None
        self._looked = False
        self._tokens = token_cache or TokenCache()
        self._challenge: Challenge | None = None  # the registry's last challenge, answered before it is asked again
        # Anonymous tokens of other hosts the registry sends requests to (an upload Location elsewhere), by origin:
        # the registry's credentials and tokens never go there.
        self._foreign_tokens: dict[tuple[str, str], str] = {}
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
            if unresolvable := self._unresolvable_host(exc.detail):
                raise RegistryError(unresolvable) from exc
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

    def _unresolvable_host(self, detail: str) -> str | None:
        """Why the registry cannot be reached when its name does not resolve: advice about plain HTTP would mislead."""
        if not any(sign in detail for sign in _NAME_RESOLUTION_FAILURES):
            return None
        host = urlsplit(f"//{self.registry}").hostname or self.registry
        return f"cannot resolve the registry host {host} (DNS): check the name in the image reference and the machine's DNS"

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

    def _buffer(self, response: httpx.Response, limit: int, step: str) -> httpx.Response:
        """The response with its body read, at most limit bytes of it: more is refused; an error answer's body is cut
        at ERROR_LIMIT instead (it is only shown, cut again, in one line)."""
        try:
            failed = response.status_code >= 300
            cap = ERROR_LIMIT if failed else limit
            # A HEAD answer's Content-Length is that of the thing asked about; no body follows.
            declared = response.headers.get("content-length", "") if response.request.method != "HEAD" else ""
            if not failed and declared.isdigit() and int(declared) > cap:
                raise BodyTooLarge(f"registry {self.registry}: the answer to {step} is {declared} bytes, more than the {_size(cap)} pyjib reads; "
                                   "refusing it")
            data, more = _read_capped(response, cap)
            if more and not failed:
                raise BodyTooLarge(f"registry {self.registry}: the answer to {step} is more than the {_size(cap)} pyjib reads; refusing it")
        except httpx.TransportError as exc:
            raise RegistryError(f"registry {self.registry}: {step} failed while reading the answer: {_describe(exc)}") from exc
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=data, request=response.request, extensions=response.extensions)

    def _send(
        self, method: str, url: str, *, headers: Mapping[str, str], body: Body | None, stream: bool, retry: bool, step: str,
        raise_interrupt: bool = False, limit: int = MANIFEST_LIMIT,
    ) -> httpx.Response:
        """One request, tried again on transient failures when retry is set. A body from a file is re-read on every try.
        Without retry (or when tries run out with raise_interrupt), a transient failure raises Interrupted. Unless stream
        is set, the answer's body is read here, at most limit bytes of it."""
        tries = self.retry.tries if retry else 1
        for attempt in range(1, tries + 1):
            content = body.chunks() if isinstance(body, FileSlice) else body
            try:
                request = self._client.build_request(method, url, headers=dict(headers), content=content)
                response = self._client.send(request, stream=True)
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
            return response if stream else self._buffer(response, limit, step)
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

    def redact(self, text: str) -> str:
        """A registry's words without the credentials and tokens of this client, should the registry echo them."""
        credentials = self.credentials()
        held = [*self._tokens.values(), *self._foreign_tokens.values()]
        return redact(text, [*(credentials.secrets() if credentials else []), *held])

    def _credential_hint(self) -> str:
        if credentials := self.credentials():
            return f"credentials from {credentials.source} were tried: check them, or log in again"
        return (f"no credentials were found (looked at {places_looked()}): log in with `docker login {self.registry}`, "
                "or give --username with --password-stdin")

    def _may_send_credentials(self, url: str) -> bool:
        """Over HTTPS, or plain HTTP to a URL whose own host is loopback (a token realm too, whatever the registry is)."""
        scheme = urlsplit(url).scheme.lower()
        return scheme == "https" or (scheme == "http" and url_is_loopback(url))

    def _is_own_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.base_url)

    def _authorization(self, url: str, scopes: Sequence[str]) -> dict[str, str]:
        """What to send before being asked: the registry's credentials or tokens only to its own origin; another host
        gets at most the anonymous token it asked for itself."""
        if not self._is_own_origin(url):
            token = self._foreign_tokens.get(_origin(url))
            return {"Authorization": f"Bearer {token}"} if token else {}
        if self._challenge is None:
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

    def _answer_foreign(self, url: str, challenge: Challenge, scopes: Sequence[str]) -> None:
        """A 401 from another host than the registry (an upload Location elsewhere): credentials belong to the host they
        were given for, so that host gets an anonymous token request, as in go-containerregistry's cross-host handling."""
        host = _origin(url)[1]
        if challenge.scheme == "bearer" and "realm" in challenge.params:
            wanted = challenge.params.get("scope", "").split() or list(scopes)
            token, _ = self._request_token(challenge, wanted, None)
            self._foreign_tokens[_origin(url)] = token
            return
        raise RegistryError(
            f"registry {self.registry} sent a request to {host}, which asks for a login ({challenge.scheme or 'no scheme'}); "
            f"pyjib sends the credentials of {self.registry} to {self.registry} only"
        )

    def _fetch_token(self, challenge: Challenge, scopes: Sequence[str], force: bool = False) -> str:
        with self._tokens.fetch_lock:
            if not force and (cached := self._tokens.get(scopes)):
                return cached  # another upload fetched it while this one waited
            token, expires_in = self._request_token(challenge, scopes, self.credentials())
            self._tokens.put(scopes, token, expires_in)
            return token

    def _request_token(self, challenge: Challenge, scopes: Sequence[str], credentials: Credentials | None) -> tuple[str, float | None]:
        """A token from the challenge's realm, asked for with credentials, or anonymously when they are None."""
        realm = challenge.params["realm"]
        service = challenge.params.get("service")
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
                                  body=urlencode(form).encode(), stream=False, retry=True, step=step, limit=TOKEN_LIMIT)
        else:
            query = [*([("service", service)] if service else []), *(("scope", s) for s in scopes)]
            headers: dict[str, str] = {}
            if credentials:
                query.append(("account", credentials.username))
                headers["Authorization"] = _basic_authorization(credentials)
            url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}" if query else realm
            response = self._send("GET", url, headers=headers, body=None, stream=False, retry=True, step=step, limit=TOKEN_LIMIT)
        if response.status_code in (401, 403):
            raise RegistryError(f"the token service of {self.registry} refused the login ({response.status_code}); {self._credential_hint()}")
        if response.status_code != 200:
            raise RegistryError(f"the token service of {self.registry} answered {one_line(self.redact(f'{response.status_code} {response.reason_phrase}'))}")
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
                if self._is_own_origin(url):
                    self._answer(parse_challenge(header), scopes, authorization.get("Authorization"))
                else:
                    self._answer_foreign(url, parse_challenge(header), scopes)
                answered = True
                continue
            if response.status_code == 401:
                response.close()
                if not self._is_own_origin(url):
                    raise RegistryError(f"registry {self.registry} sent a request to {_origin(url)[1]}, which refused to {step} "
                                        "(401 unauthorized) to an anonymous client")
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
            errors = json.loads(_read_capped(response, ERROR_LIMIT)[0]).get("errors") or []
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
        except (ValueError, AttributeError, httpx.HTTPError, httpx.StreamError):
            pass
        status = one_line(self.redact(f"{response.status_code} {detail or response.reason_phrase}"))
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

    def fetch_blob(self, repository: str, digest: str, size: int, cache: BlobCache) -> Path:
        """Download a blob into the cache, streaming and verifying its digest; a broken download starts again.
        No more than size bytes (the descriptor's) are read: a longer answer is refused, not written to disk."""
        if cache.has(digest):
            return cache.path(digest)
        what = f"blob {digest[:19]} from registry {self.registry}"
        for attempt in range(1, self.retry.tries + 1):
            response = self.request("GET", f"/v2/{repository}/blobs/{digest}", scopes=(f"repository:{repository}:pull",),
                                    stream=True, follow_redirects=True, step=f"download blob {digest[:19]} of {repository}")
            try:
                if response.status_code != 200:
                    raise self.fail(response, f"download blob {digest[:19]} of {repository}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) != size:
                    raise BodyTooLarge(f"{what} is {declared} bytes long, but its descriptor gives {size}; refusing it")
                return cache.put_stream(digest, _at_most(_raw_chunks(response), size, what))
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
    from .transports import parse_location  # the transports use this module's client, so they load after it

    for text in (target, base):
        if not text:
            continue
        try:
            reference = parse_location(text).reference
        except PyjibError:  # an unparsable location is reported by whoever reads it; here it just has no login
            return None
        if reference is not None:
            return reference.registry
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
