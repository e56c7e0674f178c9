import json
import os
import platform
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pydantic_core
from pydantic import BaseModel, Field, ValidationError


class Quote(BaseModel):
    text: str = Field(min_length=1)
    author: str = "anonymous"


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"machine": platform.machine(), "pydantic_core": pydantic_core.__version__})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            quote = Quote.model_validate_json(raw)
        except ValidationError as exc:
            self._send(422, {"errors": exc.errors(include_url=False, include_context=False)})
            return
        self._send(201, quote.model_dump())


def main() -> None:
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000"))), Handler)
    server.serve_forever()
