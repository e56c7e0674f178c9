"""Debian version numbers ([epoch:]upstream[-revision]) compared as dpkg compares them."""

from __future__ import annotations

import functools
import re

_DIGITS = re.compile(r"\d+")


def _split(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    return int(epoch or 0), upstream, revision


def _order(char: str) -> int:
    """dpkg's character order: ~ sorts before everything (even the end), letters before other characters."""
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    """Alternate runs of non-digits (compared by _order) and digits (compared as numbers), as dpkg's verrevcmp."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ca = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            cb = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ca != cb:
                return -1 if ca < cb else 1
            i += 1
            j += 1
        da = _DIGITS.match(a, i)
        db = _DIGITS.match(b, j)
        na = int(da.group()) if da else 0
        nb = int(db.group()) if db else 0
        if na != nb:
            return -1 if na < nb else 1
        i = da.end() if da else i
        j = db.end() if db else j
    return 0


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as a sorts before, with or after b."""
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def satisfies(version: str, operator: str | None, wanted: str | None) -> bool:
    """Whether version meets a relation's constraint (no constraint: any version does)."""
    if operator is None or wanted is None:
        return True
    order = compare(version, wanted)
    return {"<<": order < 0, "<=": order <= 0, "=": order == 0, ">=": order >= 0, ">>": order > 0}[operator]


sort_key = functools.cmp_to_key(compare)
