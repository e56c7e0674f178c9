"""Multi-platform images (an OCI index for amd64 and arm64) and dependency layers that stay cached."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.helpers import free_port, get_when_up, write_project
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.oci_checks import check_artifact, check_image, check_layout, images_of, layer_members, read_layer_file, validate
from tests.sbom_checks import purl_of, spdx_package, valid_spdx

pytestmark = pytest.mark.e2e

ELF_MACHINES = {62: "x86-64", 183: "aarch64"}


def _elf_machine(data: bytes) -> str:
    assert data[:4] == b"\x7fELF"
    return ELF_MACHINES.get(struct.unpack_from("<H", data, 18)[0], "other")


def _named_layers(reader: RegistryReader, repository: str, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    config = json.loads(reader.blob(repository, manifest["config"]["digest"]))
    names = [h["created_by"].removeprefix("pyjib: ") for h in config["history"][-len(manifest["layers"]) + 1:]]
    return dict(zip(names, manifest["layers"][1:], strict=True))


@pytest.fixture(scope="module")
def quotes(pyjib: Pyjib, registry: Registry, multiarch_base_ref: str, registry_reader: RegistryReader) -> dict[str, Any]:
    result = pyjib("push", str(EXAMPLES / "quotes-api"), "--from", multiarch_base_ref, "--to", f"{registry.host}/team/quotes:2")
    index_bytes = registry_reader.manifest("team/quotes", "2")
    return {"stdout": result.stdout, "stderr": result.stderr, "index": json.loads(index_bytes),
            "digest": "sha256:" + hashlib.sha256(index_bytes).hexdigest()}


def test_index_lists_both_platforms_and_is_valid(quotes: dict[str, Any], registry_reader: RegistryReader, registry: Registry) -> None:
    index = quotes["index"]
    validate(index, "index")
    assert quotes["stdout"].strip() == f"{registry.host}/team/quotes@{quotes['digest']}"
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    assert index["annotations"]["org.opencontainers.image.title"] == "quotes-api"
    for entry in index["manifests"]:
        data = registry_reader.manifest("team/quotes", entry["digest"])
        assert len(data) == entry["size"]
        check_image(data, lambda digest: registry_reader.blob("team/quotes", digest))


def test_native_layers_hold_each_platforms_shared_objects_and_pure_layers_are_shared(quotes: dict[str, Any], registry_reader: RegistryReader) -> None:
    amd, arm = (json.loads(registry_reader.manifest("team/quotes", m["digest"])) for m in quotes["index"]["manifests"])
    amd_layers, arm_layers = _named_layers(registry_reader, "team/quotes", amd), _named_layers(registry_reader, "team/quotes", arm)
    assert list(amd_layers) == ["environment", "validation", "dependencies", "application"]
    for name in ("environment", "dependencies", "application"):  # the same bytes on both platforms: one blob
        assert amd_layers[name]["digest"] == arm_layers[name]["digest"], name
    assert amd_layers["validation"]["digest"] != arm_layers["validation"]["digest"]
    for layers, machine in ((amd_layers, "x86-64"), (arm_layers, "aarch64")):
        blob = registry_reader.blob("team/quotes", layers["validation"]["digest"])
        shared_objects = [n for n in layer_members(blob) if n.endswith(".so")]
        assert shared_objects and all("pydantic_core" in n for n in shared_objects)
        assert {_elf_machine(read_layer_file(blob, n)) for n in shared_objects} == {machine}
    assert amd["layers"][0] != arm["layers"][0]  # the bases differ, of course


def test_amd64_image_of_the_index_runs(quotes: dict[str, Any], registry: Registry, containers: Podman) -> None:
    port = free_port()
    cid = containers.run_detached(f"{registry.host}/team/quotes:2", env={"PORT": str(port)})
    try:
        info = get_when_up(f"http://127.0.0.1:{port}/", containers, cid).json()
        assert info["machine"] == "x86_64"
        created = httpx.post(f"http://127.0.0.1:{port}/", content=b'{"text": "Ship it"}')
        assert created.status_code == 201 and created.json() == {"text": "Ship it", "author": "anonymous"}
        assert httpx.post(f"http://127.0.0.1:{port}/", content=b'{"text": ""}').status_code == 422
    finally:
        containers.remove(cid)


def test_index_in_an_oci_layout(pyjib: Pyjib, multiarch_base_ref: str, tmp_path: Path) -> None:
    layout = tmp_path / "quotes"
    pyjib("build", str(EXAMPLES / "quotes-api"), "--from", multiarch_base_ref, "--to", f"oci:{layout}")
    index = check_layout(layout)
    (entry,) = images_of(index)
    assert entry["mediaType"] == "application/vnd.oci.image.index.v1+json"
    inner = json.loads((layout / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_text())
    validate(inner, "index")
    for child in inner["manifests"]:
        data = (layout / "blobs" / "sha256" / child["digest"].split(":")[1]).read_bytes()
        check_image(data, lambda d: (layout / "blobs" / "sha256" / d.split(":")[1]).read_bytes())


def test_a_platform_the_base_lacks_fails_before_anything_is_pushed(pyjib: Pyjib, registry: Registry, base_ref: str,
                                                                  registry_reader: RegistryReader) -> None:
    result = pyjib("push", str(EXAMPLES / "quotes-api"), "--from", base_ref, "--to", f"{registry.host}/bad/oneplatform:1", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "linux/arm64" in result.stderr.splitlines()[-1] and "linux/amd64" in result.stderr.splitlines()[-1]
    assert registry_reader.tags("bad/oneplatform") == []


def test_docker_archive_refuses_several_platforms(pyjib: Pyjib, multiarch_base_ref: str, tmp_path: Path) -> None:
    result = pyjib("build", str(EXAMPLES / "quotes-api"), "--from", multiarch_base_ref, "--to", f"docker-archive:{tmp_path / 'a.tar'}",
                   check=False)
    assert result.returncode == 2 and "one platform" in result.stderr


def test_big_distribution_gets_its_own_layer_that_survives_other_upgrades(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    threshold = 'layer-threshold-mb = 1\n'  # pydantic-core unpacks to several MB, everything else here to less than one
    one = write_project(tmp_path / "one", ["pydantic-core==2.41.5", "six==1.16.0"], name="svc-one", pyjib=threshold)
    two = write_project(tmp_path / "two", ["pydantic-core==2.41.5", "six==1.17.0"], name="svc-two", pyjib=threshold)
    layers = {}
    for project in (one, two):
        out = tmp_path / f"{project.name}-out"
        pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{out}")
        index = json.loads((out / "index.json").read_text())
        manifest = json.loads((out / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]).read_text())
        config = json.loads((out / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]).read_text())
        names = [h["created_by"].removeprefix("pyjib: ") for h in config["history"][-len(manifest["layers"]) + 1:]]
        layers[project.name] = dict(zip(names, (layer["digest"] for layer in manifest["layers"][1:]), strict=True))
    assert list(layers["one"]) == ["environment", "pydantic-core", "dependencies", "application"]
    assert layers["one"]["pydantic-core"] == layers["two"]["pydantic-core"]  # same wheel, same layer, in two projects
    assert layers["one"]["environment"] == layers["two"]["environment"]
    assert layers["one"]["dependencies"] != layers["two"]["dependencies"]  # six moved on


def test_each_platform_manifest_has_its_own_sbom(quotes: dict[str, Any], pyjib: Pyjib, registry: Registry, registry_reader: RegistryReader) -> None:
    reference = f"{registry.host}/team/quotes:2"
    for entry in quotes["index"]["manifests"]:
        architecture = entry["platform"]["architecture"]
        index = json.loads(registry_reader.manifest("team/quotes", "sha256-" + entry["digest"].split(":")[1]))
        validate(index, "index")
        (sbom,) = [m for m in index["manifests"] if m["artifactType"] == "application/spdx+json"]
        manifest = check_artifact(registry_reader.manifest("team/quotes", sbom["digest"]), lambda d: registry_reader.blob("team/quotes", d),
                                  lambda d: registry_reader.manifest("team/quotes", d))
        assert manifest["subject"]["digest"] == entry["digest"]
        printed = pyjib("sbom", reference, "--platform", f"linux/{architecture}").stdout.strip().encode()
        assert printed == registry_reader.blob("team/quotes", manifest["layers"][0]["digest"])
        document = valid_spdx(printed)
        (described,) = [p for p in document["packages"] if p["SPDXID"] in document["documentDescribes"]]
        assert purl_of(described).endswith(f"?arch={architecture}")
        assert f"arch={architecture}" in purl_of(spdx_package(document, "libc6")).split("?", 1)[1].split("&")
    unchosen = pyjib("sbom", reference, check=False)
    assert unchosen.returncode == 2 and "--platform" in unchosen.stderr and unchosen.stderr.count("\n") == 1


def test_the_projects_own_extras_follow_each_platforms_markers(pyjib: Pyjib, multiarch_base_ref: str, tmp_path: Path) -> None:
    # The extras a project's requirements on itself pull in are evaluated for each image, not for this x86_64 host:
    # the arm64 image gets the extra gated on aarch64 and not the one gated on x86_64, and the amd64 image the reverse.
    project = write_project(tmp_path / "app", ['machine-extras[arm]; platform_machine == "aarch64"',
                                               'machine-extras[x86]; platform_machine == "x86_64"'], name="machine-extras",
                            pyjib='platforms = ["linux/amd64", "linux/arm64"]\n')
    with (project / "pyproject.toml").open("a") as f:
        f.write('\n[project.optional-dependencies]\narm = ["six==1.17.0"]\nx86 = ["idna==3.10"]\n')
    layout = tmp_path / "out"
    pyjib("build", str(project), "--from", multiarch_base_ref, "--to", f"oci:{layout}")
    (entry,) = images_of(check_layout(layout))
    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    installed = {}
    for child in json.loads(blob(entry["digest"]))["manifests"]:
        manifest = json.loads(blob(child["digest"]))
        members = [name for layer in manifest["layers"][1:] for name in layer_members(blob(layer["digest"]))]
        installed[child["platform"]["architecture"]] = {n.split("/")[-2].split("-")[0] for n in members if n.endswith(".dist-info/METADATA")}
    assert {"six"} <= installed["arm64"] and "idna" not in installed["arm64"]
    assert {"idna"} <= installed["amd64"] and "six" not in installed["amd64"]
