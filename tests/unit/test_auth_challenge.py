"""The WWW-Authenticate parser: real registries' headers, and properties over generated ones (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyjib.registry.challenges import Challenge, Credentials, parse_challenge, parse_challenges


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/python:pull"',
         Challenge("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/python:pull"})),
        ('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"',
         Challenge("bearer", {"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:user/image:pull"})),
        ('Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
         Challenge("basic", {"realm": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/", "service": "ecr.amazonaws.com"})),
        ('Bearer realm="https://harbor.example/service/token",service="harbor-registry",error="insufficient_scope",'
         'scope="repository:a/b:pull,push repository:c/d:pull"',
         Challenge("bearer", {"realm": "https://harbor.example/service/token", "service": "harbor-registry", "error": "insufficient_scope",
                              "scope": "repository:a/b:pull,push repository:c/d:pull"})),
        ("BEARER Realm = https://x/token , Service = reg", Challenge("bearer", {"realm": "https://x/token", "service": "reg"})),
        ('Basic realm="say \\"hi\\" \\\\ bye"', Challenge("basic", {"realm": 'say "hi" \\ bye'})),
    ],
)
def test_registry_headers(header: str, expected: Challenge) -> None:
    assert parse_challenge(header) == expected


def test_several_challenges_prefer_bearer_then_basic() -> None:
    header = 'Negotiate abc==, Basic realm="r", Bearer realm="https://t/token",service="s"'
    assert [c.scheme for c in parse_challenges(header)] == ["negotiate", "basic", "bearer"]
    assert parse_challenge(header) == Challenge("bearer", {"realm": "https://t/token", "service": "s"})
    assert parse_challenge('Digest nonce="1", Basic realm="r"').scheme == "basic"
    assert parse_challenge("") == Challenge("", {})


def test_credentials_never_show_their_secret() -> None:
    credentials = Credentials("ci", "hunter2", "somewhere", identity_token="refresh-me")
    assert "hunter2" not in repr(credentials) and "hunter2" not in str(credentials) and "refresh-me" not in repr(credentials)
    assert "hunter2" not in f"{credentials}" and "ci" in repr(credentials)


# --- properties --------------------------------------------------------------------------------------------------------
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN = st.text(TOKEN_CHARS, min_size=1, max_size=12)
NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=10)
VALUE = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
SPACE = st.sampled_from(["", " ", "  ", "\t"])


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def challenge_headers(draw: st.DrawFn) -> tuple[str, list[Challenge]]:
    """A header and what it means: one to three challenges, each with at least one parameter, spaced at random."""
    parts, expected = [], []
    for _ in range(draw(st.integers(1, 3))):
        scheme = draw(TOKEN)
        params = draw(st.dictionaries(NAME, st.one_of(VALUE, TOKEN), min_size=1, max_size=4))
        rendered = []
        for name, value in params.items():
            bare = draw(st.booleans()) and value != "" and all(c in TOKEN_CHARS for c in value)
            rendered.append(f"{name}{draw(SPACE)}={draw(SPACE)}{value if bare else _quote(value)}")
        separator = draw(SPACE) + "," + draw(SPACE)
        parts.append(f"{scheme} " + separator.join(rendered))
        expected.append(Challenge(scheme.lower(), params))
    return (draw(SPACE) + ", ").join(parts), expected


@settings(max_examples=150, deadline=None, database=None)
@given(challenge_headers())
def test_what_is_rendered_is_parsed_back(case: tuple[str, list[Challenge]]) -> None:
    header, expected = case
    assert parse_challenges(header) == expected


@settings(max_examples=150, deadline=None, database=None)
@given(st.text(max_size=200))
def test_any_text_parses_without_raising(header: str) -> None:
    for challenge in parse_challenges(header):
        assert challenge.scheme and challenge.scheme == challenge.scheme.lower()
    parse_challenge(header)


@settings(max_examples=100, deadline=None, database=None)
@given(NAME, VALUE)
def test_parameter_names_are_case_insensitive(name: str, value: str) -> None:
    assert parse_challenge(f"Bearer {name.upper()}={_quote(value)}").params == {name: value}
