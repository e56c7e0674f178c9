"""action.yml and examples/ci/gitlab-ci.yml, run as their CI systems run them: the step's script with the environment
the runner sets (inputs filled into `env`, GITHUB_OUTPUT, RUNNER_TEMP; GitLab's CI_* variables), against the registry."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, REPO_ROOT, Pyjib, RegistryReader
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e


def _project(tmp_path: Path, base_ref: str) -> Path:
    """greet-cli with its base named in [tool.pyjib], as a user's project names theirs."""
    project = tmp_path / "greet-cli"
    shutil.copytree(EXAMPLES / "greet-cli", project, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.pyjib]\n", f'[tool.pyjib]\nfrom = "{base_ref}"\n'))
    return project


def _tools(tmp_path: Path) -> Path:
    """`python3` and `pyjib` on PATH: this interpreter, running this checkout's pyjib (what the install step provides)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    wrapper = bin_dir / "pyjib"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m pyjib "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def _environment(pyjib: Pyjib, bin_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYJIB_CACHE_DIR": str(pyjib.cache_dir), **extra}


def _with_inputs(value: str, inputs: dict[str, str], declared: dict[str, Any]) -> str:
    """${{ inputs.NAME }} as the runner fills it: the given input, else its default."""
    return re.sub(r"\$\{\{\s*inputs\.([a-z-]+)\s*\}\}", lambda m: inputs.get(m.group(1), str(declared[m.group(1)].get("default", ""))), value)


def test_the_github_action_pushes_and_sets_its_outputs(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                                       tmp_path: Path) -> None:
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "push"]
    assert {name: output["value"] for name, output in action["outputs"].items()} == {
        "image": "${{ steps.push.outputs.image }}", "digest": "${{ steps.push.outputs.digest }}"}
    inputs = {"project": str(_project(tmp_path, base_ref)), "to": f"{registry.host}/gh/greet:v1",
              "tags": "latest,stable", "platforms": "linux/amd64", "username": "octocat", "password": "token-1", "options": "--bytecode required"}
    step_env = {name: _with_inputs(str(value), inputs, action["inputs"]) for name, value in step["env"].items()}
    output = tmp_path / "github_output"
    runner = tmp_path / "runner_temp"
    runner.mkdir()
    env = _environment(pyjib, _tools(tmp_path), {**step_env, "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(runner)})
    result = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["image"] == f"{registry.host}/gh/greet" and outputs["digest"].startswith("sha256:")
    assert registry_reader.image_tags("gh/greet") == ["latest", "stable", "v1"]
    assert registry_reader.manifest("gh/greet", "v1") == registry_reader.manifest("gh/greet", outputs["digest"])


def test_the_gitlab_job_pushes_and_reports_the_digest(pyjib: Pyjib, base_ref: str, registry: Registry, registry_reader: RegistryReader,
                                                      tmp_path: Path) -> None:
    job = yaml.safe_load((EXAMPLES / "ci" / "gitlab-ci.yml").read_text())["build-image"]
    project = _project(tmp_path, base_ref)
    gitlab = {"CI_PROJECT_DIR": str(project), "CI_REGISTRY_IMAGE": f"{registry.host}/gl/greet", "CI_COMMIT_SHORT_SHA": "0f3a1b2c",
              "CI_COMMIT_REF_SLUG": "feature-x", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "job-token"}
    env = _environment(pyjib, _tools(tmp_path), {**{k: str(v) for k, v in job["variables"].items() if k != "PYJIB_INSTALL"}, **gitlab})
    env["PYJIB_CACHE_DIR"] = str(pyjib.cache_dir)  # the session's cache rather than a cold one in the checkout
    for line in job["script"]:  # GitLab stops the job at the first failing line
        result = subprocess.run(["sh", "-e", "-c", line], cwd=project, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{line}: {result.stderr}"
    report = dict(line.split("=", 1) for line in (project / job["artifacts"]["reports"]["dotenv"]).read_text().splitlines())
    assert report["IMAGE"] == f"{registry.host}/gl/greet" and report["IMAGE_DIGEST"].startswith("sha256:")
    assert registry_reader.image_tags("gl/greet") == ["0f3a1b2c", "feature-x"]
    assert registry_reader.manifest("gl/greet", "0f3a1b2c") == registry_reader.manifest("gl/greet", report["IMAGE_DIGEST"])
