"""A fault-injecting HTTP proxy on loopback, in front of the real registry.

Requests are forwarded unchanged (the Host header too, so the registry's Location headers point back at the proxy),
except where a Fault matches: answer a status (503, 429 with Retry-After, ...), drop the connection part-way through
the request body (optionally after passing part of it on to the registry), or stall. It can also make the registry
look like one that wants chunked uploads (OCI-Chunk-Min-Length), sends relative Location headers, sends uploads to
another host (`location_host`: the Location of a started upload points there), or has the referrers API of
distribution-spec 1.1 (`oci_subject`: a stored manifest's subject is answered with OCI-Subject). Every request is recorded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
_PIECE = 64 << 10


@dataclass
class Fault:
    """What to do to matching requests. `times` matching requests get it (None: every one, forever), after `skip` pass."""

    action: str  # "status", "drop" or "stall"
    method: str | None = None
    path: str = ""  # a regex searched in the request's path and query
    times: int | None = 1
    skip: int = 0
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    forward: float = 0.0  # drop: the fraction of the body passed on to the registry before both connections are cut
    seconds: float = 0.0  # stall: how long to hold the request
    then: str = "forward"  # stall: afterwards "forward" the request, or "drop" the connection
    content_range: str | None = None  # a regex the request's Content-Range must match
    error: tuple[str, str] = ("UNAVAILABLE", "")  # status: the error code and message of the JSON body
    hits: int = 0
    _seen: int = 0

    def matches(self, method: str, path: str, content_range: str | None) -> bool:
        if self.content_range is not None and (content_range is None or not re.search(self.content_range, content_range)):
            return False
        return (self.method is None or self.method == method) and re.search(self.path, path) is not None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int | None  # None when the connection was dropped
    fault: str | None
    content_range: str | None


class FaultProxy:
    def __init__(self, upstream: str, *, chunk_min_length: int | None = None, relative_locations: bool = False,
                 location_host: str | None = None, oci_subject: bool = False) -> None:
        self.upstream = upstream  # host:port of the real registry (plain HTTP)
        self.chunk_min_length = chunk_min_length
        self.relative_locations = relative_locations
        self.location_host = location_host
        self.oci_subject = oci_subject
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def add(self, *faults: Fault) -> FaultProxy:
        with self._lock:
            self.faults.extend(faults)
        return self

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()

    def take(self, method: str, path: str, content_range: str | None = None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if not fault.matches(method, path, content_range) or (fault.times is not None and fault.hits >= fault.times):
                    continue
                fault._seen += 1
                if fault._seen <= fault.skip:
                    continue
                fault.hits += 1
                return fault
        return None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def __enter__(self) -> FaultProxy:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # releases stalled requests
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _subject_of(manifest: bytes) -> str | None:
    try:
        return str(json.loads(manifest)["subject"]["digest"])
    except (ValueError, KeyError, TypeError):
        return None


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def finish(self) -> None:
            with contextlib.suppress(OSError, ValueError):  # the connection may have been cut on purpose
                super().finish()

        # --- the body -------------------------------------------------------------------------
        def _length(self) -> int:
            return int(self.headers.get("Content-Length") or 0)

        def _body_pieces(self, limit: int | None = None) -> Any:
            """The request body in pieces, up to limit bytes (Content-Length or chunked framing)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                sent = 0
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return
                    data = self.rfile.read(size)
                    self.rfile.readline()
                    if limit is not None and sent + len(data) > limit:
                        yield data[: limit - sent]
                        return
                    sent += len(data)
                    yield data
            remaining = self._length() if limit is None else min(limit, self._length())
            while remaining > 0:
                data = self.rfile.read(min(_PIECE, remaining))
                if not data:
                    return
                remaining -= len(data)
                yield data

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):  # linger 0: the client sees a reset, as from a crashed load balancer
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()

        def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes, head: bool = False, length: str | None = None) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", length if head and length is not None else str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        # --- the request ----------------------------------------------------------------------
        def _handle(self) -> None:
            method, path = self.command, self.path
            content_range = self.headers.get("Content-Range")
            fault = proxy.take(method, path, content_range)
            if fault is not None and fault.action == "stall":
                proxy._stop.wait(fault.seconds)
                if fault.then == "drop":
                    self._drop()
                    proxy.record(Seen(method, path, None, "stall", content_range))
                    return
            if fault is not None and fault.action == "status":
                for _ in self._body_pieces():
                    pass
                code, message = fault.error
                body = json.dumps({"errors": [{"code": code, "message": message or f"fault injected: {fault.status}"}]}).encode()
                self._reply(fault.status, [("Content-Type", "application/json"), *fault.headers.items()], body)
                proxy.record(Seen(method, path, fault.status, "status", content_range))
                return
            if fault is not None and fault.action == "drop":
                self._drop_mid_body(fault)
                proxy.record(Seen(method, path, None, "drop", content_range))
                return
            status = self._forward()
            proxy.record(Seen(method, path, status, fault.action if fault else None, content_range))

        def _drop_mid_body(self, fault: Fault) -> None:
            """Read half the body from the client; pass `forward` of it to the registry; then cut both connections."""
            length = self._length()
            passed = int(length * fault.forward)
            upstream = None
            if passed:
                upstream = self._open_upstream(self.command, self.path, chunked=False)
            received = 0
            for piece in self._body_pieces(max(length // 2, passed)):
                if upstream is not None and received < passed:
                    upstream.send(piece[: passed - received])
                received += len(piece)
            if upstream is not None:
                upstream.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                upstream.close()
            self._drop()

        def _open_upstream(self, method: str, path: str, *, chunked: bool) -> http.client.HTTPConnection:
            upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
            upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    upstream.putheader(name, value)
            if chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            elif self.headers.get("Content-Length") is not None:
                upstream.putheader("Content-Length", self.headers["Content-Length"])
            upstream.endheaders()
            return upstream

        def _forward(self) -> int:
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            upstream = self._open_upstream(self.command, self.path, chunked=chunked)
            body = bytearray()
            try:
                for piece in self._body_pieces():
                    upstream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    if proxy.oci_subject and "/manifests/" in self.path:
                        body += piece
                if chunked:
                    upstream.send(b"0\r\n\r\n")
                response = upstream.getresponse()
                data = response.read()
                headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            finally:
                upstream.close()
            uploads_started = self.command == "POST" and "/blobs/uploads/" in self.path and response.status == 202
            headers = [self._rewrite(k, v, uploads_started) for k, v in headers]
            if proxy.chunk_min_length and uploads_started:
                headers.append(("OCI-Chunk-Min-Length", str(proxy.chunk_min_length)))
            if proxy.oci_subject and self.command == "PUT" and response.status == 201 and (subject := _subject_of(bytes(body))):
                headers.append(("OCI-Subject", subject))
            self._reply(response.status, headers, data, head=self.command == "HEAD", length=response.getheader("Content-Length"))
            return response.status

        def _rewrite(self, name: str, value: str, upload_started: bool) -> tuple[str, str]:
            if name.lower() != "location":
                return name, value
            if proxy.location_host and upload_started:
                return name, re.sub(r"^(https?://[^/]+)?", f"http://{proxy.location_host}", value, count=1)
            if proxy.relative_locations:
                value = re.sub(r"^https?://[^/]+", "", value)
            return name, value

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return Handler
