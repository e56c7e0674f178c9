"""The SBOM and provenance documents, built from a small image model and checked by real validators."""

from __future__ import annotations

import email.message
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from pyjib.contents import image_contents
from pyjib.context import Sources
from pyjib.errors import ConfigError
from pyjib.filesystem import MergedFilesystem
from pyjib.imagebuild import Build, PlatformImage
from pyjib.indexes import IndexConfig
from pyjib.interpreter import Interpreter, OsPackage, _keep, distro, os_packages, parse_dpkg_status
from pyjib.lockedwheel import LockedWheel
from pyjib.oci import mediatypes
from pyjib.oci.image import Image
from pyjib.oci.platforms import Platform
from pyjib.provenance import statement
from pyjib.reference import Reference
from pyjib.referrers import artifacts_for
from pyjib.sbom import sbom_bytes, spdx_location
from pyjib.settings import Settings, load_settings
from pyjib.transports import BaseImage
from pyjib.wheelfacts import WheelFacts, declared_license
from pyjib.wheelmeta import WheelMetadata
from tests.sbom_checks import purl_of, spdx_package, valid_cyclonedx, valid_provenance, valid_spdx

STATUS = """Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc (2.36-9+deb12u4)
Version: 2.36-9+deb12u4
Description: GNU C Library
 continuation line: not a field

Package: removed-one
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
"""


def test_dpkg_status_lists_installed_packages_with_their_source() -> None:
    packages = parse_dpkg_status(STATUS)
    assert packages == [OsPackage("libc6", "2.36-9+deb12u4", "amd64", "glibc", "2.36-9+deb12u4"),
                        OsPackage("zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib", "1:1.2.13.dfsg-1")]
    # a status.d control file (as distroless images carry) has no Status field and counts as installed
    assert parse_dpkg_status("Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n")[0].name == "tzdata"


def test_an_interpreter_record_without_the_package_list_is_a_miss() -> None:
    interpreter = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"),
                              (OsPackage("libc6", "2.36", "amd64", "glibc", "2.36"),), "debian-12")
    data = json.loads(json.dumps(interpreter.to_json()))
    assert Interpreter.from_json(data) == interpreter
    del data["os_packages"]
    with pytest.raises(KeyError):
        Interpreter.from_json(data)


def _metadata(**fields: str | list[str]) -> email.message.Message:
    message = email.message.Message()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            message[key.replace("_", "-")] = item
    return message


def test_declared_licence_prefers_pep_639_then_an_spdx_license_field_then_classifiers() -> None:
    assert declared_license(_metadata(License_Expression="mit OR apache-2.0", License="whatever")) == ("MIT OR Apache-2.0", "")
    assert declared_license(_metadata(License="BSD-3-Clause")) == ("BSD-3-Clause", "")
    assert declared_license(_metadata(Classifier=["License :: OSI Approved :: MIT License"])) == ("MIT", "")
    assert declared_license(_metadata(License="Copyright (c) someone\nPermission is hereby granted")) == ("", "Copyright (c) someone")
    assert declared_license(_metadata(Classifier=["License :: OSI Approved :: BSD License"])) == ("", "BSD License")
    assert declared_license(_metadata()) == ("", "")


BASE_DIGEST = "sha256:" + "b" * 64


def _wheel(name: str, version: str, source: str = "index", origin: str = "", url: str = "") -> LockedWheel:
    return LockedWheel(name, version, url or f"https://user:secret@pypi.example.org/{name}-{version}-py3-none-any.whl",
                       hashlib.sha256(name.encode()).hexdigest(), f"{name}-{version}-py3-none-any.whl", source, origin)


