"""Logging in to one registry: which Authorization a request carries, answering a 401's challenge (Basic, or a Bearer
token from the realm, asked for with the login or, for an identity token, exchanged as an OAuth2 refresh token), and
keeping the registry's credentials and tokens away from every other host."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlencode, urlsplit

from ..errors import one_line
from ..reference import url_is_loopback
from .challenges import Challenge, Credentials, parse_challenge, redact
from .credentials import places_looked
from .errors import RegistryRequestError, first_code
from .limits import TOKEN_LIMIT
from .tokens import TokenCache
from .transport import Transport, origin


def _basic_authorization(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _may_send_credentials(url: str) -> bool:
    """Over HTTPS, or plain HTTP to a URL whose own host is loopback (a token realm too, whatever the registry is)."""
    scheme = urlsplit(url).scheme.lower()
    return scheme == "https" or (scheme == "http" and url_is_loopback(url))


class Login:
    """The login of one client: its credentials (explicit, else looked up once when first needed), the registry's
    latest challenge and the tokens it gave. Thread-safe: parallel uploads share one."""

    def __init__(self, http: Transport, *, credentials: Credentials | None, lookup: Callable[[str], Credentials | None],
                 token_cache: TokenCache | None) -> None:
        self._http = http
        self.registry = http.registry
        self._explicit = credentials
        self._lookup = lookup
        self._found: Credentials | None = None
        self._looked = False
        self._tokens = token_cache or TokenCache()
        self._challenge: Challenge | None = None  # the registry's last challenge, answered before it is asked again
        # Anonymous tokens of other hosts the registry sends requests to (an upload Location elsewhere), by origin:
        # the registry's credentials and tokens never go there.
        self._foreign_tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def credentials(self) -> Credentials | None:
        """The explicit login, else the first one found in the credentials files (looked up once, when first needed)."""
        if self._explicit is not None:
            return self._explicit
        with self._lock:
            if not self._looked:
                self._found = self._lookup(self.registry)
                self._looked = True
            return self._found

    def redact(self, text: str) -> str:
        """A registry's words without the credentials and tokens of this client, should the registry echo them."""
        credentials = self.credentials()
        held = [*self._tokens.values(), *self._foreign_tokens.values()]
        return redact(text, [*(credentials.secrets() if credentials else []), *held])

    def credential_hint(self) -> str:
        if credentials := self.credentials():
            return f"credentials from {credentials.source} were tried: check them, or log in again"
        return (f"no credentials were found (looked at {places_looked()}): log in with `docker login {self.registry}`, "
                "or give --username with --password-stdin")

    def _current_challenge(self) -> Challenge | None:
        if self._challenge is None and self._http.first_challenge:
            self._challenge = parse_challenge(self._http.first_challenge)
        return self._challenge

    def authorization(self, url: str, scopes: Sequence[str]) -> dict[str, str]:
        """What to send before being asked: the registry's credentials or tokens only to its own origin; another host
        gets at most the anonymous token it asked for itself."""
        if not self._http.is_own_origin(url):
            token = self._foreign_tokens.get(origin(url))
            return {"Authorization": f"Bearer {token}"} if token else {}
        challenge = self._current_challenge()
        if challenge is None:
            return {}
        if challenge.scheme == "basic":
            credentials = self.credentials()
            if credentials and not credentials.identity_token and _may_send_credentials(url):
                return {"Authorization": _basic_authorization(credentials)}
            return {}
        if challenge.scheme == "bearer" and scopes and "realm" in challenge.params:
            token = self._tokens.get(scopes) or self._fetch_token(challenge, scopes)
            return {"Authorization": f"Bearer {token}"}
        return {}

    def answer(self, url: str, header: str, scopes: Sequence[str], refused: str | None, code: str | None = None) -> None:
        """Take up a 401's challenge (header), so the request to url can be sent again with what it asks for; refused
        is the Authorization that was sent and refused, code the 401's registry error code (for the error, if any)."""
        if self._http.is_own_origin(url):
            self._answer_own(parse_challenge(header), scopes, refused, code)
        else:
            self._answer_foreign(url, parse_challenge(header), scopes, code)

    def _answer_own(self, challenge: Challenge, scopes: Sequence[str], refused: str | None, code: str | None) -> None:
        if refused and refused.startswith("Bearer "):
            self._tokens.forget(refused[len("Bearer "):])
        if challenge.scheme == "basic":
            self._check_basic_login(refused, code)
        elif challenge.scheme == "bearer" and "realm" in challenge.params:
            wanted = [*scopes, *(challenge.params.get("scope", "").split())]
            self._fetch_token(challenge, list(dict.fromkeys(s for s in wanted if s)), force=True)
        else:
            raise RegistryRequestError(f"registry {self.registry} asks for an unsupported authentication: {challenge.scheme or 'none given'}",
                                       status=401, code=code)
        self._challenge = challenge

    def _check_basic_login(self, refused: str | None, code: str | None) -> None:
        """That there is a password to send, where it may go, and that it was not just refused."""
        credentials = self.credentials()
        if not credentials:
            raise RegistryRequestError(f"registry {self.registry} asks for a login and {self.credential_hint()}", status=401, code=code)
        if credentials.identity_token:
            raise RegistryRequestError(f"registry {self.registry} asks for a password, but {credentials.source} holds only an identity token",
                                       status=401, code=code)
        if not _may_send_credentials(self._http.base_url):
            raise RegistryRequestError(
                f"registry {self.registry} asks for a login over plain HTTP; pyjib sends credentials only over HTTPS "
                "(or to loopback): serve the registry over TLS", status=401, code=code,
            )
        if refused and refused.startswith("Basic "):
            raise RegistryRequestError(f"registry {self.registry} refused the login (401 unauthorized); {self.credential_hint()}", status=401,
                                       code=code)

    def _answer_foreign(self, url: str, challenge: Challenge, scopes: Sequence[str], code: str | None) -> None:
        """A 401 from another host than the registry (an upload Location elsewhere): credentials belong to the host they
        were given for, so that host gets an anonymous token request, as in go-containerregistry's cross-host handling."""
        host = origin(url)[1]
        if challenge.scheme == "bearer" and "realm" in challenge.params:
            wanted = challenge.params.get("scope", "").split() or list(scopes)
            token, _ = self._request_token(challenge, wanted, None)
            self._foreign_tokens[origin(url)] = token
            return
        raise RegistryRequestError(
            f"registry {self.registry} sent a request to {host}, which asks for a login ({challenge.scheme or 'no scheme'}); "
            f"pyjib sends the credentials of {self.registry} to {self.registry} only", status=401, code=code,
        )

    def _fetch_token(self, challenge: Challenge, scopes: Sequence[str], force: bool = False) -> str:
        with self._tokens.fetch_lock:
            if not force and (cached := self._tokens.get(scopes)):
                return cached  # another upload fetched it while this one waited
            token, expires_in = self._request_token(challenge, scopes, self.credentials())
            self._tokens.put(scopes, token, expires_in)
            return token

    def _request_token(self, challenge: Challenge, scopes: Sequence[str], credentials: Credentials | None) -> tuple[str, float | None]:
        """A token from the challenge's realm, asked for with credentials, or anonymously when they are None."""
        realm = challenge.params["realm"]
        service = challenge.params.get("service")
        if credentials and not _may_send_credentials(realm):
            raise RegistryRequestError(
                f"the token service {realm} of {self.registry} is plain HTTP; pyjib sends credentials only over HTTPS (or to loopback)"
            )
        step = f"get a token from {realm}"
        if credentials and credentials.identity_token:
            # An identity token is an OAuth2 refresh token, exchanged with a POST (as docker and go-containerregistry do).
            form = {"grant_type": "refresh_token", "refresh_token": credentials.identity_token, "client_id": "pyjib",
                    "scope": " ".join(scopes), **({"service": service} if service else {})}
            response = self._http.send("POST", realm, headers={"Content-Type": "application/x-www-form-urlencoded"},
                                       body=urlencode(form).encode(), stream=False, retry=True, step=step, limit=TOKEN_LIMIT)
        else:
            query = [*([("service", service)] if service else []), *(("scope", s) for s in scopes)]
            headers: dict[str, str] = {}
            if credentials:
                query.append(("account", credentials.username))
                headers["Authorization"] = _basic_authorization(credentials)
            url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}" if query else realm
            response = self._http.send("GET", url, headers=headers, body=None, stream=False, retry=True, step=step, limit=TOKEN_LIMIT)
        status, code = response.status_code, first_code(response.content)
        if status in (401, 403):
            raise RegistryRequestError(f"the token service of {self.registry} refused the login ({status}); {self.credential_hint()}",
                                       status=status, code=code)
        if status != 200:
            raise RegistryRequestError(f"the token service of {self.registry} answered {one_line(self.redact(f'{status} {response.reason_phrase}'))}",
                                       status=status, code=code)
        try:
            answer = response.json()
            token = answer.get("token") or answer.get("access_token")
            expires_in = answer.get("expires_in")
        except (ValueError, AttributeError):
            token, expires_in = None, None
        if not token or not isinstance(token, str):
            raise RegistryRequestError(f"the token service of {self.registry} returned no token", status=status)
        return token, float(expires_in) if isinstance(expires_in, int | float) else None
