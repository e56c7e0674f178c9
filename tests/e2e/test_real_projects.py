"""Real projects as they are: sdist-only dependencies, a private index, a monorepo folder, lock files, CI tags."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.e2e.test_bad_input import assert_clean_failure
from tests.helpers import write_project
from tests.infra.distributions import make_c_extension_sdist, make_wheel
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.infra.simple_index import SimpleIndex
from tests.oci_checks import layer_members
from tests.sbom_checks import spdx_package, valid_spdx

pytestmark = pytest.mark.e2e


def project(root: Path, name: str, dependencies: list[str], pyjib_table: str = "") -> Path:
    """A project whose image runs python itself, so a test can import what was installed."""
    return write_project(root, dependencies, name=name, version="1.2.3", scripts={},
                         pyjib='entrypoint = ["/app/venv/bin/python"]\n' + pyjib_table)


def layout_layers(layout: Path) -> dict[str, bytes]:
    """The named layers (by history) of the image in an OCI layout, as blobs."""
    def blob(digest: str) -> bytes:
        return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    names = [h["created_by"].removeprefix("pyjib: ") for h in config["history"][-len(manifest["layers"]) + 1:]]
    return {name: blob(layer["digest"]) for name, layer in zip(names, manifest["layers"][1:], strict=True)}


def installed(layers: dict[str, bytes]) -> set[str]:
    """name-version of every .dist-info in the layers."""
    found = set()
    for blob in layers.values():
        for name in layer_members(blob):
            top = name.split("/")
            if len(top) == 6 and top[5].endswith(".dist-info"):
                found.add(top[5].removesuffix(".dist-info").lower())
    return found


def test_pure_sdist_only_dependency_is_built_and_runs(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path: Path,
                                                      containers: Podman) -> None:
    app = project(tmp_path / "app", "uses-docopt", ["docopt==0.6.2"])  # docopt is published as an sdist only
    reference = f"{registry.host}/real/docopt:1"
    pyjib("push", str(app), "--from", base_ref, "--to", reference)
    ran = containers.run(reference, ["-c", "import docopt; print(docopt.__version__)"])
    assert ran.stdout.strip() == "0.6.2", ran.stderr
    # The SBOM says it was built here from the sdist: the sdist's URL, and the checksum of the wheel that was installed.
    docopt = spdx_package(valid_spdx(pyjib("sbom", reference).stdout.encode()), "docopt")
    assert docopt["downloadLocation"].startswith("https://files.pythonhosted.org/") and docopt["downloadLocation"].endswith("docopt-0.6.2.tar.gz")
    assert "sdist" in docopt["sourceInfo"] and len(docopt["checksums"][0]["checksumValue"]) == 64


def test_compiled_sdist_only_dependency_fails_with_what_to_do(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    make_c_extension_sdist(wheelhouse, "fastthing", "0.1")
    app = project(tmp_path / "app", "uses-fastthing", ["fastthing==0.1"], f'find-links = ["{wheelhouse}"]')
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", check=False)
    assert_clean_failure(result, "fastthing", "compiled for this host", "pin a version that publishes wheels")
    assert not (tmp_path / "out").exists()


SECRET = "s3cr3t-Index-Pa55"


@pytest.fixture(scope="module")
def private_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleIndex]:
    root = tmp_path_factory.mktemp("private-index")
    with SimpleIndex(root / "www", "deploy", SECRET) as index:
        index.add(make_wheel(root / "dist", "acme-greeting", "1.0", {"acme_greeting/__init__.py": "GREETING = 'hello from acme'\n"},
                             requires=("six>=1.16",)))
        yield index


def _no_secret_anywhere(layout: Path, *outputs: str) -> None:
    for path in layout.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                import gzip

                data = gzip.decompress(data)
            assert SECRET.encode() not in data, f"the index password leaked into {path}"
    for output in outputs:
        assert SECRET not in output


def test_private_index_with_credentials_from_the_environment(pyjib: Pyjib, base_ref: str, private_index: SimpleIndex,
                                                             tmp_path: Path, containers: Podman) -> None:
    app = project(tmp_path / "app", "uses-acme", ["acme-greeting==1.0"])
    url = private_index.url.replace("http://", f"http://deploy:{SECRET}@")
    out = tmp_path / "out"
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{out}", "--write-lock", str(tmp_path / "pylock.toml"),
                   env={"PIP_EXTRA_INDEX_URL": url})
    layers = layout_layers(out)
    assert {"acme_greeting-1.0", "six-1.17.0"} <= installed(layers)
    _no_secret_anywhere(out, result.stdout, result.stderr, (tmp_path / "pylock.toml").read_text())
    acme = spdx_package(valid_spdx(pyjib("sbom", f"oci:{out}").stdout.encode()), "acme-greeting")
    # SPDX 2.3 takes no IP address as a download location, so the index's URL (without credentials) is in sourceInfo.
    assert acme["downloadLocation"] == "NOASSERTION" and "downloaded from http://127.0.0.1:" in acme["sourceInfo"]
    ran = containers.run(f"oci:{out}:latest", ["-c", "import acme_greeting; print(acme_greeting.GREETING)"])
    assert ran.stdout.strip() == "hello from acme", ran.stderr


def test_private_index_with_credentials_from_netrc(pyjib: Pyjib, base_ref: str, private_index: SimpleIndex, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login deploy password {SECRET}\n")
    netrc.chmod(0o600)
    app = project(tmp_path / "app", "uses-acme-netrc", ["acme-greeting==1.0"], f'extra-index-url = ["{private_index.url}"]')
    out = tmp_path / "out"
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{out}", env={"NETRC": str(netrc)})
    assert "acme_greeting-1.0" in installed(layout_layers(out))
    _no_secret_anywhere(out, result.stdout, result.stderr)


def test_wrong_index_password_is_one_clear_line_without_the_secret(pyjib: Pyjib, base_ref: str, private_index: SimpleIndex,
                                                                  tmp_path: Path) -> None:
    app = project(tmp_path / "app", "uses-acme-wrong", ["acme-greeting==1.0"])
    url = private_index.url.replace("http://", "http://deploy:not-the-Pa55word@")
    # No cache may answer for the index: neither pyjib's nor uv's.
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", "--cache-dir", str(tmp_path / "cache"),
                   env={"PIP_EXTRA_INDEX_URL": url, "UV_NO_CACHE": "1"}, check=False)
    line = assert_clean_failure(result, "acme-greeting")
    assert "not-the-Pa55word" not in result.stderr + result.stdout, line


def test_monorepo_path_dependency_gets_the_snapshot_layer(pyjib: Pyjib, base_ref: str, tmp_path: Path, containers: Podman) -> None:
    library = tmp_path / "repo" / "libs" / "shared-utils"
    project(library, "shared-utils", [])
    (library / "shared_utils" / "__init__.py").write_text("VALUE = 42\n")
    app = project(tmp_path / "repo" / "services" / "api", "api-service", [f"shared-utils @ {library.as_uri()}", "six"])
    out = tmp_path / "out"
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{out}")
    layers = layout_layers(out)
    assert list(layers) == ["environment", "dependencies", "snapshot dependencies", "application"]
    assert installed({"snapshot": layers["snapshot dependencies"]}) == {"shared_utils-1.2.3"}
    assert "six" in " ".join(installed({"deps": layers["dependencies"]}))
    sbom = pyjib("sbom", f"oci:{out}").stdout
    shared = spdx_package(valid_spdx(sbom.encode()), "shared-utils")
    assert shared["downloadLocation"] == "NOASSERTION" and "local folder" in shared["sourceInfo"]
    assert "file:" not in sbom and str(tmp_path) not in sbom  # no path of the build host
    ran = containers.run(f"oci:{out}:latest", ["-c", "import shared_utils; print(shared_utils.VALUE)"])
    assert ran.stdout.strip() == "42", ran.stderr

    # Edits to the sibling, and to a subpackage named build/, reach the next image (no cache may keep the old ones).
    (app / "api_service" / "build").mkdir()
    (app / "api_service" / "build" / "__init__.py").write_text("STEP = 'one'\n")
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out2'}")
    (library / "shared_utils" / "__init__.py").write_text("VALUE = 43\n")
    (app / "api_service" / "build" / "__init__.py").write_text("STEP = 'two'\n")
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out3'}")
    ran = containers.run(f"oci:{tmp_path / 'out3'}:latest",
                         ["-c", "import shared_utils, api_service.build as b; print(shared_utils.VALUE, b.STEP)"])
    assert ran.stdout.strip() == "43 two", ran.stderr


def _lock_for_image(requirements: str, tmp_path: Path, name: str, *extra: str) -> Path:
    """A lock made the way a team would, for the image's platform (Linux x86-64, CPython 3.11)."""
    import uv

    source = tmp_path / "requirements.in"
    source.write_text(requirements)
    output = tmp_path / name
    subprocess.run([uv.find_uv_bin(), "pip", "compile", str(source), "-o", str(output), "--python", sys.executable,
                    "--python-platform", "x86_64-manylinux_2_36", "--python-version", "3.11.2", "--only-binary", ":all:", "--quiet",
                    "--no-header", *extra], check=True, capture_output=True)
    return output


