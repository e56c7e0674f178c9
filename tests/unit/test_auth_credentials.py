"""Where logins come from, and in which order: explicit, config.json (credHelpers, credsStore, auths), auth.json files."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pyjib.errors import ConfigError
from pyjib.reference import DOCKER_HUB, parse_reference
from pyjib.registry.challenges import Credentials, redact
from pyjib.registry.credentials import HUB_KEY, auth_files, explicit_credentials, places_looked, stored_credentials
from pyjib.registry.credhelper import CredentialHelperError
from pyjib.transports import login_registry
from tests.infra.credential_helper import install_helper, path_with


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No credentials anywhere but where the test writes them."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    for name in ("REGISTRY_AUTH_FILE", "PYJIB_USERNAME", "PYJIB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_explicit_then_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert explicit_credentials() is None
    monkeypatch.setenv("PYJIB_USERNAME", "env-user")
    with pytest.raises(ConfigError, match="PYJIB_PASSWORD is not set"):
        explicit_credentials()
    monkeypatch.setenv("PYJIB_PASSWORD", "env-pass")
    from_env = explicit_credentials()
    assert from_env is not None and (from_env.username, from_env.password) == ("env-user", "env-pass")
    given = explicit_credentials("flag-user", "flag-pass")  # the command line wins over the environment
    assert given is not None and given.username == "flag-user" and given.source == "--username/--password-stdin"
    with pytest.raises(ConfigError, match="go together"):
        explicit_credentials("flag-user", None)


def test_explicit_credentials_are_for_the_target_registry_only() -> None:
    assert login_registry("reg.example/team/app:1", "gcr.io/distroless/python3") == "reg.example"
    assert login_registry("oci:dist/image", "private.example/base:1") == "private.example"  # building to a file: the base's
    assert login_registry("docker-archive:a.tar", "oci:base") is None
    assert login_registry("NOT A REFERENCE", None) is None


def test_credhelpers_then_credsstore_then_auths(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = home / "bin"
    monkeypatch.setenv("PATH", path_with(bin_dir))
    helper_calls = install_helper(bin_dir, "hostonly", {"a.example": ("from-helper", "h-secret")})
    store_calls = install_helper(bin_dir, "store", {"a.example": ("from-store", "s-secret"), "b.example": ("from-store", "s-secret")})
    config = write(home / "docker" / "config.json", {
        "credHelpers": {"a.example": "hostonly", "c.example": "hostonly"},
        "credsStore": "store",
        "auths": {"a.example": auth("from-auths", "a"), "b.example": auth("from-auths", "a"), "c.example": auth("from-auths", "c")},
    })
    a, b, c = (stored_credentials(host) for host in ("a.example", "b.example", "c.example"))
    assert a is not None and a.username == "from-helper" and "docker-credential-hostonly" in a.source and str(config) in a.source
    assert b is not None and b.username == "from-store"  # no credHelpers entry: the store
    assert c is not None and c.username == "from-auths"  # the helper and the store have nothing: auths
    assert helper_calls.read_text().splitlines() == ["get a.example", "get c.example"]
    assert store_calls.read_text().splitlines() == ["get b.example", "get c.example"]


def test_auth_files_in_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    podman = write(home / "run" / "containers" / "auth.json", {"auths": {"a.example": auth("podman", "p"), "b.example": auth("podman", "p")}})
    explicit = write(home / "registry-auth.json", {"auths": {"a.example": auth("explicit", "e")}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(explicit))
    assert auth_files() == [home / "docker" / "config.json", explicit, podman]
    a, b = stored_credentials("a.example"), stored_credentials("b.example")
    assert a is not None and a.username == "explicit" and b is not None and b.username == "podman"
    write(home / "docker" / "config.json", {"auths": {"https://a.example": {"username": "docker", "password": "d"}}})
    a = stored_credentials("a.example")
    assert a is not None and a.username == "docker"  # config.json comes first
    assert str(explicit) in places_looked() and str(podman) in places_looked()


@pytest.mark.parametrize("alias", ["docker.io/library/python", "index.docker.io/library/python", "registry-1.docker.io/library/python", "python"])
@pytest.mark.parametrize("key", [HUB_KEY, "docker.io", "index.docker.io"])
def test_docker_hub_aliases_find_the_hub_entry(alias: str, key: str, home: Path) -> None:
    write(home / "docker" / "config.json", {"auths": {key: auth("hubuser", "hubpass")}})
    registry = parse_reference(alias).registry
    assert registry == DOCKER_HUB
    found = stored_credentials(registry)
    assert found is not None and found.username == "hubuser"


def test_docker_hub_helpers_are_asked_for_the_index_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_with(home / "bin"))
    calls = install_helper(home / "bin", "desktop", {HUB_KEY: ("hubuser", "hubpass")})
    write(home / "docker" / "config.json", {"credsStore": "desktop"})
    found = stored_credentials(DOCKER_HUB)
    assert found is not None and found.password == "hubpass"
    assert calls.read_text().splitlines() == [f"get {HUB_KEY}"]


def test_identity_tokens(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(home / "docker" / "config.json", {"auths": {"a.example": {**auth("someone", ""), "identitytoken": "refresh-xyz"}}})
    found = stored_credentials("a.example")
    assert found is not None and found.identity_token == "refresh-xyz" and "refresh-xyz" not in repr(found)
    monkeypatch.setenv("PATH", path_with(home / "bin"))
    install_helper(home / "bin", "tok", {"b.example": ("<token>", "refresh-abc")})
    write(home / "docker" / "config.json", {"credHelpers": {"b.example": "tok"}})
    from_helper = stored_credentials("b.example")
    assert from_helper is not None and from_helper.identity_token == "refresh-abc"


def test_helpers_that_fail_or_are_missing_are_clear_errors(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_with(home / "bin"))
    install_helper(home / "bin", "broken", {}, fail=True)
    config = write(home / "docker" / "config.json", {"credHelpers": {"a.example": "broken", "b.example": "absent-zz"}})
    with pytest.raises(CredentialHelperError) as failed:
        stored_credentials("a.example")
    message = str(failed.value)
    assert "docker-credential-broken" in message and "exit code 1" in message and "keychain is locked" in message and str(config) in message
    with pytest.raises(CredentialHelperError, match=r"docker-credential-absent-zz .* is not on PATH"):
        stored_credentials("b.example")
    assert stored_credentials("elsewhere.example") is None  # helpers run only for the hosts they are named for


def test_broken_files_are_config_errors(home: Path) -> None:
    (home / "docker").mkdir()
    (home / "docker" / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"cannot read .*config\.json"):
        stored_credentials("a.example")
    write(home / "docker" / "config.json", {"auths": {"a.example": {"auth": "!!!"}}})
    with pytest.raises(ConfigError, match="not base64 of user:password"):
        stored_credentials("a.example")


def test_command_line_login_reads_the_password_from_stdin_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from pyjib.cli import make_parser, registry_access

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    access = registry_access(make_parser().parse_args(["push", ".", "--username", "ci", "--password-stdin", "--ca-cert", "/x/ca.pem"]))
    assert (access.username, access.password, access.ca_certs) == ("ci", "s3cret", (Path("/x/ca.pem"),))
    assert "s3cret" not in repr(access)
    with pytest.raises(ConfigError, match="go together"):
        registry_access(make_parser().parse_args(["push", ".", "--username", "ci"]))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    access = registry_access(make_parser().parse_args(["push", ".", "--username", "ci", "--password-stdin"]))
    with pytest.raises(ConfigError, match="empty password"):
        explicit_credentials(access.username, access.password)


def test_redact_removes_secrets_their_base64_and_anything_after_basic_or_bearer() -> None:
    login = Credentials("ci-bot", "pa55-word-xyz", "test")
    pair = base64.b64encode(b"ci-bot:pa55-word-xyz").decode()
    text = (f"bad: Basic {pair} / {pair.rstrip('=')} / ci-bot:pa55-word-xyz / bearer abc.def / "
            "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl / password pa55-word-xyz; user ci-bot")
    cleaned = redact(text, login.secrets())
    assert "pa55-word-xyz" not in cleaned and pair.rstrip("=") not in cleaned and "abc.def" not in cleaned and "eyJ" not in cleaned
    assert cleaned.count("[redacted]") == 6 and "user ci-bot" in cleaned  # the user name is no secret
