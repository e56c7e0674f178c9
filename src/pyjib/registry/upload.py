"""Pushing one blob: POST for a session, then one PUT with the digest, or chunked PATCHes where the registry wants them.

A broken upload is resumed from the offset the registry reports (GET on the session), not from where we think we
were: a dropped connection may have delivered part of a chunk, or none of it. A lost session starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode, urljoin

import httpx

from ..errors import one_line
from .errors import Interrupted, RegistryRequestError
from .retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from .transport import Body, FileSlice


class UploadClient(Protocol):
    """What an upload needs of the registry client (client.RegistryClient), so this module does not import it back."""

    registry: str
    retry: RetryPolicy
    chunk_size: int

    def request(self, method: str, path_or_url: str, *, scopes: Sequence[str], headers: Mapping[str, str] | None = None,
                body: Body | None = None, retry: bool = True, step: str | None = None) -> httpx.Response: ...

    def fail(self, response: httpx.Response, what: str) -> RegistryRequestError: ...

    def blob_exists(self, repository: str, digest: str, *, push: bool = False) -> bool: ...


@dataclass(frozen=True)
class Session:
    location: str  # absolute
    chunk_min: int | None  # OCI-Chunk-Min-Length: the registry wants chunks of at least this size


def with_query(location: str, **params: str) -> str:
    """Add parameters to an upload location that may already carry its own (distribution's _state)."""
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}{urlencode(params)}"


def location_of(response: httpx.Response) -> str:
    """The Location header made absolute: registries send both relative and absolute ones."""
    location = response.headers.get("location")
    if not location:
        raise RegistryRequestError(f"registry at {response.url.host} answered {response.request.method} {response.url.path} without a Location")
    return urljoin(str(response.url), str(location))


def next_offset(response: httpx.Response) -> int | None:
    """From `Range: 0-LAST`: the offset of the first byte the registry does not have yet."""
    value = response.headers.get("range", "")
    _, sep, last = value.partition("-")
    if not sep or not last.strip().isdigit():
        return None
    end = int(last)
    # distribution reports an empty upload as 0-0 as well; resuming at 0 is always safe (the registry refuses a gap).
    return 0 if end == 0 else end + 1


def _advanced(offset: int, end: int, reported: int | None, range_header: str) -> int:
    """Where the next chunk starts, after one sent [offset, end): where the registry says, if that is progress.
    A Range that does not move forward (or claims more than was sent) counts as a failed try, so it cannot loop forever."""
    if reported is None or (reported == 0 and offset == 0):  # not said, or distribution's 0-0: take the chunk as received
        return end
    if offset < reported <= end:
        return reported
    raise Interrupted(f"the upload made no progress: the registry answered Range {range_header!r} to bytes {offset}-{end - 1}")


def _interrupted_by(response: httpx.Response) -> Interrupted:
    return Interrupted(one_line(f"{response.status_code} {response.reason_phrase}"), parse_retry_after(response.headers.get("retry-after")),
                       status=response.status_code)


