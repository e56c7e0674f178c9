"""Bad input: one line saying what is wrong and what to do, exit code 2, no traceback, and nothing published."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyjib.layer import tree_layer
from pyjib.oci.image import Image
from pyjib.transports.layout import write_image
from tests.conftest import EXAMPLES, Pyjib, RegistryReader
from tests.helpers import cache_records, write_project
from tests.infra.registry import Registry, write_htpasswd

pytestmark = pytest.mark.e2e


def assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("pyjib: error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_folder_without_pyproject(pyjib: Pyjib, tmp_path: Path) -> None:
    result = pyjib("build", str(tmp_path), "--to", f"oci:{tmp_path / 'out'}", check=False)
    assert_clean_failure(result, "no pyproject.toml")
    assert not (tmp_path / "out").exists()


def test_malformed_pyproject(pyjib: Pyjib, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'x'\n")
    assert_clean_failure(pyjib("build", str(tmp_path), "--to", f"oci:{tmp_path / 'out'}", check=False), "not valid TOML")


def test_unknown_option_in_tool_pyjib(pyjib: Pyjib, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [], pyjib='entrypiont = ["x"]\n')
    assert_clean_failure(pyjib("build", str(project), "--to", f"oci:{tmp_path / 'out'}", check=False), "'entrypiont'")


@pytest.mark.parametrize("target", ["Registry.Example/UPPER:1", "127.0.0.1:5000/app:bad tag", "host/app@sha256:1234"])
def test_target_that_does_not_parse(pyjib: Pyjib, target: str) -> None:
    assert_clean_failure(pyjib("push", str(EXAMPLES / "greet-cli"), "--to", target, check=False), "invalid image reference")


def test_missing_target(pyjib: Pyjib) -> None:
    assert_clean_failure(pyjib("push", str(EXAMPLES / "greet-cli"), check=False), "no target", "--to")


def test_unwritable_cache_folder(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}",
                   "--cache-dir", str(blocker / "cache"), check=False)
    assert_clean_failure(result, str(blocker / "cache"), "permissions")


def test_corrupt_layout_as_target_or_base(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.json").write_text("{not json")
    as_target = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"oci:{broken}", check=False)
    assert_clean_failure(as_target, "index.json is not valid JSON")
    as_base = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", f"oci:{broken}:x", "--to", f"oci:{tmp_path / 'out'}", check=False)
    assert_clean_failure(as_base, "index.json is not valid JSON")


def test_bad_command_line_is_one_line_too(pyjib: Pyjib) -> None:
    assert_clean_failure(pyjib("push", "--no-such-flag", check=False), "--no-such-flag")


def test_base_that_does_not_exist(pyjib: Pyjib, registry: Registry, registry_reader: RegistryReader) -> None:
    result = pyjib("push", str(EXAMPLES / "greet-cli"), "--from", f"{registry.host}/nothing/here:1",
                   "--to", f"{registry.host}/bad/nobase:1", check=False)
    assert_clean_failure(result, "nothing/here:1", "does not exist")
    assert registry_reader.tags("bad/nobase") == []


@pytest.fixture(scope="module")
def base_without_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nopython")
    (root / "rootfs" / "etc").mkdir(parents=True)
    (root / "rootfs" / "etc" / "hostname").write_text("empty\n")
    layer = tree_layer(root / "rootfs", root / "blobs")
    image = Image({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}, ())
    write_image(root / "layout", image.append_blob(layer.blob(), layer.diff_id, created_by="test", comment="no python", created=None), ["empty"])
    return root / "layout"


def test_base_without_python(pyjib: Pyjib, base_without_python: Path, tmp_path: Path) -> None:
    result = pyjib("build", str(EXAMPLES / "greet-cli"), "--from", f"oci:{base_without_python}:empty", "--to", f"oci:{tmp_path / 'o'}",
                   check=False)
    assert_clean_failure(result, "no Python interpreter")
    assert not (tmp_path / "o").exists()


def test_dependency_that_does_not_exist(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                        tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", ["pyjib-test-no-such-package-zq"])
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/bad/unresolvable:1", check=False)
    assert_clean_failure(result, "pyjib-test-no-such-package-zq")
    assert registry_reader.tags("bad/unresolvable") == []


def test_dependency_without_a_wheel_names_package_and_platform(pyjib: Pyjib, base_ref: str, registry: Registry,
                                                               registry_reader: RegistryReader, tmp_path: Path) -> None:
    # docopt is published as an sdist only; with only-binary nothing may be built from source
    project = write_project(tmp_path / "p", ["docopt==0.6.2"], pyjib="only-binary = true\n")
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/bad/wheelless:1", check=False)
    assert_clean_failure(result, "docopt", "no wheel", "linux/amd64", "3.11.2", "only-binary")
    assert registry_reader.tags("bad/wheelless") == []


def test_several_console_scripts_need_a_choice(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", [], scripts={"serve": "demo_app:main", "migrate": "demo_app:main"})
    result = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{tmp_path / 'o'}", check=False)
    assert_clean_failure(result, "migrate, serve", "entrypoint")
    assert not (tmp_path / "o").exists()


EVIL_BACKEND = '''
import base64, hashlib, zipfile

def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "evil-0.1.0-py3-none-any.whl"
    files = {
        "evil/__init__.py": b"",
        "../../../etc/evil.conf": b"owned",
        "evil-0.1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: evil\\nVersion: 0.1.0\\n",
        "evil-0.1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        "evil-0.1.0.dist-info/entry_points.txt": b"[console_scripts]\\nevil = evil:main\\n",
    }
    record = "\\n".join(_record_line(n, d) for n, d in files.items()) + "\\nevil-0.1.0.dist-info/RECORD,,\\n"
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as archive:
        for n, d in files.items():
            archive.writestr(n, d)
        archive.writestr("evil-0.1.0.dist-info/RECORD", record)
    return name

def get_requires_for_build_wheel(config_settings=None):
    return []
'''


def test_wheel_writing_outside_its_prefix_is_refused(pyjib: Pyjib, base_ref: str, registry: Registry,
                                                     registry_reader: RegistryReader, tmp_path: Path) -> None:
    project = tmp_path / "evil"
    project.mkdir()
    (project / "evil_backend.py").write_text(EVIL_BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "evil_backend"\nbackend-path = ["."]\n\n[project]\nname = "evil"\nversion = "0.1.0"\n'
    )
    result = pyjib("push", str(project), "--from", base_ref, "--to", f"{registry.host}/bad/evil:1", check=False)
    assert_clean_failure(result, "../../../etc/evil.conf", "outside")
    assert registry_reader.tags("bad/evil") == []


@pytest.fixture(scope="module")
def locked_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    root = tmp_path_factory.mktemp("locked-registry")
    htpasswd = write_htpasswd(root / "htpasswd", {"ci": "s3cret-pass"})
    with Registry(root, htpasswd_file=htpasswd) as running:
        yield running


def test_push_without_credentials_is_refused_clearly(pyjib: Pyjib, base_ref: str, locked_registry: Registry, tmp_path: Path) -> None:
    result = pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{locked_registry.host}/team/greet:1",
                   env={"DOCKER_CONFIG": str(tmp_path)}, check=False)
    line = assert_clean_failure(result, locked_registry.host, "no credentials were found", str(tmp_path / "config.json"))
    assert "401" in line or "login" in line


def test_wrong_password_names_the_source_and_hides_the_secret(pyjib: Pyjib, base_ref: str, locked_registry: Registry,
                                                              tmp_path: Path) -> None:
    secret = "wrong-but-secret-Pa55"
    auth = base64.b64encode(f"ci:{secret}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {locked_registry.host: {"auth": auth}}}))
    cache = tmp_path / "cache"
    result = pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{locked_registry.host}/team/greet:1",
                   "--cache-dir", str(cache), env={"DOCKER_CONFIG": str(tmp_path)}, check=False)
    assert_clean_failure(result, locked_registry.host, str(tmp_path / "config.json"))
    assert secret not in result.stderr and auth not in result.stderr
    # The login is checked before any build work: no wheel built, nothing resolved (the right password's push does both).
    assert not cache_records(cache, "project-wheels") and not cache_records(cache, "resolutions")


def test_right_password_from_docker_config_pushes(pyjib: Pyjib, base_ref: str, locked_registry: Registry, tmp_path: Path) -> None:
    auth = base64.b64encode(b"ci:s3cret-pass").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {f"http://{locked_registry.host}": {"auth": auth}}}))
    cache = tmp_path / "cache"
    result = pyjib("push", str(EXAMPLES / "greet-cli"), "--from", base_ref, "--to", f"{locked_registry.host}/team/greet:1",
                   "--cache-dir", str(cache), env={"DOCKER_CONFIG": str(tmp_path)})
    assert cache_records(cache, "project-wheels") and cache_records(cache, "resolutions")  # the work the wrong password's push skips
    digest = result.stdout.strip().split("@")[-1]
    assert result.stdout.strip() == f"{locked_registry.host}/team/greet@{digest}"
    import httpx

    tagged = httpx.head(f"{locked_registry.url}/v2/team/greet/manifests/1", auth=("ci", "s3cret-pass"),
                        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert tagged.status_code == 200 and tagged.headers["docker-content-digest"] == digest


def test_a_registry_name_that_does_not_resolve_says_so(pyjib: Pyjib) -> None:
    result = pyjib("push", str(EXAMPLES / "hello-web"), "--to", "no-such-registry.invalid/team/app:1", check=False,
                   env={"PYJIB_HTTP_RETRIES": "1"})
    line = assert_clean_failure(result, "cannot resolve the registry host no-such-registry.invalid")
    assert "insecure-registries" not in line


@pytest.mark.parametrize("timeout", ["inf", "nan", "-1", "1e300"])
def test_an_http_timeout_that_is_no_duration_is_one_line(pyjib: Pyjib, timeout: str, tmp_path: Path) -> None:
    result = pyjib("build", str(EXAMPLES / "hello-web"), "--to", f"oci:{tmp_path / 'out'}", check=False, env={"PYJIB_HTTP_TIMEOUT": timeout})
    assert_clean_failure(result, "PYJIB_HTTP_TIMEOUT")
