"""The registry client's protocol handling against an in-memory registry (httpx.MockTransport), for what the real
registry cannot be made to do on demand: exact retry timings, 413s, redirects to storage, token expiry, TLS failures."""

from __future__ import annotations

import base64
import hashlib
import ssl
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pyjib.cache import BlobCache
from pyjib.errors import RegistryError
from pyjib.log import SILENT
from pyjib.oci import mediatypes
from pyjib.oci.descriptor import Descriptor
from pyjib.oci.image import Blob, Image
from pyjib.reference import Reference
from pyjib.registry import ClientPool, RegistryClient
from pyjib.registry.challenges import Credentials
from pyjib.registry.retry import RetryPolicy
from pyjib.transports import Delivery, Session, parse_location
from pyjib.transports.remote import mountable, push
from pyjib.transports.remote_blobs import push_blobs

Hook = Callable[[httpx.Request], httpx.Response | None]


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    """Just enough of the distribution API, over MockTransport. `hook` may answer (or raise) before the registry does."""

    def __init__(self, host: str = "reg.example", *, chunk_min: int | None = None, relative: bool = False, max_body: int | None = None,
                 basic: tuple[str, str] | None = None) -> None:
        self.host, self.chunk_min, self.relative, self.max_body, self.basic = host, chunk_min, relative, max_body, basic
        self.blobs: dict[str, bytes] = {}
        self.uploads: dict[str, bytearray] = {}
        self.manifests: dict[tuple[str, str], bytes] = {}
        self.log: list[httpx.Request] = []
        self.hook: Hook | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self, **kwargs: object) -> RegistryClient:
        options: dict[str, object] = {"transport": self.transport(), "retry": RetryPolicy(sleep=lambda _: None), **kwargs}
        return RegistryClient(self.host, **options)  # type: ignore[arg-type]

    def _location(self, request: httpx.Request, session: str) -> str:
        path = f"/v2/{request.url.path.split('/v2/')[1].split('/blobs/')[0]}/blobs/uploads/{session}"
        return path if self.relative else f"https://{self.host}{path}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.log.append(request)
        if self.hook is not None and (answer := self.hook(request)) is not None:
            return answer
        if self.basic and request.headers.get("authorization") != "Basic " + base64.b64encode(":".join(self.basic).encode()).decode():
            return httpx.Response(401, headers={"www-authenticate": 'Basic realm="fake"'})
        path, method = request.url.path, request.method
        if path == "/v2/":
            return httpx.Response(200)
        repository, _, rest = path[len("/v2/"):].partition("/blobs/") if "/blobs/" in path else path[len("/v2/"):].partition("/manifests/")
        if "/manifests/" in path:
            key = (repository, rest)
            if method == "PUT":
                self.manifests[key] = self.manifests[(repository, digest_of(request.content))] = request.content
                return httpx.Response(201, headers={"docker-content-digest": digest_of(request.content)})
            if key not in self.manifests:
                return httpx.Response(404)
            manifest = self.manifests[key]
            return httpx.Response(200, content=b"" if method == "HEAD" else manifest,
                                  headers={"docker-content-digest": digest_of(manifest), "content-type": mediatypes.OCI_MANIFEST})
        if rest == "uploads/" and method == "POST":
            session = uuid.uuid4().hex
            self.uploads[session] = bytearray()
            headers = {"location": self._location(request, session)}
            if self.chunk_min:
                headers["oci-chunk-min-length"] = str(self.chunk_min)
            return httpx.Response(202, headers=headers)
        if rest.startswith("uploads/"):
            session = rest[len("uploads/"):]
            if session not in self.uploads:
                return httpx.Response(404)
            data = self.uploads[session]
            if method == "GET":
                return httpx.Response(204, headers={"location": self._location(request, session), "range": f"0-{max(len(data) - 1, 0)}"})
            if method == "PATCH":
                start = int(request.headers["content-range"].split("-")[0])
                if start != len(data):
                    return httpx.Response(416)
                data += request.content
                return httpx.Response(202, headers={"location": self._location(request, session), "range": f"0-{len(data) - 1}"})
            if method == "PUT":
                if self.max_body is not None and len(request.content) > self.max_body:
                    return httpx.Response(413)
                data += request.content
                digest = request.url.params["digest"]
                if digest_of(bytes(data)) != digest:
                    return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID", "message": "digest mismatch"}]})
                self.blobs[digest] = bytes(data)
                del self.uploads[session]
                return httpx.Response(201, headers={"docker-content-digest": digest})
        if rest in self.blobs:
            return httpx.Response(200, content=b"" if method == "HEAD" else self.blobs[rest])
        return httpx.Response(404)


