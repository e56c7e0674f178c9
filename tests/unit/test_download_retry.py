"""Wheel downloads try again after a transient failure (a reset connection, a 503), and never keep wrong bytes."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from pyjib.errors import ResolveError
from pyjib.indexes import IndexConfig
from pyjib.resolve import _download_file

BODY = b"wheel bytes " * 1000
SHA = hashlib.sha256(BODY).hexdigest()


class _Flaky(http.server.BaseHTTPRequestHandler):
    failures: ClassVar[list[str]] = []  # what to do on each request, in order; then serve BODY

    def do_GET(self) -> None:
        action = self.failures.pop(0) if self.failures else "serve"
        if action == "reset":
            self.connection.close()  # no answer at all: the client sees a broken connection
            return
        if action.isdigit():
            self.send_response(int(action))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/x-1-py3-none-any.whl"
    httpd.shutdown()


@pytest.mark.parametrize("failures", [["reset"], ["503"], ["reset", "502"]])
def test_a_transient_failure_is_tried_again(server: str, tmp_path: Path, failures: list[str]) -> None:
    _Flaky.failures = list(failures)
    path = _download_file(server, SHA, "x-1-py3-none-any.whl", tmp_path, IndexConfig())
    assert path.read_bytes() == BODY and _Flaky.failures == []


def test_a_permanent_failure_is_one_error_at_once(server: str, tmp_path: Path) -> None:
    _Flaky.failures = ["404", "404", "404"]
    with pytest.raises(ResolveError, match="HTTP 404"):
        _download_file(server, SHA, "x-1-py3-none-any.whl", tmp_path, IndexConfig())
    assert _Flaky.failures == ["404", "404"]  # asked once
    assert not list(tmp_path.rglob("*.whl")) and not list(tmp_path.rglob(".*part"))


def test_failures_past_the_budget_are_one_error(server: str, tmp_path: Path) -> None:
    _Flaky.failures = ["503"] * 5
    with pytest.raises(ResolveError, match="HTTP 503"):
        _download_file(server, SHA, "x-1-py3-none-any.whl", tmp_path, IndexConfig())
    assert len(_Flaky.failures) == 2  # three tries