def _build(architecture: str = "amd64", created: str = "2024-05-01T12:00:00Z") -> tuple[Build, PlatformImage]:
    interpreter = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", architecture),
                              tuple(parse_dpkg_status(STATUS + "\nPackage: python3.11-minimal\nArchitecture: amd64\nVersion: 3.11.2-6\n")),
                              "debian-12")
    locked = (
        _wheel("flask", "3.0.3"), _wheel("werkzeug", "3.0.3"), _wheel("uvloop", "0.19.0"),
        _wheel("mylib", "0.1.0", "local", url="file:///root/.cache/pyjib/built-wheels/x/mylib-0.1.0-py3-none-any.whl"),
        _wheel("gitdep", "1.2", "vcs", "git+https://github.com/example/gitdep@0123456789abcdef"),
        _wheel("oldpkg", "2.0", "sdist", "https://files.example/oldpkg-2.0.tar.gz"),
    )
    facts = tuple(WheelFacts(w.sha256, "BSD-3-Clause" if w.name == "flask" else "", "", ()) for w in locked)
    facts = (WheelFacts(locked[0].sha256, "BSD-3-Clause", "", ("Werkzeug>=3.0", "asgiref>=3.2; extra == 'async'")),
             WheelFacts(locked[1].sha256, "", "BSD License", ("MarkupSafe>=2.1.1", "watchdog>=2.3; extra == 'watchdog'")),
             *facts[2:])
    image = Image({"architecture": architecture, "os": "linux", "created": created, "rootfs": {"type": "layers", "diff_ids": []}}, ())
    base = BaseImage(Image({"architecture": architecture, "os": "linux"}, ()), "registry.example/distroless/python3:3.11",
                     BASE_DIGEST, Reference("registry.example", "distroless/python3", "3.11"))
    platform_image = PlatformImage(image, base, interpreter, locked, None, facts, ("flask>=3", "mylib", "gitdep", "oldpkg"))
    project = WheelMetadata("hello-web", "1.0.0", ("flask>=3",), ("hello-web",), {})
    build = Build(project, (platform_image,), WheelFacts("", "MIT", "", ()), Sources(IndexConfig(index_url="https://u:p@idx.example/simple"), None))
    return build, platform_image


def test_spdx_document_is_valid_and_says_what_is_in_the_image() -> None:
    build, platform_image = _build()
    document = valid_spdx(sbom_bytes(image_contents(build, platform_image), "spdx"))
    assert document["creationInfo"]["created"] == "2024-05-01T12:00:00Z"
    flask = spdx_package(document, "flask")
    assert purl_of(flask) == "pkg:pypi/flask@3.0.3"
    assert flask["checksums"] == [{"algorithm": "SHA256", "checksumValue": platform_image.locked[0].sha256}]
    assert flask["downloadLocation"] == "https://pypi.example.org/flask-3.0.3-py3-none-any.whl"  # no credentials
    assert flask["licenseDeclared"] == "BSD-3-Clause"
    assert "secret" not in json.dumps(document)
    assert spdx_package(document, "werkzeug")["licenseComments"] == "the metadata says: BSD License"
    ids = {p["name"]: p["SPDXID"] for p in document["packages"]}
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in document["relationships"]}
    assert (ids["flask"], "DEPENDS_ON", ids["werkzeug"]) in relations
    assert (ids["flask"], "DEPENDS_ON", ids["uvloop"]) not in relations
    assert (ids["hello-web"], "DEPENDS_ON", ids["flask"]) in relations
    image_id = document["documentDescribes"][0]
    assert (image_id, "DESCENDANT_OF", ids["registry.example/distroless/python3:3.11"]) in relations
    base = spdx_package(document, "registry.example/distroless/python3:3.11")
    assert purl_of(base) == f"pkg:oci/python3@sha256%3A{'b' * 64}?repository_url=registry.example/distroless/python3"
    # built here: said so, with no download location that is not one (the cache's file:// URL)
    mylib = spdx_package(document, "mylib")
    assert mylib["downloadLocation"] == "NOASSERTION" and "local folder" in mylib["sourceInfo"]
    gitdep = spdx_package(document, "gitdep")
    assert gitdep["downloadLocation"] == "git+https://github.com/example/gitdep@0123456789abcdef"
    assert purl_of(gitdep) == "pkg:pypi/gitdep@1.2?vcs_url=git%2Bhttps://github.com/example/gitdep%400123456789abcdef"
    assert "sdist" in spdx_package(document, "oldpkg")["sourceInfo"]
    # the base's OS packages, as scanners match them
    assert purl_of(spdx_package(document, "python3.11-minimal")) == "pkg:deb/debian/python3.11-minimal@3.11.2-6?arch=amd64&distro=debian-12"
    assert purl_of(spdx_package(document, "zlib1g")) == "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12&epoch=1"
    assert spdx_package(document, "libc6")["sourceInfo"] == "built from the source package glibc 2.36-9+deb12u4"


