"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import socket
import time

import httpx

from tests.infra.podman import Podman


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_when_up(url: str, containers: Podman, cid: str, timeout: float = 30) -> httpx.Response:
    """GET url once the container answers; on timeout, fail with the container's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s; container log:\n{containers.logs(cid).stderr}")
