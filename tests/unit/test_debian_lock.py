"""The base lock: written, read back to the same value, and refused when it no longer fits what is asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyjib.debian.build import checked_lock
from pyjib.debian.lock import BaseLock, LockedPackage, read_lock, write_lock
from pyjib.debian.request import base_request
from pyjib.errors import ConfigError

LIBC = LockedPackage("libc6", "2.36-9+deb12u10", "amd64", "http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb",
                     "a" * 64, 2_000_000)
LOCK = BaseLock("bookworm", "3.11", ("libpq5",), {"linux/amd64": (LIBC,), "linux/arm64": (LIBC,)})


def test_round_trip(tmp_path: Path) -> None:
    write_lock(tmp_path / "base.lock.json", LOCK)
    assert read_lock(tmp_path / "base.lock.json") == LOCK
    assert LOCK.digest("linux/amd64").startswith("sha256:")


def test_a_lock_for_other_packages_or_platforms_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    asked = base_request({"to": "oci:x", "packages": ["libpq5"], "platforms": ["linux/arm64"]}, {}, "f")
    assert list(checked_lock(asked, LOCK, path).platforms) == ["linux/arm64"]  # a subset of the locked platforms is fine
    with pytest.raises(ConfigError, match=r"not what is asked .*delete it"):
        checked_lock(base_request({"to": "oci:x", "packages": ["libpq5", "fonts-dejavu-core"]}, {}, "f"), LOCK, path)
    with pytest.raises(ConfigError, match="has no linux/s390x"):
        checked_lock(base_request({"to": "oci:x", "packages": ["libpq5"], "platforms": ["linux/s390x"]}, {}, "f"), LOCK, path)


@pytest.mark.parametrize(("document", "message"), [
    ("not json", "cannot read the base lock"),
    (json.dumps({"lock-version": 9}), "not a pyjib base lock"),
    (json.dumps({"lock-version": 1, "platforms": {"linux/amd64": [{"name": "x"}]}}), "lacks a valid"),
    (json.dumps({"lock-version": 1, "platforms": {"linux/amd64": [{**LIBC.__dict__, "sha256": "../../etc"}]}}), "64-digit hex"),
])
def test_a_damaged_lock_is_one_error(tmp_path: Path, document: str, message: str) -> None:
    (tmp_path / "l.json").write_text(document)
    with pytest.raises(ConfigError, match=message):
        read_lock(tmp_path / "l.json")
