"""pytest plugin: a session fixture `pyjib_image` builds the project's image once, for tests to check before a push.

Off unless a test asks for the fixture. Options: --pyjib-project DIR, --pyjib-from IMAGE, --pyjib-runtime CMD
(or PYJIB_CONTAINER_RUNTIME), and the project's own [tool.pyjib].
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from .api import Image, ImageLayer, MergedFilesystem, host_platform, image_filesystem, image_layers, publish, read_sbom, write_docker_archive
from .errors import PyjibError
from .settings import Settings, load_settings


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str


def _default_runtime() -> list[str] | None:
    if configured := os.environ.get("PYJIB_CONTAINER_RUNTIME"):
        return shlex.split(configured)
    for name in ("podman", "docker"):
        if shutil.which(name):
            return [name]
    return None


@dataclass
class ContainerImage:
    """The built image: its digest, config, layers and files, and a way to run it."""

    image: Image
    digest: str
    layout: Path
    runtime: list[str] | None = None
    _archive: Path | None = field(default=None, repr=False)

    @property
    def config(self) -> dict[str, Any]:
        return self.image.container_config

    @property
    def entrypoint(self) -> list[str]:
        return list(self.config.get("Entrypoint") or [])

    @property
    def env(self) -> dict[str, str]:
        return dict(entry.split("=", 1) for entry in self.config.get("Env") or [] if "=" in entry)

    @property
    def user(self) -> str | None:
        return self.config.get("User")

    @property
    def workdir(self) -> str | None:
        return self.config.get("WorkingDir")

    @property
    def ports(self) -> list[str]:
        return sorted(self.config.get("ExposedPorts") or {})

    @cached_property
    def layers(self) -> list[ImageLayer]:
        return image_layers(self.image)

    @cached_property
    def _filesystem(self) -> MergedFilesystem:
        return image_filesystem(self.image)

    def read_file(self, path: str) -> bytes:
        """A file from the image's merged filesystem (symlinks followed, whiteouts applied)."""
        return self._filesystem.read_file(path)

    def exists(self, path: str) -> bool:
        return self._filesystem.resolve(path) is not None

    @cached_property
    def sbom(self) -> dict[str, Any]:
        """The SBOM attached to the image (SPDX 2.3 by default, CycloneDX 1.6 with sbom = "cyclonedx"), parsed."""
        document: dict[str, Any] = json.loads(read_sbom(f"oci:{self.layout}"))
        return document

    def run(self, args: Sequence[str] = (), *, entrypoint: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = 120) -> RunResult:
        """Run the image with a container runtime (podman, else docker); skips the test when there is none."""
        if not self.runtime:
            pytest.skip("no container runtime (podman or docker) on PATH; set PYJIB_CONTAINER_RUNTIME to run images")
        if self._archive is None:
            self._archive = self.layout.parent / "image.tar"
            write_docker_archive(self._archive, self.image, [f"pyjib-test/{self.digest.split(':')[1][:12]}:latest"])
        command = [*self.runtime, "run", "--rm"]
        if entrypoint is not None:
            command += ["--entrypoint", entrypoint]
        for key, value in (env or {}).items():
            command += ["--env", f"{key}={value}"]
        command += [f"docker-archive:{self._archive}" if Path(self.runtime[0]).name == "podman" else self._load_with_docker(), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return RunResult(done.returncode, done.stdout, done.stderr)

    def _load_with_docker(self) -> str:
        assert self.runtime is not None and self._archive is not None
        subprocess.run([*self.runtime, "load", "-i", str(self._archive)], check=True, capture_output=True)
        return f"pyjib-test/{self.digest.split(':')[1][:12]}:latest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyjib", "container image of the project, built by pyjib")
    group.addoption("--pyjib-project", metavar="DIR", help="project to build (default: the pytest root folder)")
    group.addoption("--pyjib-from", metavar="IMAGE", help="base image (default: [tool.pyjib] from, else pyjib's default)")
    group.addoption("--pyjib-runtime", metavar="CMD", help="container runtime command, such as 'podman' (default: podman, else docker)")


def _one_platform(settings: Settings) -> Settings:
    """A multi-platform project is checked on one platform: this host's if it is among them (so run() works), else the first."""
    if len(settings.platforms) <= 1:
        return settings
    return replace(settings, platforms=(host_platform(settings.platforms),))


@pytest.fixture(scope="session")
def pyjib_image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ContainerImage:
    config = request.config
    project = Path(config.getoption("pyjib_project") or config.rootpath)
    layout = tmp_path_factory.mktemp("pyjib-image") / "layout"
    options: dict[str, Any] = {"to": f"oci:{layout}"}
    if base := config.getoption("pyjib_from"):
        options["from"] = base
    try:
        published = publish(_one_platform(load_settings(project, options)))
    except PyjibError as exc:
        failure = f"pyjib could not build {project}: {exc}"
    else:
        failure = ""
    if failure:
        pytest.fail(failure, pytrace=False)  # outside the except block, so no chained traceback is shown
    runtime_option = config.getoption("pyjib_runtime")
    runtime = shlex.split(runtime_option) if runtime_option else _default_runtime()
    return ContainerImage(published.build.image, published.digest, layout, runtime)


__all__ = ["ContainerImage", "ImageLayer", "RunResult"]
