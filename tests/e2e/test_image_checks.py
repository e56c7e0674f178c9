"""The image is checked against its base before anything is published: each misfit is one line, exit 2, nothing written."""

from __future__ import annotations

import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Pyjib, RegistryReader
from tests.e2e.test_bad_input import assert_clean_failure
from tests.helpers import write_project
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e

UJSON = "ujson==6.1.0"  # a small real wheel whose extension needs libstdc++.so.6 (DT_NEEDED), as numpy's and grpcio's do


def _nothing_published(registry_reader: RegistryReader, repository: str) -> None:
    """No tag, no manifest and no blob: the repository never came to be."""
    assert registry_reader.tags(repository) == []
    assert repository not in registry_reader.repositories()


def test_requires_python_the_base_does_not_have(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                                tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [])
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text.replace('version = "0.1.0"\n', 'version = "0.1.0"\nrequires-python = ">=3.12"\n'))
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/checks/new-python:1", check=False)
    assert_clean_failure(result, ">=3.12", "3.11.2")
    built = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", check=False)
    assert_clean_failure(built, ">=3.12", "3.11.2")
    _nothing_published(registry_reader, "checks/new-python")
    assert not (tmp_path / "out").exists()


def test_a_fresh_runner_with_the_fleet_cache_checks_too(pyjib: Pyjib, base_ref: str, registry: Registry,
                                                        registry_reader: RegistryReader, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [])
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('version = "0.1.0"\n', 'version = "0.1.0"\nrequires-python = ">=3.10"\n'))
    pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/checks/fleet:1")
    pyproject.write_text(text.replace('version = "0.1.0"\n', 'version = "0.1.0"\nrequires-python = ">=3.12"\n'))
    fresh = {"PYJIB_CACHE_DIR": str(tmp_path / "fresh-runner-cache")}  # the fleet record's key does not cover Requires-Python
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/checks/fleet:2", env=fresh, check=False)
    assert_clean_failure(result, ">=3.12", "3.11.2")
    assert registry_reader.image_tags("checks/fleet") == ["1"]


def test_own_code_that_does_not_compile(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                        tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [], pyjib='bytecode = "required"\n')
    (project / "demo_app" / "broken.py").write_text("def greet():\n    return 1\n\ndef (:\n")
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/checks/broken:1", check=False)
    assert_clean_failure(result, "demo_app/broken.py", "line 4")
    _nothing_published(registry_reader, "checks/broken")


@pytest.fixture(scope="module")
def lying_base_ref(registry: Registry, base_layout: Path) -> str:
    """The test base with PYTHON_VERSION=3.12.4 in its Env, over a Python 3.11 interpreter."""
    def lie(config: dict[str, Any]) -> None:
        config["config"]["Env"].append("PYTHON_VERSION=3.12.4")

    layout = base_image.with_config(base_layout, base_image.TAG, "lying-python", lie)
    reference = f"{registry.host}/distroless/python3:lying-python"
    base_image.push_with_skopeo(layout, reference, "lying-python")
    return reference


def test_base_whose_python_version_lies(pyjib: Pyjib, lying_base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                        tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [])
    result = pyjib("push", str(project), "--from", lying_base_ref, "--to", f"{registry.host}/checks/lying:1", check=False)
    assert_clean_failure(result, "PYTHON_VERSION=3.12.4", "Python 3.11")
    _nothing_published(registry_reader, "checks/lying")


def test_missing_libstdcxx_is_named_with_who_needs_it(pyjib: Pyjib, base_without_cxx_ref: str, registry: Registry,
                                                      registry_reader: RegistryReader, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [UJSON], name="json-app")
    for _build in ("cold", "warm"):  # the second build reads the base's libraries from the cache
        result = pyjib("push", str(project), "--from", base_without_cxx_ref, "--to", f"{registry.host}/checks/no-cxx:1", check=False)
        assert_clean_failure(result, "libstdc++.so.6", "ujson", "libstdc++6")
    _nothing_published(registry_reader, "checks/no-cxx")


def _layer_names(blob: Path) -> list[str]:
    """The paths a cached blob holds when it is a layer (a gzip tar), else none."""
    try:
        with tarfile.open(blob, "r:gz") as tar:
            return tar.getnames()
    except (tarfile.TarError, OSError):
        return []


def test_a_missing_library_is_refused_before_its_layer_is_compressed(base_without_cxx_ref: str, registry: Registry,
                                                                     registry_reader: RegistryReader, tmp_path: Path) -> None:
    own_cache = Pyjib(tmp_path / "cache")  # the session's cache may hold ujson's layer from another test
    project = write_project(tmp_path / "p", [UJSON], name="json-app")
    result = own_cache("push", str(project), "--from", base_without_cxx_ref, "--to", f"{registry.host}/checks/early:1", check=False)
    assert_clean_failure(result, "libstdc++.so.6", "ujson", "libstdc++6")
    blobs = sorted((own_cache.cache_dir / "blobs" / "sha256").iterdir())
    held = [name for blob in blobs for name in _layer_names(blob)]
    assert any(name.startswith("app/") for name in held)  # the project's own small layers were built, and read here
    assert not [name for name in held if "ujson" in name]  # the dependency's layer never was
    _nothing_published(registry_reader, "checks/early")


def test_the_full_base_has_libstdcxx_and_the_wheel_imports(pyjib: Pyjib, base_ref: str, registry: Registry, containers: Podman,
                                                           registry_reader: RegistryReader, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [UJSON], name="json-app")
    reference = f"{registry.host}/checks/with-cxx:1"
    pyjib("push", str(project), "--from", base_ref, "--to", reference)
    assert "checks/with-cxx" in registry_reader.repositories()  # what _nothing_published looks for does appear on a push
    ran = containers.run(reference, ["-c", "import ujson; print(ujson.dumps({'a': [1, 2]}))"], entrypoint="/app/venv/bin/python")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == '{"a":[1,2]}'


_AARCH64_BACKEND = '''
"""A PEP 517 backend that writes a wheel built for aarch64, as a C-extension project built on an arm64 machine would."""
import base64, hashlib, zipfile

TAG = "cp311-cp311-manylinux_2_17_aarch64"
NAME = "native_app-0.1.0"


def _hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {
        "native_app/__init__.py": b"VALUE = 1\\n",
        NAME + ".dist-info/METADATA": b"Metadata-Version: 2.1\\nName: native-app\\nVersion: 0.1.0\\n",
        NAME + ".dist-info/WHEEL": ("Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: false\\nTag: " + TAG + "\\n").encode(),
    }
    record = "".join(f"{name},{_hash(data)},{len(data)}\\n" for name, data in files.items()) + NAME + ".dist-info/RECORD,,\\n"
    filename = f"{NAME}-{TAG}.whl"
    with zipfile.ZipFile(f"{wheel_directory}/{filename}", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(NAME + ".dist-info/RECORD", record)
    return filename
'''


def test_own_wheel_for_another_cpu(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                   tmp_path: Path) -> None:
    project = tmp_path / "native-app"
    project.mkdir()
    (project / "aarch64_backend.py").write_text(_AARCH64_BACKEND)
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = []
        build-backend = "aarch64_backend"
        backend-path = ["."]

        [project]
        name = "native-app"
        version = "0.1.0"

        [tool.pyjib]
        module = "native_app"
        """))
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/checks/aarch64:1", check=False)
    assert_clean_failure(result, "native_app-0.1.0-cp311-cp311-manylinux_2_17_aarch64.whl", "linux/amd64")
    _nothing_published(registry_reader, "checks/aarch64")
