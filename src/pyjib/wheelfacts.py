"""What a wheel's METADATA says for the SBOM: its licence and its requirements, read once per wheel hash.

The facts travel in the fleet cache record with the resolved wheels, so a runner that skips downloading the wheels
still writes the same SBOM.
"""

from __future__ import annotations

import contextlib
import email.message
import email.parser
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from .cache import BlobCache, Records
from .cachelayout import WHEEL_FACTS, WHEELS
from .indexes import IndexConfig
from .lockedwheel import LockedWheel
from .resolve import download

# Trove classifiers that name exactly one SPDX licence (the common ones; others stay free text).
_CLASSIFIERS = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: BSD License": "",  # which BSD is not said
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: zlib/libpng License": "Zlib",
    "License :: Public Domain": "",
}
_MAX_LICENSE_TEXT = 200  # a License field sometimes holds the whole licence text; the SBOM keeps its start


@dataclass(frozen=True)
class WheelFacts:
    sha256: str
    license_expression: str  # a valid SPDX expression, or "" when the metadata gives none
    license_text: str  # what the metadata says when it is no SPDX expression (License, or the licence classifiers)
    requires_dist: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WheelFacts:
        return cls(str(data["sha256"]), str(data["license_expression"]), str(data["license_text"]),
                   tuple(str(r) for r in data["requires_dist"]))


def _spdx(text: str) -> str:
    try:
        return str(canonicalize_license_expression(text))
    except InvalidLicenseExpression:
        return ""


def declared_license(metadata: email.message.Message) -> tuple[str, str]:
    """(SPDX expression, free text): PEP 639's License-Expression, else License if it is an SPDX id, else the classifiers."""
    if (expression := _spdx(str(metadata.get("License-Expression") or "").strip())):
        return expression, ""
    text = str(metadata.get("License") or "").strip()
    if text and "\n" not in text and (expression := _spdx(text)):
        return expression, ""
    classifiers = [str(c) for c in metadata.get_all("Classifier") or [] if str(c).startswith("License ::")]
    named = {_CLASSIFIERS.get(c, "") for c in classifiers} - {""}
    if len(named) == 1 and not text:
        return named.pop(), ""
    described = text.splitlines()[0] if text else "; ".join(c.rsplit(" :: ", 1)[-1] for c in classifiers)
    return "", described[:_MAX_LICENSE_TEXT]


def read_facts(wheel: Path, sha256: str) -> WheelFacts:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        metadata = email.parser.BytesParser().parsebytes(archive.read(sorted(names)[0])) if names else email.message.Message()
    expression, text = declared_license(metadata)
    return WheelFacts(sha256, expression, text, tuple(str(r) for r in metadata.get_all("Requires-Dist") or []))


def wheel_facts(locked: list[LockedWheel], cache: BlobCache, indexes: IndexConfig) -> tuple[WheelFacts, ...]:
    """The facts of each wheel, in the order given; read once per wheel hash (downloading only wheels not yet read)."""
    records = Records(cache.root, WHEEL_FACTS)
    known: dict[str, WheelFacts] = {}
    for wheel in locked:
        if (record := records.get(wheel.sha256)) is not None:
            with contextlib.suppress(KeyError, TypeError):  # an unreadable record is read again from the wheel
                known[wheel.sha256] = WheelFacts.from_json(record)
    missing = [w for w in locked if w.sha256 not in known]
    for wheel, path in zip(missing, download(missing, cache.root / WHEELS, indexes), strict=True):
        known[wheel.sha256] = read_facts(path, wheel.sha256)
        records.put(wheel.sha256, known[wheel.sha256].to_json())
    return tuple(known[w.sha256] for w in locked)
