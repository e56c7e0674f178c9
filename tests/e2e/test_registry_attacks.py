"""Registries that attack or misbehave, staged for real: the fault proxy in front of the real registry, or a hostile
loopback server of the tests' own (tests/infra/hostile.py) in front of it or instead of it. Each test asserts the
safe outcome: no credentials where they do not belong, bounded reads, no endless loop, a push whose result stands."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyjib.cache import BlobCache
from pyjib.errors import RegistryError
from pyjib.log import SILENT
from pyjib.oci.mediatypes import OCI_MANIFEST
from pyjib.reference import Reference
from pyjib.registry import MANIFEST_LIMIT, TOKEN_LIMIT, ClientPool
from pyjib.registry.retry import RetryPolicy
from pyjib.transports.remote import push
from tests.conftest import EXAMPLES, Pyjib
from tests.e2e.test_bad_input import assert_clean_failure
from tests.helpers import cache_records
from tests.infra.fault_proxy import Fault, FaultProxy
from tests.infra.hostile import Answer, Hostile, Received
from tests.infra.push_helpers import run_pyjib, skopeo_digest, small_image
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e

QUICK = RetryPolicy(base_delay=0.01, max_delay=0.05)
USER, PASSWORD = "ci-bot", "s3cret-Pa55-for-the-registry"
SECRETS = (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("attack-registry")) as running:
        yield running


def tags(registry: Registry, repository: str) -> list[str]:
    response = httpx.get(f"{registry.url}/v2/{repository}/tags/list")
    return [] if response.status_code == 404 else list(response.json().get("tags") or [])


def logged_in_pool(registry_host: str, **kwargs: object) -> ClientPool:
    """A pool holding an explicit login for registry_host, as --username/--password-stdin give."""
    return ClientPool(username=USER, password=PASSWORD, login_registry=registry_host, retry=QUICK, timeout=10, **kwargs)  # type: ignore[arg-type]


def assert_no_secret(requests: list[Received]) -> None:
    for request in requests:
        seen = " ".join([request.path, *request.headers.values(), request.body.decode(errors="replace")])
        assert not any(secret in seen for secret in SECRETS), request
        assert "authorization" not in request.headers or request.headers["authorization"] == "Bearer foreign-anonymous", request
        assert "account=" not in request.path, request


# --- 2. credentials go to the registry they were given for, never to another host -------------------------------------
@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_a_challenge_from_an_upload_location_on_another_host_gets_no_credentials(upstream: Registry, tmp_path: Path, scheme: str) -> None:
    def elsewhere(request: Received, server: Hostile) -> Answer:
        if request.path.startswith("/token"):
            return Answer(200, {"Content-Type": "application/json"}, json.dumps({"token": "foreign-anonymous"}).encode())
        challenge = f'Bearer realm="http://{server.host}/token",service="elsewhere"' if scheme == "bearer" else 'Basic realm="elsewhere"'
        return Answer(401, {"WWW-Authenticate": challenge, "Content-Type": "application/json"}, b'{"errors":[]}')

    # 127.0.0.2 is loopback, so plain HTTP is allowed there, and yet it is another host than the registry.
    with Hostile(elsewhere, address="127.0.0.2") as other, FaultProxy(upstream.host, location_host=other.host) as proxy:
        pool = logged_in_pool(proxy.host)
        try:
            with pytest.raises(RegistryError) as failure:
                push(small_image(tmp_path / "image"), Reference(proxy.host, f"attack/cross-{scheme}", "1"), ["1"], pool,
                     BlobCache(tmp_path / "cache"), SILENT)
        finally:
            pool.close()
        assert other.count("PUT") >= 1  # the upload did go there, and was challenged
        if scheme == "bearer":
            assert other.count("GET", "/token") >= 1  # an anonymous token request, without the registry's login
        assert_no_secret(other.received)
    assert "127.0.0.2" in str(failure.value)  # the one line names the host that asked
    assert tags(upstream, f"attack/cross-{scheme}") == []


# --- 3. loopback is a parsed address, not a string prefix ------------------------------------------------------------
ATTACKER_DOMAIN = ".attacker.example"


@pytest.fixture
def attacker_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under attacker.example resolve to 127.0.0.2, as the attacker's DNS would point them at their own server."""
    real = socket.getaddrinfo

    def resolve(host: str | bytes | None, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        return real("127.0.0.2" if name and name.endswith(ATTACKER_DOMAIN) else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def challenging_registry(challenge: str) -> Callable[[Received, Hostile], Answer]:
    def respond(request: Received, server: Hostile) -> Answer:
        if request.path.startswith("/token"):
            return Answer(200, {"Content-Type": "application/json"}, b'{"token": "attacker-token"}')
        return Answer(401, {"WWW-Authenticate": challenge.replace("{host}", server.host)})

    return respond


@pytest.mark.usefixtures("attacker_dns")
def test_a_registry_named_like_loopback_gets_no_credentials_over_plain_http(tmp_path: Path) -> None:
    with Hostile(challenging_registry('Basic realm="r"'), address="127.0.0.2") as attacker:
        registry = f"127{ATTACKER_DOMAIN}:{attacker.host.rpartition(':')[2]}"
        pool = logged_in_pool(registry)
        try:
            with pytest.raises(RegistryError) as failure:
                pool.get(registry).blob_exists("team/app", "sha256:" + "0" * 64, push=True)
        finally:
            pool.close()
        assert_no_secret(attacker.received)
        assert not pool.get(registry).plain_http_allowed
    assert "insecure-registries" in str(failure.value)  # it was asked for HTTPS, which a plain-HTTP server cannot give


@pytest.mark.usefixtures("attacker_dns")
@pytest.mark.parametrize("realm_host", [f"127.0.0.1{ATTACKER_DOMAIN}:{{port}}", f"127.0.0.1@evil{ATTACKER_DOMAIN}:{{port}}"])
def test_a_token_realm_named_like_loopback_gets_no_credentials_over_plain_http(tmp_path: Path, realm_host: str) -> None:
    def token_service(request: Received, server: Hostile) -> Answer:
        return Answer(200, {"Content-Type": "application/json"}, b'{"token": "attacker-token"}')

    with Hostile(token_service, address="127.0.0.2") as attacker:
        realm = "http://" + realm_host.format(port=attacker.host.rpartition(":")[2]) + "/token"
        with Hostile(challenging_registry(f'Bearer realm="{realm}",service="s"')) as registry:
            pool = logged_in_pool(registry.host)
            try:
                with pytest.raises(RegistryError) as failure:
                    pool.get(registry.host).blob_exists("team/app", "sha256:" + "0" * 64, push=True)
            finally:
                pool.close()
        assert attacker.received == []  # not even asked: the realm's own host is not loopback
    assert "plain HTTP" in str(failure.value)


# --- 8. the fleet cache is optional: failing to write it leaves the push's result standing ------------------------------
@pytest.mark.parametrize("fault", [
    Fault("status", method="PUT", path="/manifests/pyjib-cache-", times=None, status=400, error=("MANIFEST_INVALID", "manifest invalid")),
    Fault("drop", method="PUT", path="/manifests/pyjib-cache-", times=None),
], ids=["manifest-invalid", "dropped"])
def test_a_push_whose_fleet_cache_write_fails_still_succeeds(pyjib: Pyjib, base_ref: str, upstream: Registry, tmp_path: Path,
                                                            fault: Fault) -> None:
    repository = f"attack/fleet-{fault.action}"
    with FaultProxy(upstream.host) as proxy:
        proxy.add(fault)
        for attempt in range(2):  # and again: a later push is not stuck on the record it cannot write
            digest_file, refs_file = tmp_path / f"digest-{attempt}", tmp_path / f"refs-{attempt}"
            result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{proxy.host}/{repository}:1",
                               "--digest-file", str(digest_file), "--image-refs", str(refs_file), env={"PYJIB_HTTP_RETRIES": "2"})
            assert result.returncode == 0, result.stderr
            digest = result.stdout.strip().rpartition("@")[2]
            assert result.stdout.strip() == f"{proxy.host}/{repository}@{digest}"
            assert digest_file.read_text() == digest + "\n"
            assert refs_file.read_text() == f"{proxy.host}/{repository}:1@{digest}\n"
            assert [line for line in result.stderr.splitlines() if line.startswith("pyjib: warning:")] != []
            assert len([line for line in result.stderr.splitlines() if line.startswith("pyjib: ")]) == 1  # one warning, no error
            assert "Traceback" not in result.stderr
        assert fault.hits >= 2  # the record was tried, and refused, on both pushes
    assert skopeo_digest(f"{upstream.host}/{repository}:1", "--tls-verify=false") == digest
    assert not [tag for tag in tags(upstream, repository) if tag.startswith("pyjib-cache-")]


# --- 9. bounded reads -------------------------------------------------------------------------------------------------
HUGE = 100 << 20  # what a hostile registry offers; pyjib must stop long before


def endless(piece: bytes = b"A" * (64 << 10), total: int = HUGE) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def huge_answer(status: int, *, declared: bool, prefix: bytes = b"", content_type: str = "application/json") -> Answer:
    headers = {"Content-Type": content_type, **({"Content-Length": str(len(prefix) + HUGE)} if declared else {})}
    return Answer(status, headers, prefix, stream=endless())


def bare_client(host: str) -> ClientPool:
    return ClientPool(retry=QUICK, timeout=10)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_blob_longer_than_its_descriptor_is_cut_at_its_size_and_refused(tmp_path: Path, declared: bool) -> None:
    blob = b"the real layer " * 1000
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()

    def respond(request: Received, server: Hostile) -> Answer:
        if request.path == "/v2/":
            return Answer(200, {}, b"")
        headers = {"Content-Type": "application/octet-stream", **({"Content-Length": str(len(blob) + HUGE)} if declared else {})}
        return Answer(200, headers, blob, stream=endless())

    cache = BlobCache(tmp_path / "cache")
    with Hostile(respond) as registry:
        pool = bare_client(registry.host)
        try:
            with pytest.raises(RegistryError) as failure:
                pool.get(registry.host).fetch_blob("team/app", digest, len(blob), cache)
        finally:
            pool.close()
        assert registry.bytes_sent < HUGE // 4  # pyjib stopped reading; the rest was never sent
    assert registry.count("GET", "/blobs/") >= 1  # the blob was asked for, and refused
    assert not cache.has(digest) and (not cache.blobs.exists() or list(cache.blobs.iterdir()) == [])  # nothing kept, no temp file
    assert str(len(blob)) in str(failure.value) and "\n" not in str(failure.value)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_huge_base_manifest_is_refused_with_one_line(pyjib: Pyjib, tmp_path: Path, declared: bool) -> None:
    def respond(request: Received, server: Hostile) -> Answer:
        if request.path == "/v2/":
            return Answer(200, {"Content-Type": "application/json"}, b"{}")
        return huge_answer(200, declared=declared, prefix=b'{"schemaVersion": 2, "layers": ["', content_type=OCI_MANIFEST)

    with Hostile(respond) as registry:
        result = run_pyjib(pyjib.cache_dir, "build", str(EXAMPLES / "greet-cli"), "--from", f"{registry.host}/base/python:1",
                           "--to", f"oci:{tmp_path / 'out'}")
        assert registry.bytes_sent < HUGE // 4
    line = assert_clean_failure(result, registry.host)
    assert str(MANIFEST_LIMIT >> 20) in line and len(line) < 400
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_huge_token_answer_is_refused(tmp_path: Path, declared: bool) -> None:
    def respond(request: Received, server: Hostile) -> Answer:
        if request.path.startswith("/token"):
            return huge_answer(200, declared=declared, prefix=b'{"token": "')
        return Answer(401, {"WWW-Authenticate": f'Bearer realm="http://{server.host}/token",service="s"'})

    with Hostile(respond) as registry:
        pool = bare_client(registry.host)
        try:
            with pytest.raises(RegistryError) as failure:
                pool.get(registry.host).blob_exists("team/app", "sha256:" + "0" * 64)
        finally:
            pool.close()
        assert registry.count("GET", "/token") == 1 and registry.bytes_sent < HUGE // 4
    assert str(TOKEN_LIMIT >> 10) in str(failure.value) and len(str(failure.value)) < 400


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_a_huge_error_body_becomes_one_short_line(tmp_path: Path, declared: bool) -> None:
    def respond(request: Received, server: Hostile) -> Answer:
        if request.path == "/v2/":
            return Answer(200, {}, b"")
        return huge_answer(400, declared=declared, prefix=b'{"errors": [{"code": "DENIED", "message": "line one\nline two ')

    with Hostile(respond) as registry:
        pool = bare_client(registry.host)
        try:
            with pytest.raises(RegistryError) as failure:
                pool.get(registry.host).get_manifest("team/app", "1")
        finally:
            pool.close()
        assert registry.bytes_sent < HUGE // 4
    message = str(failure.value)
    assert "\n" not in message and len(message) < 400 and "400" in message


# --- 10. a chunked upload whose Range never advances fails after the retry budget ---------------------------------------
@pytest.mark.parametrize("stuck_at", ["0-1023", "0-0"])
def test_a_registry_whose_range_never_advances_fails_the_upload_after_the_retry_budget(tmp_path: Path, stuck_at: str) -> None:
    def respond(request: Received, server: Hostile) -> Answer:
        location = {"Location": "/v2/team/app/blobs/uploads/stuck", "Range": stuck_at}
        if request.path == "/v2/":
            return Answer(200)
        if request.method == "HEAD":
            return Answer(404)
        if request.method == "POST":
            return Answer(202, {**location, "OCI-Chunk-Min-Length": "1024"})
        if request.method in ("PATCH", "GET"):
            return Answer(202 if request.method == "PATCH" else 204, location)
        return Answer(400)

    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 10_000)
    digest = "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest()
    with Hostile(respond) as registry:
        pool = bare_client(registry.host)
        try:
            client = pool.get(registry.host)
            client.chunk_size = 1  # the registry's minimum wins: 1 KiB chunks
            with pytest.raises(RegistryError) as failure:
                client.upload_blob("team/app", digest, 10_000, blob)
        finally:
            pool.close()
        patches = registry.count("PATCH")
    assert patches <= 2 * QUICK.tries + 2  # at most the chunk that seemed to move it forward and the stuck one, a try; not 10,000
    assert f"after {QUICK.tries} tries" in str(failure.value)


