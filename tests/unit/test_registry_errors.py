"""A failed registry request says what failed in structured form (status, registry error code), and the fleet cache
tells a missing record from a refused or failing read. Against httpx.MockTransport, for the answers the real registry
(tests/e2e/test_registry_errors.py) cannot be made to give: 403 DENIED, 5xx, NAME_UNKNOWN, a host that is down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pyjib import fleetcache
from pyjib.cache import BlobCache
from pyjib.reference import Reference
from pyjib.registry import ClientPool, RegistryClient, RegistryRequestError
from pyjib.registry.retry import RetryPolicy

NO_WAIT = RetryPolicy(tries=2, sleep=lambda _: None)
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def no_stored_logins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failure hints look for stored logins: none of this machine's."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    for name in ("REGISTRY_AUTH_FILE", "PYJIB_USERNAME", "PYJIB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def error_body(code: str) -> dict[str, object]:
    return {"errors": [{"code": code, "message": code.lower().replace("_", " "), "detail": None}]}


def answering(status: int, code: str | None) -> Handler:
    """A registry that answers /v2/ and then every request with status (and a distribution error body for code)."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        return httpx.Response(status, json=error_body(code)) if code else httpx.Response(status)
    return handler


def client(handler: Handler) -> RegistryClient:
    return RegistryClient("reg.example", transport=httpx.MockTransport(handler), retry=NO_WAIT, lookup=lambda _: None)


@pytest.mark.parametrize(("status", "code"), [(403, "DENIED"), (400, "MANIFEST_INVALID"), (503, "UNAVAILABLE"), (500, None)])
def test_a_refused_or_failed_request_carries_its_status_and_code(status: int, code: str | None) -> None:
    with pytest.raises(RegistryRequestError) as caught:
        client(answering(status, code)).get_manifest("team/app", "1")
    assert (caught.value.status, caught.value.code, caught.value.not_found) == (status, code, False)
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_an_unknown_repository_is_not_found() -> None:
    with pytest.raises(RegistryRequestError) as caught:
        client(answering(404, "NAME_UNKNOWN")).get_manifest("team/none", "1")
    assert (caught.value.status, caught.value.code, caught.value.not_found) == (404, "NAME_UNKNOWN", True)


def test_a_failed_upload_carries_the_status_of_its_last_try(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        if request.method == "POST":
            return httpx.Response(202, headers={"location": "/v2/team/app/blobs/uploads/1"})
        if request.method == "HEAD":
            return httpx.Response(404)
        return httpx.Response(502)

    blob = tmp_path / "blob"
    blob.write_bytes(b"layer")
    with pytest.raises(RegistryRequestError) as caught:
        client(handler).upload_blob("team/app", "sha256:" + "1" * 64, 5, blob)
    assert caught.value.status == 502 and not caught.value.not_found


def test_a_host_that_does_not_answer_has_no_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RegistryRequestError) as caught:
        client(handler).get_manifest("team/app", "1")
    assert caught.value.status is None and caught.value.code is None and not caught.value.not_found


def load(handler: Handler, tmp_path: Path) -> tuple[fleetcache.FleetRecord | None, list[str]]:
    warnings: list[str] = []
    pool = ClientPool(transport=httpx.MockTransport(handler), retry=NO_WAIT)
    try:
        record = fleetcache.load(pool, Reference("reg.example", "team/app"), "k" * 64, BlobCache(tmp_path / "cache"),
                                 fleetcache.Trust(secret=b"fleet-key"), warnings.append)
    finally:
        pool.close()
    return record, warnings


@pytest.mark.parametrize(("status", "code"), [(403, "DENIED"), (500, None), (429, "TOOMANYREQUESTS")])
def test_the_fleet_cache_warns_once_when_the_registry_refuses_or_fails_the_read(tmp_path: Path, status: int, code: str | None) -> None:
    record, warnings = load(answering(status, code), tmp_path)
    assert record is None
    assert len(warnings) == 1 and "reg.example" in warnings[0] and "\n" not in warnings[0]


def test_the_fleet_cache_misses_an_unknown_repository_quietly(tmp_path: Path) -> None:
    assert load(answering(404, "NAME_UNKNOWN"), tmp_path) == (None, [])
