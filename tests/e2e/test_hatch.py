"""`hatch build -t container`: the plugin in hatch_build_hook/, installed by hatch from the target's dependencies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO_ROOT, RegistryReader
from tests.helpers import free_port, get_when_up
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.oci_checks import check_layout

pytestmark = pytest.mark.e2e


def _hatch_project(tmp_path: Path, target_table: str) -> Path:
    project = tmp_path / "hello-web"
    shutil.copytree(EXAMPLES / "hello-web", project)
    dependencies = [f"hatch-pyjib @ {(REPO_ROOT / 'hatch_build_hook').as_uri()}", f"pyjib @ {REPO_ROOT.as_uri()}"]
    with (project / "pyproject.toml").open("a") as f:
        f.write(f"\n[tool.hatch.build.targets.container]\ndependencies = {json.dumps(dependencies)}\n{target_table}")
    return project


def _hatch(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    hatch = shutil.which("hatch")
    assert hatch, "hatch is installed by .ci/setup (the test extra)"
    return subprocess.run([hatch, "build", "-t", "container", *args], cwd=project, capture_output=True, text=True, timeout=600,
                          env=env)


def test_hatch_build_writes_a_layout_that_skopeo_reads_and_podman_runs(base_layout: Path, tmp_path: Path, containers: Podman) -> None:
    project = _hatch_project(tmp_path, f'from = "oci:{base_layout}:{base_image.TAG}"\n')
    result = _hatch(project)
    assert result.returncode == 0, result.stderr + result.stdout
    layout = project / "dist" / "hello-web-1.0.0-image"
    assert str(layout) in result.stdout + result.stderr  # hatch prints the artifact
    check_layout(layout)
    inspected = json.loads(subprocess.run(["skopeo", "inspect", f"oci:{layout}:latest"], capture_output=True, text=True, check=True).stdout)
    assert inspected["Labels"] == {**base_image.labels(base_layout), "org.example.team": "platform"}
    port = free_port()
    cid = containers.run_detached(f"oci:{layout}:latest", env={"PORT": str(port)})
    try:
        assert get_when_up(f"http://127.0.0.1:{port}/health", containers, cid).json()["status"] == "ok"
    finally:
        containers.remove(cid)


def test_unknown_key_in_the_target_table_is_an_error(base_layout: Path, tmp_path: Path) -> None:
    project = _hatch_project(tmp_path, f'from = "oci:{base_layout}:{base_image.TAG}"\nentrypiont = ["/x"]\n')
    result = _hatch(project)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "unknown option 'entrypiont'" in output and "[tool.hatch.build.targets.container]" in output
    assert "Traceback" not in output
    assert not (project / "dist" / "hello-web-1.0.0-image").exists()


def test_target_table_wins_and_push_sends_it_to_the_registry(base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                                            tmp_path: Path) -> None:
    project = _hatch_project(tmp_path, f'from = "{base_ref}"\nto = "{registry.host}/hatch/hello-web:2"\npush = true\nports = ["9090"]\n')
    # python -m hatchling in this environment (where the plugin is installed) is the other way to run the target.
    result = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "container"], cwd=project, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    assert f"{registry.host}/hatch/hello-web@sha256:" in result.stdout + result.stderr
    assert registry_reader.image_tags("hatch/hello-web") == ["2"]
    manifest = json.loads(registry_reader.manifest("hatch/hello-web", "2"))
    config = json.loads(registry_reader.blob("hatch/hello-web", manifest["config"]["digest"]))
    assert config["config"]["ExposedPorts"] == {"9090/tcp": {}}  # the target table overrides [tool.pyjib] ports = ["8080"]
    assert (project / "dist" / "hello-web-1.0.0-image" / "index.json").is_file()
