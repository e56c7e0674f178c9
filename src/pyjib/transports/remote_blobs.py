"""Blobs into a registry repository, several at a time: each one already there, mounted from a repository of the same
registry that holds it, or uploaded."""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, wait
from dataclasses import dataclass

from ..log import Log
from ..oci.image import Blob
from ..progress import Progress
from ..registry import RegistryClient
from ..workers import worker_pool

PARALLEL_UPLOADS = 4  # enough to fill a CI runner's uplink; more mostly adds registry load


@dataclass(frozen=True)
class Mountable(Blob):
    """A blob read from a registry repository (a base's layer, a fleet cache layer): a push to another repository of
    the same registry can mount it from there instead of uploading it (as go-containerregistry's MountableLayer)."""

    registry: str = ""
    repository: str = ""

    def mountable_into(self, client: RegistryClient, repository: str) -> bool:
        return self.registry == client.registry and self.repository != repository


def _push_blob(client: RegistryClient, repository: str, blob: Blob, progress: Progress) -> str:
    """Make the registry hold one blob: it may already, it may link it from the base's repository, else it is uploaded."""
    digest, size = blob.descriptor.digest, blob.descriptor.size
    bar = progress.blob(digest[:19], size)
    if client.blob_exists(repository, digest, push=True):
        outcome = "exists"
    elif isinstance(blob, Mountable) and blob.mountable_into(client, repository) and client.mount_blob(repository, digest, blob.repository):
        outcome = "mounted"
    else:
        client.upload_blob(repository, digest, size, blob.fetch(), on_progress=bar.update)
        outcome = "uploaded"
    bar.finish(outcome)
    return outcome


def push_blobs(client: RegistryClient, repository: str, blobs: list[Blob], log: Log) -> list[str]:
    """Every blob, PARALLEL_UPLOADS at a time; returns only when the registry has confirmed each one (else raises)."""
    progress = Progress(log)
    try:
        with worker_pool(PARALLEL_UPLOADS) as pool:
            futures = [pool.submit(_push_blob, client, repository, blob, progress) for blob in blobs]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()  # after a failure, blobs not started yet are not worth sending
    finally:
        progress.close()
    for future in futures:  # the pool has finished every started upload by now
        if not future.cancelled() and (error := future.exception()) is not None:
            raise error
    return [future.result() for future in futures]
