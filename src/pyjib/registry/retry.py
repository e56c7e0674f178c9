"""When a registry request is worth sending again, and how long to wait first."""

from __future__ import annotations

import email.utils
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..errors import ConfigError

# The statuses a registry, a load balancer or a rate limiter uses for "not now"; anything else will not change on retry.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """A bounded number of tries with exponential backoff and full jitter, so parallel uploads do not retry in lockstep."""

    tries: int = 5
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 60.0  # a registry asking for longer than this gets this
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 for the first). Retry-After is a minimum; jitter is added on top."""
        jitter = self.rand() * min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + jitter / 4
        return jitter

    def wait(self, retry: int, retry_after: float | None = None) -> None:
        self.sleep(self.delay(retry, retry_after))


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


# OpenSSL's reasons when the other end answered in plain HTTP (or garbage): that host does not speak TLS on that port.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"})


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def tls_failure(exc: BaseException) -> str | None:
    """How TLS failed, if it did: "certificate" (the peer does not verify), "not-tls" (the peer speaks plain HTTP),
    "handshake" (refused, e.g. for want of a client certificate), or None (not a TLS problem, or a dropped connection)."""
    error = _ssl_error(exc)
    if error is None or isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return None
    if isinstance(error, ssl.SSLCertVerificationError) or error.reason == "CERTIFICATE_VERIFY_FAILED":
        return "certificate"
    if error.reason in _NOT_TLS:
        return "not-tls"
    return "handshake"


def is_transient(exc: httpx.TransportError) -> bool:
    """Connection resets, timeouts and truncated responses may go away; TLS refusals and protocol misuse will not."""
    if tls_failure(exc) is not None:
        return False
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def policy_from_environment() -> RetryPolicy:
    """PYJIB_HTTP_RETRIES overrides the number of tries (at least 1)."""
    text = os.environ.get("PYJIB_HTTP_RETRIES")
    if not text:
        return RetryPolicy()
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"PYJIB_HTTP_RETRIES must be a whole number of tries, at least 1, not {text!r}")
    return RetryPolicy(tries=int(text))


def timeout_from_environment(default: float = 60.0) -> float:
    """PYJIB_HTTP_TIMEOUT: seconds a connection may stay silent before the request is retried."""
    text = os.environ.get("PYJIB_HTTP_TIMEOUT")
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 24 * 3600:  # inf and nan would reach the socket layer and fail there with a traceback
        raise ConfigError(f"PYJIB_HTTP_TIMEOUT must be a positive number of seconds up to a day, not {text!r}")
    return seconds