# --- 7. a registry echoing the Authorization header does not get it printed ----------------------------------------------
ECHOED_TOKEN = "opaque-registry-token-4f1c9a"


def echoing_registry(scheme: str) -> Callable[[Received, Hostile], Answer]:
    """Challenges for a login, then refuses the request, quoting what it got back (its Authorization, and it decoded)."""
    def respond(request: Received, server: Hostile) -> Answer:
        if request.path.startswith("/token"):
            return Answer(200, {"Content-Type": "application/json"}, json.dumps({"token": ECHOED_TOKEN}).encode())
        authorization = request.headers.get("authorization")
        if request.path == "/v2/" or authorization is None:
            challenge = f'Bearer realm="http://{server.host}/token",service="s"' if scheme == "bearer" else 'Basic realm="r"'
            return Answer(401, {"WWW-Authenticate": challenge})
        credential = authorization.split(" ", 1)[1]
        decoded = base64.b64decode(credential).decode(errors="replace") if scheme == "basic" else credential
        message = f"malformed header {authorization!r} (that is {decoded!r}; bare: {credential})"
        body = json.dumps({"errors": [{"code": "DENIED", "message": message}]}).encode()
        return Answer(403 if scheme == "bearer" else 400, {"Content-Type": "application/json"}, body)

    return respond


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_a_registry_echoing_the_authorization_header_gets_it_redacted(pyjib: Pyjib, tmp_path: Path, scheme: str) -> None:
    with Hostile(echoing_registry(scheme)) as registry:
        result = run_pyjib(pyjib.cache_dir, "build", str(EXAMPLES / "greet-cli"), "--from", f"{registry.host}/base/python:1",
                           "--to", f"oci:{tmp_path / 'out'}", env={"PYJIB_USERNAME": USER, "PYJIB_PASSWORD": PASSWORD})
        echoed = [r for r in registry.received if "/manifests/" in r.path and "authorization" in r.headers]
    assert echoed  # the registry did get the credential, and quoted it back
    line = assert_clean_failure(result, "DENIED")
    output = result.stdout + result.stderr
    assert not any(secret in output for secret in (*SECRETS, ECHOED_TOKEN)), line
    assert "[redacted]" in line


