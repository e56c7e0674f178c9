"""SBOM and provenance attached as OCI 1.1 referrers: in the real registry (referrers tag schema, since Debian's
docker-registry has no referrers API), through a proxy that answers OCI-Subject (the API path), and in OCI layouts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.infra import base_image
from tests.infra.fault_proxy import Fault, FaultProxy
from tests.infra.registry import Registry
from tests.oci_checks import check_artifact, check_layout, images_of, layer_members, validate
from tests.sbom_checks import purl_of, spdx_package, valid_cyclonedx, valid_provenance, valid_spdx

pytestmark = pytest.mark.e2e

SPDX, CYCLONEDX, IN_TOTO = "application/spdx+json", "application/vnd.cyclonedx+json", "application/vnd.in-toto+json"
REPOSITORY = "sbom/hello"


def referrers_tag_index(reader: RegistryReader, repository: str, digest: str) -> dict[str, Any]:
    index: dict[str, Any] = json.loads(reader.manifest(repository, "sha256-" + digest.split(":", 1)[1]))
    validate(index, "index")
    return index


def attached(reader: RegistryReader, repository: str, entry: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """An artifact listed in a referrers index: its manifest (checked) and its document."""
    manifest = check_artifact(reader.manifest(repository, entry["digest"]), lambda d: reader.blob(repository, d),
                              lambda d: reader.manifest(repository, d))
    return manifest, reader.blob(repository, manifest["layers"][0]["digest"])


def pushed_digest(stdout: str) -> str:
    return stdout.strip().splitlines()[-1].rsplit("@", 1)[1]


@pytest.fixture(scope="module")
def hello(pyjib: Pyjib, registry: Registry, base_ref: str) -> dict[str, str]:
    reference = f"{registry.host}/{REPOSITORY}:1"
    result = pyjib("push", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", reference)
    return {"reference": reference, "digest": pushed_digest(result.stdout)}


def test_push_lists_the_sbom_and_the_provenance_in_the_referrers_tag(hello: dict[str, str], registry_reader: RegistryReader) -> None:
    index = referrers_tag_index(registry_reader, REPOSITORY, hello["digest"])
    assert sorted(m["artifactType"] for m in index["manifests"]) == [SPDX, IN_TOTO]
    for entry in index["manifests"]:
        manifest, document = attached(registry_reader, REPOSITORY, entry)
        assert manifest["subject"]["digest"] == hello["digest"]
        assert manifest["artifactType"] == entry["artifactType"]
        assert entry["annotations"] == manifest["annotations"]  # copied in, as distribution-spec 1.1 says
        assert manifest["annotations"]["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z"
        if entry["artifactType"] == SPDX:
            valid_spdx(document)
        else:
            statement = valid_provenance(document)
            assert statement["subject"][0]["digest"] == {"sha256": hello["digest"].split(":", 1)[1]}
    assert registry_reader.image_tags(REPOSITORY) == ["1"]


def _installed_flask_version(reader: RegistryReader, digest: str) -> str:
    manifest = json.loads(reader.manifest(REPOSITORY, digest))
    for layer in manifest["layers"][1:]:  # above the base
        for name in layer_members(reader.blob(REPOSITORY, layer["digest"])):
            parts = name.split("/")
            if parts[-1] == "METADATA" and parts[-2].startswith("flask-") and parts[-2].endswith(".dist-info"):
                return parts[-2].removeprefix("flask-").removesuffix(".dist-info")
    raise AssertionError("no flask in the image")


def test_sbom_names_the_flask_wheel_in_the_image_and_the_bases_python(hello: dict[str, str], pyjib: Pyjib,
                                                                       registry_reader: RegistryReader) -> None:
    printed = pyjib("sbom", hello["reference"]).stdout.strip().encode()
    index = referrers_tag_index(registry_reader, REPOSITORY, hello["digest"])
    (spdx_entry,) = [m for m in index["manifests"] if m["artifactType"] == SPDX]
    assert printed == attached(registry_reader, REPOSITORY, spdx_entry)[1]
    document = valid_spdx(printed)
    flask = spdx_package(document, "flask")
    assert flask["versionInfo"] == _installed_flask_version(registry_reader, hello["digest"])
    assert purl_of(flask) == f"pkg:pypi/flask@{flask['versionInfo']}"
    wheel = httpx.get(flask["downloadLocation"], follow_redirects=True, timeout=60)
    assert wheel.status_code == 200 and flask["downloadLocation"].endswith(f"flask-{flask['versionInfo']}-py3-none-any.whl")
    assert flask["checksums"] == [{"algorithm": "SHA256", "checksumValue": hashlib.sha256(wheel.content).hexdigest()}]
    python = spdx_package(document, "python3.11-minimal")
    assert purl_of(python).startswith("pkg:deb/debian/python3.11-minimal@3.11.") and "arch=amd64" in purl_of(python)
    (described,) = [p for p in document["packages"] if p["SPDXID"] in document["documentDescribes"]]
    assert described["primaryPackagePurpose"] == "CONTAINER"
    assert purl_of(described) == f"pkg:oci/hello-web@sha256%3A{hello['digest'].split(':')[1]}?arch=amd64"


def test_a_second_push_adds_no_duplicates(hello: dict[str, str], pyjib: Pyjib, base_ref: str, registry_reader: RegistryReader) -> None:
    before = referrers_tag_index(registry_reader, REPOSITORY, hello["digest"])
    result = pyjib("push", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", hello["reference"])
    assert pushed_digest(result.stdout) == hello["digest"]
    after = referrers_tag_index(registry_reader, REPOSITORY, hello["digest"])
    assert after == before and len(after["manifests"]) == 2


def test_a_registry_with_the_referrers_api_gets_no_referrers_tag(pyjib: Pyjib, registry: Registry, base_ref: str,
                                                                  registry_reader: RegistryReader) -> None:
    with FaultProxy(registry.host, oci_subject=True) as proxy:
        result = pyjib("push", str(EXAMPLES / "hello-web"), "--from", f"{proxy.host}/distroless/python3:{base_image.TAG}",
                       "--to", f"{proxy.host}/sbom/api:1", "--sbom", "cyclonedx")
        puts = [seen.path for seen in proxy.requests if seen.method == "PUT" and "/manifests/" in seen.path]
    digest = pushed_digest(result.stdout)
    by_digest = [path.rsplit("/", 1)[1] for path in puts if "/manifests/sha256:" in path]
    artifacts = [json.loads(registry_reader.manifest("sbom/api", d)) for d in by_digest if d != digest]
    assert sorted(a["artifactType"] for a in artifacts) == [CYCLONEDX, IN_TOTO]
    assert all(a["subject"]["digest"] == digest for a in artifacts)
    assert not any("/manifests/sha256-" in path for path in puts)
    assert not any(tag.startswith("sha256-") for tag in registry_reader.tags("sbom/api"))
    tagged = puts.index("/v2/sbom/api/manifests/1")
    assert all(puts.index(f"/v2/sbom/api/manifests/{d}") < tagged for d in by_digest)  # the artifacts before the tag


def test_a_failure_to_attach_fails_the_push_before_any_tag(pyjib: Pyjib, registry: Registry, base_ref: str,
                                                            registry_reader: RegistryReader) -> None:
    with FaultProxy(registry.host) as proxy:
        proxy.add(Fault("status", method="PUT", path="/manifests/sha256-", times=None, status=500))
        result = pyjib("push", str(EXAMPLES / "hello-web"), "--from", f"{proxy.host}/distroless/python3:{base_image.TAG}",
                       "--to", f"{proxy.host}/sbom/broken:1", check=False, env={"PYJIB_HTTP_RETRIES": "1"})
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("pyjib: error:") and "sha256-" in line and "Traceback" not in result.stderr
    assert registry_reader.image_tags("sbom/broken") == []


def _layout_sbom(pyjib: Pyjib, layout: Path) -> bytes:
    return pyjib("sbom", f"oci:{layout}").stdout.strip().encode()


def test_layouts_hold_the_artifacts_and_the_same_project_gives_the_same_sbom(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    pyjib("build", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"oci:{first}")
    pyjib("build", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"oci:{second}", "--cache-dir", str(tmp_path / "fresh"))
    index = check_layout(first)  # the artifacts' manifests, empty configs, documents and subjects are all there
    (image,) = images_of(index)
    assert sorted(m["artifactType"] for m in index["manifests"] if "artifactType" in m) == [SPDX, IN_TOTO]
    assert _layout_sbom(pyjib, first) == _layout_sbom(pyjib, second)  # byte-identical, even from a cold cache
    assert json.loads(_layout_sbom(pyjib, first))["documentNamespace"].endswith(image["digest"].split(":")[1])


def test_sbom_format_and_switches(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    cyclonedx, nothing = tmp_path / "cyclonedx", tmp_path / "nothing"
    pyjib("build", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"oci:{cyclonedx}", "--sbom", "cyclonedx", "--no-provenance")
    index = check_layout(cyclonedx)
    assert [m["artifactType"] for m in index["manifests"] if "artifactType" in m] == [CYCLONEDX]
    document = valid_cyclonedx(_layout_sbom(pyjib, cyclonedx))
    assert {"flask", "python3.11-minimal"} <= {c["name"] for c in document["components"]}
    pyjib("build", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"oci:{nothing}", "--sbom", "false", "--no-provenance")
    assert len(check_layout(nothing)["manifests"]) == 1
    missing = pyjib("sbom", f"oci:{nothing}", check=False)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no SBOM attached" in missing.stderr