def test_download_locations_spdx_cannot_take_are_said_in_source_info() -> None:
    assert spdx_location("https://files.pythonhosted.org/packages/x.whl") and spdx_location("git+https://github.com/a/b@c")
    assert not spdx_location("http://127.0.0.1:8080/x.whl") and not spdx_location("http://pypi.corp.internal/x.whl")
    build, platform_image = _build()
    private = _wheel("acme", "1.0", url="http://deploy:pw@10.0.0.5:8080/files/acme-1.0-py3-none-any.whl")
    platform_image = replace(platform_image, locked=(*platform_image.locked, private),
                             facts=(*platform_image.facts, WheelFacts(private.sha256, "", "", ())))
    acme = spdx_package(valid_spdx(sbom_bytes(image_contents(build, platform_image), "spdx")), "acme")
    assert acme["downloadLocation"] == "NOASSERTION" and acme["sourceInfo"] == "downloaded from http://10.0.0.5:8080/files/acme-1.0-py3-none-any.whl"


def test_cyclonedx_document_is_valid() -> None:
    build, platform_image = _build("arm64")
    document = valid_cyclonedx(sbom_bytes(image_contents(build, platform_image), "cyclonedx"))
    assert document["metadata"]["component"]["purl"].endswith("?arch=arm64")
    flask = next(c for c in document["components"] if c["name"] == "flask")
    assert flask["hashes"] == [{"alg": "SHA-256", "content": platform_image.locked[0].sha256}]
    assert {"ref": "pkg:pypi/flask@3.0.3", "dependsOn": ["pkg:pypi/werkzeug@3.0.3"]} in document["dependencies"]


def test_the_same_image_gives_the_same_bytes() -> None:
    one, two = _build(), _build()
    for form in ("spdx", "cyclonedx"):
        assert sbom_bytes(image_contents(*one), form) == sbom_bytes(image_contents(*two), form)
    assert sbom_bytes(image_contents(*_build(created="2025-01-01T00:00:00Z")), "spdx") != sbom_bytes(image_contents(*one), "spdx")