class BlobUpload:
    def __init__(self, client: UploadClient, repository: str, digest: str, size: int, path: Path,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.client = client
        self.repository = repository
        self.digest = digest
        self.size = size
        self.path = path
        self.on_progress = on_progress
        self.scopes = (f"repository:{repository}:pull,push",)
        self.short = digest[:19]
        self.session = Session("", None)

    def run(self) -> None:
        policy = self.client.retry
        self.session = self._start()
        chunk_min = self.session.chunk_min
        offset = 0
        failures = 0
        while True:
            try:
                if chunk_min is None and offset == 0:
                    if self._put_whole():
                        return
                    chunk_min = self.client.chunk_size  # 413: the registry (or a proxy) wants smaller requests
                    self.session, offset = self._start(), 0
                    continue
                self._patch_rest(offset, chunk_min)
                self._finish()
                return
            except Interrupted as exc:
                failures += 1
                if failures >= policy.tries:
                    raise RegistryRequestError(
                        f"registry {self.client.registry} kept failing to upload blob {self.short} to {self.repository} "
                        f"({exc.detail}) after {failures} tries; try again later", status=exc.status,
                    ) from exc
                policy.wait(failures, exc.retry_after)
                if self.client.blob_exists(self.repository, self.digest, push=True):
                    return  # the last request went through before its answer was lost
                resumed = self._status()
                self.session, offset = resumed if resumed is not None else (self._start(), 0)

    # --- the steps ---------------------------------------------------------------------------------
    def _start(self) -> Session:
        response = self.client.request("POST", f"/v2/{self.repository}/blobs/uploads/", scopes=self.scopes,
                                       step=f"start an upload to {self.repository}")
        if response.status_code != 202:
            raise self.client.fail(response, f"start an upload to {self.repository}")
        chunk_min = response.headers.get("oci-chunk-min-length", "")
        return Session(location_of(response), int(chunk_min) if chunk_min.isdigit() and int(chunk_min) > 0 else None)

    def _body(self, offset: int, length: int) -> FileSlice:
        return FileSlice(self.path, offset, length, self.on_progress)

    def _put_whole(self) -> bool:
        """The monolithic upload. False when the registry refuses a body this large (413)."""
        response = self.client.request(
            "PUT", with_query(self.session.location, digest=self.digest), scopes=self.scopes, retry=False,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(self.size)},
            body=self._body(0, self.size), step=f"upload blob {self.short} to {self.repository}",
        )
        if response.status_code == 413:
            return False
        self._check_created(response)
        return True

    def _patch_rest(self, offset: int, chunk_min: int | None) -> None:
        """PATCH from offset to the end; chunks of the registry's size, or everything left in one request.
        The session is updated after every accepted chunk: its latest Location is the one the registry expects."""
        chunk = max(chunk_min, self.client.chunk_size) if chunk_min else max(self.size - offset, 1)
        while offset < self.size:
            end = min(self.size, offset + chunk)
            response = self.client.request(
                "PATCH", self.session.location, scopes=self.scopes, retry=False, body=self._body(offset, end - offset),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(end - offset),
                         "Content-Range": f"{offset}-{end - 1}"},
                step=f"upload blob {self.short} to {self.repository}",
            )
            if response.status_code == 416:
                raise Interrupted("416 the registry holds a different offset", status=416)
            if response.status_code in RETRYABLE_STATUSES:
                raise _interrupted_by(response)
            if response.status_code != 202:
                raise self.client.fail(response, f"upload blob {self.short} to {self.repository}")
            self.session = Session(location_of(response), self.session.chunk_min)
            offset = _advanced(offset, end, next_offset(response), response.headers.get("range", ""))

    def _finish(self) -> None:
        response = self.client.request(
            "PUT", with_query(self.session.location, digest=self.digest), scopes=self.scopes, retry=False,
            headers={"Content-Length": "0"}, step=f"finish the upload of {self.short} to {self.repository}",
        )
        self._check_created(response)

    def _check_created(self, response: httpx.Response) -> None:
        if response.status_code in RETRYABLE_STATUSES:
            raise _interrupted_by(response)
        if response.status_code != 201:
            raise self.client.fail(response, f"upload blob {self.short} to {self.repository}")
        stored = response.headers.get("docker-content-digest")
        if stored and stored != self.digest:
            raise RegistryRequestError(f"registry {self.client.registry} stored blob {self.short} as {stored[:19]}; its bytes changed on the way")

    def _status(self) -> tuple[Session, int] | None:
        """Where the registry says the upload stands; None when the session is gone."""
        session = self.session
        try:
            response = self.client.request("GET", session.location, scopes=self.scopes,
                                           step=f"check the upload of {self.short} to {self.repository}")
        except Interrupted:
            return None
        if response.status_code not in (200, 204):
            return None
        offset = next_offset(response)
        if offset is None:
            return None
        location = location_of(response) if response.headers.get("location") else session.location
        return Session(location, session.chunk_min), offset
