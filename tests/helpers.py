"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import json
import socket
import textwrap
import time
from pathlib import Path

import httpx

from tests.infra.podman import Podman


def cache_records(cache_dir: Path, namespace: str) -> list[str]:
    """The records a build left in a pyjib cache's namespace (resolutions, layers, project-wheels...): the work it did
    itself, as a structured result rather than a log line."""
    directory = cache_dir / namespace
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith(".")) if directory.is_dir() else []


def registry_writes(log_text: str, offset: int) -> list[str]:
    """The registry's access-log lines after offset (a length of its log text) that change something: PUT, POST, PATCH, DELETE."""
    return [line for line in log_text[offset:].splitlines() if any(f'"{method} /v2/' in line for method in ("PUT", "POST", "PATCH", "DELETE"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_when_up(url: str, containers: Podman, cid: str, timeout: float = 30) -> httpx.Response:
    """GET url once the container answers; on timeout, fail with the container's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s; container log:\n{containers.logs(cid).stderr}")


def write_project(root: Path, dependencies: list[str], *, name: str = "demo-app", version: str = "0.1.0",
                  scripts: dict[str, str] | None = None, pyjib: str = "") -> Path:
    """A small hatchling project: one module (with a main() that prints 'demo'), its dependencies and a [tool.pyjib] table."""
    module = name.replace("-", "_")
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text("def main():\n    print('demo')\n")
    scripts = {"demo": f"{module}:main"} if scripts is None else scripts
    text = textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{name}"
        version = "{version}"
        dependencies = {json.dumps(dependencies)}

        [tool.hatch.metadata]
        allow-direct-references = true
        """)
    if scripts:
        text += "\n[project.scripts]\n" + "".join(f'{script} = "{target}"\n' for script, target in scripts.items())
    (root / "pyproject.toml").write_text(text + "\n[tool.pyjib]\n" + pyjib)
    return root
