"""docker-daemon: finding the engine, and the archive streamed into it (the real engine load is in e2e)."""

from __future__ import annotations

import http.server
import io
import json
import socket
import socketserver
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyjib.errors import PyjibError
from pyjib.transports import daemon, tarball
from tests.unit.test_layout_writes import _image


def _listening_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


def test_streamed_archive_is_the_written_one_and_tar_reads_it(tmp_path: Path) -> None:
    image = _image(tmp_path, "streamed")
    tarball.write_archive(tmp_path / "app.tar", image, ["app:dev"])
    streamed = b"".join(tarball.archive_chunks(image, ["app:dev"]))
    assert streamed == (tmp_path / "app.tar").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert entry["RepoTags"] == ["app:dev"]
        layer = tar.extractfile(entry["Layers"][0])
        assert layer is not None and layer.read() == image.layers[0].fetch().read_bytes()


def test_a_cached_blob_grown_longer_stops_the_stream(tmp_path: Path) -> None:
    image = _image(tmp_path, "longer")
    cached = image.layers[0].fetch()
    cached.write_bytes(cached.read_bytes() + b"extra")
    with pytest.raises(PyjibError, match="damaged"):
        b"".join(tarball.archive_chunks(image, ["app:dev"]))


def test_engine_order_docker_host_then_docker_then_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon, "DOCKER_SOCKET", tmp_path / "docker.sock")
    monkeypatch.setattr(daemon, "ROOTFUL_PODMAN_SOCKET", tmp_path / "rootful.sock")
    (tmp_path / "podman").mkdir()
    with _listening_socket(tmp_path / "podman" / "podman.sock"), _listening_socket(tmp_path / "own.sock"):
        environ = {"XDG_RUNTIME_DIR": str(tmp_path)}
        assert daemon.find_engine(environ).socket == tmp_path / "podman" / "podman.sock"
        with _listening_socket(tmp_path / "docker.sock"):
            assert daemon.find_engine(environ).socket == tmp_path / "docker.sock"
            assert daemon.find_engine({**environ, "DOCKER_HOST": f"unix://{tmp_path}/own.sock"}).socket == tmp_path / "own.sock"


def test_no_engine_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon, "DOCKER_SOCKET", tmp_path / "docker.sock")
    monkeypatch.setattr(daemon, "ROOTFUL_PODMAN_SOCKET", tmp_path / "rootful.sock")
    with pytest.raises(daemon.EngineError) as raised:
        daemon.find_engine({})
    assert str(tmp_path / "docker.sock") in str(raised.value) and "\n" not in str(raised.value)


class _RefusingEngine(http.server.BaseHTTPRequestHandler):
    """Answers a load as Docker does when it cannot use the archive: 200, and the failure in the JSON stream."""

    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            type(self).received += len(self.rfile.read(length))
        else:  # chunked: read until the zero-length chunk
            while (size := int(self.rfile.readline().strip(), 16)) > 0:
                type(self).received += len(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
        body = b'{"errorDetail":{"message":"unsupported layer"},"error":"unsupported layer"}\n'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _UnixHTTPServer(socketserver.UnixStreamServer):
    def get_request(self):  # type: ignore[no-untyped-def]
        request, _ = super().get_request()
        return request, ("engine", 0)  # BaseHTTPRequestHandler wants a (host, port) client address


@pytest.fixture
def refusing_engine(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "engine.sock"
    server = _UnixHTTPServer(str(path), _RefusingEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


def test_an_engine_refusal_inside_a_200_answer_is_an_error(refusing_engine: Path, tmp_path: Path) -> None:
    image = _image(tmp_path, "refused")
    chunks = list(tarball.archive_chunks(image, ["app:dev"]))
    with pytest.raises(daemon.EngineError, match="unsupported layer"):
        daemon.load(daemon.Engine(refusing_engine, "DOCKER_HOST"), iter(chunks))
    assert _RefusingEngine.received == sum(len(c) for c in chunks)  # the whole archive went over the socket