# --- 1. the fleet cache reads only records it can trust --------------------------------------------------------------
FLEET_KEY = {"PYJIB_CACHE_KEY": "key-only-trusted-builds-hold"}


def put_blob(registry: Registry, repository: str, data: bytes) -> dict[str, object]:
    """An attacker's push: one blob, monolithic, straight to the registry."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = httpx.post(f"{registry.url}/v2/{repository}/blobs/uploads/")
    location = httpx.URL(registry.url).join(started.headers["location"])
    done = httpx.put(location.copy_merge_params({"digest": digest}), content=data)
    assert done.status_code == 201, done.text
    return {"digest": digest, "size": len(data)}


def rewrite_record(registry: Registry, repository: str, tag: str, *, keep_mac: bool) -> str:
    """What a pull-request pipeline that can push to the repository can do: add a layer of its own to the record and
    make it never expire. Returns the planted layer's digest."""
    manifest = httpx.get(f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}).json()
    record = httpx.get(f"{registry.url}/v2/{repository}/blobs/{manifest['config']['digest']}").json()
    planted = put_blob(registry, repository, b"attacker layer " + os.urandom(64))
    record["layers"].append({**record["layers"][-1], "digest": planted["digest"], "size": planted["size"], "name": "extra"})
    record["created"] = 9e12
    config = put_blob(registry, repository, json.dumps(record).encode())
    manifest["config"] = {**manifest["config"], **config}
    manifest["layers"].append({"mediaType": manifest["layers"][-1]["mediaType"], **planted})
    if not keep_mac:
        manifest["annotations"].pop("dev.pyjib.cache.hmac-sha256", None)
    stored = httpx.put(f"{registry.url}/v2/{repository}/manifests/{tag}", content=json.dumps(manifest), headers={"Content-Type": OCI_MANIFEST})
    assert stored.status_code == 201, stored.text
    return str(planted["digest"])


