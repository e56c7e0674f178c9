"""Against the real registry: a missing manifest or blob is a not-found error with the registry's code, a refused login
a 401 with its code; the fleet cache takes the first as a quiet miss and warns once about the second, and a push whose
cache registry refuses it still succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pyjib import fleetcache
from pyjib.cache import BlobCache
from pyjib.reference import Reference
from pyjib.registry import ClientPool, RegistryRequestError
from tests.conftest import EXAMPLES, Pyjib
from tests.infra.push_helpers import run_pyjib
from tests.infra.registry import Registry
from tests.infra.registry_variants import write_quick_htpasswd

pytestmark = pytest.mark.e2e

USER, PASSWORD = "deployer", "errors-s3cret-Pa55"
MISSING_BLOB = "sha256:" + "0" * 64


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """A registry that wants a login for everything (htpasswd over plain HTTP on loopback)."""
    root = tmp_path_factory.mktemp("locked-registry")
    with Registry(root / "registry", htpasswd_file=write_quick_htpasswd(root / "htpasswd", {USER: PASSWORD})) as running:
        yield running


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"DOCKER_CONFIG": str(tmp_path / "docker"), "REGISTRY_AUTH_FILE": "", "XDG_RUNTIME_DIR": str(tmp_path / "run"),
           "PYJIB_USERNAME": "", "PYJIB_PASSWORD": ""}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def failure_of(pool: ClientPool, host: str, tmp_path: Path, what: str) -> RegistryRequestError:
    client = pool.get(host)
    with pytest.raises(RegistryRequestError) as caught:
        if what == "manifest":
            client.get_manifest("errors/none", "1")
        else:
            client.fetch_blob("errors/none", MISSING_BLOB, 3, BlobCache(tmp_path / "cache"))
    return caught.value


@pytest.mark.parametrize(("what", "code"), [("manifest", "MANIFEST_UNKNOWN"), ("blob", "BLOB_UNKNOWN")])
def test_a_missing_manifest_or_blob_is_not_found_with_the_registrys_code(registry: Registry, tmp_path: Path, what: str, code: str) -> None:
    pool = ClientPool()
    try:
        failure = failure_of(pool, registry.host, tmp_path, what)
    finally:
        pool.close()
    assert (failure.status, failure.code, failure.not_found) == (404, code, True)


@pytest.mark.parametrize("password", [None, "wrong"], ids=["anonymous", "wrong-password"])
def test_a_refused_login_is_a_401_with_the_registrys_code(locked: Registry, no_credentials: dict[str, str], tmp_path: Path,
                                                          password: str | None) -> None:
    pool = ClientPool(username=USER if password else None, password=password, login_registry=locked.host)
    try:
        failure = failure_of(pool, locked.host, tmp_path, "manifest")
    finally:
        pool.close()
    assert (failure.status, failure.code, failure.not_found) == (401, "UNAUTHORIZED", False)
    assert failure.exit_code == 2


def read_record(host: str, tmp_path: Path) -> tuple[fleetcache.FleetRecord | None, list[str]]:
    warnings: list[str] = []
    pool = ClientPool()
    try:
        record = fleetcache.load(pool, Reference(host, "errors/fleet"), "k" * 64, BlobCache(tmp_path / "cache"),
                                 fleetcache.Trust(secret=b"fleet-key"), warnings.append)
    finally:
        pool.close()
    return record, warnings


def test_the_fleet_cache_misses_a_record_that_is_not_there_quietly(registry: Registry, tmp_path: Path) -> None:
    assert read_record(registry.host, tmp_path) == (None, [])


def test_the_fleet_cache_warns_once_when_the_registry_refuses_the_read(locked: Registry, no_credentials: dict[str, str], tmp_path: Path) -> None:
    record, warnings = read_record(locked.host, tmp_path)
    assert record is None
    assert len(warnings) == 1 and locked.host in warnings[0] and "\n" not in warnings[0]


def test_a_push_whose_cache_registry_refuses_the_fleet_cache_still_succeeds(pyjib: Pyjib, base_ref: str, registry: Registry, locked: Registry,
                                                                          no_credentials: dict[str, str], tmp_path: Path) -> None:
    target = f"{registry.host}/errors/greet:1"
    result = run_pyjib(tmp_path / "fresh-runner", "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", target,
                       "--registry-cache-repository", f"{locked.host}/cache/greet", env={**no_credentials, "PYJIB_CACHE_KEY": "fleet-key"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(f"{registry.host}/errors/greet@sha256:")
    said = [line for line in result.stderr.splitlines() if line.startswith("pyjib: ")]
    # One warning for the refused read, one for the refused write; no error.
    assert len(said) == 2 and all(line.startswith("pyjib: warning:") and locked.host in line for line in said), result.stderr
    assert "Traceback" not in result.stderr
