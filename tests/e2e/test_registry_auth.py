"""Every credential source against the real registry with token auth (a small token server of the tests' own):
config.json `auths`, identity tokens, a `docker-credential-test` helper on PATH, auth.json files. Tokens are cached
per scope; a cross-repository mount asks for pull on the source too. Failures are one line; the password shows nowhere."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from pyjib.cache import BlobCache
from pyjib.errors import PyjibError
from pyjib.log import SILENT
from pyjib.reference import Reference
from pyjib.registry import ClientPool, RegistryRequestError
from pyjib.transports.remote import mountable, push
from tests.conftest import EXAMPLES, Pyjib
from tests.e2e.test_bad_input import assert_clean_failure
from tests.infra.credential_helper import install_helper, path_with
from tests.infra.push_helpers import run_pyjib, skopeo_digest, small_image
from tests.infra.registry_variants import TokenAuthRegistry
from tests.infra.token_server import TokenServer

pytestmark = pytest.mark.e2e

USER, PASSWORD = "ci-bot", "tok3n-Registry-Pa55"
IDENTITY_TOKEN = "identity-token-8c1f"


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    with TokenServer(tmp_path_factory.mktemp("token-server"), users={USER: PASSWORD}, refresh_tokens={IDENTITY_TOKEN: USER}) as server:
        yield server


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory, tokens: TokenServer) -> Iterator[TokenAuthRegistry]:
    root = tmp_path_factory.mktemp("token-registry")
    with TokenAuthRegistry(root, realm=tokens.realm, service=tokens.service, issuer=tokens.issuer, root_cert=tokens.root_cert) as running:
        yield running


@pytest.fixture
def empty_home(tmp_path: Path) -> dict[str, str]:
    """An environment where no credentials file exists unless the test writes one."""
    return {"DOCKER_CONFIG": str(tmp_path / "docker"), "REGISTRY_AUTH_FILE": "", "XDG_RUNTIME_DIR": str(tmp_path / "run"),
            "PYJIB_USERNAME": "", "PYJIB_PASSWORD": ""}


def write_config(path: Path, document: Mapping[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_pushed(result_stdout: str, registry: TokenAuthRegistry, repository: str, tag: str) -> None:
    digest = result_stdout.strip().rpartition("@")[2]
    assert result_stdout.strip() == f"{registry.host}/{repository}@{digest}"
    assert skopeo_digest(f"{registry.host}/{repository}:{tag}", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}") == digest


def test_push_with_auths_from_docker_config(pyjib: Pyjib, base_ref: str, token_registry: TokenAuthRegistry, tokens: TokenServer,
                                            empty_home: dict[str, str], tmp_path: Path) -> None:
    write_config(tmp_path / "docker" / "config.json", {"auths": {token_registry.host: {"auth": basic(USER, PASSWORD)}}})
    tokens.requests.clear()
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{token_registry.host}/auth/greet:1",
                       env=empty_home)
    assert result.returncode == 0, result.stderr
    asked = list(tokens.requests)
    assert asked and all(r.account == USER and r.grant == "basic" for r in asked)
    # Tokens are cached: no scope set is asked for twice in one run.
    assert len({r.scopes for r in asked}) == len(asked), asked
    assert_pushed(result.stdout, token_registry, "auth/greet", "1")


def test_tokens_are_cached_per_scope_and_a_mount_asks_for_pull_on_its_source(token_registry: TokenAuthRegistry, tokens: TokenServer,
                                                                              empty_home: dict[str, str], tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in empty_home.items():
        monkeypatch.setenv(name, value)
    image = small_image(tmp_path / "image")
    host, cache = token_registry.host, BlobCache(tmp_path / "cache")

    def push_to(repository: str, pushed: object) -> None:
        pool = ClientPool(username=USER, password=PASSWORD, login_registry=host)
        try:
            push(pushed, Reference(host, repository, "1"), ["1"], pool, cache, SILENT)  # type: ignore[arg-type]
        finally:
            pool.close()

    tokens.requests.clear()
    push_to("auth/source", image)
    assert [r.scopes for r in tokens.requests] == [("repository:auth/source:pull,push",)]  # one token for the whole push

    # The same layers, known to live in auth/source: the registry links them instead of receiving them again.
    origin = Reference(host, "auth/source", "1")
    linked = replace(image, layers=tuple(mountable(b, origin) for b in image.layers))
    tokens.requests.clear()
    push_to("auth/target", linked)
    scopes = {scope for r in tokens.requests for scope in r.scopes}
    assert {"repository:auth/target:pull,push", "repository:auth/source:pull"} <= scopes
    uploads = [r for r in tokens.requests if "repository:auth/source:pull" in r.scopes]
    assert uploads and all(r.account == USER for r in uploads)


def test_identity_token_is_exchanged_as_a_refresh_token(token_registry: TokenAuthRegistry, tokens: TokenServer, empty_home: dict[str, str],
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in empty_home.items():
        monkeypatch.setenv(name, value)
    write_config(tmp_path / "docker" / "config.json", {"auths": {token_registry.host: {"auth": basic("<token>", ""), "identitytoken": IDENTITY_TOKEN}}})
    tokens.requests.clear()
    pool = ClientPool()
    try:
        push(small_image(tmp_path / "image"), Reference(token_registry.host, "auth/identity", "1"), ["1"], pool, BlobCache(tmp_path / "c"), SILENT)
        assert pool.get(token_registry.host).get_manifest("auth/identity", "1")[0]
    finally:
        pool.close()
    assert tokens.requests and all(r.method == "POST" and r.grant == "refresh_token" and r.account == USER for r in tokens.requests)


def test_push_with_a_credential_helper_on_path(pyjib: Pyjib, base_ref: str, token_registry: TokenAuthRegistry, empty_home: dict[str, str],
                                               tmp_path: Path) -> None:
    calls = install_helper(tmp_path / "bin", "test", {token_registry.host: (USER, PASSWORD)})
    write_config(tmp_path / "docker" / "config.json", {"credHelpers": {token_registry.host: "test"}, "auths": {}})
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{token_registry.host}/auth/helper:1",
                       env={**empty_home, "PATH": path_with(tmp_path / "bin")})
    assert result.returncode == 0, result.stderr
    assert_pushed(result.stdout, token_registry, "auth/helper", "1")
    assert calls.read_text().splitlines() == [f"get {token_registry.host}"]  # asked once, for this host


@pytest.mark.parametrize("where", ["REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR"])
def test_push_with_a_podman_auth_json(where: str, pyjib: Pyjib, base_ref: str, token_registry: TokenAuthRegistry, empty_home: dict[str, str],
                                      tmp_path: Path) -> None:
    document = {"auths": {token_registry.host: {"auth": basic(USER, PASSWORD)}}}
    if where == "REGISTRY_AUTH_FILE":
        env = {**empty_home, "REGISTRY_AUTH_FILE": str(write_config(tmp_path / "podman" / "auth.json", document))}
    else:
        write_config(tmp_path / "run" / "containers" / "auth.json", document)
        env = empty_home
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to",
                       f"{token_registry.host}/auth/podman-{where.lower()}:1", env=env)
    assert result.returncode == 0, result.stderr
    assert_pushed(result.stdout, token_registry, f"auth/podman-{where.lower()}", "1")


def test_a_helper_that_exits_1_is_one_clear_line(pyjib: Pyjib, base_ref: str, token_registry: TokenAuthRegistry, empty_home: dict[str, str],
                                                tmp_path: Path) -> None:
    install_helper(tmp_path / "bin", "test", {}, fail=True)
    config = write_config(tmp_path / "docker" / "config.json", {"credHelpers": {token_registry.host: "test"}})
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{token_registry.host}/auth/broken:1",
                       env={**empty_home, "PATH": path_with(tmp_path / "bin")})
    assert_clean_failure(result, "docker-credential-test", "exit code 1", "keychain is locked", str(config))
    assert nothing_tagged(token_registry, "auth/broken")


def test_a_helper_that_is_missing_is_one_clear_line(pyjib: Pyjib, base_ref: str, token_registry: TokenAuthRegistry, empty_home: dict[str, str],
                                                   tmp_path: Path) -> None:
    write_config(tmp_path / "docker" / "config.json", {"credsStore": "pyjib-no-such-helper"})
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{token_registry.host}/auth/nohelper:1",
                       env=empty_home)
    assert_clean_failure(result, "docker-credential-pyjib-no-such-helper", "not on PATH", "credsStore")


def test_wrong_password_is_one_line_and_the_password_shows_nowhere(pyjib: Pyjib, base_ref: str, token_registry: TokenAuthRegistry,
                                                                  tokens: TokenServer, empty_home: dict[str, str]) -> None:
    wrong = "Wr0ng-but-Secret-e2e"
    result = run_pyjib(pyjib.cache_dir, "push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{token_registry.host}/auth/wrong:1",
                       "--username", USER, "--password-stdin", stdin=wrong + "\n", env=empty_home)
    assert_clean_failure(result, token_registry.host, "refused the login", "--username/--password-stdin")
    for text in (result.stdout, result.stderr, token_registry.log_text()):
        assert wrong not in text and basic(USER, wrong) not in text
    assert tokens.requests[-1].grant == "refused"
    assert nothing_tagged(token_registry, "auth/wrong")


def test_anonymous_push_is_refused_clearly(token_registry: TokenAuthRegistry, empty_home: dict[str, str], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in empty_home.items():
        monkeypatch.setenv(name, value)
    pool = ClientPool()
    try:
        with pytest.raises(PyjibError) as caught:
            push(small_image(tmp_path / "image"), Reference(token_registry.host, "auth/anonymous", "1"), ["1"], pool, BlobCache(tmp_path / "c"),
                 SILENT)
    finally:
        pool.close()
    message = str(caught.value)
    assert "\n" not in message and token_registry.host in message and "no credentials were found" in message, message
    assert nothing_tagged(token_registry, "auth/anonymous")


def nothing_tagged(registry: TokenAuthRegistry, repository: str) -> bool:
    pool = ClientPool(username=USER, password=PASSWORD, login_registry=registry.host)
    try:
        pool.get(registry.host).get_manifest(repository, "1")
    except RegistryRequestError as exc:
        return exc.not_found
    else:
        return False
    finally:
        pool.close()
