"""What pyjib's child processes get (issue 11 items 4, 5): pyjib's index settings, never pyjib's secrets.

A project's backend and a dependency's build are third-party code run on the build host.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Pyjib
from tests.e2e.test_real_projects import installed, layout_layers
from tests.infra.distributions import make_wheel
from tests.infra.simple_index import SimpleIndex
from tests.oci_checks import layer_members, read_layer_file

pytestmark = pytest.mark.e2e

INDEX_PASSWORD = "bu1ld-Index-Pa55"
REGISTRY_PASSWORD = "Registry-Pa55-never-for-backends"


@pytest.fixture(scope="module")
def backend_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleIndex]:
    """A private index holding a build requirement that the public index does not have."""
    root = tmp_path_factory.mktemp("backend-index")
    with SimpleIndex(root / "www", "builder", INDEX_PASSWORD) as index:
        index.add(make_wheel(root / "dist", "acme-build-helper", "1.0", {"acme_build_helper/__init__.py": "MARK = 'private'\n"}))
        yield index


def _env_recording_project(root: Path, name: str, build_requires: list[str]) -> Path:
    """A project whose in-tree backend (over hatchling) writes the names and a digest of the values of its environment
    into the package, so the image shows what the backend saw."""
    module = name.replace("-", "_")
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text("")
    (root / "_recording_backend.py").write_text(textwrap.dedent(f"""\
        import json, os, pathlib
        from hatchling.build import *  # noqa: F403
        from hatchling import build as _hatchling

        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            pathlib.Path("{module}/seen_env.json").write_text(json.dumps(dict(os.environ)))
            return _hatchling.build_wheel(wheel_directory, config_settings, metadata_directory)
        """))
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = {json.dumps(["hatchling", *build_requires])}
        build-backend = "_recording_backend"
        backend-path = ["."]

        [project]
        name = "{name}"
        version = "1.0"

        [tool.hatch.build.targets.wheel]
        packages = ["{module}"]
        artifacts = ["{module}/seen_env.json"]

        [tool.pyjib]
        entrypoint = ["/app/venv/bin/python"]
        """))
    return root


def _seen_environment(layout: Path, module: str) -> dict[str, str]:
    for blob in layout_layers(layout).values():
        for name in layer_members(blob):
            if name.endswith(f"{module}/seen_env.json"):
                return dict(json.loads(read_layer_file(blob, name)))
    raise AssertionError("the backend's record is not in the image")


def test_the_backend_never_sees_pyjibs_registry_credentials(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    app = _env_recording_project(tmp_path / "app", "env-recorder", [])
    out = tmp_path / "out"
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{out}", "--cache-dir", str(tmp_path / "cache"),
          env={"PYJIB_USERNAME": "ci", "PYJIB_PASSWORD": REGISTRY_PASSWORD, "PYJIB_CACHE_KEY": "k3y-" + REGISTRY_PASSWORD})
    seen = _seen_environment(out, "env_recorder")
    assert "PATH" in seen  # the record is real
    assert not {"PYJIB_USERNAME", "PYJIB_PASSWORD", "PYJIB_CACHE_KEY"} & set(seen)
    assert REGISTRY_PASSWORD not in json.dumps(seen)


def test_build_requirements_come_from_pyjibs_own_index_settings(pyjib: Pyjib, base_ref: str, backend_index: SimpleIndex,
                                                               tmp_path: Path) -> None:
    # acme-build-helper exists only on the private index: before, the build environment asked the public index alone.
    app = _env_recording_project(tmp_path / "app", "private-backend-user", ["acme-build-helper==1.0"])
    url = backend_index.url.replace("http://", f"http://builder:{INDEX_PASSWORD}@")
    out = tmp_path / "out"
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{out}", "--extra-index-url", url,
                   "--cache-dir", str(tmp_path / "cache"))
    assert "private_backend_user-1.0" in installed(layout_layers(out))
    assert INDEX_PASSWORD not in result.stdout + result.stderr
