"""What a tool sent to the registry, read from the registry itself: its access log and its storage growth.

The access log names the digest of every completed blob upload, and the storage holds each blob, so the bytes sent are the
sizes of the uploaded blobs plus the new manifests (HTTP overhead and a manifest PUT again for each tag are left out).
The storage growth alone would miss a blob the registry already had and was sent anyway; it is kept as new_bytes. Mounts
(a blob linked from another repository of the registry) send nothing.
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from tests.infra.registry import Registry

# distribution's access log is Apache's combined format: "METHOD URI PROTO" STATUS ...
_UPLOAD_DONE = re.compile(r'"(?:PUT|POST) (/v2/\S+/blobs/uploads/\S*) HTTP/[\d.]+" 201 ')
_MOUNTED = re.compile(r'"POST /v2/\S+/blobs/uploads/\?\S*mount=\S+ HTTP/[\d.]+" 201 ')
_MANIFEST_PUT = re.compile(r'"PUT /v2/\S+/manifests/\S+ HTTP/[\d.]+" 201 ')


@dataclass(frozen=True)
class Mark:
    """The registry's state before a run."""

    blob_files: frozenset[str]
    log_offset: int


@dataclass(frozen=True)
class Uploads:
    sent_bytes: int  # the blobs uploaded (including any the registry already had) and the new manifests
    blob_uploads: int  # completed blob uploads (layers and configs)
    new_bytes: int  # storage growth: blobs (layers, configs, manifests) that were new to the registry
    new_blobs: int
    mounts: int
    manifest_puts: int


def _uploaded_digests(log_text: str) -> list[str]:
    """The digest of each completed upload: the `digest` query parameter of the request that closed it."""
    digests = []
    for uri in _UPLOAD_DONE.findall(log_text):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
        digests += query.get("digest", [])[:1]
    return digests


def _blob_file(digest: str) -> str:
    algorithm, _, hex_digest = digest.partition(":")
    return os.path.join(algorithm, hex_digest[:2], hex_digest, "data")


def _blobs_dir(registry: Registry) -> Path:
    return registry.storage_dir / "docker" / "registry" / "v2" / "blobs"


def _blob_files(registry: Registry) -> dict[str, int]:
    """Every stored blob's data file (relative path) and its size."""
    root = _blobs_dir(registry)
    found: dict[str, int] = {}
    for directory, _dirs, files in os.walk(root):
        if "data" in files:
            path = os.path.join(directory, "data")
            found[os.path.relpath(path, root)] = os.path.getsize(path)
    return found


def _settled_log_size(registry: Registry) -> int:
    """The access log's size once the registry has stopped writing to it.

    A line is written as a response completes, which can be a moment after the client has read the response and exited.
    """
    size = -1
    for _ in range(50):
        current = registry.log_file.stat().st_size if registry.log_file.exists() else 0
        if current == size:
            return current
        size = current
        time.sleep(0.02)
    return size


def mark(registry: Registry) -> Mark:
    return Mark(frozenset(_blob_files(registry)), _settled_log_size(registry))


def uploads_since(registry: Registry, before: Mark) -> Uploads:
    end = _settled_log_size(registry)
    with registry.log_file.open("rb") as log:
        log.seek(before.log_offset)
        text = log.read(end - before.log_offset).decode("utf-8", "replace")
    stored = _blob_files(registry)
    new = {path: size for path, size in stored.items() if path not in before.blob_files}
    uploaded = [_blob_file(digest) for digest in _uploaded_digests(text)]
    manifests = [size for path, size in new.items() if path not in uploaded]  # new blobs that came by a manifest PUT
    return Uploads(
        sent_bytes=sum(stored.get(path, 0) for path in uploaded) + sum(manifests),
        blob_uploads=len(uploaded),
        new_bytes=sum(new.values()),
        new_blobs=len(new),
        mounts=len(_MOUNTED.findall(text)),
        manifest_puts=len(_MANIFEST_PUT.findall(text)),
    )
