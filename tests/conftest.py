"""Session fixtures own the real parts: one registry, the bases `pyjib base` made from the committed locks pushed into it, and podman."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"

# Every process the tests start (pyjib, pytester's pytest, hatchling) imports this checkout's pyjib, whichever
# checkout an editable install happens to point at.
sys.path[:0] = [str(REPO_ROOT / "src"), str(REPO_ROOT / "hatch_build_hook" / "src")]
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT / "src"), str(REPO_ROOT / "hatch_build_hook" / "src"),
                                                       os.environ.get("PYTHONPATH", "")) if p)

# Users have the public index only: this machine's pip configuration adds local wheel folders (one wheel per release)
# that hide real failures, so every test, and every pyjib, uv and pip it starts, sees the public index as users do.
os.environ["PIP_CONFIG_FILE"] = os.devnull
os.environ.pop("PIP_FIND_LINKS", None)

import httpx  # noqa: E402
import pytest  # noqa: E402

from tests.infra import base_image, podman  # noqa: E402
from tests.infra.registry import Registry  # noqa: E402


@dataclass(frozen=True)
class Pyjib:
    """Runs `python -m pyjib` as a user would, with a cache shared by the session."""

    cache_dir: Path

    def __call__(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "PYJIB_CACHE_DIR": str(self.cache_dir), **(env or {})}
        result = subprocess.run(
            [sys.executable, "-m", "pyjib", *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=600
        )
        if check and result.returncode != 0:
            raise AssertionError(f"pyjib {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result


@pytest.fixture(scope="session")
def pyjib(tmp_path_factory: pytest.TempPathFactory) -> Pyjib:
    return Pyjib(tmp_path_factory.mktemp("pyjib-cache"))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with Registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def base_layout() -> Path:
    return base_image.base_layout()


@pytest.fixture(scope="session")
def base_ref(registry: Registry, base_layout: Path) -> str:
    """The base image in the session's registry, as users name a distroless base."""
    reference = f"{registry.host}/distroless/python3:{base_image.TAG}"
    base_image.push_with_skopeo(base_layout, reference)
    return reference


@pytest.fixture(scope="session")
def base_without_cxx_ref(registry: Registry) -> str:
    """The base without libstdc++6 (as one assembled without distroless' "cc" layer), in the session's registry."""
    reference = f"{registry.host}/distroless/python3:{base_image.NO_CXX_TAG}"
    base_image.push_with_skopeo(base_image.no_cxx_layout(), reference, base_image.NO_CXX_TAG)
    return reference


@pytest.fixture(scope="session")
def multiarch_base_ref(registry: Registry) -> str:
    """An index of the amd64 and arm64 bases, as distroless publishes them."""
    reference = f"{registry.host}/distroless/python3:{base_image.MULTI_TAG}"
    base_image.push_with_skopeo(base_image.multiarch_layout(), reference, base_image.MULTI_TAG)
    return reference


@pytest.fixture(scope="session")
def containers(tmp_path_factory: pytest.TempPathFactory) -> podman.Podman:
    if not podman.available():
        pytest.fail("podman and runc are needed for the end-to-end tests; .ci/run installs them")
    root = tmp_path_factory.mktemp("podman")
    return podman.Podman(root / "config", storage_dir=root / "storage")


class RegistryReader:
    """Reads what a registry holds, for assertions, over the plain distribution API."""

    def __init__(self, registry: Registry) -> None:
        self.client = httpx.Client(base_url=registry.url, timeout=30)

    def manifest(self, repository: str, reference: str) -> bytes:
        response = self.client.get(
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"},
        )
        assert response.status_code == 200, f"{repository}:{reference}: {response.status_code}"
        return response.content

    def blob(self, repository: str, digest: str) -> bytes:
        response = self.client.get(f"/v2/{repository}/blobs/{digest}", follow_redirects=True)
        assert response.status_code == 200, f"{repository}@{digest}: {response.status_code}"
        return response.content

    def tags(self, repository: str) -> list[str]:
        response = self.client.get(f"/v2/{repository}/tags/list")
        if response.status_code == 404:
            return []
        return list(response.json().get("tags") or [])

    def image_tags(self, repository: str) -> list[str]:
        """Tags of images, leaving out pyjib's fleet cache records and the referrers tags (sha256-HEX) of SBOMs and provenance."""
        return sorted(t for t in self.tags(repository) if not t.startswith(("pyjib-cache-", "sha256-")))

    def repositories(self) -> list[str]:
        return list(self.client.get("/v2/_catalog").json().get("repositories") or [])


@pytest.fixture(scope="session")
def registry_reader(registry: Registry) -> RegistryReader:
    return RegistryReader(registry)
