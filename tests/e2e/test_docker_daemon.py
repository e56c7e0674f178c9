"""The dev loop: --to docker-daemon:NAME[:TAG] loads the image into a running engine over the Docker Engine API (podman's
service here), and examples/devloop's Skaffold and Tilt commands, run with the environment those tools set."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.infra.podman import Podman
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def engine_socket(containers: Podman, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """podman's Docker-compatible API on a socket of the tests', over the `containers` store (what it loads, they run)."""
    socket = tmp_path_factory.mktemp("engine") / "podman.sock"
    service = containers.serve_api(socket)
    try:
        yield socket
    finally:
        containers.stop_api(service)


def _engine_tags(socket: Path) -> set[str]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), base_url="http://engine") as client:
        images = client.get("/images/json").json()
    return {tag for image in images for tag in image.get("RepoTags") or []}


def test_loaded_image_runs_in_the_engine(pyjib: Pyjib, base_ref: str, engine_socket: Path, containers: Podman, tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    result = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", "docker-daemon:greet-daemon:dev",
                   "--tags", "also", "--image-refs", str(refs), env={"DOCKER_HOST": f"unix://{engine_socket}"})
    location = result.stdout.strip().splitlines()[-1]
    name, _, digest = location.partition("@")
    assert name == "docker-daemon:greet-daemon:dev" and digest.startswith("sha256:")
    assert refs.read_text().split() == [f"greet-daemon:dev@{digest}", f"greet-daemon:also@{digest}"]
    assert {"localhost/greet-daemon:dev", "localhost/greet-daemon:also"} <= _engine_tags(engine_socket)
    ran = containers.run("localhost/greet-daemon:dev", ["--name", "engine"])
    assert ran.returncode == 0 and "Hello, engine!" in ran.stdout, ran.stderr
    inspected = json.loads(containers.command("image", "inspect", "localhost/greet-daemon:also", check=True).stdout)
    assert inspected[0]["Config"]["Entrypoint"]  # the config went in whole, not just the layers


@pytest.mark.parametrize("docker_host, words", [("tcp://127.0.0.1:2375", "Unix socket"), ("unix:///nonexistent/docker.sock", "names no socket")])
def test_an_unusable_engine_is_one_line_before_the_build(pyjib: Pyjib, docker_host: str, words: str) -> None:
    result = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", "registry.invalid/none:1", "--to", "docker-daemon:greet",
                   env={"DOCKER_HOST": docker_host}, check=False)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert words in line and "DOCKER_HOST" in line


def _shell(command: str, cwd: Path, env: dict[str, str], pyjib: Pyjib) -> subprocess.CompletedProcess[str]:
    """A dev tool's command line as the tool runs it (through a shell, in the artifact's folder), pyjib being this checkout's."""
    command = re.sub(r"^pyjib\b", f"{sys.executable} -m pyjib", command)
    environment = {**os.environ, "PYJIB_CACHE_DIR": str(pyjib.cache_dir), **env}
    return subprocess.run(["sh", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "greet-cli"
    shutil.copytree(EXAMPLES / "greet-cli", project, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return project


def _skaffold_artifact() -> dict[str, Any]:
    config = yaml.safe_load((EXAMPLES / "devloop" / "skaffold.yaml").read_text())
    artifact: dict[str, Any]
    (artifact,) = config["build"]["artifacts"]
    return artifact


def test_skaffold_custom_build_pushes_or_loads_as_push_image_says(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                                                  engine_socket: Path, containers: Podman, tmp_path: Path) -> None:
    artifact = _skaffold_artifact()
    project = _project(tmp_path)
    common = {"BUILD_CONTEXT": str(project), "PLATFORMS": "linux/amd64", "DOCKER_HOST": f"unix://{engine_socket}"}
    command = artifact["custom"]["buildCommand"] + f" --from {base_ref}"

    pushed = _shell(command, project, {**common, "IMAGE": f"{registry.host}/skaffold/greet:v1", "PUSH_IMAGE": "true"}, pyjib)
    assert pushed.returncode == 0, pushed.stderr
    assert registry_reader.image_tags("skaffold/greet") == ["v1"]

    loaded = _shell(command, project, {**common, "IMAGE": "skaffold-greet:dev", "PUSH_IMAGE": "false"}, pyjib)
    assert loaded.returncode == 0, loaded.stderr
    ran = containers.run("localhost/skaffold-greet:dev", ["--name", "skaffold"])
    assert "Hello, skaffold!" in ran.stdout, ran.stderr

    inputs = _shell(artifact["custom"]["dependencies"]["command"], project, {}, pyjib)
    assert json.loads(inputs.stdout) == ["pyproject.toml", "src/greet/__init__.py", "src/greet/__main__.py", "src/greet/cli.py",
                                         "src/greet/greetings.txt"]


def _tilt_commands() -> list[str]:
    text = (EXAMPLES / "devloop" / "Tiltfile").read_text()
    lines = [re.sub(r"^# ?", "", line) for line in text.splitlines()]
    return re.findall(r"custom_build\('[^']+', '([^']+)'", "\n".join(lines))


def test_tilt_custom_build_commands(pyjib: Pyjib, base_ref: str, registry: Registry, engine_socket: Path, containers: Podman,
                                    tmp_path: Path) -> None:
    local, remote = _tilt_commands()
    project = _project(tmp_path)
    env = {"DOCKER_HOST": f"unix://{engine_socket}"}

    loaded = _shell(local + f" --from {base_ref}", project, {**env, "EXPECTED_REF": "tilt-greet:tilt-0f3a1b"}, pyjib)
    assert loaded.returncode == 0, loaded.stderr
    ran = containers.run("localhost/tilt-greet:tilt-0f3a1b", ["--name", "tilt"])
    assert "Hello, tilt!" in ran.stdout, ran.stderr

    pushed = _shell(remote + f" --from {base_ref}", project, {**env, "EXPECTED_REF": f"{registry.host}/tilt/greet:tilt-0f3a1b"}, pyjib)
    assert pushed.returncode == 0, pushed.stderr
    (ref,) = (project / ".pyjib-ref").read_text().splitlines()  # outputs_image_ref_to: one reference
    assert ref == f"{registry.host}/tilt/greet:tilt-0f3a1b@" + pushed.stdout.strip().split("@")[-1]


def test_a_base_of_your_own_loads_into_the_engine(pyjib: Pyjib, engine_socket: Path, containers: Podman, tmp_path: Path) -> None:
    """pyjib base (and rebase) deliver through the same targets: docker-daemon: takes the base too."""
    result = pyjib("base", "--to", "docker-daemon:pyjib-base:engine", cwd=tmp_path, env={"DOCKER_HOST": f"unix://{engine_socket}"})
    assert result.stdout.strip().splitlines()[-1].startswith("docker-daemon:pyjib-base:engine@sha256:")
    ran = containers.run("localhost/pyjib-base:engine", ["-c", "import sys; print(sys.version_info[:2])"], entrypoint="/usr/bin/python3.11")
    assert ran.returncode == 0 and ran.stdout.strip() == "(3, 11)", ran.stderr
