"""The chain of trust: a signed InRelease (Debian's real one, checked by gpgv), then Packages and .deb files by SHA256.

The archive is faked only for attacks: a loopback server hands out the real signed InRelease with tampered files.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from pyjib.debian.archive import Archive
from pyjib.debian.release import TrustError, parse_release, verify_signature
from pyjib.debian.sources import DEFAULT_KEYRING, Source

# Refreshed by `apt-get update` (.ci/setup runs it): bookworm's InRelease as the archive signed it.
INRELEASE = Path("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease")
OTHER_KEYRING = Path("/usr/share/keyrings/debian-archive-bullseye-stable.gpg")  # real keys, but not bookworm's signers


@pytest.fixture(scope="module")
def signed() -> bytes:
    assert INRELEASE.is_file(), "run apt-get update first: the test reads the host's copy of bookworm's InRelease"
    return INRELEASE.read_bytes()


def test_a_good_signature_gives_the_signed_text(signed: bytes) -> None:
    release = parse_release(verify_signature(signed, DEFAULT_KEYRING, "InRelease"), "InRelease")
    assert release.codename == "bookworm" and release.by_hash
    entry = release.files["main/binary-amd64/Packages.xz"]
    assert len(entry.sha256) == 64 and entry.size > 1_000_000


def test_a_changed_byte_is_refused(signed: bytes) -> None:
    tampered = signed.replace(b"main/binary-amd64/Packages.xz", b"main/binary-amd64/Packages.xy", 1)
    assert tampered != signed
    with pytest.raises(TrustError, match="bad signature"):
        verify_signature(tampered, DEFAULT_KEYRING, "InRelease")


def test_a_keyring_without_the_signers_is_refused(signed: bytes) -> None:
    with pytest.raises(TrustError, match="no signature by a key of the keyring"):
        verify_signature(signed, OTHER_KEYRING, "InRelease")


def test_an_unsigned_file_is_refused() -> None:
    with pytest.raises(TrustError):
        verify_signature(b"Codename: bookworm\nSHA256:\n 00 1 main/x\n", DEFAULT_KEYRING, "InRelease")


def test_expired_or_hashless_releases_are_refused() -> None:
    text = "Codename: bookworm-security\nValid-Until: Mon, 07 Dec 2026 00:22:33 UTC\nSHA256:\n " + "a" * 64 + " 12 main/x\n"
    assert parse_release(text, "r", now=0).files["main/x"].size == 12
    with pytest.raises(TrustError, match="expired"):
        parse_release(text, "r", now=2_000_000_000)
    with pytest.raises(TrustError, match="no SHA256"):
        parse_release("Codename: bookworm\n", "r")


class _Files(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(signed: bytes) -> Iterator[tuple[str, dict[str, bytes]]]:
    files = {"/debian/dists/bookworm/InRelease": signed}
    handler = type("Handler", (_Files,), {"files": files})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/debian", files
    server.shutdown()
    server.server_close()


def test_a_signed_release_of_another_suite_is_refused(mirror: tuple[str, dict[str, bytes]], signed: bytes, tmp_path: Path) -> None:
    uri, files = mirror
    files["/debian/dists/bookworm-updates/InRelease"] = signed  # bookworm's, replayed as bookworm-updates
    archive = Archive([Source(uri, "bookworm-updates")], tmp_path)
    with pytest.raises(TrustError, match="signed for bookworm, not bookworm-updates"):
        archive.suites()
    archive.close()


def test_a_tampered_packages_index_is_refused_and_not_cached(mirror: tuple[str, dict[str, bytes]], signed: bytes, tmp_path: Path) -> None:
    uri, files = mirror
    release = parse_release(verify_signature(signed, DEFAULT_KEYRING, "InRelease"), "InRelease")
    wanted = release.files["main/binary-amd64/Packages.xz"].sha256
    files[f"/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/{wanted}"] = b"\xfd7zXZ\x00 not the index the release vouches for"
    archive = Archive([Source(uri, "bookworm")], tmp_path)
    with pytest.raises(TrustError, match="does not match its SHA256"):
        archive.index("amd64")
    archive.close()
    assert not (tmp_path / "blobs/sha256" / wanted).exists()
    assert [p.name for p in (tmp_path / "blobs/sha256").iterdir()] == []


def test_a_tampered_deb_is_refused_and_a_good_one_kept(mirror: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    uri, files = mirror
    good = b"!<arch>\nthe real package"
    files["/debian/pool/main/a/a_1_amd64.deb"] = b"!<arch>\nsomething else"
    archive = Archive([], tmp_path)
    with pytest.raises(TrustError, match=r"package a from .* does not match its SHA256"):
        archive.deb(f"{uri}/pool/main/a/a_1_amd64.deb", hashlib.sha256(good).hexdigest(), "a")
    files["/debian/pool/main/a/a_1_amd64.deb"] = good
    path = archive.deb(f"{uri}/pool/main/a/a_1_amd64.deb", hashlib.sha256(good).hexdigest(), "a")
    archive.close()
    assert path.read_bytes() == good
