"""The Debian archive over HTTP: signed InRelease files, the Packages indexes they vouch for, and .deb files, all cached.

The chain of trust is apt's: InRelease is signed by a key of the keyring, it lists the SHA256 of each Packages index,
and each index lists the SHA256 of each .deb. Nothing is used before its hash is checked.
"""

from __future__ import annotations

import hashlib
import lzma
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..atomicfile import write_bytes
from ..cache import BlobCache, DigestMismatch, cache_key
from ..cachelayout import DEBIAN_INRELEASE
from ..errors import PyjibError
from ..log import SILENT, Log
from .control import ControlError
from .packages import Package, PackageIndex, parse_packages
from .release import Release, TrustError, parse_release, verify_signature
from .sources import DEFAULT_KEYRING, Source

INRELEASE_MAX_AGE = 600.0  # seconds: a suite changes a few times a day; security fixes should not wait longer than this
_TRIES = 3
_CHUNK = 1 << 20


class ArchiveError(PyjibError):
    """The archive could not be reached or does not have what was asked for."""


@dataclass(frozen=True)
class Suite:
    source: Source
    release: Release


def _get(client: httpx.Client, url: str) -> Iterator[bytes]:
    """The body of url in chunks; transport errors and 5xx answers are tried again (until the first byte is passed on:
    after that, a new try would repeat bytes the caller has taken)."""
    started = False
    for attempt in range(1, _TRIES + 1):
        try:
            with client.stream("GET", url) as response:
                if response.status_code == 404:
                    raise FileNotFoundError(url)
                if response.status_code >= 500 and attempt < _TRIES:
                    time.sleep(0.5 * attempt)
                    continue
                if response.status_code != 200:
                    raise ArchiveError(f"GET {url} answered {response.status_code}; check the mirror")
                for chunk in response.iter_bytes(_CHUNK):
                    started = True
                    yield chunk
                return
        except httpx.TransportError as exc:
            if attempt == _TRIES or started:
                raise ArchiveError(f"cannot reach {url}: {exc}; check the mirror and the network") from exc
            time.sleep(0.5 * attempt)


class Archive:
    """Verified downloads from the sources' archives, cached under cache_root (InRelease briefly, the rest by hash)."""

    def __init__(self, sources: list[Source], cache_root: Path, *, keyring: Path | None = None, log: Log = SILENT,
                 client: httpx.Client | None = None) -> None:
        self.sources = sources
        self.keyring = keyring
        self.blobs = BlobCache(cache_root)
        self.inrelease_dir = cache_root / DEBIAN_INRELEASE
        self.log = log
        self.client = client or httpx.Client(timeout=60.0, follow_redirects=True)
        self._suites: list[Suite] | None = None

    def close(self) -> None:
        self.client.close()

    # --- InRelease ---------------------------------------------------------------------------------
    def _inrelease_bytes(self, source: Source) -> bytes | None:
        cached = self.inrelease_dir / f"{cache_key(source.uri, source.suite)}.InRelease"
        if cached.is_file() and time.time() - cached.stat().st_mtime < INRELEASE_MAX_AGE:
            return cached.read_bytes()
        try:
            data = b"".join(_get(self.client, source.url(f"dists/{source.suite}/InRelease")))
        except FileNotFoundError:
            if source.required:
                raise ArchiveError(f"{source.uri} has no suite {source.suite} (dists/{source.suite}/InRelease is missing)") from None
            # Said aloud: a missing -security suite means no security fixes (Debian serves them from debian-security).
            self.log.info(f"note: {source.uri} has no {source.suite}; add the mirror that has it with another --mirror")
            return None
        write_bytes(cached, data)
        return data

    def suites(self) -> list[Suite]:
        """Each source's verified release (a cached InRelease is verified again: the cache is no trust root)."""
        if self._suites is None:
            suites = []
            for source in self.sources:
                data = self._inrelease_bytes(source)
                if data is None:
                    continue
                what = f"{source.url(f'dists/{source.suite}/InRelease')}"
                keyring = self.keyring or source.keyring or DEFAULT_KEYRING
                release = parse_release(verify_signature(data, keyring, what), what)
                if source.suite not in (release.codename, release.suite):
                    # A signed file of another suite (an old release served in place of this one) is no answer.
                    raise TrustError(f"{what} is signed for {release.codename or release.suite}, not {source.suite}; the mirror may be tampered with")
                suites.append(Suite(source, release))
            self._suites = suites
        return self._suites

    # --- Packages ----------------------------------------------------------------------------------
    def _packages_text(self, suite: Suite, component: str, arch: str) -> str | None:
        for name, decompress in ((f"{component}/binary-{arch}/Packages.xz", lzma.decompress), (f"{component}/binary-{arch}/Packages", bytes)):
            entry = suite.release.files.get(name)
            if entry is None:
                continue
            digest = f"sha256:{entry.sha256}"
            if not self.blobs.has(digest):
                directory = name.rsplit("/", 1)[0]
                path = f"{directory}/by-hash/SHA256/{entry.sha256}" if suite.release.by_hash else name
                url = suite.source.url(f"dists/{suite.source.suite}/{path}")
                self.log.info(f"fetching {url}")
                self._store(url, digest, f"{suite.source.suite} {name}")
            return decompress(self.blobs.path(digest).read_bytes()).decode("utf-8", errors="replace")
        return None

    def index(self, arch: str) -> PackageIndex:
        """Every package for arch across the sources' suites (the archive's binary-ARCH index includes Architecture: all)."""
        packages: list[Package] = []
        for suite in self.suites():
            for component in suite.source.components:
                text = self._packages_text(suite, component, arch)
                if text is None:
                    continue
                what = f"{suite.source.suite} {component}/binary-{arch}/Packages"
                try:
                    packages.extend(parse_packages(text, suite.source.uri, what))
                except ControlError as exc:
                    raise TrustError(f"{exc}") from exc
        if not packages:
            raise ArchiveError(f"no Packages index for {arch} in {', '.join(sorted({s.source.suite for s in self.suites()}))}: "
                               "is the architecture right (amd64, arm64)?")
        return PackageIndex.of(packages)

    # --- .deb files --------------------------------------------------------------------------------
    def _store(self, url: str, digest: str, what: str) -> Path:
        try:
            return self.blobs.put_stream(digest, _get(self.client, url))
        except FileNotFoundError:
            raise ArchiveError(f"{url} is missing from the mirror ({what}); the index may be newer than the mirror") from None
        except DigestMismatch as exc:
            raise TrustError(f"{what} from {url} does not match its SHA256 (expected {exc.expected[7:19]}..., got {exc.actual[7:19]}...); "
                             "the mirror may be tampered with") from None

    def deb(self, url: str, sha256: str, name: str) -> Path:
        """The .deb at url, checked against sha256 (from a verified index, or the lock)."""
        digest = f"sha256:{sha256}"
        if self.blobs.has(digest):
            path = self.blobs.path(digest)
            if hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                return path
            path.unlink()  # damaged in the cache: fetch it again
        return self._store(url, digest, f"package {name}")
