"""The pytest plugin, used the way a service's own test suite would use it (through pytester)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.infra.podman import Podman

pytestmark = pytest.mark.e2e

pytest_plugins = ["pytester"]

SERVICE_TESTS = '''
def test_config(pyjib_image):
    assert pyjib_image.digest.startswith("sha256:")
    assert pyjib_image.entrypoint == ["/app/venv/bin/greet"]
    assert pyjib_image.user == "65532" and pyjib_image.workdir == "/home/nonroot"
    assert pyjib_image.env["PATH"].startswith("/app/venv/bin:")
    assert pyjib_image.ports == []


def test_layers_and_files(pyjib_image):
    created_by = [layer.created_by for layer in pyjib_image.layers]
    assert created_by[-3:] == ["pyjib: dependencies", "pyjib: resources", "pyjib: application"]
    resources = pyjib_image.layers[-2]
    assert "app/venv/lib/python3.11/site-packages/greet/greetings.txt" in resources.files
    assert pyjib_image.read_file("/app/venv/lib/python3.11/site-packages/greet/greetings.txt") == b"Hello\\n"
    assert pyjib_image.read_file("/app/venv/bin/python3").startswith(b"\\x7fELF")  # symlinks are followed
    assert pyjib_image.exists("/usr/lib/python3.11/os.py") and not pyjib_image.exists("/bin/sh")


def test_sbom(pyjib_image):
    assert pyjib_image.sbom["spdxVersion"] == "SPDX-2.3"
    names = {package["name"] for package in pyjib_image.sbom["packages"]}
    assert {"greet-cli", "python3.11-minimal", "libc6"} <= names


def test_run(pyjib_image):
    result = pyjib_image.run(["--name", "pytest"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Hello, pytest!")
    failing = pyjib_image.run(["-c", "import sys; sys.exit(3)"], entrypoint="/app/venv/bin/python")
    assert failing.exit_code == 3
'''


def test_fixture_builds_checks_and_runs_the_image(pytester: pytest.Pytester, base_ref: str, containers: Podman) -> None:
    pytester.makepyfile(test_service=SERVICE_TESTS)
    runtime = shlex.join(["podman", *containers.global_flags()])
    pytester._monkeypatch.setenv("PYJIB_CONTAINER_RUNTIME", runtime)
    pytester._monkeypatch.setenv("CONTAINERS_CONF", str(containers.conf_file))
    result = pytester.runpytest_subprocess("--pyjib-project", str(EXAMPLES / "greet-cli"),
                                           "--pyjib-from", base_ref, "-v")
    result.assert_outcomes(passed=4)


def test_without_a_runtime_run_skips_with_a_reason(pytester: pytest.Pytester, base_ref: str) -> None:
    pytester.makepyfile(test_service="def test_run(pyjib_image):\n    pyjib_image.run([])\n")
    pytester._monkeypatch.setenv("PATH", "/nonexistent")
    pytester._monkeypatch.delenv("PYJIB_CONTAINER_RUNTIME", raising=False)
    result = pytester.runpytest_subprocess("--pyjib-project", str(EXAMPLES / "greet-cli"), "--pyjib-from", base_ref, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no container runtime (podman or docker)*"])


def test_build_failure_is_one_clear_line(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_service="def test_image(pyjib_image):\n    pass\n")
    result = pytester.runpytest_subprocess("--pyjib-project", str(tmp_path))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*pyjib could not build*no pyproject.toml*"])
    assert "Traceback" not in result.stdout.str()


def test_a_multi_platform_project_is_checked_on_this_hosts_platform(pytester: pytest.Pytester, base_ref: str) -> None:
    pytester.makepyfile(test_service="""
def test_image(pyjib_image):
    assert pyjib_image.image.platform == {"architecture": "amd64", "os": "linux"}
    assert [layer.created_by for layer in pyjib_image.layers][-3:] == ["pyjib: validation", "pyjib: dependencies", "pyjib: application"]
""")
    # quotes-api asks for amd64 and arm64; the single-platform base has amd64 only, which is all the fixture builds.
    result = pytester.runpytest_subprocess("--pyjib-project", str(EXAMPLES / "quotes-api"), "--pyjib-from", base_ref)
    result.assert_outcomes(passed=1)
