import pytest

from pyjib.errors import InvalidReferenceError
from pyjib.reference import Reference, is_loopback, parse_reference, url_is_loopback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registry.example.com/team/app:1.4.0", Reference("registry.example.com", "team/app", "1.4.0")),
        ("127.0.0.1:5000/app", Reference("127.0.0.1:5000", "app")),
        ("localhost/app:dev", Reference("localhost", "app", "dev")),
        ("python", Reference("registry-1.docker.io", "library/python")),
        ("docker.io/library/python:3.12", Reference("registry-1.docker.io", "library/python", "3.12")),
        ("index.docker.io/me/app", Reference("registry-1.docker.io", "me/app")),
        ("gcr.io/distroless/python3-debian13:nonroot", Reference("gcr.io", "distroless/python3-debian13", "nonroot")),
        ("ghcr.io/o/a@sha256:" + "a" * 64, Reference("ghcr.io", "o/a", None, "sha256:" + "a" * 64)),
        ("[::1]:5000/a/b:t", Reference("[::1]:5000", "a/b", "t")),
    ],
)
def test_parse(text: str, expected: Reference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["", "Upper/Case", "host/app:bad tag", "a/b:" + "x" * 129, "h.io/a@sha256:abc", "h.io/a//b", "h.io/"])
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(InvalidReferenceError, match="invalid image reference"):
        parse_reference(text)


def test_identifier_and_str() -> None:
    ref = parse_reference("r.io/a/b:1")
    assert ref.identifier == "1" and str(ref) == "r.io/a/b:1"
    assert parse_reference("r.io/a").identifier == "latest"
    pinned = parse_reference("r.io/a/b@sha256:" + "0" * 64)
    assert str(pinned) == "r.io/a/b@sha256:" + "0" * 64 and pinned.identifier == "sha256:" + "0" * 64


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1:5000", True), ("localhost", True), ("LocalHost:80", True), ("[::1]:80", True), ("::1", True), ("127.5.5.5", True),
    ("10.0.0.1:5000", False), ("example.com", False),
    # Names that only look like loopback resolve wherever their owner wants.
    ("127.attacker.example", False), ("127.0.0.1.example", False), ("127.0.0.1.example:5000", False), ("127.0.0.1@evil.example", False),
    ("127.0.0.1:5000@evil.example", False), ("localhost.evil.example", False), ("[::1].evil.example", False), ("127.0.0.1:x", False),
])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:5000/token", True), ("http://localhost/token", True), ("http://[::1]:8080/t", True),
    ("http://127.0.0.1@evil.example/token", False), ("http://127.0.0.1:80@evil.example/token", False),
    ("http://127.attacker.example/token", False), ("http://127.0.0.1.example:80/token", False), ("http://evil.example/#@127.0.0.1", False),
])
def test_url_loopback_parses_the_host(url: str, loopback: bool) -> None:
    assert url_is_loopback(url) is loopback
