"""The HTTP transport to one registry: the httpx client, the scheme (HTTPS, or plain HTTP where that is allowed), TLS,
retries of transient failures, and capped reads of what comes back. It knows nothing of logins or of the API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ..reference import is_loopback
from .errors import BodyTooLarge, Interrupted, RegistryRequestError
from .limits import ERROR_LIMIT, MANIFEST_LIMIT, READ_SIZE, size_text
from .retry import RETRYABLE_STATUSES, RetryPolicy, is_transient, parse_retry_after, tls_failure
from .tls import find_tls_files, ssl_context


@dataclass(frozen=True)
class FileSlice:
    """Part of a file as a request body: read again from disk on every try, never held in memory."""

    path: Path
    offset: int
    length: int
    on_progress: Callable[[int], None] | None = None  # gets the absolute position in the file

    def chunks(self) -> Iterator[bytes]:
        remaining = self.length
        with self.path.open("rb") as f:
            f.seek(self.offset)
            while remaining > 0:
                chunk = f.read(min(READ_SIZE, remaining))
                if not chunk:
                    raise RegistryRequestError(f"{self.path} became shorter while it was being uploaded; build again")
                remaining -= len(chunk)
                yield chunk
                if self.on_progress:
                    self.on_progress(self.offset + self.length - remaining)


Body = bytes | FileSlice


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def raw_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body as it came (no decoding: pyjib asks for identity), in chunks as they arrive."""
    try:
        content = response.content  # already read: an in-process transport hands over bytes, not a stream
    except httpx.ResponseNotRead:
        yield from response.iter_raw(READ_SIZE)
        return
    yield content


def read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most limit bytes of the body, and whether there was more (which is not read)."""
    parts: list[bytes] = []
    total = 0
    for chunk in raw_chunks(response):
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            break
    return b"".join(parts)[:limit], total > limit


def at_most(chunks: Iterator[bytes], size: int, what: str) -> Iterator[bytes]:
    """The chunks, cut off with an error as soon as they go past size: nothing past it is ever written."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > size:
            raise BodyTooLarge(f"{what} is longer than the {size} bytes its descriptor gives; refusing it", status=200)
        yield chunk


def describe(exc: BaseException) -> str:
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


