"""The distribution API of one registry: manifests, blobs, uploads and referrers, over an authenticated transport."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from ..cache import BlobCache, DigestMismatch
from ..errors import one_line
from ..oci import mediatypes
from ..oci.digest import sha256_bytes
from .auth import Login
from .challenges import Credentials
from .credentials import stored_credentials
from .errors import BodyTooLarge, RegistryRequestError, error_detail, first_code
from .limits import DEFAULT_CHUNK_SIZE, ERROR_LIMIT
from .retry import RETRYABLE_STATUSES, RetryPolicy, is_transient
from .tokens import TokenCache
from .transport import Body, Transport, at_most, describe, origin, raw_chunks, read_capped
from .upload import BlobUpload

_ACCEPT_MANIFESTS = ", ".join((*mediatypes.MANIFESTS, *mediatypes.INDEXES))
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5


def _error_body(response: httpx.Response) -> bytes:
    """At most ERROR_LIMIT bytes of a failed answer's body (read here if it was streamed), then the answer is closed."""
    try:
        return read_capped(response, ERROR_LIMIT)[0]
    except (httpx.HTTPError, httpx.StreamError):
        return b""
    finally:
        response.close()


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
        self.retry = retry or RetryPolicy()
        self.chunk_size = chunk_size
        self.http = Transport(registry, insecure=insecure, transport=transport, timeout=timeout, ca_certs=ca_certs, retry=self.retry)
        self.login = Login(self.http, credentials=credentials, lookup=lookup, token_cache=token_cache)

    @property
    def plain_http_allowed(self) -> bool:
        return self.http.plain_http_allowed

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def credentials(self) -> Credentials | None:
        return self.login.credentials()

    def redact(self, text: str) -> str:
        return self.login.redact(text)

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
        url = self.http.url(path_or_url)
        step = step or f"{method} {urlsplit(url).path}"
        answered = False
        while True:
            authorization = self.login.authorization(url, scopes)
            response = self.http.send(method, url, headers={**(headers or {}), **authorization}, body=body, stream=stream, retry=retry, step=step)
            if response.status_code == 401 and not answered and (header := response.headers.get("www-authenticate")):
                code = first_code(_error_body(response))
                self.login.answer(url, header, scopes, authorization.get("Authorization"), code)
                answered = True
                continue
            if response.status_code == 401:
                raise self._unauthorized(response, url, step)
            if follow_redirects and response.status_code in _REDIRECTS:
                return self._follow(method, response, step, stream, scopes)
            return response

    def _unauthorized(self, response: httpx.Response, url: str, step: str) -> RegistryRequestError:
        code = first_code(_error_body(response))
        if not self.http.is_own_origin(url):
            return RegistryRequestError(f"registry {self.registry} sent a request to {origin(url)[1]}, which refused to {step} "
                                        "(401 unauthorized) to an anonymous client", status=401, code=code)
        return RegistryRequestError(f"registry {self.registry} refused to {step} (401 unauthorized); {self.login.credential_hint()}",
                                    status=401, code=code)

    def _follow(self, method: str, response: httpx.Response, step: str, stream: bool, scopes: Sequence[str]) -> httpx.Response:
        """Follow a blob redirect (S3-style): the registry's Authorization never goes to the other host."""
        for _ in range(_MAX_REDIRECTS):
            location = urljoin(str(response.url), response.headers.get("location", ""))
            response.close()
            headers = self.login.authorization(location, scopes)  # empty for any other origin
            response = self.http.send(method, location, headers=headers, body=None, stream=stream, retry=True, step=step)
            if response.status_code not in _REDIRECTS:
                return response
        raise RegistryRequestError(f"registry {self.registry}: {step} was redirected more than {_MAX_REDIRECTS} times",
                                   status=response.status_code)

    def fail(self, response: httpx.Response, what: str) -> RegistryRequestError:
        """The error for an unexpected answer: the step, the status, the registry's own words (and its error code)."""
        body = _error_body(response)
        status, code = response.status_code, first_code(body)
        text = one_line(self.redact(f"{status} {error_detail(body) or response.reason_phrase}"))
        if status in (401, 403):
            message = f"registry {self.registry} refused to {what} ({text}); {self.login.credential_hint()}"
        elif status in RETRYABLE_STATUSES:
            message = f"registry {self.registry} kept failing to {what} ({text}) after {self.retry.tries} tries; try again later"
        else:
            message = f"registry {self.registry} failed to {what}: {text}"
        return RegistryRequestError(message, status=status, code=code)

    # --- the API ------------------------------------------------------------------------------------
    def get_manifest(self, repository: str, identifier: str) -> tuple[bytes, str, str]:
        """The raw manifest or index with its media type and digest."""
        response = self.request(
            "GET", f"/v2/{repository}/manifests/{identifier}", scopes=(f"repository:{repository}:pull",),
            headers={"Accept": _ACCEPT_MANIFESTS}, step=f"read manifest {repository}:{identifier}",
        )
        if response.status_code == 404:
            raise RegistryRequestError(f"image {self.registry}/{repository}:{identifier} does not exist", status=404,
                                       code=first_code(response.content))
        if response.status_code != 200:
            raise self.fail(response, f"read manifest {repository}:{identifier}")
        data = response.content
        digest = sha256_bytes(data)
        if identifier.startswith("sha256:") and identifier != digest:
            raise RegistryRequestError(f"registry {self.registry} returned a manifest whose digest is not {identifier}", status=200)
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return data, media_type, digest

    def tagged_digest(self, repository: str, tag: str) -> str | None:
        """The digest tag names now (HEAD, with the push scope a push then shares), None when it names nothing or the
        registry does not say (no Docker-Content-Digest): a push compares it with what it would tag."""
        response = self.request("HEAD", f"/v2/{repository}/manifests/{tag}", scopes=(f"repository:{repository}:pull,push",),
                                headers={"Accept": _ACCEPT_MANIFESTS}, step=f"check tag {repository}:{tag}")
        if response.status_code != 200:  # 404, or a registry or proxy that does not answer HEAD: the push goes ahead
            return None
        digest = response.headers.get("docker-content-digest", "")
        return digest if _DIGEST.fullmatch(digest) else None

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
                    raise BodyTooLarge(f"{what} is {declared} bytes long, but its descriptor gives {size}; refusing it", status=200)
                return cache.put_stream(digest, at_most(raw_chunks(response), size, what))
            except DigestMismatch as exc:
                raise RegistryRequestError(f"registry {self.registry} sent blob {digest} with wrong content ({exc})", status=200) from exc
            except httpx.TransportError as exc:
                if not is_transient(exc) or attempt == self.retry.tries:
                    raise RegistryRequestError(f"registry {self.registry}: download of blob {digest[:19]} broke: {describe(exc)}",
                                               status=200) from exc
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
            raise RegistryRequestError(f"registry {self.registry} stored the manifest as {returned}, expected {digest}", status=201)
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
