"""Checks a registry or a runtime would make: the OCI JSON Schemas, and digests, sizes and diff_ids of every blob."""

from __future__ import annotations

import gzip
import hashlib
import json
import posixpath
import tarfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

# The image-spec's own schemas, committed with the tests (their source and licence: schemas/oci/README.md).
SCHEMA_DIR = Path(__file__).parent / "schemas" / "oci"
SCHEMAS = {
    "manifest": "image-manifest-schema.json",
    "index": "image-index-schema.json",
    "config": "config-schema.json",
    "layout": "image-layout-schema.json",
}


@cache
def _validator(kind: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    def retrieve(uri: str) -> Resource[Any]:
        # The schemas' ids are opencontainers.org URLs; each $ref names a file of the folder.
        name = posixpath.basename(uri.split("#")[0])
        if not name.endswith(".json"):
            name += ".json"
        return DRAFT4.create_resource(json.loads((SCHEMA_DIR / name).read_text()))

    schema = json.loads((SCHEMA_DIR / SCHEMAS[kind]).read_text())
    return jsonschema.Draft4Validator(schema, registry=Registry(retrieve=retrieve))  # type: ignore[call-arg]


def validate(document: Any, kind: str) -> None:
    """Validate against the OCI image-spec's own schema."""
    errors = sorted(_validator(kind).iter_errors(document), key=str)
    assert not errors, f"{kind} is not valid per the OCI schema: " + "; ".join(e.message for e in errors[:5])


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_image(manifest_bytes: bytes, read_blob: Callable[[str], bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a manifest and its config, and that every blob matches its descriptor and the config's diff_ids."""
    manifest = json.loads(manifest_bytes)
    validate(manifest, "manifest")
    config_bytes = read_blob(manifest["config"]["digest"])
    assert sha256(config_bytes) == manifest["config"]["digest"]
    assert len(config_bytes) == manifest["config"]["size"]
    config = json.loads(config_bytes)
    validate(config, "config")
    diff_ids = config["rootfs"]["diff_ids"]
    assert len(diff_ids) == len(manifest["layers"])
    for layer, diff_id in zip(manifest["layers"], diff_ids, strict=True):
        blob = read_blob(layer["digest"])
        assert sha256(blob) == layer["digest"], "layer digest mismatch"
        assert len(blob) == layer["size"], "layer size mismatch"
        uncompressed = decompress(blob, layer["mediaType"])
        assert sha256(uncompressed) == diff_id, "diff_id mismatch"
    assert len(config["history"]) >= len(manifest["layers"])
    return manifest, config


def decompress(blob: bytes, media_type: str) -> bytes:
    if media_type.endswith("+gzip"):
        return gzip.decompress(blob)
    if media_type.endswith("+zstd"):
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    return blob


def layer_members(blob: bytes) -> dict[str, tarfile.TarInfo]:
    import io

    if blob[:4] == b"\x28\xb5\x2f\xfd":
        blob = decompress(blob, "+zstd")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return {m.name: m for m in tar.getmembers()}


def read_layer_file(blob: bytes, name: str) -> bytes:
    import io

    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        member = tar.extractfile(name)
        assert member is not None, name
        return member.read()


EMPTY_CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # of the two bytes {}


def check_artifact(manifest_bytes: bytes, read_blob: Callable[[str], bytes],
                   read_manifest: Callable[[str], bytes] | None = None) -> dict[str, Any]:
    """Validate an OCI 1.1 artifact manifest: the empty config, one document layer that matches, a subject that exists
    (read_manifest reads it from a registry; in a layout, manifests are blobs)."""
    manifest: dict[str, Any] = json.loads(manifest_bytes)
    validate(manifest, "manifest")
    assert manifest["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY_CONFIG_DIGEST, "size": 2}
    assert read_blob(EMPTY_CONFIG_DIGEST) == b"{}"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == manifest["artifactType"]
    document = read_blob(layer["digest"])
    assert sha256(document) == layer["digest"] and len(document) == layer["size"]
    subject = (read_manifest or read_blob)(manifest["subject"]["digest"])
    assert sha256(subject) == manifest["subject"]["digest"] and len(subject) == manifest["subject"]["size"]
    return manifest


def images_of(index: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a layout's index.json that are images (not the SBOMs and provenance attached to them)."""
    return [m for m in index["manifests"] if "artifactType" not in m]


def check_layout(layout: Path) -> dict[str, Any]:
    """Validate an OCI layout: oci-layout, index.json and every image it names; return the index."""
    validate(json.loads((layout / "oci-layout").read_text()), "layout")
    index: dict[str, Any] = json.loads((layout / "index.json").read_text())
    validate(index, "index")

    def read_blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    def check_entry(descriptor: dict[str, Any]) -> None:
        data = read_blob(descriptor["digest"])
        assert sha256(data) == descriptor["digest"] and len(data) == descriptor["size"]
        if descriptor["mediaType"] == "application/vnd.oci.image.index.v1+json":
            inner = json.loads(data)
            validate(inner, "index")
            for child in inner["manifests"]:
                check_entry(child)
        elif "artifactType" in descriptor:
            assert check_artifact(data, read_blob)["artifactType"] == descriptor["artifactType"]
        else:
            check_image(data, read_blob)

    for descriptor in index["manifests"]:
        check_entry(descriptor)
    return index
