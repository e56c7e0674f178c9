"""Push each example to the real registry, read it back as a registry client would, and run it with podman."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.helpers import free_port, get_when_up, registry_writes
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.oci_checks import check_image, layer_members, read_layer_file

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hello_web(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    digest_file = tmp_path_factory.mktemp("digest") / "digest.txt"
    result = pyjib("push", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"{registry.host}/team/hello-web:1.0",
                   "--tags", "latest", "--digest-file", str(digest_file))
    return {"stdout": result.stdout, "stderr": result.stderr, "digest": digest_file.read_text().strip()}


def test_push_prints_reference_with_digest_last(hello_web: dict[str, str], registry: Registry) -> None:
    last = hello_web["stdout"].strip().splitlines()[-1]
    assert last == f"{registry.host}/team/hello-web@{hello_web['digest']}"
    assert hello_web["digest"].startswith("sha256:") and len(hello_web["digest"]) == 71
    assert "pyjib" in hello_web["stderr"]  # progress goes to stderr, not stdout
    assert len(hello_web["stdout"].strip().splitlines()) == 1


def test_registry_holds_a_valid_image_under_both_tags(hello_web: dict[str, str], registry_reader: RegistryReader, base_layout: Path) -> None:
    repository = "team/hello-web"
    assert registry_reader.image_tags(repository) == ["1.0", "latest"]
    data = registry_reader.manifest(repository, "1.0")
    assert registry_reader.manifest(repository, "latest") == data
    manifest, config = check_image(data, lambda digest: registry_reader.blob(repository, digest))
    assert "sha256:" + __import__("hashlib").sha256(data).hexdigest() == hello_web["digest"]

    comments = [h.get("created_by") for h in config["history"]]
    assert comments[-5:] == ["pyjib: environment", "pyjib: native dependencies", "pyjib: dependencies", "pyjib: resources",
                             "pyjib: application"]
    container = config["config"]
    assert container["Entrypoint"] == ["/app/venv/bin/hello-web"]
    assert container["User"] == "65532" and container["WorkingDir"] == "/home/nonroot"
    assert container["ExposedPorts"] == {"8080/tcp": {}}
    assert container["Labels"] == {**base_image.labels(base_layout), "org.example.team": "platform"}  # the base's are kept
    env = dict(e.split("=", 1) for e in container["Env"])
    assert env["PATH"].startswith("/app/venv/bin:") and env["HELLO_GREETING"] == "Hello"
    assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"  # the base's Env is kept
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.title"] == "hello-web"
    assert annotations["org.opencontainers.image.version"] == "1.0.0"
    assert annotations["org.opencontainers.image.source"] == "https://example.invalid/hello-web"
    assert annotations["org.opencontainers.image.base.name"].endswith("/distroless/python3:3.11-nonroot")
    revision = subprocess.run(["git", "-C", str(EXAMPLES), "rev-parse", "HEAD"], capture_output=True, text=True)
    if revision.returncode == 0:  # the examples sit in this repository's git checkout
        assert annotations["org.opencontainers.image.revision"] == revision.stdout.strip()


def test_layers_hold_what_their_names_say(hello_web: dict[str, str], registry_reader: RegistryReader) -> None:
    repository = "team/hello-web"
    manifest = json.loads(registry_reader.manifest(repository, "1.0"))
    config = json.loads(registry_reader.blob(repository, manifest["config"]["digest"]))
    names = [h["created_by"].removeprefix("pyjib: ") for h in config["history"]][-len(manifest["layers"]) + 1:]
    layers = {name: registry_reader.blob(repository, layer["digest"]) for name, layer in zip(names, manifest["layers"][1:], strict=True)}
    environment, native = layer_members(layers["environment"]), layer_members(layers["native dependencies"])
    dependencies, resources, application = layers["dependencies"], layers["resources"], layers["application"]
    assert environment["app/venv/bin/python"].issym() and environment["app/venv/bin/python"].linkname == "/usr/bin/python3.11"
    assert b"home = /usr/bin" in read_layer_file(layers["environment"], "app/venv/pyvenv.cfg")
    site = "app/venv/lib/python3.11/site-packages"
    assert any(name.startswith(f"{site}/markupsafe/_speedups.cpython-311-x86_64") for name in native)  # the compiled one
    deps = layer_members(dependencies)
    assert f"{site}/flask/__init__.py" in deps and f"{site}/jinja2/__init__.py" in deps and f"{site}/markupsafe/__init__.py" not in deps
    assert f"{site}/flask/__pycache__/__init__.cpython-311.pyc" in deps  # bytecode, compiled by a host Python 3.11
    assert not any("hello_web" in name for name in deps)
    res = layer_members(resources)
    assert {f"{site}/hello_web/templates/index.html", f"{site}/hello_web/static/style.css"} <= set(res)
    assert not any(name.endswith(".py") for name in res)
    app = layer_members(application)
    assert f"{site}/hello_web/app.py" in app and "app/venv/bin/hello-web" in app
    assert any(name.endswith("hello_web-1.0.0.dist-info/RECORD") for name in app)
    assert not any(name.endswith(".html") for name in app)
    script = read_layer_file(application, "app/venv/bin/hello-web")
    assert script.startswith(b"#!/app/venv/bin/python\n")
    for layer in (dependencies, resources, application):
        for member in layer_members(layer).values():
            assert member.uid == 0 and member.gid == 0 and member.mtime == 1 and not member.islnk()


def test_image_serves_its_page_as_nonroot(hello_web: dict[str, str], registry: Registry, containers: Podman) -> None:
    port = free_port()
    cid = containers.run_detached(f"{registry.host}/team/hello-web:1.0", env={"PORT": str(port)})
    try:
        health = get_when_up(f"http://127.0.0.1:{port}/health", containers, cid).json()
        assert health == {"status": "ok", "uid": 65532, "prefix": "/app/venv"}
        assert "Hello from hello-web on Python 3.11.2" in httpx.get(f"http://127.0.0.1:{port}/").text
        assert "font-family" in httpx.get(f"http://127.0.0.1:{port}/static/style.css").text
    finally:
        containers.remove(cid)


def test_setuptools_cli_runs_its_console_script(pyjib: Pyjib, registry: Registry, base_ref: str, containers: Podman) -> None:
    reference = f"{registry.host}/tools/greet:0.3.0"
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference)
    ran = containers.run(reference)
    assert ran.returncode == 0, ran.stderr
    click_version = ran.stdout.split("click ")[1].rstrip(")\n")
    assert ran.stdout.strip() == f"Hello, container! (greet-cli 0.3.0, click {click_version})"
    overridden = containers.run(reference, ["--name", "CI"])
    assert "Hello, CI!" in overridden.stdout


def test_python_m_and_metadata_work_in_the_image(pyjib: Pyjib, registry: Registry, base_ref: str, containers: Podman) -> None:
    reference = f"{registry.host}/tools/greet-module:1"
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference,
          "--entrypoint", '["/app/venv/bin/python"]', "--args", "-c pass")
    code = (
        "import importlib.metadata as m, sys, json;"
        "print(json.dumps({'dists': sorted(d.metadata['Name'].lower() for d in m.distributions()),"
        "'scripts': sorted(e.name for e in m.entry_points(group='console_scripts')),"
        "'path': sys.path, 'stdlib_first': sys.path.index('/usr/lib/python3.11') < sys.path.index('/app/venv/lib/python3.11/site-packages')}))"
    )
    ran = containers.run(reference, ["-c", code])
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert {"click", "greet-cli"} <= set(report["dists"])
    assert "greet" in report["scripts"]
    assert report["stdlib_first"] is True
    module = containers.run(reference, ["-m", "greet", "--name", "module"], entrypoint="/app/venv/bin/python")
    assert "Hello, module!" in module.stdout, module.stderr


def test_setup_py_project_without_pyproject(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path: Path, containers: Podman) -> None:
    """A project still on setup.cfg/setup.py, built through PEP 517's legacy setuptools backend."""
    project = tmp_path / "legacy"
    (project / "legacy_tool").mkdir(parents=True)
    (project / "legacy_tool" / "__init__.py").write_text("import six\n\ndef main():\n    print('legacy ok, six', six.__version__)\n")
    (project / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (project / "setup.cfg").write_text(
        "[metadata]\nname = legacy-tool\nversion = 0.9\n\n[options]\npackages = legacy_tool\ninstall_requires = six\n\n"
        "[options.entry_points]\nconsole_scripts =\n    legacy = legacy_tool:main\n"
    )
    reference = f"{registry.host}/tools/legacy:0.9"
    pyjib("push", str(project), "--from", base_ref, "--to", reference)
    ran = containers.run(reference)
    assert ran.returncode == 0 and ran.stdout.startswith("legacy ok, six 1."), ran.stderr


def test_an_unchanged_push_writes_nothing_and_a_moved_tag_is_pushed_again(pyjib: Pyjib, registry: Registry, base_ref: str,
                                                                         tmp_path: Path) -> None:
    reference = f"{registry.host}/tools/unchanged:1"
    first, again, moved = (tmp_path / name for name in ("first", "again", "moved"))
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference, "--tags", "stable", "--digest-file", str(first))
    offset = len(registry.log_text())
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference, "--tags", "stable", "--digest-file", str(again))
    assert again.read_text() == first.read_text()
    assert registry_writes(registry.log_text(), offset) == []
    # Another image under one of the tags: the next push of the first image puts that tag back (and both tags name it).
    pyjib("push", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"{registry.host}/tools/unchanged:stable")
    offset = len(registry.log_text())
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference, "--tags", "stable", "--digest-file", str(moved))
    assert moved.read_text() == first.read_text()
    assert any("/manifests/stable" in line for line in registry_writes(registry.log_text(), offset))
    with httpx.Client() as client:
        for tag in ("1", "stable"):
            answer = client.head(f"{registry.url}/v2/tools/unchanged/manifests/{tag}",
                                 headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            assert answer.headers["docker-content-digest"] == first.read_text().strip()


def test_an_unchanged_push_still_attaches_the_artifacts_the_registry_lacks(pyjib: Pyjib, registry: Registry, base_ref: str) -> None:
    reference = f"{registry.host}/tools/late-sbom:1"
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference, "--sbom", "false", "--no-provenance")
    assert pyjib("sbom", reference, check=False).returncode != 0  # none attached
    offset = len(registry.log_text())
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference)  # the same image, with an SBOM now
    writes = registry_writes(registry.log_text(), offset)
    assert not any("/manifests/1 " in line for line in writes)  # the image and its tag stay as they were
    assert json.loads(pyjib("sbom", reference).stdout)["spdxVersion"].startswith("SPDX-")
    offset = len(registry.log_text())
    pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", reference)
    assert registry_writes(registry.log_text(), offset) == []  # now everything is there
