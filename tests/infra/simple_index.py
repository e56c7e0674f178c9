"""A private package index for the tests: a PEP 503 "simple" tree served on loopback behind basic auth."""

from __future__ import annotations

import base64
import hashlib
import html
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from packaging.utils import canonicalize_name, parse_wheel_filename


class _Handler(SimpleHTTPRequestHandler):
    expected = ""  # "Basic ..." the handler demands

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class SimpleIndex:
    """Serves ROOT/simple/NAME/ pages and ROOT/files/*.whl; every request needs the username and password."""

    def __init__(self, root: Path, username: str, password: str) -> None:
        self.root = root
        (root / "simple").mkdir(parents=True, exist_ok=True)
        (root / "files").mkdir(exist_ok=True)
        handler = type("Handler", (_Handler,), {"expected": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    def add(self, wheel: Path) -> None:
        target = self.root / "files" / wheel.name
        target.write_bytes(wheel.read_bytes())
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        page = self.root / "simple" / name
        page.mkdir(exist_ok=True)
        (page / "index.html").write_text(
            f'<!DOCTYPE html><html><body><a href="../../files/{html.escape(wheel.name)}#sha256={digest}">{html.escape(wheel.name)}</a>'
            "</body></html>\n"
        )
        names = sorted(p.name for p in (self.root / "simple").iterdir() if p.is_dir())
        (self.root / "simple" / "index.html").write_text(
            "<!DOCTYPE html><html><body>" + "".join(f'<a href="{n}/">{n}</a>' for n in names) + "</body></html>\n"
        )

    def __enter__(self) -> SimpleIndex:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
