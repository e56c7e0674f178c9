"""A base that has its own /app keeps its owner and mode under pyjib's layers (issue 11 item 15).

An upper layer's directory entry replaces the lower one's metadata, so writing app/ as root 0755 would take the folder
away from the user the base gave it to.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from pyjib.cache import BlobCache
from pyjib.layer import Ownership, tree_layer
from pyjib.registry import ClientPool
from pyjib.transports import Session, parse_location
from pyjib.transports.layout import write_image
from tests.conftest import EXAMPLES, Pyjib
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.oci_checks import decompress

pytestmark = pytest.mark.e2e


def _base_with_own_app(base_layout: Path, tmp_path: Path) -> Path:
    image = parse_location(f"oci:{base_layout}:{base_image.TAG}").open(None, Session(ClientPool(), BlobCache(tmp_path / "cache"))).image
    tree = tmp_path / "app-tree"
    (tree / "app").mkdir(parents=True)
    (tree / "app" / "README").write_text("the base's own file\n")
    layer = tree_layer(tree, tmp_path / "cache" / "blobs" / "sha256", ownership={"app": Ownership(0o750, 65532, 65532)})
    layout = tmp_path / "base-with-app"
    write_image(layout, image.append_blob(layer.blob(), layer.diff_id, created_by="test: /app for nonroot", comment="", created=None), ["1"])
    return layout


def _app_entries(layout: Path, base_layers: int) -> list[tarfile.TarInfo]:
    """The app/ directory entry of every layer pyjib wrote (those above the base's)."""
    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    found = []
    for descriptor in manifest["layers"][base_layers:]:
        with tarfile.open(fileobj=io.BytesIO(decompress(blob(descriptor["digest"]), descriptor["mediaType"]))) as tar:
            found += [m for m in tar.getmembers() if m.name.rstrip("/") == "app"]
    return found


def test_the_bases_app_folder_keeps_its_owner_and_mode(pyjib: Pyjib, base_layout: Path, tmp_path: Path, containers: Podman) -> None:
    base = _base_with_own_app(base_layout, tmp_path)
    out = tmp_path / "out"
    pyjib("build", str(EXAMPLES / "hello-web"), "--from", f"oci:{base}:1", "--to", f"oci:{out}")
    entries = _app_entries(out, 2)
    assert entries, "pyjib's layers write no app/ entry"
    assert {(m.mode & 0o7777, m.uid, m.gid) for m in entries} == {(0o750, 65532, 65532)}
    ran = containers.run(f"oci:{out}:latest", ["-c", "import os, flask; s = os.stat('/app'); print(oct(s.st_mode & 0o7777), s.st_uid, "
                                                     "open('/app/README').read().strip())"], entrypoint="/app/venv/bin/python")
    assert ran.stdout.strip() == "0o750 65532 the base's own file", ran.stderr


def test_without_an_app_folder_in_the_base_app_is_roots(pyjib: Pyjib, base_layout: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pyjib("build", str(EXAMPLES / "hello-web"), "--from", f"oci:{base_layout}:{base_image.TAG}", "--to", f"oci:{out}")
    entries = _app_entries(out, 1)
    assert entries and {(m.mode & 0o7777, m.uid, m.gid) for m in entries} == {(0o755, 0, 0)}
