"""--to docker-daemon:NAME[:TAG] loads the image into a running engine over the Docker Engine API (podman's service here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES, Pyjib
from tests.infra.podman import Podman

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
