"""Control data, relationship fields and Debian version order, as dpkg reads them."""

from __future__ import annotations

import pytest

from pyjib.debian.control import ControlError, Relation, paragraphs, parse_relations
from pyjib.debian.version import compare, satisfies


def test_paragraphs_with_continuation_lines() -> None:
    text = "Package: a\nDescription: short\n more\n .\n end\n\nPackage: b\nVersion: 1\n"
    first, second = paragraphs(text)
    assert first == {"Package": "a", "Description": "short\nmore\n.\nend"}
    assert second == {"Package": "b", "Version": "1"}


@pytest.mark.parametrize("text", ["Package a\n", " continuation first\n"])
def test_malformed_control_is_refused(text: str) -> None:
    with pytest.raises(ControlError):
        list(paragraphs(text))


def test_relations_with_alternatives_versions_and_qualifiers() -> None:
    clauses = parse_relations("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<< 3.12), foo [amd64] <!nocheck>, bar (> 1)")
    assert clauses == [
        [Relation("libc6", ">=", "2.34")],
        [Relation("debconf", ">=", "0.5"), Relation("debconf-2.0")],
        [Relation("python3", "<<", "3.12")],
        [Relation("foo")],
        [Relation("bar", ">=", "1")],  # the old spelling > means >=
    ]
    assert parse_relations("") == []


def test_a_relation_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ControlError, match="Bad Name"):
        parse_relations("Bad Name (>= 1)")


@pytest.mark.parametrize(("a", "b", "order"), [
    ("1.0", "1.0", 0), ("1.0~rc1", "1.0", -1), ("1:0.1", "2.0", 1), ("2.36-9+deb12u4", "2.36-9+deb12u10", -1),
    ("1.0a", "1.0", 1), ("1.0", "1.0-1", -1), ("3.11.2-6+deb12u6", "3.11.2-6", 1), ("1.2.3", "1.2.10", -1),
    ("1.0~", "1.0~~", 1), ("1.0+b1", "1.0", 1), ("0:1.0", "1.0", 0),
])
def test_version_order(a: str, b: str, order: int) -> None:
    assert compare(a, b) == order and compare(b, a) == -order


def test_satisfies_each_operator() -> None:
    assert satisfies("2.36-9", ">=", "2.34") and not satisfies("2.36-9", "<<", "2.36")
    assert satisfies("1.0", "=", "1.0") and satisfies("1.0", "<=", "1.0") and satisfies("1.1", ">>", "1.0")
    assert satisfies("anything", None, None)