def blob_file(tmp_path: Path, size: int = 50_000, name: str = "blob") -> tuple[Path, str, bytes]:
    data = (hashlib.sha256(name.encode()).digest() * (size // 32 + 1))[:size]
    path = tmp_path / name
    path.write_bytes(data)
    return path, digest_of(data), data


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --- retries ---------------------------------------------------------------------------------------------------------
def test_retryable_statuses_are_retried_with_growing_jittered_waits() -> None:
    fake, failures = FakeRegistry(), [503, 502, 500]
    fake.hook = lambda r: httpx.Response(failures.pop(0)) if r.method == "PUT" and failures else None
    sleeps = Sleeps()
    client = fake.client(retry=RetryPolicy(sleep=sleeps, rand=lambda: 1.0))
    assert client.put_manifest("team/app", "1", b"{}", mediatypes.OCI_MANIFEST) == digest_of(b"{}")
    assert sleeps == [0.5, 1.0, 2.0]  # base 0.5 s doubling; rand=1.0 shows the cap of each full-jitter window
    assert [r.method for r in fake.log].count("PUT") == 4


def test_retry_after_is_honoured() -> None:
    fake, answered = FakeRegistry(), list[int]()

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PUT" and not answered:
            answered.append(1)
            return httpx.Response(429, headers={"retry-after": "7"})
        return None

    fake.hook, sleeps = hook, Sleeps()
    fake.client(retry=RetryPolicy(sleep=sleeps, rand=lambda: 0.0)).put_manifest("a", "1", b"{}", mediatypes.OCI_MANIFEST)
    assert sleeps == [7.0]


def test_tries_are_bounded_and_the_error_names_the_step_and_last_status() -> None:
    fake = FakeRegistry()
    fake.hook = lambda r: httpx.Response(503) if r.method == "PUT" else None
    with pytest.raises(RegistryError) as caught:
        fake.client().put_manifest("team/app", "1.0", b"{}", mediatypes.OCI_MANIFEST)
    message = str(caught.value)
    assert "store manifest team/app:1.0" in message and "503" in message and "after 5 tries" in message and "\n" not in message
    assert [r.method for r in fake.log].count("PUT") == 5


def test_other_statuses_are_not_retried() -> None:
    fake = FakeRegistry()
    fake.hook = lambda r: httpx.Response(400, json={"errors": [{"code": "MANIFEST_INVALID", "message": "bad"}]}) if r.method == "PUT" else None
    with pytest.raises(RegistryError, match="MANIFEST_INVALID: bad"):
        fake.client().put_manifest("a", "1", b"{}", mediatypes.OCI_MANIFEST)
    assert [r.method for r in fake.log].count("PUT") == 1


def test_connection_errors_are_retried() -> None:
    fake, broken = FakeRegistry(), [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ConnectError]

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.method == "HEAD" and broken:
            raise broken.pop(0)("connection trouble", request=request)
        return None

    fake.hook = hook
    assert fake.client().blob_exists("a", "sha256:" + "0" * 64) is False
    assert [r.method for r in fake.log].count("HEAD") == 4


# --- uploads ----------------------------------------------------------------------------------------------------------
def test_monolithic_upload_dropped_mid_body_is_sent_again_from_the_file(tmp_path: Path) -> None:
    fake, dropped = FakeRegistry(), list[int]()
    path, digest, data = blob_file(tmp_path)

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PUT" and not dropped:
            dropped.append(len(request.content))
            raise httpx.WriteError("connection reset by peer", request=request)
        return None

    fake.hook = hook
    fake.client().upload_blob("a", digest, len(data), path)
    assert fake.blobs[digest] == data and dropped == [len(data)]
    methods = [r.method for r in fake.log]
    assert methods == ["GET", "POST", "PUT", "HEAD", "GET", "PUT"]  # ping, start, cut, already there?, where are we?, again


def test_chunked_upload_when_the_registry_asks_for_chunks(tmp_path: Path) -> None:
    fake = FakeRegistry(chunk_min=10_000)
    path, digest, data = blob_file(tmp_path, 45_000)
    positions: list[int] = []
    fake.client(chunk_size=1).upload_blob("a", digest, len(data), path, on_progress=positions.append)
    patches = [r.headers["content-range"] for r in fake.log if r.method == "PATCH"]
    assert patches == ["0-9999", "10000-19999", "20000-29999", "30000-39999", "40000-44999"]
    final = [r for r in fake.log if r.method == "PUT"]
    assert len(final) == 1 and final[0].content == b"" and fake.blobs[digest] == data
    assert positions[-1] == len(data) and positions == sorted(positions)


def test_a_broken_chunk_resumes_at_the_registry_s_offset(tmp_path: Path) -> None:
    fake, cut = FakeRegistry(chunk_min=10_000), list[int]()
    path, digest, data = blob_file(tmp_path, 35_000)

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PATCH" and request.headers["content-range"].startswith("20000-") and not cut:
            cut.append(1)
            # the registry received half of the chunk before the connection broke
            session = request.url.path.rsplit("/", 1)[1]
            fake.uploads[session] += request.content[:5_000]
            raise httpx.ReadError("connection reset", request=request)
        return None

    fake.hook = hook
    fake.client(chunk_size=1).upload_blob("a", digest, len(data), path)
    patches = [r.headers["content-range"] for r in fake.log if r.method == "PATCH"]
    assert patches == ["0-9999", "10000-19999", "20000-29999", "25000-34999"]  # from where the registry said it stood
    assert fake.blobs[digest] == data and [r.method for r in fake.log].count("POST") == 1


def test_413_on_the_monolithic_put_falls_back_to_chunks(tmp_path: Path) -> None:
    fake = FakeRegistry(max_body=20_000)
    path, digest, data = blob_file(tmp_path, 50_000)
    fake.client(chunk_size=16_384).upload_blob("a", digest, len(data), path)
    assert fake.blobs[digest] == data
    assert [r.headers["content-range"] for r in fake.log if r.method == "PATCH"] == ["0-16383", "16384-32767", "32768-49151", "49152-49999"]


@pytest.mark.parametrize("relative", [True, False])
def test_relative_and_absolute_locations(relative: bool, tmp_path: Path) -> None:
    fake = FakeRegistry(relative=relative, chunk_min=20_000)
    path, digest, data = blob_file(tmp_path)
    fake.client(chunk_size=1).upload_blob("team/app", digest, len(data), path)
    assert fake.blobs[digest] == data
    assert all(r.url.host == "reg.example" and r.url.scheme == "https" for r in fake.log)


def test_an_upload_that_never_gets_through_fails_clearly(tmp_path: Path) -> None:
    fake = FakeRegistry()
    fake.hook = lambda r: httpx.Response(503, headers={"retry-after": "1"}) if r.method == "PUT" else None
    path, digest, data = blob_file(tmp_path)
    with pytest.raises(RegistryError) as caught:
        fake.client().upload_blob("team/app", digest, len(data), path)
    assert f"upload blob {digest[:19]} to team/app (503 Service Unavailable) after 5 tries" in str(caught.value)


# --- redirects, TLS, plain HTTP ---------------------------------------------------------------------------------------
def test_blob_redirects_are_followed_without_our_authorization(tmp_path: Path) -> None:
    fake = FakeRegistry(basic=("ci", "pw"))
    storage: list[httpx.Request] = []
    blob = b"layer bytes from object storage"
    digest = digest_of(blob)

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "storage.example":
            storage.append(request)
            return httpx.Response(200, content=blob)
        if request.url.path.endswith(f"/blobs/{digest}") and request.headers.get("authorization"):
            return httpx.Response(307, headers={"location": f"https://storage.example/bucket/{digest}?X-Amz-Signature=abc"})
        return None

    fake.hook = hook
    client = fake.client(credentials=Credentials("ci", "pw", "test"))
    path = client.fetch_blob("team/app", digest, len(blob), BlobCache(tmp_path / "cache"))
    assert path.read_bytes() == blob and client.blob_exists("team/app", digest)
    assert len(storage) == 2 and all("authorization" not in r.headers for r in storage)


def test_a_certificate_that_does_not_verify_is_neither_retried_nor_downgraded() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
        raise httpx.ConnectError("certificate verify failed") from cause

    client = RegistryClient("127.0.0.1:5000", transport=httpx.MockTransport(handler), retry=RetryPolicy(sleep=lambda _: None))
    with pytest.raises(RegistryError, match=r"cannot verify the TLS certificate of registry 127.0.0.1:5000 .*--ca-cert"):
        client.blob_exists("a", "sha256:" + "0" * 64)
    assert seen == ["https://127.0.0.1:5000/v2/"]


def test_credentials_never_go_over_plain_http_to_a_remote_host() -> None:
    fake = FakeRegistry("reg.internal:5000", basic=("ci", "pw"))

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.scheme == "https":
            raise httpx.ConnectError("no TLS here", request=request)
        return None

    fake.hook = hook
    client = fake.client(insecure=True, credentials=Credentials("ci", "pw", "test"))
    with pytest.raises(RegistryError, match="sends credentials only over HTTPS"):
        client.blob_exists("a", "sha256:" + "0" * 64)
    assert fake.log and all("authorization" not in r.headers for r in fake.log)


def test_credentials_never_go_to_a_plain_http_token_service_on_another_host() -> None:
    fake, realm_requests = FakeRegistry(), []

    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "auth.example":
            realm_requests.append(request)
            return httpx.Response(200, json={"token": "t"})
        if not request.headers.get("authorization"):
            return httpx.Response(401, headers={"www-authenticate": 'Bearer realm="http://auth.example/token",service="reg"'})
        return None

    fake.hook = hook
    with pytest.raises(RegistryError, match=r"token service http://auth\.example/token .* is plain HTTP"):
        fake.client(credentials=Credentials("ci", "pw", "test")).blob_exists("a", "sha256:" + "0" * 64)
    assert realm_requests == []
    assert fake.client(credentials=None, lookup=lambda _: None).blob_exists("a", "sha256:" + "0" * 64) is False  # anonymous is fine


# --- tokens -----------------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_registry(fake: FakeRegistry, tokens: list[httpx.Request], expires_in: int = 60) -> None:
    def hook(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "auth.example":
            tokens.append(request)
            return httpx.Response(200, json={"token": f"T{len(tokens)}", "expires_in": expires_in})
        if not request.headers.get("authorization", "").startswith("Bearer T"):
            return httpx.Response(401, headers={"www-authenticate": 'Bearer realm="https://auth.example/token",service="reg"'})
        return None

    fake.hook = hook


def test_bearer_tokens_are_cached_per_scope_and_renewed_before_they_expire() -> None:
    from pyjib.registry.tokens import TokenCache

    fake, tokens, clock = FakeRegistry(), list[httpx.Request](), Clock()
    token_registry(fake, tokens)
    client = fake.client(credentials=Credentials("ci", "pw", "test"), token_cache=TokenCache(clock))
    zero = "sha256:" + "0" * 64
    client.blob_exists("team/app", zero, push=True)
    client.blob_exists("team/app", zero)  # pull is covered by the pull,push token
    clock.now += 30
    client.blob_exists("team/app", zero, push=True)
    assert [r.url.params.get_list("scope") for r in tokens] == [["repository:team/app:pull,push"]]
    client.blob_exists("other/app", zero)  # another scope: another token
    assert len(tokens) == 2
    clock.now += 25  # 55 s after the first token of 60 s: renewed early rather than let it run out mid-request
    client.blob_exists("team/app", zero, push=True)
    assert len(tokens) == 3 and all(r.headers["authorization"].startswith("Basic ") for r in tokens)


def test_a_mount_asks_for_pull_on_its_source_repository() -> None:
    fake, tokens = FakeRegistry(), list[httpx.Request]()
    token_registry(fake, tokens)
    fake.blobs["sha256:" + "1" * 64] = b"x"
    fake.client(credentials=Credentials("ci", "pw", "test")).mount_blob("team/app", "sha256:" + "1" * 64, "base/python")
    assert tokens[-1].url.params.get_list("scope") == ["repository:team/app:pull,push", "repository:base/python:pull"]


def test_an_identity_token_is_exchanged_with_an_oauth2_post() -> None:
    fake, tokens = FakeRegistry(), list[httpx.Request]()
    token_registry(fake, tokens)
    fake.client(credentials=Credentials("<token>", "", "test", identity_token="refresh-1")).blob_exists("a", "sha256:" + "0" * 64)
    assert tokens[0].method == "POST"
    form = dict(pair.split("=", 1) for pair in tokens[0].content.decode().split("&"))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-1" and form["service"] == "reg"


# --- manifests and the push order ---------------------------------------------------------------------------------------
def _image(tmp_path: Path, count: int = 3) -> Image:
    blobs = []
    for number in range(count):
        path, digest, data = blob_file(tmp_path, 1000 + number, f"layer{number}")
        blobs.append(Blob(Descriptor(mediatypes.OCI_LAYER_GZIP, digest, len(data)), lambda p=path: p))  # type: ignore[misc]
    return Image({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}, tuple(blobs))


def test_push_puts_the_manifest_only_after_every_blob_then_the_tags(tmp_path: Path) -> None:
    fake = FakeRegistry()
    image = _image(tmp_path)
    pool = ClientPool(transport=fake.transport(), retry=RetryPolicy(sleep=lambda _: None))
    digest = push(image, Reference(fake.host, "team/app", "1"), ["1", "latest"], pool, BlobCache(tmp_path / "cache"), SILENT)
    writes = [(r.method, r.url.path) for r in fake.log if r.method == "PUT"]
    manifests = [i for i, (_, p) in enumerate(writes) if "/manifests/" in p]
    assert manifests == [4, 5, 6] and writes[4][1].endswith(digest)  # 3 layers and the config, then by digest, then the tags
    assert len(fake.blobs) == 4


def test_a_blob_that_fails_means_no_manifest_at_all(tmp_path: Path) -> None:
    fake = FakeRegistry()
    image = _image(tmp_path)
    bad = image.layers[1].descriptor.digest
    fake.hook = lambda r: httpx.Response(400) if r.method == "PUT" and r.url.params.get("digest") == bad else None
    pool = ClientPool(transport=fake.transport(), retry=RetryPolicy(sleep=lambda _: None))
    with pytest.raises(RegistryError, match=f"upload blob {bad[:19]}"):
        push(image, Reference(fake.host, "team/app", "1"), ["1"], pool, BlobCache(tmp_path / "cache"), SILENT)
    assert not [r for r in fake.log if "/manifests/" in r.url.path]


def test_a_blob_read_from_a_repository_of_the_same_registry_is_mounted_not_uploaded(tmp_path: Path) -> None:
    fake = FakeRegistry()
    (near, far, plain) = _image(tmp_path).layers
    fake.hook = lambda r: httpx.Response(201) if r.method == "POST" and r.url.params.get("mount") else None
    blobs = [mountable(near, Reference(fake.host, "base/python")), mountable(far, Reference("other.example", "base/python")), plain]
    outcomes = push_blobs(fake.client(), "team/app", blobs, SILENT)
    assert outcomes == ["mounted", "uploaded", "uploaded"]
    mounts = [r.url.params for r in fake.log if r.url.params.get("mount")]
    assert [(m["mount"], m["from"]) for m in mounts] == [(near.descriptor.digest, "base/python")]


def test_a_blob_of_the_target_repository_itself_is_no_mount(tmp_path: Path) -> None:
    fake = FakeRegistry()
    layer = _image(tmp_path, 1).layers[0]
    assert push_blobs(fake.client(), "team/app", [mountable(layer, Reference(fake.host, "team/app"))], SILENT) == ["uploaded"]
    assert not [r for r in fake.log if r.url.params.get("mount")]


def test_an_index_goes_up_only_after_every_child_manifest(tmp_path: Path) -> None:
    fake = FakeRegistry()
    amd64 = _image(tmp_path, 1)
    arm64 = Image({**amd64.config, "architecture": "arm64"}, amd64.layers)
    pool = ClientPool(transport=fake.transport(), retry=RetryPolicy(sleep=lambda _: None))
    written = parse_location(f"{fake.host}/team/app:1").write([amd64, arm64], Delivery(), Session(pool, BlobCache(tmp_path / "cache")))
    puts = [r.url.path.rsplit("/", 1)[1] for r in fake.log if r.method == "PUT" and "/manifests/" in r.url.path]
    assert puts == [amd64.digest, arm64.digest, written.digest, "1"]
    assert fake.log[-1].headers["content-type"] == mediatypes.OCI_INDEX
    assert written.references == (f"{fake.host}/team/app:1@{written.digest}",)


@pytest.mark.parametrize("status", [400, 403, 405, 500])
def test_a_registry_that_does_not_answer_a_tag_head_still_gets_the_push(tmp_path: Path, status: int) -> None:
    fake = FakeRegistry()
    image = _image(tmp_path, 1)
    fake.hook = lambda r: httpx.Response(status) if r.method == "HEAD" and "/manifests/" in r.url.path else None
    pool = ClientPool(transport=fake.transport(), retry=RetryPolicy(sleep=lambda _: None))
    written = parse_location(f"{fake.host}/team/app:1").write([image], Delivery(), Session(pool, BlobCache(tmp_path / "cache")))
    assert written.digest == image.digest
    assert fake.manifests[("team/app", "1")] == image.manifest_bytes()


def test_a_tag_that_names_the_image_already_leaves_the_registry_untouched(tmp_path: Path) -> None:
    fake = FakeRegistry()
    image = _image(tmp_path, 1)
    pool = ClientPool(transport=fake.transport(), retry=RetryPolicy(sleep=lambda _: None))
    location, session = parse_location(f"{fake.host}/team/app:1"), Session(pool, BlobCache(tmp_path / "cache"))
    location.write([image], Delivery(), session)
    before = len(fake.log)
    assert location.write([image], Delivery(), session).digest == image.digest
    assert [r.method for r in fake.log[before:]] == ["HEAD"]  # one question about the tag, nothing written
