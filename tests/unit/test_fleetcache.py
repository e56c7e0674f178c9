"""The fleet cache record: what it carries, how it is signed with PYJIB_CACHE_KEY, and which records a runner reads.
Pure functions only: the registry's side is tested end to end (tests/e2e/test_outputs.py, test_registry_attacks.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pyjib.fleetcache import CACHE_MEDIA_TYPE, CLOCK_SKEW_S, KEY_VARIABLE, TAG_PREFIX, FleetRecord, Trust, tag_for
from pyjib.interpreter import BaseFacts, Interpreter
from pyjib.lockedwheel import LockedWheel
from pyjib.oci.descriptor import Descriptor, canonical_json
from pyjib.oci.platforms import Platform
from pyjib.resolve import RESOLUTION_TTL
from pyjib.wheelfacts import WheelFacts

KEY = "4f" * 32  # a cache key: the sha256 of the build's inputs
CREATED = 1_700_000_000.0
BASE = BaseFacts(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")),
                 libraries=frozenset({"libssl.so.3", "libc.so.6"}), found_python="3.11", advertised_python=None, app_dir=(0o755, 0, 0))
WHEEL = LockedWheel("flask", "3.0.3", "https://files.example/flask-3.0.3-py3-none-any.whl", "ab" * 32, "flask-3.0.3-py3-none-any.whl")
LAYER = {"name": "dependencies", "comment": "1 distributions: flask==3.0.3", "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
         "digest": "sha256:" + "cd" * 32, "size": 123_456, "diff_id": "sha256:" + "ef" * 32}
RECORD = FleetRecord(BASE, [WHEEL], [LAYER], CREATED, (WheelFacts("ab" * 32, "BSD-3-Clause", "", ("Werkzeug>=3.0",)),))


def _config_digest(record: FleetRecord) -> str:
    """The digest the record's config blob gets, which its MAC covers (as fleetcache.store computes it)."""
    return Descriptor.of_bytes(CACHE_MEDIA_TYPE, canonical_json(record.to_json())).digest


def test_a_record_survives_its_config_blob_unchanged() -> None:
    blob = canonical_json(RECORD.to_json())
    assert FleetRecord.from_json(json.loads(blob)) == RECORD
    assert canonical_json(FleetRecord.from_json(json.loads(blob)).to_json()) == blob  # same bytes, same digest, same MAC


def test_a_record_without_the_wheels_facts_or_of_another_base_format_is_a_miss() -> None:
    data = RECORD.to_json()
    with pytest.raises(KeyError):
        FleetRecord.from_json({k: v for k, v in data.items() if k != "facts"})
    with pytest.raises(ValueError, match="base facts of version"):
        FleetRecord.from_json({**data, "base": {**data["base"], "version": -1}})


def test_a_signed_record_verifies_with_the_same_key() -> None:
    trust = Trust(b"fleet-secret")
    mac = trust.mac(KEY, _config_digest(RECORD))
    assert mac is not None and len(mac) == 64
    assert trust.accepts(KEY, _config_digest(RECORD), mac)


@pytest.mark.parametrize("tamper", ["layer", "wheel", "created", "base"])
def test_a_tampered_record_does_not_verify_with_the_original_mac(tamper: str) -> None:
    trust = Trust(b"fleet-secret")
    mac = trust.mac(KEY, _config_digest(RECORD))
    tampered = {
        "layer": replace(RECORD, layers=[*RECORD.layers, {**LAYER, "digest": "sha256:" + "66" * 32, "name": "extra"}]),
        "wheel": replace(RECORD, locked=[replace(WHEEL, url="https://evil.example/flask-3.0.3-py3-none-any.whl")]),
        "created": replace(RECORD, created=9e12),  # a record made never to expire
        "base": replace(RECORD, base=replace(BASE, libraries=frozenset())),
    }[tamper]
    assert _config_digest(tampered) != _config_digest(RECORD)
    assert not trust.accepts(KEY, _config_digest(tampered), mac)


def test_a_mac_is_bound_to_its_key_and_to_the_secret() -> None:
    trust = Trust(b"fleet-secret")
    digest = _config_digest(RECORD)
    mac = trust.mac(KEY, digest)
    assert not trust.accepts("5a" * 32, digest, mac)  # copied under another build's tag
    assert not Trust(b"another-secret").accepts(KEY, digest, mac)
    assert not trust.accepts(KEY, digest, None) and not trust.accepts(KEY, digest, 42) and not trust.accepts(KEY, digest, "")


def test_without_a_secret_records_are_read_only_from_a_repository_the_user_trusts() -> None:
    digest = _config_digest(RECORD)
    assert Trust().mac(KEY, digest) is None
    assert not Trust().reads and not Trust().accepts(KEY, digest, None)
    assert Trust(repository=True).reads and Trust(repository=True).accepts(KEY, digest, None)
    assert not Trust(b"s", repository=True).accepts(KEY, digest, None)  # with a secret, the MAC is required all the same


def test_trust_comes_from_the_key_variable_and_the_trust_mode() -> None:
    assert Trust.of("key", {KEY_VARIABLE: "ci-secret"}) == Trust(b"ci-secret", False)
    assert Trust.of("key", {KEY_VARIABLE: ""}) == Trust(None, False)
    assert Trust.of("repository", {}) == Trust(None, True)
    assert "ci-secret" not in repr(Trust.of("key", {KEY_VARIABLE: "ci-secret"}))


def test_a_record_is_fresh_for_as_long_as_a_local_resolution() -> None:
    assert RECORD.is_fresh(CREATED) and RECORD.is_fresh(CREATED + RESOLUTION_TTL)
    assert not RECORD.is_fresh(CREATED + RESOLUTION_TTL + 1)


def test_a_record_made_in_the_future_is_not_fresh_beyond_clock_skew() -> None:
    """A record dated far ahead (a forged or broken clock) would otherwise never expire."""
    assert RECORD.is_fresh(CREATED - CLOCK_SKEW_S)
    assert not RECORD.is_fresh(CREATED - CLOCK_SKEW_S - 1)
    assert not replace(RECORD, created=CREATED + 9e12).is_fresh(CREATED)


def test_the_tag_names_the_key() -> None:
    assert tag_for(KEY) == TAG_PREFIX + KEY[:32] and len(tag_for(KEY)) <= 128
