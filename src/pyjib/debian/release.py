"""A suite's InRelease: its OpenPGP signature checked with gpgv against the archive keyring, then its index hashes read."""

from __future__ import annotations

import email.utils
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import PyjibError
from .control import ControlError, one_paragraph


class TrustError(PyjibError):
    """Archive data whose signature or hash does not check out."""


@dataclass(frozen=True)
class IndexFile:
    path: str  # relative to dists/SUITE/, such as main/binary-amd64/Packages.xz
    sha256: str  # hex
    size: int


@dataclass(frozen=True)
class Release:
    suite: str
    codename: str
    by_hash: bool  # the archive serves indexes under by-hash/SHA256/HEX, which never change under a download
    files: dict[str, IndexFile]
    date: str


def verify_signature(signed: bytes, keyring: Path, what: str) -> str:
    """The signed text of an inline-signed (clearsigned) file, only when gpgv finds a good signature by a key of keyring."""
    gpgv = shutil.which("gpgv")
    if gpgv is None:
        raise TrustError("gpgv is needed to check the archive's signature: apt-get install gpgv")
    if not keyring.is_file():
        raise TrustError(f"keyring {keyring} does not exist: apt-get install debian-archive-keyring, or name one with --keyring")
    with tempfile.TemporaryDirectory(prefix="pyjib-gpgv-") as tmp:
        source, output = Path(tmp) / "InRelease", Path(tmp) / "signed"
        source.write_bytes(signed)
        proc = subprocess.run([gpgv, "--status-fd", "1", "--keyring", str(keyring), "--output", str(output), str(source)],
                              capture_output=True, text=True)
        status = proc.stdout.split()
        # VALIDSIG is a good signature whose key is in the keyring; a BADSIG anywhere means the text was changed.
        if proc.returncode != 0 or "[GNUPG:] VALIDSIG" not in proc.stdout or "BADSIG" in status:
            reason = "bad signature" if "BADSIG" in status else "no signature by a key of the keyring"
            raise TrustError(f"{what}: {reason} ({keyring}); the mirror may be tampered with or the keyring out of date")
        return output.read_text(encoding="utf-8", errors="strict")


def _expired(valid_until: str, now: float) -> bool:
    try:
        parsed = email.utils.parsedate_to_datetime(valid_until)
    except (TypeError, ValueError):
        return False
    return parsed.timestamp() < now


def parse_release(text: str, what: str, now: float | None = None) -> Release:
    """The checked text's fields; an expired Valid-Until is refused, as apt does, since a replayed old index hides fixes."""
    try:
        fields = one_paragraph(text, what)
    except ControlError as exc:
        raise TrustError(f"{what}: {exc}") from exc
    if (valid_until := fields.get("Valid-Until")) and _expired(valid_until, time.time() if now is None else now):
        raise TrustError(f"{what} expired on {valid_until}: the mirror is stale (or the clock wrong); use a current mirror")
    files = {}
    for line in fields.get("SHA256", "").splitlines():
        parts = line.split()
        if len(parts) == 3:
            files[parts[2]] = IndexFile(parts[2], parts[0].lower(), int(parts[1]))
    if not files:
        raise TrustError(f"{what} lists no SHA256 hashes; pyjib trusts no index without one")
    return Release(fields.get("Suite", ""), fields.get("Codename", ""), fields.get("Acquire-By-Hash", "no") == "yes", files,
                   fields.get("Date", ""))
