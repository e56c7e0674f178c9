"""Pushing through a fault-injecting proxy in front of the real registry: dropped connections, 503, 429 with Retry-After,
stalls, chunked uploads resumed where the registry says, relative Locations. The push lands, or fails cleanly with no tag."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pyjib.cache import BlobCache
from pyjib.log import SILENT
from pyjib.reference import Reference
from pyjib.registry import ClientPool
from pyjib.registry.retry import RetryPolicy
from pyjib.transports.remote import push
from tests.conftest import EXAMPLES, Pyjib
from tests.e2e.test_bad_input import assert_clean_failure
from tests.infra.fault_proxy import Fault, FaultProxy
from tests.infra.push_helpers import run_pyjib, skopeo_digest, small_image
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e

QUICK = RetryPolicy(base_delay=0.05, max_delay=0.2)  # the same logic, shorter waits


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("fault-registry")) as running:
        yield running


def tags(registry: Registry, repository: str) -> list[str]:
    response = httpx.get(f"{registry.url}/v2/{repository}/tags/list")
    return [] if response.status_code == 404 else list(response.json().get("tags") or [])


def blob_digest(registry: Registry, repository: str, digest: str) -> str:
    data = httpx.get(f"{registry.url}/v2/{repository}/blobs/{digest}").content
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_small(proxy: FaultProxy, repository: str, tmp_path: Path, *, sizes: tuple[int, ...] = (300_000, 40_000),
               chunk_size: int | None = None, timeout: float = 30) -> tuple[str, list[str]]:
    """Push a fresh small image through the proxy in-process; returns the manifest digest and the layers' digests."""
    image = small_image(tmp_path / "image", sizes)
    pool = ClientPool(timeout=timeout, retry=QUICK)
    try:
        client = pool.get(proxy.host)
        if chunk_size is not None:
            client.chunk_size = chunk_size
        digest = push(image, Reference(proxy.host, repository, "1"), ["1"], pool, BlobCache(tmp_path / "cache"), SILENT)
    finally:
        pool.close()
    return digest, [blob.descriptor.digest for blob in image.layers]


def test_cli_push_lands_through_drops_503_429_and_stalls(pyjib: Pyjib, base_ref: str, upstream: Registry) -> None:
    with FaultProxy(upstream.host) as proxy:
        proxy.add(
            Fault("drop", method="PUT", path="/blobs/uploads/", times=2),  # cut mid-body, twice
            Fault("status", method="HEAD", path="/blobs/", times=2, status=503),
            Fault("status", method="POST", path=r"/blobs/uploads/$", times=1, status=429, headers={"Retry-After": "1"}),
            Fault("stall", method="PUT", path="/blobs/uploads/", times=1, seconds=4, then="drop"),  # longer than the timeout
            Fault("stall", method="PUT", path="/manifests/", times=1, seconds=0.5),  # slow, then answered
            Fault("status", method="PUT", path="/manifests/", times=1, status=502),
        )
        result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{proxy.host}/faults/greet:1",
                           env={"PYJIB_HTTP_TIMEOUT": "2"})
        assert result.returncode == 0, result.stderr
        assert all(fault.hits == fault.times for fault in proxy.faults), [(f.action, f.method, f.hits) for f in proxy.faults]
    digest = result.stdout.strip().rpartition("@")[2]
    assert result.stdout.strip() == f"{proxy.host}/faults/greet@{digest}"
    # skopeo, an independent client, reads the image straight from the registry.
    assert skopeo_digest(f"{upstream.host}/faults/greet:1", "--tls-verify=false") == digest


def test_cli_push_against_faults_that_never_stop_fails_cleanly_and_tags_nothing(pyjib: Pyjib, base_ref: str, upstream: Registry) -> None:
    with FaultProxy(upstream.host) as proxy:
        proxy.add(Fault("status", method="PUT", path="/blobs/uploads/", times=None, status=503, headers={"Retry-After": "0"}))
        result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{proxy.host}/faults/never:1")
        line = assert_clean_failure(result, "upload blob", "503", "after 5 tries")
        assert proxy.host in line
        assert not [r for r in proxy.requests if "/manifests/" in r.path and r.method == "PUT"]  # never even tried
    assert tags(upstream, "faults/never") == []


def test_chunked_upload_resumes_from_the_offset_the_registry_reports(upstream: Registry, tmp_path: Path) -> None:
    chunk = 64 << 10
    with FaultProxy(upstream.host, chunk_min_length=chunk) as proxy:
        # The third chunk of the big layer never reaches the registry.
        proxy.add(Fault("drop", method="PATCH", path="/blobs/uploads/", content_range=rf"^{2 * chunk}-"))
        digest, layers = push_small(proxy, "faults/chunked", tmp_path, chunk_size=1)  # chunk_size below the minimum: the minimum wins
        patches = [r for r in proxy.requests if r.method == "PATCH"]
    dropped = next(r for r in patches if r.fault == "drop")
    session = dropped.path.split("?")[0]
    same_session = [r for r in patches if r.path.split("?")[0] == session]
    after = same_session[same_session.index(dropped) + 1]
    # Resumed on the same session with the chunk the registry lacks: it reported 0-(2*chunk-1).
    assert dropped.content_range == after.content_range == f"{2 * chunk}-{3 * chunk - 1}" and after.status == 202
    assert all(int(p.content_range.split("-")[1]) - int(p.content_range.split("-")[0]) + 1 <= chunk for p in patches if p.content_range)
    assert tags(upstream, "faults/chunked") == ["1"]
    for layer in layers:
        assert blob_digest(upstream, "faults/chunked", layer) == layer
    assert digest.startswith("sha256:")


def test_a_chunk_cut_after_the_registry_got_part_of_it_restarts_the_upload(upstream: Registry, tmp_path: Path) -> None:
    # distribution cannot resume a session whose last request wrote part of a chunk; pyjib notices and starts over.
    with FaultProxy(upstream.host, chunk_min_length=64 << 10) as proxy:
        proxy.add(Fault("drop", method="PATCH", path="/blobs/uploads/", content_range=rf"^{64 << 10}-", forward=0.5))
        _, layers = push_small(proxy, "faults/partial", tmp_path, chunk_size=1)
        starts = [r for r in proxy.requests if r.method == "POST"]
        assert proxy.faults[0].hits == 1
    assert len(starts) == 4  # two layers and the config, plus the restart of the blob that was cut
    assert tags(upstream, "faults/partial") == ["1"]
    for layer in layers:
        assert blob_digest(upstream, "faults/partial", layer) == layer


def test_relative_locations_and_a_stall_longer_than_the_timeout(upstream: Registry, tmp_path: Path) -> None:
    with FaultProxy(upstream.host, relative_locations=True) as proxy:
        proxy.add(Fault("stall", method="PUT", path="/blobs/uploads/", seconds=3, then="drop"))
        _, layers = push_small(proxy, "faults/relative", tmp_path, timeout=1)
        assert proxy.faults[0].hits == 1
    assert tags(upstream, "faults/relative") == ["1"]
    for layer in layers:
        assert blob_digest(upstream, "faults/relative", layer) == layer