@pytest.mark.parametrize("keep_mac", [True, False], ids=["mac-copied", "mac-removed"])
def test_a_rewritten_fleet_cache_record_is_ignored_by_a_trusted_build(base_ref: str, upstream: Registry, tmp_path: Path, keep_mac: bool) -> None:
    repository = f"attack/fleet-trust-{'copied' if keep_mac else 'removed'}"
    target = f"{upstream.host}/{repository}:1"
    project = tmp_path / "greet-cli"
    shutil.copytree(EXAMPLES / "greet-cli", project)
    first = run_pyjib(tmp_path / "runner-1", "push", str(project), "--from", base_ref, "--to", target, env=FLEET_KEY)
    assert first.returncode == 0, first.stderr
    record_tags = [t for t in tags(upstream, repository) if t.startswith("pyjib-cache-")]
    assert len(record_tags) == 1
    signed = httpx.get(f"{upstream.url}/v2/{repository}/manifests/{record_tags[0]}", headers={"Accept": OCI_MANIFEST}).json()
    assert "dev.pyjib.cache.hmac-sha256" in signed["annotations"]

    # A trusted runner with the key, before the attack, uses the record.
    second = run_pyjib(tmp_path / "runner-2", "push", str(project), "--from", base_ref, "--to", target, env=FLEET_KEY)
    assert second.returncode == 0, second.stderr
    assert not cache_records(tmp_path / "runner-2", "resolutions")  # the record's layers stood in for resolving and installing

    planted = rewrite_record(upstream, repository, record_tags[0], keep_mac=keep_mac)
    third = run_pyjib(tmp_path / "runner-3", "push", str(project), "--from", base_ref, "--to", target, env=FLEET_KEY)
    assert third.returncode == 0, third.stderr
    warnings = [line for line in third.stderr.splitlines() if line.startswith("pyjib: warning:")]
    assert len(warnings) == 1 and record_tags[0] in warnings[0]
    assert cache_records(tmp_path / "runner-3", "resolutions")  # it built the layers itself
    digest = third.stdout.strip().rpartition("@")[2]
    shipped = httpx.get(f"{upstream.url}/v2/{repository}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}).json()
    assert planted not in [layer["digest"] for layer in shipped["layers"]]
    assert [layer["digest"] for layer in shipped["layers"]] == [
        layer["digest"] for layer in httpx.get(f"{upstream.url}/v2/{repository}/manifests/{second.stdout.strip().rpartition('@')[2]}",
                                               headers={"Accept": OCI_MANIFEST}).json()["layers"]]  # what it would have made itself


def test_without_a_key_the_fleet_cache_is_written_and_read_only_when_the_repository_is_trusted(base_ref: str, upstream: Registry,
                                                                                              tmp_path: Path) -> None:
    target = f"{upstream.host}/attack/fleet-nokey:1"
    no_key = {"PYJIB_CACHE_KEY": ""}
    first = run_pyjib(tmp_path / "runner-1", "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", target, env=no_key)
    assert first.returncode == 0, first.stderr
    assert [t for t in tags(upstream, "attack/fleet-nokey") if t.startswith("pyjib-cache-")]  # written
    second = run_pyjib(tmp_path / "runner-2", "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", target, env=no_key)
    assert second.returncode == 0, second.stderr
    assert cache_records(tmp_path / "runner-2", "resolutions")  # an unauthenticated record is not read: it resolved itself
    third = run_pyjib(tmp_path / "runner-3", "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", target,
                      "--registry-cache-trust", "repository", env=no_key)
    assert third.returncode == 0, third.stderr
    assert not cache_records(tmp_path / "runner-3", "resolutions")  # the trusted repository's record was used
    assert third.stdout == second.stdout  # the same image either way


def test_a_named_cache_repository_keeps_records_out_of_the_application_repository(base_ref: str, upstream: Registry, tmp_path: Path) -> None:
    cache_repository = f"{upstream.host}/attack/pyjib-cache"
    options = ["--from", base_ref, "--registry-cache-repository", cache_repository]
    first = run_pyjib(tmp_path / "runner-1", "push", str(EXAMPLES / "greet-cli"), *options, "--to", f"{upstream.host}/attack/app-one:1", env=FLEET_KEY)
    assert first.returncode == 0, first.stderr
    # no pyjib-cache-* tags in the application's repository (the sha256-HEX tag lists the image's SBOM and provenance)
    assert [t for t in tags(upstream, "attack/app-one") if not t.startswith("sha256-")] == ["1"]
    assert len([t for t in tags(upstream, "attack/pyjib-cache") if t.startswith("pyjib-cache-")]) == 1
    # A fresh runner building another application with the same dependencies finds the record there.
    second = run_pyjib(tmp_path / "runner-2", "push", str(EXAMPLES / "greet-cli"), *options, "--to", f"{upstream.host}/attack/app-two:1", env=FLEET_KEY)
    assert second.returncode == 0, second.stderr
    assert not cache_records(tmp_path / "runner-2", "resolutions")  # the record's layers stood in for resolving and installing
    assert [t for t in tags(upstream, "attack/app-two") if not t.startswith("sha256-")] == ["1"]
    digest = second.stdout.strip().rpartition("@")[2]
    assert skopeo_digest(f"{upstream.host}/attack/app-two:1", "--tls-verify=false") == digest
    assert digest == first.stdout.strip().rpartition("@")[2]  # the same image as the runner that built everything