def test_provenance_is_a_valid_statement_about_the_image(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for command in (["init", "-q"], ["remote", "add", "origin", "https://ci:token123@git.example/team/app.git"],
                    ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", "-C", str(project), *command], check=True)
    build, platform_image = _build()
    settings = Settings(project_dir=project, to="registry.example/team/app:1", environment={"MODE": "prod"})
    clean = valid_provenance(statement(build, platform_image, settings, environ={}))
    assert clean["subject"] == [{"name": "hello-web", "digest": {"sha256": platform_image.image.digest.split(":")[1]}}]
    definition = clean["predicate"]["buildDefinition"]
    source = definition["externalParameters"]["source"]
    assert source["uri"] == "git+https://git.example/team/app.git" and source["dirty"] is False
    assert definition["externalParameters"]["settings"]["environment"] == {"MODE": "prod"}
    assert "to" not in definition["externalParameters"]["settings"]
    assert definition["externalParameters"]["indexes"] == ["https://idx.example/simple"]
    dependencies = {d["name"]: d for d in definition["resolvedDependencies"]}
    assert dependencies["base"]["digest"] == {"sha256": "b" * 64}
    assert dependencies["flask==3.0.3"]["digest"] == {"sha256": platform_image.locked[0].sha256}
    assert "token123" not in json.dumps(clean) and "secret" not in json.dumps(clean)
    (project / "new.txt").write_text("x")
    github = {"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "team/app",
              "GITHUB_RUN_ID": "42", "GITHUB_RUN_ATTEMPT": "2", "RUNNER_ENVIRONMENT": "github-hosted"}
    dirty = valid_provenance(statement(build, platform_image, settings, environ=github))
    assert dirty["predicate"]["buildDefinition"]["externalParameters"]["source"]["dirty"] is True
    assert dirty["predicate"]["runDetails"]["builder"]["id"] == "https://github.com/actions/runner/github-hosted"
    assert dirty["predicate"]["runDetails"]["metadata"]["invocationId"] == "https://github.com/team/app/actions/runs/42/attempts/2"


def test_artifacts_follow_the_settings_and_name_the_image_as_subject(tmp_path: Path) -> None:
    build, platform_image = _build()
    default = artifacts_for(build, platform_image, Settings(project_dir=tmp_path))
    assert [a.artifact_type for a in default] == [mediatypes.SPDX_JSON, mediatypes.IN_TOTO_JSON]
    artifact = default[0]
    manifest = artifact.manifest()
    assert manifest["artifactType"] == mediatypes.SPDX_JSON
    assert manifest["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                                  "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}
    assert manifest["subject"]["digest"] == platform_image.image.digest
    assert manifest["layers"][0]["mediaType"] == mediatypes.SPDX_JSON
    assert manifest["layers"][0]["annotations"] == {"org.opencontainers.image.title": "sbom.spdx.json"}  # oras pull names it so
    listed = artifact.descriptor().to_json()
    assert listed["artifactType"] == mediatypes.SPDX_JSON and listed["annotations"] == manifest["annotations"]
    cyclonedx = artifacts_for(build, platform_image, Settings(project_dir=tmp_path, sbom="cyclonedx", provenance=False))
    assert [a.artifact_type for a in cyclonedx] == [mediatypes.CYCLONEDX_JSON]
    assert artifacts_for(build, platform_image, Settings(project_dir=tmp_path, sbom="none", provenance=False)) == ()


def test_sbom_setting(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n[tool.pyjib]\nsbom = false\nprovenance = false\n')
    settings = load_settings(tmp_path, {})
    assert (settings.sbom, settings.provenance) == ("none", False)
    assert load_settings(tmp_path, {"sbom": "cyclonedx"}).sbom == "cyclonedx"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n[tool.pyjib]\nsbom = "syft"\n')
    with pytest.raises(ConfigError, match='sbom must be "spdx", "cyclonedx" or false'):
        load_settings(tmp_path, {})


def test_base_packages_and_distribution_are_read_from_the_layers(tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as tar:
        for name, data in (("usr/lib/os-release", b'ID=debian\nVERSION_ID="12"\n'), ("var/lib/dpkg/status.d/libc6", STATUS.split("\n\n")[0].encode()),
                           ("var/lib/dpkg/status.d/libc6.md5sums", b"0123  usr/lib/libc.so.6\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("etc/os-release")
        link.type, link.linkname = tarfile.SYMTYPE, "../usr/lib/os-release"
        tar.addfile(link)
    view = MergedFilesystem.read([layer], keep=_keep)
    assert distro(view) == "debian-12"
    assert [p.name for p in os_packages(view)] == ["libc6"]
    build, platform_image = _build()
    document = valid_spdx(sbom_bytes(image_contents(build, platform_image), "spdx"))
    (system,) = [p for p in document["packages"] if p.get("primaryPackagePurpose") == "OPERATING-SYSTEM"]
    assert (system["name"], system["versionInfo"]) == ("debian", "12")
    cyclonedx = valid_cyclonedx(sbom_bytes(image_contents(build, platform_image), "cyclonedx"))
    assert {"type": "operating-system", "bom-ref": "os:debian-12", "name": "debian", "version": "12"} in cyclonedx["components"]
