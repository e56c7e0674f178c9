"""The registry client's protocol handling, against httpx.MockTransport for what the real registry tests cannot steer."""

import base64
import json
from pathlib import Path

import httpx
import pytest

from pyjib.errors import RegistryError
from pyjib.reference import DOCKER_HUB
from pyjib.registry import RegistryClient
from pyjib.registry.challenges import Credentials, parse_challenge
from pyjib.registry.credentials import stored_credentials
from pyjib.registry.retry import RetryPolicy

NO_WAIT = RetryPolicy(sleep=lambda _: None)


def test_parse_challenge() -> None:
    challenge = parse_challenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push"}
    assert parse_challenge('Basic realm="r"').scheme == "basic"


def test_docker_config_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    auth = base64.b64encode(b"me:pw").decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}, "r.io": {"username": "u", "password": "p"}}}))
    hub = stored_credentials(DOCKER_HUB)
    assert hub is not None and (hub.username, hub.password) == ("me", "pw")
    other = stored_credentials("r.io")
    assert other is not None and other.username == "u" and "pw" not in repr(hub)
    assert stored_credentials("elsewhere.io") is None


def _token_registry(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.example":
            if request.headers.get("authorization") != "Basic " + base64.b64encode(b"ci:pw").decode():
                return httpx.Response(401)
            return httpx.Response(200, json={"token": "T-" + ",".join(request.url.params.get_list("scope"))})
        if request.headers.get("authorization", "").startswith("Bearer T-"):
            if request.url.path.endswith("/manifests/1"):
                return httpx.Response(200, content=b"{}", headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})
            return httpx.Response(200)
        return httpx.Response(401, headers={"www-authenticate": 'Bearer realm="https://auth.example/token",service="reg"'})

    return httpx.MockTransport(handler)


def test_bearer_token_flow_with_basic_credentials() -> None:
    seen: list[httpx.Request] = []
    client = RegistryClient("reg.example", credentials=Credentials("ci", "pw", "test"), transport=_token_registry(seen))
    data, media_type, digest = client.get_manifest("team/app", "1")
    assert data == b"{}" and media_type == "application/vnd.oci.image.manifest.v1+json" and digest.startswith("sha256:")
    token_requests = [r for r in seen if r.url.host == "auth.example"]
    assert len(token_requests) == 1
    assert token_requests[0].url.params.get_list("scope") == ["repository:team/app:pull"]
    assert token_requests[0].url.params["service"] == "reg"
    # the token is reused for the next request, without a new challenge
    assert client.blob_exists("team/app", "sha256:" + "0" * 64)
    assert len([r for r in seen if r.url.host == "auth.example"]) == 1


def test_refused_token_names_the_source_and_not_the_secret() -> None:
    client = RegistryClient("reg.example", credentials=Credentials("ci", "hunter2", "/x/config.json (auths['reg.example'])"),
                            transport=_token_registry([]))
    with pytest.raises(RegistryError) as caught:
        client.get_manifest("team/app", "1")
    message = str(caught.value)
    assert "reg.example" in message and "/x/config.json" in message and "hunter2" not in message


def test_https_is_required_for_remote_hosts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("tls handshake failed", request=request)

    client = RegistryClient("registry.example.com", credentials=None, transport=httpx.MockTransport(handler), retry=NO_WAIT)
    with pytest.raises(RegistryError, match="insecure-registries"):
        client.blob_exists("a", "sha256:" + "0" * 64)


def test_plain_http_is_used_for_loopback_only_after_https_fails() -> None:
    schemes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        schemes.append(request.url.scheme)
        if request.url.scheme == "https":
            raise httpx.ConnectError("not TLS", request=request)
        return httpx.Response(404 if "blobs" in request.url.path else 200)

    client = RegistryClient("127.0.0.1:5000", credentials=None, transport=httpx.MockTransport(handler), retry=NO_WAIT)
    assert client.blob_exists("a", "sha256:" + "0" * 64) is False
    assert schemes[0] == "https" and schemes[-1] == "http"


def test_manifest_put_checks_the_returned_digest() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, headers={"docker-content-digest": "sha256:" + "f" * 64})

    client = RegistryClient("127.0.0.1:1", credentials=None, transport=httpx.MockTransport(handler))
    with pytest.raises(RegistryError, match="stored the manifest as"):
        client.put_manifest("a", "1", b"{}", "application/vnd.oci.image.manifest.v1+json")
