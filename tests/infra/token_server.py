"""A small token server for distribution's `auth: token`, as Docker Hub, GHCR or Harbor run one.

GET /token with Basic credentials (or none: anonymous, pull only) and POST /token with an OAuth2 refresh_token
(an identity token) or password grant. Tokens are RS256 JWTs carrying the signing certificate in `x5c`, signed with
`cryptography` (no JWT library needed). Every request is recorded for assertions.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .pki import signing_pair


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class TokenRequest:
    method: str
    account: str | None  # who authenticated; None for anonymous
    scopes: tuple[str, ...]
    grant: str  # "basic", "anonymous", "refresh_token", "password", "refused"


@dataclass
class TokenServer:
    directory: Path
    users: dict[str, str]
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # identity token -> account
    service: str = "pyjib-test-registry"
    issuer: str = "pyjib-test-issuer"
    expires_in: int = 300
    requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key, cert, self.root_cert = signing_pair(self.directory)
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    # --- lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> TokenServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- tokens ---------------------------------------------------------------------------------------
    def record(self, entry: TokenRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def grant(self, account: str | None, scopes: list[str]) -> dict[str, object]:
        """What an account may do: everything on repositories when logged in, pull only when anonymous."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            allowed = wanted if account else [a for a in wanted if a == "pull"]
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": account or "", "aud": self.service, "exp": now + self.expires_in, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}".encode()
        signature = self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input.decode()}.{_b64url(signature)}"
        return {"token": token, "access_token": token, "expires_in": self.expires_in, "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet: the test records what matters
            pass

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _basic(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            basic = self._basic()
            if basic is None:
                server.record(TokenRequest("GET", None, tuple(scopes), "anonymous"))
                return self._answer(200, server.grant(None, scopes))
            user, password = basic
            if server.users.get(user) != password:
                server.record(TokenRequest("GET", user, tuple(scopes), "refused"))
                return self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad login"}]})
            server.record(TokenRequest("GET", user, tuple(scopes), "basic"))
            self._answer(200, server.grant(user, scopes))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            scopes = form.get("scope", "").split()
            grant = form.get("grant_type", "")
            account: str | None = None
            if grant == "refresh_token":
                account = server.refresh_tokens.get(form.get("refresh_token", ""))
            elif grant == "password" and server.users.get(form.get("username", "")) == form.get("password"):
                account = form["username"]
            if account is None:
                server.record(TokenRequest("POST", None, tuple(scopes), "refused"))
                return self._answer(401, {"error": "invalid_grant"})
            server.record(TokenRequest("POST", account, tuple(scopes), grant))
            body = server.grant(account, scopes)
            body.pop("token")  # the OAuth2 answer carries access_token only
            self._answer(200, body)

    return Handler