@pytest.mark.parametrize("kind", ["pylock", "requirements"])
def test_lock_file_is_installed_exactly_and_a_tampered_hash_is_refused(pyjib: Pyjib, base_ref: str, tmp_path: Path, kind: str) -> None:
    app = project(tmp_path / "app", "locked-app", ["click"])
    if kind == "pylock":
        lock = _lock_for_image("click==8.1.7\n", tmp_path, "pylock.toml", "--format", "pylock.toml")
        (app / "pylock.toml").write_text(lock.read_text())
        lock_file = app / "pylock.toml"
    else:
        lock = _lock_for_image("click==8.1.7\n", tmp_path, "requirements.txt", "--generate-hashes")
        (app / "requirements.txt").write_text(lock.read_text())
        lock_file = app / "requirements.txt"
    out = tmp_path / "out"
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{out}")
    assert lock_file.name in result.stderr
    assert "click-8.1.7" in installed(layout_layers(out))  # not the newest click, the locked one

    text = lock_file.read_text()
    real = next(h for h in __import__("re").findall(r"[0-9a-f]{64}", text))
    lock_file.write_text(text.replace(real, "0" * 64))
    failed = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'tampered'}", "--refresh", check=False)
    assert_clean_failure(failed, "click", "sha256")
    assert not (tmp_path / "tampered").exists()


