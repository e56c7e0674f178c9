"""Images written to an OCI layout or a docker-archive, bases read from them, and what stays the same between builds."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.helpers import cache_records, registry_writes
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.oci_checks import check_layout, images_of

pytestmark = pytest.mark.e2e


def _manifest(layout: Path, tag: str = "latest") -> dict[str, Any]:
    index = json.loads((layout / "index.json").read_text())
    (entry,) = [m for m in images_of(index) if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    manifest: dict[str, Any] = json.loads((layout / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_text())
    return manifest


def test_oci_layout_is_valid_and_runs(pyjib: Pyjib, base_ref: str, tmp_path: Path, containers: Podman) -> None:
    layout = tmp_path / "greet-layout"
    result = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{layout}:v1", "--tags", "stable")
    index = check_layout(layout)
    assert sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in images_of(index)) == ["stable", "v1"]
    digest = index["manifests"][0]["digest"]
    assert result.stdout.strip().splitlines()[-1] == f"{layout}@{digest}"
    assert index["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    skopeo = subprocess.run(["skopeo", "inspect", f"oci:{layout}:v1"], capture_output=True, text=True, check=True)
    assert json.loads(skopeo.stdout)["Digest"] == digest
    ran = containers.run(f"oci:{layout}:v1", ["--name", "layout"])
    assert "Hello, layout!" in ran.stdout, ran.stderr


def test_docker_archive_loads_and_runs(pyjib: Pyjib, base_ref: str, tmp_path: Path, containers: Podman) -> None:
    archive = tmp_path / "greet.tar"
    result = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"docker-archive:{archive}")
    with tarfile.open(archive) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert entry["RepoTags"] == ["greet-cli:latest"]
        config = json.load(tar.extractfile(entry["Config"]))  # type: ignore[arg-type]
        assert len(entry["Layers"]) == len(config["rootfs"]["diff_ids"])
    assert result.stdout.strip().endswith(f"{archive}@" + result.stdout.strip().split("@")[-1])
    ran = containers.run(f"docker-archive:{archive}", ["--name", "archive"])
    assert "Hello, archive!" in ran.stdout, ran.stderr


def test_base_from_oci_layout_and_docker_archive(pyjib: Pyjib, base_layout: Path, tmp_path: Path) -> None:
    from_layout = tmp_path / "from-layout"
    pyjib("build", str(EXAMPLES / "greet-cli"), "--from", f"oci:{base_layout}:{base_image.TAG}", "--to", f"oci:{from_layout}")
    base_archive = tmp_path / "base.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{base_layout}:{base_image.TAG}", f"docker-archive:{base_archive}:base/python:3.11"],
                   check=True, capture_output=True)
    from_archive = tmp_path / "from-archive"
    pyjib("build", str(EXAMPLES / "greet-cli"), "--from", f"docker-archive:{base_archive}", "--to", f"oci:{from_archive}")
    check_layout(from_layout)
    check_layout(from_archive)
    # skopeo stores the base layer uncompressed in the archive, so the base layer differs, but pyjib's three layers do not.
    assert _manifest(from_layout)["layers"][1:] == _manifest(from_archive)["layers"][1:]


def _copy_with_other_metadata(source: Path, destination: Path, mtime: int, mode_bits: int) -> None:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    for path in [destination, *destination.rglob("*")]:
        if path.is_file():
            os.chmod(path, mode_bits)
        os.utime(path, (mtime, mtime))


def test_same_inputs_give_the_same_digest(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "greet-cli", tmp_path / "two" / "greet-cli"
    _copy_with_other_metadata(EXAMPLES / "greet-cli", first, 1_000_000_000, 0o644)
    _copy_with_other_metadata(EXAMPLES / "greet-cli", second, 1_700_000_000, 0o664)
    out_one, out_two = tmp_path / "out-one", tmp_path / "out-two"
    pyjib("build", str(first), "--from", base_ref, "--to", f"oci:{out_one}", env={"SOURCE_DATE_EPOCH": "1700000000"})
    os.umask(0o077)
    try:
        pyjib("build", str(second), "--from", base_ref, "--to", f"oci:{out_two}", env={"SOURCE_DATE_EPOCH": "1700000000"})
    finally:
        os.umask(0o022)
    index_one = json.loads((out_one / "index.json").read_text())
    index_two = json.loads((out_two / "index.json").read_text())
    assert index_one["manifests"][0]["digest"] == index_two["manifests"][0]["digest"]
    config = json.loads((out_one / "blobs" / "sha256" / _manifest(out_one)["config"]["digest"].split(":")[1]).read_text())
    assert config["created"] == "2023-11-14T22:13:20Z"
    # creation-time changes the config and manifest, never a layer
    out_three = tmp_path / "out-three"
    pyjib("build", str(first), "--from", base_ref, "--to", f"oci:{out_three}", "--creation-time", "2024-05-01T12:00:00Z")
    assert _manifest(out_three)["layers"] == _manifest(out_one)["layers"]
    assert _manifest(out_three)["config"] != _manifest(out_one)["config"]


def test_editing_one_py_file_changes_only_the_application_layer(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    project = tmp_path / "hello-web"
    shutil.copytree(EXAMPLES / "hello-web", project)
    before, after = tmp_path / "before", tmp_path / "after"
    pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{before}")
    app = project / "src" / "hello_web" / "app.py"
    app.write_text(app.read_text().replace('"Hi"', '"Hey"'))
    pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{after}")
    old, new = _manifest(before)["layers"], _manifest(after)["layers"]
    # base, environment, native dependencies (markupsafe), dependencies, resources, application
    assert len(old) == len(new) == 6
    assert old[:5] == new[:5], "only the application layer may change"
    assert old[5]["digest"] != new[5]["digest"]


def test_pushing_again_uploads_only_the_changed_layer(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path: Path,
                                                     registry_reader: RegistryReader) -> None:
    project = tmp_path / "hello-web"
    shutil.copytree(EXAMPLES / "hello-web", project)
    reference = f"{registry.host}/team/incremental:1"
    first = pyjib("push", str(project), "--from", base_ref, "--to", reference)
    assert "1 mounted" in first.stderr  # the base's layer is linked from its repository, not uploaded
    offset = len(registry.log_text())
    unchanged = pyjib("push", str(project), "--from", base_ref, "--to", reference)
    assert registry_writes(registry.log_text(), offset) == []  # the tag already names this image: nothing is sent
    assert unchanged.stdout == first.stdout
    app = project / "src" / "hello_web" / "app.py"
    app.write_text(app.read_text() + "\n# a change\n")
    offset = len(registry.log_text())
    changed = pyjib("push", str(project), "--from", base_ref, "--to", reference)
    uploaded = set(re.findall(r"digest=(sha256(?::|%3A)[0-9a-f]{64})", "\n".join(registry_writes(registry.log_text(), offset))))
    manifest = json.loads(registry_reader.manifest("team/incremental", "1"))
    image_blobs = {manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])}
    # Of the image's blobs, only the application layer and the config go up (its SBOM and provenance are new too).
    assert {d.replace("%3A", ":") for d in uploaded} & image_blobs == {manifest["config"]["digest"], manifest["layers"][-1]["digest"]}
    assert changed.stdout != first.stdout


def test_base_index_is_narrowed_to_the_platform(pyjib: Pyjib, registry: Registry, base_ref: str, registry_reader: RegistryReader, tmp_path: Path) -> None:
    repository, tag = base_ref.split("/", 1)[1].split(":")
    base_manifest = registry_reader.manifest(repository, tag)
    # An arm64 entry that points at a different manifest: the helper image of an earlier push stands in for it.
    other = tmp_path / "other"
    pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{other}")
    other_entry = json.loads((other / "index.json").read_text())["manifests"][0]
    other_bytes = (other / "blobs" / "sha256" / other_entry["digest"].split(":")[1]).read_bytes()
    other_manifest = json.loads(other_bytes)

    def digest(data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(other_bytes), "size": len(other_bytes),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(base_manifest), "size": len(base_manifest),
             "platform": {"architecture": "amd64", "os": "linux"}},
        ],
    }
    client = httpx.Client(base_url=f"http://{registry.host}")
    for blob in [other_manifest["config"], *other_manifest["layers"]]:
        data = (other / "blobs" / "sha256" / blob["digest"].split(":")[1]).read_bytes()
        upload = client.post(f"/v2/{repository}/blobs/uploads/").headers["location"]
        assert client.put(f"{upload}&digest={blob['digest']}", content=data).status_code == 201
    put = client.put(f"/v2/{repository}/manifests/{digest(other_bytes)}", content=other_bytes,
                     headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status_code == 201, put.text
    put = client.put(f"/v2/{repository}/manifests/multi", content=json.dumps(index).encode(),
                     headers={"content-type": "application/vnd.oci.image.index.v1+json"})
    assert put.status_code == 201, put.text

    out = tmp_path / "from-index"
    pyjib("build", str(EXAMPLES / "greet-cli"), "--from", f"{registry.host}/{repository}:multi", "--to", f"oci:{out}")
    manifest = _manifest(out)
    assert manifest["annotations"]["org.opencontainers.image.base.digest"] == digest(base_manifest)
    assert manifest["layers"][0] == json.loads(base_manifest)["layers"][0]

    missing = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", f"{registry.host}/{repository}:multi", "--platform", "linux/s390x",
                    "--to", f"oci:{tmp_path / 'none'}", check=False)
    assert missing.returncode == 2
    assert "has no image for linux/s390x (it has: linux/arm64, linux/amd64)" in missing.stderr


def test_fresh_runner_uses_the_fleet_cache_in_the_registry(pyjib: Pyjib, registry: Registry, registry_reader: RegistryReader, base_ref: str, tmp_path: Path,
                                                           containers: Podman) -> None:
    project = tmp_path / "hello-web"
    shutil.copytree(EXAMPLES / "hello-web", project)
    reference = f"{registry.host}/team/fleet:1"
    trusted = {"PYJIB_CACHE_KEY": "fleet-key-of-trusted-builds"}  # a CI secret: records are authenticated with it
    first = pyjib("push", str(project), "--from", base_ref, "--to", reference, "--cache-dir", str(tmp_path / "runner-1"), env=trusted)
    cache_tags = [t for t in registry_reader.tags("team/fleet") if t.startswith("pyjib-cache-")]
    assert len(cache_tags) == 1
    record = json.loads(registry_reader.manifest("team/fleet", cache_tags[0]))
    assert record["config"]["mediaType"] == "application/vnd.pyjib.cache.v1+json"
    assert cache_records(tmp_path / "runner-1", "resolutions") and cache_records(tmp_path / "runner-1", "wheel-sizes")  # it did the work

    app = project / "src" / "hello_web" / "app.py"
    app.write_text(app.read_text().replace('"Hi"', '"Fleet"'))
    second = pyjib("push", str(project), "--from", base_ref, "--to", reference, "--cache-dir", str(tmp_path / "runner-2"), env=trusted)
    # neither resolved nor downloaded a wheel (so installed and compressed none): the record's layers stood in
    assert not cache_records(tmp_path / "runner-2", "resolutions") and not cache_records(tmp_path / "runner-2", "wheel-sizes")
    assert "2 uploaded" in second.stderr  # the application layer and the config
    # The fresh runner's SBOM lists what the first one's did: the record carries the base's packages and the licences.
    sboms = [json.loads(pyjib("sbom", f"{registry.host}/team/fleet@{run.stdout.strip().split('@')[1]}").stdout) for run in (first, second)]
    contents = [[p for p in sbom["packages"] if p.get("primaryPackagePurpose") != "CONTAINER"] for sbom in sboms]
    assert contents[0] == contents[1] and any(p["name"] == "python3.11-minimal" for p in contents[0])
    old = json.loads(registry_reader.manifest("team/fleet", first.stdout.strip().split("@")[1]))
    new = json.loads(registry_reader.manifest("team/fleet", "1"))
    assert old["layers"][:5] == new["layers"][:5] and old["layers"][5] != new["layers"][5]
    # the record names the environment and dependency layers, which keeps them from garbage collection
    assert [layer["digest"] for layer in record["layers"]] == [layer["digest"] for layer in new["layers"][1:4]]
    ran = containers.run(reference, ["-c", "import flask, hello_web.app; print(hello_web.app.app.name)"], entrypoint="/app/venv/bin/python")
    assert ran.stdout.strip() == "hello_web.app", ran.stderr

    # With the registry cache off, a fresh runner does the work itself and leaves no record.
    with (project / "pyproject.toml").open("a") as f:
        f.write("registry-cache = false\n")  # appended to [tool.pyjib], the file's last table
    pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/team/nofleet:1", "--cache-dir", str(tmp_path / "r3"))
    assert cache_records(tmp_path / "r3", "resolutions") and cache_records(tmp_path / "r3", "wheel-sizes")
    assert not [t for t in registry_reader.tags("team/nofleet") if t.startswith("pyjib-cache-")]


def test_zstd_layers_validate_and_run(pyjib: Pyjib, base_ref: str, tmp_path: Path, containers: Podman) -> None:
    layout = tmp_path / "zstd-layout"
    pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{layout}", "--compression", "zstd")
    check_layout(layout)  # digests, sizes and diff_ids, with the layers decompressed as zstd
    own = _manifest(layout)["layers"][1:]
    assert {layer["mediaType"] for layer in own} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    ran = containers.run(f"oci:{layout}:latest", ["--name", "zstd"])
    assert "Hello, zstd!" in ran.stdout, ran.stderr
