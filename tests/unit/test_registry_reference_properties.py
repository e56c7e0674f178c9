"""Image-reference parsing, as properties over generated references (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyjib.errors import InvalidReferenceError
from pyjib.reference import DOCKER_HUB, Reference, parse_reference

LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
ALNUM = LOWER + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SETTINGS = settings(max_examples=150, deadline=None, database=None)


@st.composite
def components(draw: st.DrawFn) -> str:
    """A repository path component: lowercase alphanumerics joined by '.', '_', '__' or runs of '-'."""
    words = draw(st.lists(st.text(LOWER, min_size=1, max_size=6), min_size=1, max_size=3))
    separators = [draw(st.sampled_from([".", "_", "__", "-", "--"])) for _ in words[1:]]
    return words[0] + "".join(s + w for s, w in zip(separators, words[1:], strict=True))


@st.composite
def hosts(draw: st.DrawFn) -> str:
    labels = draw(st.lists(st.text(ALNUM, min_size=1, max_size=8), min_size=2, max_size=3))
    host = draw(st.sampled_from([".".join(labels), "localhost", "127.0.0.1", "[::1]"]))
    assume(host.lower() not in {"docker.io", "index.docker.io", "registry-1.docker.io"})
    if draw(st.booleans()) or host == "[::1]":
        host += f":{draw(st.integers(1, 65535))}"
    return host


TAGS = st.text(ALNUM + "_", min_size=1, max_size=1).flatmap(lambda first: st.text(ALNUM + "_.-", max_size=20).map(lambda rest: first + rest))
DIGESTS = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}")


@st.composite
def references(draw: st.DrawFn) -> Reference:
    repository = "/".join(draw(st.lists(components(), min_size=1, max_size=3)))
    return Reference(draw(hosts()), repository, draw(st.none() | TAGS), draw(st.none() | DIGESTS))


@SETTINGS
@given(references())
def test_a_reference_parses_back_to_itself(reference: Reference) -> None:
    assert parse_reference(str(reference)) == reference
    assert str(parse_reference(str(reference))) == str(reference)


@SETTINGS
@given(references())
def test_identifier_is_the_digest_else_the_tag_else_latest(reference: Reference) -> None:
    parsed = parse_reference(str(reference))
    assert parsed.identifier == (reference.digest or reference.tag or "latest")


@SETTINGS
@given(st.sampled_from(["docker.io", "index.docker.io", "registry-1.docker.io", ""]), components(), st.none() | TAGS)
def test_docker_hub_aliases_resolve_to_one_host_and_library(alias: str, name: str, tag: str | None) -> None:
    text = f"{alias}/{name}" if alias else name
    parsed = parse_reference(text + (f":{tag}" if tag else ""))
    assert parsed.registry == DOCKER_HUB and parsed.repository == f"library/{name}" and parsed.tag == tag


@SETTINGS
@given(st.text(max_size=80))
def test_any_text_is_a_reference_or_one_clear_error(text: str) -> None:
    try:
        parsed = parse_reference(text)
    except InvalidReferenceError as exc:
        assert "\n" not in str(exc) and "invalid image reference" in str(exc)
        return
    assert re.fullmatch(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*", parsed.repository)
    assert parsed.tag is None or re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", parsed.tag)
    assert parsed.digest is None or re.fullmatch(r"sha256:[0-9a-f]{64}", parsed.digest)


@pytest.mark.parametrize("text", ["UPPER/case", "host.io/app:bad tag", "host.io/app@sha256:12", "host.io/-lead", "host.io/a//b", ""])
def test_bad_references(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_reference(text)
