"""`hatch build -t container`: the plugin in hatch_build_hook/, installed by hatch from the target's dependencies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES, REPO_ROOT, RegistryReader
from tests.helpers import free_port, get_when_up
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.infra.registry_variants import write_quick_htpasswd
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


USER, PASSWORD = "ci", "hatch-Pa55-e2e"
# A wheel-target build hook: it leaves a marker beside the project when hatchling builds the wheel, so a test can tell
# whether the wheel was built at all.
_MARK_WHEEL_HOOK = '''
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class MarkWheel(BuildHookInterface):
    def initialize(self, version, build_data):
        (Path(self.root).parent / "wheel-built").write_text(self.target_name)
'''


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("hatch-locked-registry")
    with Registry(root / "registry", htpasswd_file=write_quick_htpasswd(root / "htpasswd", {USER: PASSWORD})) as running:
        yield running


def _locked_repositories(registry: Registry) -> list[str]:
    response = httpx.get(f"{registry.url}/v2/_catalog", auth=(USER, PASSWORD), timeout=30)
    response.raise_for_status()
    return list(response.json().get("repositories") or [])


def _hatchling_push(project: Path, password: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYJIB_USERNAME": USER, "PYJIB_PASSWORD": password, "DOCKER_CONFIG": str(tmp_path / "docker")}
    return subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "container"], cwd=project, capture_output=True, text=True,
                          timeout=600, env=env)


def test_a_wrong_password_fails_before_the_wheel_is_built_and_the_right_one_pushes_and_writes_the_lock(
        base_ref: str, locked_registry: Registry, tmp_path: Path) -> None:
    project = _hatch_project(tmp_path, f'from = "{base_ref}"\nto = "{locked_registry.host}/hatch/locked:1"\npush = true\n'
                                       'write-lock = "pylock.toml"\n')
    (project / "hatch_build.py").write_text(_MARK_WHEEL_HOOK)
    with (project / "pyproject.toml").open("a") as f:
        f.write("\n[tool.hatch.build.targets.wheel.hooks.custom]\n")
    marker = project.parent / "wheel-built"

    wrong = _hatchling_push(project, "not-the-" + PASSWORD, tmp_path)
    assert wrong.returncode != 0
    errors = [line for line in (wrong.stdout + wrong.stderr).splitlines() if line.strip()]
    assert len(errors) == 1 and locked_registry.host in errors[0], errors
    assert not marker.exists()  # the login was refused before hatchling built the wheel
    assert not (project / "pylock.toml").exists() and not (project / "dist" / "hello-web-1.0.0-image").exists()
    assert _locked_repositories(locked_registry) == []

    right = _hatchling_push(project, PASSWORD, tmp_path)
    assert right.returncode == 0, right.stderr + right.stdout
    assert marker.read_text() == "wheel"  # the hook does fire when the wheel is built: its absence above means something
    assert _locked_repositories(locked_registry) == ["hatch/locked"]
    assert (project / "dist" / "hello-web-1.0.0-image" / "index.json").is_file()
    locked = tomllib.loads((project / "pylock.toml").read_text())
    assert "flask" in {package["name"] for package in locked["packages"]}