class Transport:
    """Requests to one registry host. Plain HTTP only for loopback hosts and those named insecure. Thread-safe."""

    def __init__(self, registry: str, *, insecure: bool, transport: httpx.BaseTransport | None, timeout: float,
                 ca_certs: tuple[Path, ...], retry: RetryPolicy) -> None:
        self.registry = registry
        self.plain_http_allowed = insecure or is_loopback(registry)
        self.retry = retry
        # Registries named insecure may also be HTTPS with a certificate nobody can verify, as with Docker. A given
        # transport brings its own TLS settings (httpx ignores verify then). Both need only the unverified client.
        self._verifies = not insecure and transport is None
        self._ca_certs = ca_certs
        self._transport = transport
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._clients: dict[bool, httpx.Client] = {}  # by whether it verifies TLS; each made when first needed
        self.first_challenge: str | None = None  # WWW-Authenticate of the 401 to GET /v2/, for the login to answer
        self._lock = threading.Lock()
        self._scheme_lock = threading.Lock()
        self._base: str | None = None

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _client(self, url: str) -> httpx.Client:
        """The verifying client for HTTPS, made (with its CA store, tens of milliseconds to load) only when an HTTPS URL
        is first asked for: a plain-HTTP registry never pays for it, yet a redirect from it to HTTPS storage verifies."""
        return self._client_that(verifies=self._verifies and url.startswith("https:"))

    def _client_that(self, *, verifies: bool) -> httpx.Client:
        with self._lock:
            if verifies not in self._clients:
                verify: Any = ssl_context(find_tls_files(self.registry, self._ca_certs)) if verifies else False
                # identity: bodies are read as sent, so a cap counts what arrives (no decompression bomb), and blobs keep their digest.
                self._clients[verifies] = httpx.Client(transport=self._transport, verify=verify, timeout=self._timeout,
                                                       follow_redirects=False, headers={"Accept-Encoding": "identity"})
            return self._clients[verifies]

    # --- scheme --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        with self._scheme_lock:
            if self._base is None:
                self._base = self._choose_scheme()
            return self._base

    def _choose_scheme(self) -> str:
        """HTTPS first; plain HTTP only where it is allowed and the host does not speak TLS at all."""
        https = f"https://{self.registry}"
        try:
            if not self._answers_plain_http_only(https):
                self._ping(https, retry=not self.plain_http_allowed)
                return https
        except Interrupted as exc:
            if unresolvable := self._unresolvable_host(exc.detail):
                raise RegistryRequestError(unresolvable) from exc
            if not self.plain_http_allowed:
                raise RegistryRequestError(
                    f"cannot reach registry {self.registry} over HTTPS ({exc.detail}); if it serves plain HTTP, add it to insecure-registries"
                ) from exc
        http = f"http://{self.registry}"
        try:
            self._ping(http, retry=True)
        except Interrupted as exc:
            raise RegistryRequestError(f"cannot reach registry {self.registry} ({exc.detail}); check the address and that the registry is up") from exc
        return http

    def _answers_plain_http_only(self, https: str) -> bool:
        """Where plain HTTP is allowed and TLS would be verified, a first look through the unverified client at whether
        the host speaks TLS at all, so that a plain-HTTP registry is told without loading a CA store. It carries no
        credentials, and any answer but "this is not TLS" leaves the choice to the verified ping, as before."""
        if not (self.plain_http_allowed and self._verifies):
            return False
        try:
            with self._client_that(verifies=False).stream("GET", f"{https}/v2/"):
                pass  # the handshake and the status line tell it; the body is never read
        except httpx.TransportError as exc:
            return tls_failure(exc) == "not-tls"
        return False

    def _unresolvable_host(self, detail: str) -> str | None:
        """Why the registry cannot be reached when its name does not resolve: advice about plain HTTP would mislead."""
        if not any(sign in detail for sign in _NAME_RESOLUTION_FAILURES):
            return None
        host = urlsplit(f"//{self.registry}").hostname or self.registry
        return f"cannot resolve the registry host {host} (DNS): check the name in the image reference and the machine's DNS"

    def _ping(self, base: str, *, retry: bool) -> None:
        response = self.send("GET", f"{base}/v2/", headers={}, body=None, stream=False, retry=retry, step="reach /v2/", raise_interrupt=True)
        if response.status_code == 401 and (header := response.headers.get("www-authenticate")):
            self.first_challenge = header

    def url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    def is_own_origin(self, url: str) -> bool:
        return origin(url) == origin(self.base_url)

    # --- sending, with retries -------------------------------------------------------------------------
    def _tls_error(self, exc: BaseException) -> RegistryRequestError:
        return RegistryRequestError(
            f"cannot verify the TLS certificate of registry {self.registry} ({_certificate_problem(exc)}); "
            f"give its CA with --ca-cert FILE or put it in /etc/containers/certs.d/{self.registry}/ca.crt"
        )

    def _buffer(self, response: httpx.Response, limit: int, step: str) -> httpx.Response:
        """The response with its body read, at most limit bytes of it: more is refused; an error answer's body is cut
        at ERROR_LIMIT instead (it is only shown, cut again, in one line)."""
        status = response.status_code
        try:
            failed = status >= 300
            cap = ERROR_LIMIT if failed else limit
            # A HEAD answer's Content-Length is that of the thing asked about; no body follows.
            declared = response.headers.get("content-length", "") if response.request.method != "HEAD" else ""
            if not failed and declared.isdigit() and int(declared) > cap:
                raise BodyTooLarge(f"registry {self.registry}: the answer to {step} is {declared} bytes, more than the {size_text(cap)} pyjib reads; "
                                   "refusing it", status=status)
            data, more = read_capped(response, cap)
            if more and not failed:
                raise BodyTooLarge(f"registry {self.registry}: the answer to {step} is more than the {size_text(cap)} pyjib reads; refusing it",
                                   status=status)
        except httpx.TransportError as exc:
            raise RegistryRequestError(f"registry {self.registry}: {step} failed while reading the answer: {describe(exc)}", status=status) from exc
        finally:
            response.close()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
        return httpx.Response(status, headers=headers, content=data, request=response.request, extensions=response.extensions)

    def send(
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
                client = self._client(url)
                request = client.build_request(method, url, headers=dict(headers), content=content)
                response = client.send(request, stream=True)
            except httpx.TransportError as exc:
                tls = tls_failure(exc)
                if tls == "certificate":
                    raise self._tls_error(exc) from exc
                if tls == "handshake":
                    raise RegistryRequestError(
                        f"the TLS handshake with registry {self.registry} failed ({_ssl_reason(exc)}); if it asks for a client certificate, "
                        f"put NAME.cert and NAME.key in /etc/containers/certs.d/{self.registry}/"
                    ) from exc
                if tls == "not-tls" and raise_interrupt:
                    raise Interrupted(describe(exc)) from exc
                if not is_transient(exc):
                    raise RegistryRequestError(f"registry {self.registry}: {step} failed: {describe(exc)}") from exc
                if attempt < tries:
                    self.retry.wait(attempt)
                    continue
                if not retry or raise_interrupt:
                    raise Interrupted(describe(exc)) from exc
                raise RegistryRequestError(f"registry {self.registry}: {step} failed after {attempt} tries: {describe(exc)}") from exc
            if response.status_code in RETRYABLE_STATUSES and attempt < tries:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                response.close()
                self.retry.wait(attempt, retry_after)
                continue
            return response if stream else self._buffer(response, limit, step)
        raise AssertionError("unreachable")
