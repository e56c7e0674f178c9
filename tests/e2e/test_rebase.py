"""`pyjib rebase`: an app built on base v1 moved onto v2 (v1 plus a package) equals a fresh build on v2; unsafe bases are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.infra.podman import Podman
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e


def _last_line(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def images(pyjib: Pyjib, registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("rebase")
    host = registry.host
    pyjib("base", "--to", f"{host}/bases/py:v1", cwd=work)
    pyjib("base", "--to", f"{host}/bases/py:v2", "--package", "libpq5", cwd=work)
    app = _last_line(pyjib("push", str(EXAMPLES / "greet-cli"), "--from", f"{host}/bases/py:v1", "--to", f"{host}/team/greet:v1").stdout)
    rebased = _last_line(pyjib("rebase", f"{host}/team/greet:v1", "--from", f"{host}/bases/py:v2", "--to", f"{host}/team/greet:rebased").stdout)
    fresh = _last_line(pyjib("push", str(EXAMPLES / "greet-cli"), "--from", f"{host}/bases/py:v2", "--to", f"{host}/team/greet:fresh",
                             "--registry-cache").stdout)
    return {"app": app, "rebased": rebased, "fresh": fresh, "work": str(work)}


def _manifest(reader: RegistryReader, repository: str, tag: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(reader.manifest(repository, tag))
    return manifest


def test_rebased_equals_a_fresh_build_on_the_new_base(images: dict[str, str], registry: Registry) -> None:
    assert images["rebased"].startswith(f"{registry.host}/team/greet@sha256:")
    assert images["rebased"].split("@")[1] == images["fresh"].split("@")[1]
    assert images["rebased"] != images["app"]


def test_own_layers_are_kept_and_the_base_replaced(images: dict[str, str], registry_reader: RegistryReader) -> None:
    app, rebased = _manifest(registry_reader, "team/greet", "v1"), _manifest(registry_reader, "team/greet", "rebased")
    v1, v2 = _manifest(registry_reader, "bases/py", "v1"), _manifest(registry_reader, "bases/py", "v2")
    assert [layer["digest"] for layer in app["layers"][:1]] == [v1["layers"][0]["digest"]]
    assert rebased["layers"][0]["digest"] == v2["layers"][0]["digest"]
    assert [layer["digest"] for layer in rebased["layers"][1:]] == [layer["digest"] for layer in app["layers"][1:]]
    assert rebased["annotations"]["org.opencontainers.image.base.digest"] == "sha256:" + __import__("hashlib").sha256(
        registry_reader.manifest("bases/py", "v2")).hexdigest()
    config = json.loads(registry_reader.blob("team/greet", rebased["config"]["digest"]))
    assert config["config"]["Labels"]["dev.pyjib.base.packages"] == "libpq5"  # the new base's labels, merged


def test_rebased_image_runs(images: dict[str, str], containers: Podman) -> None:
    result = containers.run(images["rebased"], ["--name", "rebased"])
    assert result.returncode == 0, result.stderr
    assert "Hello, rebased!" in result.stdout


@pytest.mark.parametrize(("base_args", "message"), [
    (["--platform", "linux/arm64"], "is for linux/arm64"),
    (["--suite", "trixie", "--python", "3.13", "--mirror", "http://deb.debian.org/debian"], "has Python 3.13"),
])
def test_an_incompatible_base_is_refused_and_nothing_pushed(images: dict[str, str], pyjib: Pyjib, registry: Registry,
                                                             registry_reader: RegistryReader, base_args: list[str], message: str) -> None:
    host = registry.host
    pyjib("base", "--to", f"{host}/bases/other:1", *base_args, cwd=Path(images["work"]))
    result = pyjib("rebase", "-q", f"{host}/team/greet:v1", "--from", f"{host}/bases/other:1", "--to", f"{host}/team/refused:1", check=False)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert "team/refused" not in registry_reader.repositories()


def test_an_image_without_a_recorded_base_is_refused(images: dict[str, str], pyjib: Pyjib, registry: Registry) -> None:
    result = pyjib("rebase", "-q", f"{registry.host}/bases/py:v1", "--from", f"{registry.host}/bases/py:v2",
                   "--to", f"{registry.host}/team/nobase:1", check=False)
    assert result.returncode == 2 and "records no base" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_index_is_rebased_platform_by_platform(pyjib: Pyjib, registry: Registry, registry_reader: RegistryReader,
                                                  images: dict[str, str]) -> None:
    host, both = registry.host, ["--platform", "linux/amd64", "--platform", "linux/arm64"]
    pyjib("base", "--to", f"{host}/bases/multi:v1", *both, cwd=Path(images["work"]))
    pyjib("base", "--to", f"{host}/bases/multi:v2", "--package", "libpq5", *both, cwd=Path(images["work"]))
    project = str(EXAMPLES / "greet-cli")
    pyjib("push", project, "--from", f"{host}/bases/multi:v1", "--to", f"{host}/team/greet-multi:v1", *both)
    rebased = pyjib("rebase", f"{host}/team/greet-multi:v1", "--from", f"{host}/bases/multi:v2", "--to", f"{host}/team/greet-multi:rebased")
    fresh = pyjib("push", project, "--from", f"{host}/bases/multi:v2", "--to", f"{host}/team/greet-multi:fresh", *both)
    assert _last_line(rebased.stdout).split("@")[1] == _last_line(fresh.stdout).split("@")[1]
    index = _manifest(registry_reader, "team/greet-multi", "rebased")
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
