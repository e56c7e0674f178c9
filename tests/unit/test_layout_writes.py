"""OCI layouts hold up when builds share them, get killed, or find their cache damaged (issue 11, items 11 and 12)."""

from __future__ import annotations

import json
import multiprocessing
import os
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from pyjib.errors import CacheDamagedError
from pyjib.layer import tree_layer
from pyjib.oci import mediatypes
from pyjib.oci.descriptor import Manifest
from pyjib.oci.image import Artifact, Image
from pyjib.transports import layout, tarball


def _image(tmp: Path, text: str) -> Image:
    tree = tmp / f"tree-{text}"
    (tree / "app").mkdir(parents=True)
    (tree / "app" / "hello.txt").write_text(text)
    layer = tree_layer(tree, tmp / "cache" / "blobs" / "sha256")
    return Image({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}, ()).append_blob(
        layer.blob(), layer.diff_id, created_by="test", comment="", created=None)


def _write(args: tuple[str, str, int]) -> None:
    tmp, target, n = args
    image = _image(Path(tmp), f"image {n}")
    layout.write_image(Path(target), image, [f"tag{n}"])


def _tags(target: Path) -> set[str]:
    index = json.loads((target / "index.json").read_text())
    return {m["annotations"][layout.REF_NAME] for m in index["manifests"]}


def test_builds_writing_one_layout_at_once_keep_every_tag(tmp_path: Path) -> None:
    target = tmp_path / "layout"
    jobs = [(str(tmp_path / f"w{n}"), str(target), n) for n in range(12)]
    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.map(_write, jobs)
    assert _tags(target) == {f"tag{n}" for n in range(12)}
    for manifest in json.loads((target / "index.json").read_text())["manifests"]:
        document = json.loads(layout.blob_path(target, manifest["digest"]).read_bytes())
        for descriptor in document["layers"]:
            assert layout.blob_path(target, descriptor["digest"]).stat().st_size == descriptor["size"]
    assert not [p for p in target.rglob("*") if p.name.startswith(".")]  # no temp file left behind


def test_a_killed_writers_temp_files_do_not_block_the_next_one(tmp_path: Path) -> None:
    target = tmp_path / "layout"
    layout.write_image(target, _image(tmp_path, "one"), ["one"])
    for stale in (target / ".index.json.tmp", target / ".pyjib-tmp-abc", target / "blobs" / "sha256" / ".pyjib-tmp-def"):
        stale.write_text("half written")
        os.chmod(stale, 0o000)
    layout.write_image(target, _image(tmp_path, "two"), ["two"])
    assert _tags(target) == {"one", "two"}
    assert not list(target.rglob(".pyjib-tmp-*"))


def test_a_layout_is_a_copy_so_damage_to_the_cache_does_not_reach_it(tmp_path: Path) -> None:
    image = _image(tmp_path, "copied")
    target = tmp_path / "layout"
    layout.write_image(target, image, ["latest"])
    cached = image.layers[0].fetch()
    written = layout.blob_path(target, image.layers[0].descriptor.digest)
    assert written.stat().st_ino != cached.stat().st_ino
    cached.write_bytes(b"damaged")
    assert layout.verify_blob(target, image.layers[0].descriptor) == written


def test_a_damaged_cached_blob_stops_the_write_and_is_removed(tmp_path: Path) -> None:
    image = _image(tmp_path, "damaged")
    cached = image.layers[0].fetch()
    cached.write_bytes(cached.read_bytes()[:-3] + b"xyz")
    with pytest.raises(CacheDamagedError, match="damaged"):
        layout.write_image(tmp_path / "layout", image, ["latest"])
    assert not cached.exists()
    assert not layout.blob_path(tmp_path / "layout", image.layers[0].descriptor.digest).exists()


@pytest.mark.parametrize("damage", [lambda data: data[:-3] + b"xyz", lambda data: data[:10]])
def test_a_damaged_cached_blob_never_makes_an_archive(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    image = _image(tmp_path, "archived")
    cached = image.layers[0].fetch()
    cached.write_bytes(damage(cached.read_bytes()))
    with pytest.raises(CacheDamagedError):
        tarball.write_archive(tmp_path / "app.tar", image, ["app:latest"])
    assert not (tmp_path / "app.tar").exists() and not list(tmp_path.glob(".app.tar*"))


def test_an_archive_of_a_sound_cache_is_complete(tmp_path: Path) -> None:
    image = _image(tmp_path, "sound")
    tarball.write_archive(tmp_path / "app.tar", image, ["app:latest"])
    with tarfile.open(tmp_path / "app.tar") as tar:
        assert "manifest.json" in tar.getnames()


def test_manifests_carry_subject_and_artifact_type_as_model_fields(tmp_path: Path) -> None:
    image = _image(tmp_path, "about")
    assert "subject" not in image.manifest()  # no subject, no key: built images keep their digests
    artifact = Artifact(mediatypes.SPDX_JSON, b"{}", image.manifest_descriptor(), filename="sbom.spdx.json")
    read = Manifest.from_json(json.loads(artifact.manifest_bytes()))
    assert (read.artifact_type, read.subject, read.layers) == (mediatypes.SPDX_JSON, image.manifest_descriptor(), (artifact.document_descriptor,))
    referring = replace(image, subject=image.manifest_descriptor())
    assert Manifest.from_json(referring.manifest()).subject == image.manifest_descriptor() and referring.digest != image.digest
