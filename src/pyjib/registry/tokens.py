"""Bearer tokens of one registry, cached by scope and renewed before they expire."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

DEFAULT_LIFETIME_S = 60.0  # what the distribution token spec says to assume when expires_in is missing
_EARLY_S = 10.0  # renew this long before expiry, so a token does not run out mid-request


def parse_scope(scope: str) -> tuple[tuple[str, str], frozenset[str]]:
    """'repository:team/app:pull,push' -> (('repository', 'team/app'), {'pull', 'push'}). The name may hold colons (host:port)."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return (kind, name), frozenset(a for a in actions.split(",") if a)


def covers(granted: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether a token asked for `granted` scopes was asked for everything in `wanted`."""
    have: dict[tuple[str, str], set[str]] = {}
    for scope in granted:
        resource, actions = parse_scope(scope)
        have.setdefault(resource, set()).update(actions)
    return all(actions <= have.get(resource, set()) for resource, actions in map(parse_scope, wanted))


@dataclass(frozen=True)
class Token:
    value: str
    scopes: frozenset[str]
    expires: float  # on the cache's clock


class TokenCache:
    """Tokens by the scopes they were asked for. Thread-safe: parallel uploads share it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: list[Token] = []
        self._lock = threading.Lock()
        self.fetch_lock = threading.Lock()  # one token request at a time, so parallel uploads do not each ask for one

    def get(self, scopes: Iterable[str]) -> str | None:
        """A live token asked for at least these scopes."""
        wanted = frozenset(scopes)
        now = self._clock()
        with self._lock:
            self._tokens = [t for t in self._tokens if t.expires > now]
            for token in reversed(self._tokens):  # newest first
                if covers(token.scopes, wanted):
                    return token.value
        return None

    def put(self, scopes: Iterable[str], value: str, expires_in: float | None) -> None:
        lifetime = expires_in if expires_in and expires_in > 0 else DEFAULT_LIFETIME_S
        # A token shorter-lived than the safety margin is still used once, for the request that asked for it.
        expires = self._clock() + max(lifetime - _EARLY_S, min(lifetime, 1.0))
        with self._lock:
            self._tokens.append(Token(value, frozenset(scopes), expires))

    def values(self) -> list[str]:
        """Every token held, live or not: for keeping them out of messages."""
        with self._lock:
            return [t.value for t in self._tokens]

    def forget(self, value: str) -> None:
        """Drop a token the registry refused, so the next request asks for a fresh one."""
        with self._lock:
            self._tokens = [t for t in self._tokens if t.value != value]
