"""A misbehaving HTTP server on loopback, for attacks and faults the fault proxy cannot stage.

The test gives a function that answers each request (an `Answer`, or None to drop the connection); the server
records every request it gets, with its headers, so a test can assert what pyjib sent (or did not send) there.
It may listen on any loopback address: 127.0.0.2 is loopback and yet another host than 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_REQUESTS = 10_000  # a client in an endless loop is cut off here, so a regression fails instead of hanging


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Iterable[bytes] | None = None  # sent after body, with no Content-Length unless headers give one


Responder = Callable[[Received, "Hostile"], Answer | None]


class Hostile:
    def __init__(self, respond: Responder, *, address: str = "127.0.0.1") -> None:
        self.respond = respond
        self.address = address
        self.received: list[Received] = []
        self.bytes_sent = 0  # of streamed bodies, as far as the socket took them
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self._server is not None
        return f"{self.address}:{self._server.server_address[1]}"

    def count(self, method: str, path_part: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.received if r.method == method and path_part in r.path)

    def __enter__(self) -> Hostile:
        self._server = ThreadingHTTPServer((self.address, 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _handler(server: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def finish(self) -> None:
            with contextlib.suppress(OSError, ValueError):  # the client may hang up on purpose, mid-body
                super().finish()

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                data = b""
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return data
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _handle(self) -> None:
            received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self._body())
            with server._lock:
                server.received.append(received)
                too_many = len(server.received) > MAX_REQUESTS
            answer = None if too_many else server.respond(received, server)
            if answer is None:
                self.close_connection = True
                return
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.stream is None and "content-length" not in {k.lower() for k in answer.headers}:
                self.send_header("Content-Length", str(len(answer.body)))
            if answer.stream is not None and "content-length" not in {k.lower() for k in answer.headers}:
                self.close_connection = True  # the body ends when the connection does
            self.end_headers()
            try:
                if self.command != "HEAD":
                    self.wfile.write(answer.body)
                    for piece in answer.stream or ():
                        self.wfile.write(piece)
                        with server._lock:
                            server.bytes_sent += len(piece)
            except OSError:
                self.close_connection = True  # the client stopped reading: what a bounded reader does

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