def test_written_lock_reproduces_the_image(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "pylock.toml"
    first = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{tmp_path / 'one'}", "--write-lock", str(lock))
    assert 'name = "click"' in lock.read_text()
    second = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{tmp_path / 'two'}", "--lock-file", str(lock))
    assert first.stdout.split("@")[1] == second.stdout.split("@")[1]


def _committed_copy(source: Path, target: Path) -> str:
    """source copied into a git repository of its own with everything committed; the commit's sha."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one"]):
        subprocess.run(["git", "-C", str(target), *command], check=True, capture_output=True)
    return subprocess.run(["git", "-C", str(target), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def test_tag_templates_and_image_refs(pyjib: Pyjib, registry: Registry, registry_reader: RegistryReader, base_ref: str,
                                      tmp_path: Path) -> None:
    project = tmp_path / "greet-cli"
    sha = _committed_copy(EXAMPLES / "greet-cli", project)
    refs = tmp_path / "refs.txt"
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/ci/greet:{{version}}",
                   "--tags", "build-{env:BUILD_ID},{git_short_sha}", "--image-refs", str(refs), env={"BUILD_ID": "77"})
    digest = result.stdout.strip().split("@")[1]
    expected = ["0.3.0", "build-77", sha[:7]]
    assert registry_reader.image_tags("ci/greet") == sorted(expected)
    assert refs.read_text().splitlines() == [f"{registry.host}/ci/greet:{tag}@{digest}" for tag in expected]
    assert "warning" not in result.stderr

    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "\n# an uncommitted change\n")
    dirty = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/ci/dirty:{{git_short_sha}}", "--tags", "{git_sha}")
    assert registry_reader.image_tags("ci/dirty") == sorted([f"{sha[:7]}-dirty", f"{sha}-dirty"])
    assert len([line for line in dirty.stderr.splitlines() if line.startswith("pyjib: warning:")]) == 1, dirty.stderr

    failed = pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{registry.host}/ci/unfilled:{{env:NOT_SET_ZZ}}",
                   check=False)
    assert_clean_failure(failed, "NOT_SET_ZZ")
    assert registry_reader.tags("ci/unfilled") == []
