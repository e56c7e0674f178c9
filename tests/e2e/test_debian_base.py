"""`pyjib base` against the real Debian archive: a base with libpq5, built twice from one lock, run in podman, built upon."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.oci_checks import check_image, layer_members

pytestmark = pytest.mark.e2e

REPOSITORY = "bases/python3-libpq"
# Packages that would bring a shell, perl or the package manager: none of them may come in as a dependency.
NEVER = {"bash", "dash", "coreutils", "perl-base", "dpkg", "debconf", "apt", "mawk", "openssl"}

PROBE = """
import ctypes, json, os, ssl, sqlite3
ctypes.CDLL("libpq.so.5")
print(json.dumps({"uid": os.getuid(), "sh": os.path.lexists("/bin/sh") or os.path.lexists("/usr/bin/sh"),
                  "sqlite": sqlite3.sqlite_version, "certificates": ssl.create_default_context().cert_store_stats()["x509_ca"],
                  "home": os.stat("/home/nonroot").st_uid, "tmp": oct(os.stat("/tmp").st_mode & 0o7777)}))
"""


def _last_line(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def libpq_base(pyjib: Pyjib, registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("debian-base")
    lock = work / "base.lock.json"
    pushed = pyjib("base", "--to", f"{registry.host}/{REPOSITORY}:1", "--package", "libpq5", "--lock", str(lock), cwd=work)
    # The same lock with an empty cache (as on another machine): every file downloaded and unpacked again.
    again = pyjib("base", "--to", f"oci:{work / 'again'}:1", "--package", "libpq5", "--lock", str(lock),
                  "--cache-dir", str(work / "empty-cache"), cwd=work)
    return {"ref": _last_line(pushed.stdout), "again": _last_line(again.stdout), "lock": json.loads(lock.read_text())}


def test_one_lock_gives_one_digest(libpq_base: dict[str, Any], registry: Registry) -> None:
    ref, again = libpq_base["ref"], libpq_base["again"]
    assert ref.startswith(f"{registry.host}/{REPOSITORY}@sha256:")
    assert again.split("@", 1)[1] == ref.split("@", 1)[1]


def test_lock_holds_the_distroless_set_and_libpq_without_a_shell(libpq_base: dict[str, Any]) -> None:
    lock = libpq_base["lock"]
    assert lock["suite"] == "bookworm" and lock["python"] == "3.11" and lock["packages"] == ["libpq5"]
    names = {p["name"] for p in lock["platforms"]["linux/amd64"]}
    assert {"libpq5", "python3.11-minimal", "libpython3.11-stdlib", "libc6", "libssl3", "libstdc++6", "libgomp1", "ca-certificates",
            "tzdata", "base-files", "libgssapi-krb5-2"} <= names  # libpq5's own dependencies come in too
    assert not names & NEVER
    assert all(len(p["sha256"]) == 64 and p["url"].endswith(".deb") for p in lock["platforms"]["linux/amd64"])


def test_image_is_valid_per_the_oci_schemas(libpq_base: dict[str, Any], registry_reader: RegistryReader) -> None:
    check_image(registry_reader.manifest(REPOSITORY, "1"), lambda digest: registry_reader.blob(REPOSITORY, digest))


def test_image_config_and_layer(libpq_base: dict[str, Any], registry_reader: RegistryReader) -> None:
    manifest = json.loads(registry_reader.manifest(REPOSITORY, "1"))
    config = json.loads(registry_reader.blob(REPOSITORY, manifest["config"]["digest"]))
    container = config["config"]
    assert container["Entrypoint"] == ["/usr/bin/python3.11"] and container["User"] == "65532"
    assert {"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=C.UTF-8"} <= set(container["Env"])
    labels = container["Labels"]
    assert labels["dev.pyjib.base.suite"] == "bookworm" and labels["dev.pyjib.base.packages"] == "libpq5"
    assert manifest["annotations"]["dev.pyjib.base.lock-digest"] == labels["dev.pyjib.base.lock-digest"]
    (layer,) = manifest["layers"]
    members = layer_members(registry_reader.blob(REPOSITORY, layer["digest"]))
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert "usr/bin/sh" not in members and "usr/bin/dpkg" not in members and "usr/bin/apt" not in members
    assert members["var/lib/dpkg/status.d/libpq5"].isfile()
    assert members["home/nonroot"].uid == 65532 and members["home/nonroot"].mode == 0o700
    assert members["tmp"].mode == 0o1777


def test_runs_in_podman(libpq_base: dict[str, Any], containers: Podman) -> None:
    result = containers.run(libpq_base["ref"], ["-c", PROBE])
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["uid"] == 65532 and facts["sh"] is False and facts["home"] == 65532 and facts["tmp"] == "0o1777"
    assert facts["certificates"] > 100 and facts["sqlite"].startswith("3.")


def test_a_project_pushed_onto_it_runs(libpq_base: dict[str, Any], pyjib: Pyjib, registry: Registry, containers: Podman) -> None:
    pushed = pyjib("push", str(EXAMPLES / "greet-cli"), "--from", libpq_base["ref"], "--to", f"{registry.host}/team/greet-on-debian:1")
    result = containers.run(_last_line(pushed.stdout), ["--name", "Debian"])
    assert result.returncode == 0, result.stderr
    assert "Hello, Debian!" in result.stdout


def test_unknown_package_is_one_line_and_nothing_written(pyjib: Pyjib, tmp_path: Path) -> None:
    target = tmp_path / "layout"
    result = pyjib("base", "-q", "--to", f"oci:{target}", "--package", "no-such-package-pyjib", "--lock", str(tmp_path / "l.json"),
                   cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no-such-package-pyjib" in result.stderr
    assert not target.exists() and not (tmp_path / "l.json").exists()


def test_two_platforms_make_an_index(pyjib: Pyjib, tmp_path: Path) -> None:
    target = tmp_path / "layout"
    result = pyjib("base", "--to", f"oci:{target}", "--platform", "linux/amd64", "--platform", "linux/arm64", cwd=tmp_path)
    index = json.loads((target / "index.json").read_text())
    (entry,) = index["manifests"]
    assert _last_line(result.stdout) == f"{target}@{entry['digest']}"
    children = json.loads((target / "blobs/sha256" / entry["digest"].removeprefix("sha256:")).read_bytes())["manifests"]
    assert [(c["platform"]["architecture"], c["platform"].get("variant")) for c in children] == [("amd64", None), ("arm64", "v8")]
    arm = json.loads((target / "blobs/sha256" / children[1]["digest"].removeprefix("sha256:")).read_bytes())
    members = layer_members((target / "blobs/sha256" / arm["layers"][0]["digest"].removeprefix("sha256:")).read_bytes())
    assert "usr/lib/ld-linux-aarch64.so.1" in members and "usr/bin/python3.11" in members


def test_a_project_with_a_base_table_and_no_from_builds_on_its_own_base(pyjib: Pyjib, registry: Registry, containers: Podman,
                                                                        registry_reader: RegistryReader, tmp_path: Path) -> None:
    project = tmp_path / "greet"
    shutil.copytree(EXAMPLES / "greet-cli", project, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    with (project / "pyproject.toml").open("a") as f:
        f.write('\n[tool.pyjib.base]\npackages = ["libpq5"]\nlock = "base.lock.json"\n')
    first = pyjib("push", str(project), "--to", f"{registry.host}/team/greet-own-base:1")
    assert (project / "base.lock.json").is_file()  # written next to pyproject.toml, for the next build and for review
    again = pyjib("push", str(project), "--to", f"{registry.host}/team/greet-own-base:1")
    assert _last_line(again.stdout) == _last_line(first.stdout)
    assert "making the base" in first.stderr and "making the base" not in again.stderr  # the second is cached by the lock
    annotations = json.loads(registry_reader.manifest("team/greet-own-base", "1"))["annotations"]
    # A name that does not depend on where this machine's cache is: the same app has the same digest on any runner.
    assert annotations["org.opencontainers.image.base.name"] == "pyjib-base/debian-bookworm-python3.11-libpq5"
    result = containers.run(_last_line(first.stdout), ["--name", "own base"])
    assert result.returncode == 0, result.stderr
    assert "Hello, own base!" in result.stdout
