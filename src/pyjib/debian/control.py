"""Debian control data (deb822): paragraphs of `Field: value` lines, and the relationship fields (Depends and friends)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import PyjibError


class ControlError(PyjibError):
    """Control data from the archive or a .deb that does not parse."""


def paragraphs(text: str) -> Iterator[dict[str, str]]:
    """Each paragraph as field -> value; continuation lines (starting with a space or tab) join the field's value by newlines."""
    fields: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, name = {}, None
        elif line[0] in " \t":
            if name is None:
                raise ControlError(f"control data has a continuation line before any field: {line.strip()[:60]!r}")
            fields[name] += "\n" + line[1:]
        elif line.startswith("#"):
            continue
        else:
            key, sep, value = line.partition(":")
            if not sep or not key:
                raise ControlError(f"control data has a line that is no `Field: value`: {line[:60]!r}")
            name = key.strip()
            fields[name] = value.strip()
    if fields:
        yield fields


def one_paragraph(text: str, what: str) -> dict[str, str]:
    found = list(paragraphs(text))
    if len(found) != 1:
        raise ControlError(f"{what} holds {len(found)} paragraphs, expected one")
    return found[0]


@dataclass(frozen=True)
class Relation:
    """One alternative of a dependency: a package name with an optional version constraint (`libc6 (>= 2.34)`)."""

    name: str
    operator: str | None = None  # one of << <= = >= >>
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.operator} {self.version})" if self.operator else self.name


_RELATION = re.compile(r"^(?P<name>[a-z0-9][a-z0-9+.\-]*)(?::[a-z0-9\-]+)?\s*(?:\(\s*(?P<op><<|<=|=|>=|>>|<|>)\s*(?P<version>[^)\s]+)\s*\))?$")
_ANNOTATIONS = re.compile(r"\[[^\]]*\]|<[!a-z][^>]*>")  # architecture restrictions and build profiles: source packages only
_LEGACY_OPERATORS = {"<": "<=", ">": ">="}  # the pre-1996 spellings policy still says mean <= and >=


def parse_relations(text: str, what: str = "a dependency field") -> list[list[Relation]]:
    """`a (>= 1) | b, c` as [[a (>= 1), b], [c]]: every clause must hold, by any one of its alternatives."""
    clauses: list[list[Relation]] = []
    for clause in _ANNOTATIONS.sub("", text).replace("\n", " ").split(","):
        if not clause.strip():
            continue
        alternatives = []
        for alternative in clause.split("|"):
            match = _RELATION.match(alternative.strip())
            if match is None:
                raise ControlError(f"{what} has a relation that does not parse: {alternative.strip()!r}")
            op = match["op"]
            alternatives.append(Relation(match["name"], _LEGACY_OPERATORS.get(op, op) if op else None, match["version"]))
        clauses.append(alternatives)
    return clauses
