"""Validate what pyjib attaches with real validators: spdx-tools for SPDX 2.3, cyclonedx-python-lib for CycloneDX 1.6,
and a JSON Schema written from the in-toto Statement v1 and SLSA Provenance v1 specs for the provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

_PROVENANCE_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "in-toto-slsa-provenance-v1.json").read_text())


def valid_spdx(data: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(data)
    messages = validate_full_spdx_document(JsonLikeDictParser().parse(document), "SPDX-2.3")
    assert not messages, [m.validation_message for m in messages]
    return document


def valid_cyclonedx(data: bytes) -> dict[str, Any]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode())
    assert error is None, str(error)
    document: dict[str, Any] = json.loads(data)
    return document


def valid_provenance(data: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(data)
    jsonschema.validate(document, _PROVENANCE_SCHEMA, format_checker=jsonschema.FormatChecker())
    return document


def spdx_package(document: dict[str, Any], name: str) -> dict[str, Any]:
    packages: list[dict[str, Any]] = [p for p in document["packages"] if p["name"] == name]
    (package,) = packages
    return package


def purl_of(package: dict[str, Any]) -> str:
    (purl,) = [r["referenceLocator"] for r in package["externalRefs"] if r["referenceType"] == "purl"]
    return str(purl)
