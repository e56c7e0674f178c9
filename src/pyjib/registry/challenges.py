"""Registry credentials as values, and the parsing of WWW-Authenticate challenges (RFC 7235)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Credentials:
    """A login for one registry: a username and password, or an identity token (an OAuth2 refresh token)."""

    username: str
    password: str = field(repr=False)
    source: str  # where they came from, for error messages; never the secret itself
    identity_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        kind = ", identity token" if self.identity_token else ""
        return f"Credentials(username={self.username!r}, source={self.source!r}{kind})"

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Every form in which this login may come back in a registry's words: the secrets, and their base64."""
        plain = [s for s in (self.password, self.identity_token, f"{self.username}:{self.password}") if s]
        encoded = [encode(p.encode()) for p in plain for encode in (base64.b64encode, base64.urlsafe_b64encode)]
        return [*plain, *(e.decode() for e in encoded), *(e.decode().rstrip("=") for e in encoded)]


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer", "basic", ...
    params: dict[str, str]


# RFC 7230 token characters, and a quoted-string with backslash escapes.
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_SCHEME = re.compile(rf"\s*({_TOKEN})")
# A bare value should be a token; servers also send URLs unquoted, so anything up to a space or comma is taken.
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))', re.DOTALL)
_TOKEN68 = re.compile(r"\s*[A-Za-z0-9\-._~+/]+=*\s*(?=,|$)")
_SEPARATORS = re.compile(r"[\s,]*")
_COMMA = re.compile(r"\s*,")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate header, in order. Never raises: garbage is skipped."""
    challenges: list[Challenge] = []
    pos = 0
    while True:
        separators = _SEPARATORS.match(header, pos)
        pos = separators.end() if separators else pos
        if pos >= len(header):
            return challenges
        scheme = _SCHEME.match(header, pos)
        if scheme is None:  # not a token: skip one character and look again
            pos += 1
            continue
        params: dict[str, str] = {}
        pos = scheme.end()
        if token68 := _TOKEN68.match(header, pos):  # e.g. "Negotiate abc==": a blob, not parameters
            pos = token68.end()
        while param := _PARAM.match(header, pos):
            quoted, bare = param.group(2), param.group(3)
            params.setdefault(param.group(1).lower(), _ESCAPE.sub(r"\1", quoted) if quoted is not None else bare)
            pos = param.end()
            comma = _COMMA.match(header, pos)
            if comma is None or not _PARAM.match(header, comma.end()):
                break  # what follows the comma is the next challenge's scheme
            pos = comma.end()
        challenges.append(Challenge(scheme.group(1).lower(), params))


def parse_challenge(header: str) -> Challenge:
    """The challenge pyjib answers: Bearer if offered, else Basic, else the first one."""
    challenges = parse_challenges(header)
    for wanted in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == wanted:
                return challenge
    return challenges[0] if challenges else Challenge("", {})


# What an Authorization header or a JWT looks like, whoever's it is: a registry echoing a request has no business showing it.
_AUTHORIZATION = re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SHORTEST_SECRET = 4  # shorter strings are everywhere in ordinary text; blanking them would hide the message, not a secret


def redact(text: str, secrets: Iterable[str]) -> str:
    """text with every secret, anything after Basic or Bearer, and any JWT replaced by [redacted]."""
    for secret in sorted({s for s in secrets if len(s) >= _SHORTEST_SECRET}, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)} [redacted]", text)
    return _JWT.sub("[redacted]", text)
