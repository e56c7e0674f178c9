"""The corpus (issue 10, section 8): real, current projects from the public index, each built by pyjib, run with podman
and checked to do its job (answer a request, print its version).

One table, CORPUS. A project is either a published application's sdist (pinned by version and sha256, downloaded once
into the tests' cache) or a small service in tests/corpus/ that depends on real frameworks, with the lock its real tool
wrote. Each lock pins a direct dependency below the newest release its pyproject.toml admits, so an image that ignores
the lock answers with the wrong version. Every project must pass: none is marked to fail.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import ssl
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, Pyjib
from tests.helpers import free_port, get_when_up
from tests.infra import base_image
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.sbom_checks import valid_spdx

pytestmark = pytest.mark.e2e

FIXTURES = REPO_ROOT / "tests" / "corpus"


@dataclass(frozen=True)
class Sdist:
    """A published sdist on the public index, checked against its sha256."""

    name: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"


@dataclass(frozen=True)
class Folder:
    """A project under tests/corpus/: `root` is copied whole (a workspace), `member` is the folder pyjib builds in it."""

    root: str
    member: str = "."


@dataclass(frozen=True)
class Prints:
    """A command that runs to completion: its stdout must contain `expect`."""

    args: tuple[str, ...]
    expect: str


@dataclass(frozen=True)
class Serves:
    """A server started with PORT in its environment (and `{port}` in its args): GET `path` must answer JSON holding `expect`."""

    path: str
    expect: Mapping[str, object]
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    name: str
    source: Sdist | Folder
    shape: str  # backend, framework, lock: what this case covers
    check: Prints | Serves
    pyjib_args: tuple[str, ...] = ()


CORPUS = (
    # Published applications, built from their sdists as their authors ship them.
    Project("httpie", Sdist("httpie", "3.2.4", "302ad436c3dc14fd0d1b19d4572ef8d62b146bcd94b505f3c2521f701e2e7a2a"),
            "setuptools (setup.cfg), requests + charset-normalizer, three console scripts",
            Prints(("--version",), "3.2.4"), pyjib_args=("--entrypoint", "/app/venv/bin/http")),
    Project("datasette", Sdist("datasette", "0.65.5", "8d16ab1bf9a2753089cd3cb079045885d440f11267973e89e08e7fecf555264a"),
            "setuptools (setup.py), ASGI web app on uvicorn",
            Serves("/-/versions.json", {"datasette": {"version": "0.65.5"}}, ("serve", "--host", "127.0.0.1", "--port", "{port}"))),
    Project("black", Sdist("black", "26.10.1", "5f9f83beae62437e060dafd53d7f1fc327e3d3494f74d72ee5c2b73eb90fc4e7"),
            "hatchling + hatch-vcs + hatch-fancy-pypi-readme outside git, click CLI, two console scripts",
            Prints(("--version",), "black, 26.10.1")),
    Project("twine", Sdist("twine", "7.0.0", "85cdb29c518efef867360ae4acd4b0dfd61c8654a22fca08e6f8539f05022177"),
            "setuptools + setuptools-scm outside git, requests + keyring + readme-renderer (nh3 abi3) CLI",
            Prints(("--version",), "twine version 7.0.0")),
    Project("flit", Sdist("flit", "4.2.0", "4ab00f544721a241b15e634648f1bfac7268a0ec637f106ce3150939c2e2f4d9"),
            "flit-core, requests + docutils CLI", Prints(("--version",), "Flit 4.2.0")),
    Project("pdm", Sdist("pdm", "2.29.4", "48d013ba869b85538fea268107cd7a2c18fd91a6abf785fa4d7ed5951808582d"),
            "pdm-backend + pdm-build-locked, httpx + rich CLI", Prints(("--version",), "2.29.4")),
    Project("poetry", Sdist("poetry", "2.5.1", "19fbd566efced512be58989a756aa1333cdc9b6aabb4fc84fd1ec9d29ee74874"),
            "poetry-core, requests + dulwich + keyring CLI", Prints(("--version",), "2.5.1")),
    # Services of our own on real frameworks, each with the lock its tool wrote.
    Project("fastapi-uvlock", Folder("fastapi-uvlock"), "hatchling, FastAPI + uvicorn + pydantic-core, uv.lock with default-groups",
            Serves("/health", {"fastapi": "0.115.6", "compiled": True, "dev_tools": [], "extra_json": True})),
    Project("django-poetry", Folder("django-poetry"), "poetry-core, Django + gunicorn, poetry.lock (2.1) with a dev group",
            Serves("/health", {"django": "5.1.4", "pytest_in_image": False})),
    Project("falcon-poetry1", Folder("falcon-poetry1"), "poetry-core, [tool.poetry] only, Falcon (cp311 and pure wheels) + waitress, "
            "poetry.lock (2.0, Poetry 1.8) with a dev group",
            Serves("/health", {"falcon": "4.0.2", "compiled": True, "pytest_in_image": False})),
    Project("flask-pdm", Folder("flask-pdm"), "pdm-backend, Flask, pdm.lock (4.5) with a dev group",
            Serves("/health", {"flask": "3.0.3", "pytest_in_image": False})),
    Project("starlette-pylock", Folder("starlette-pylock"), "hatchling, Starlette + uvicorn[standard] (uvloop, httptools) + orjson, "
            "pylock.toml from uv export",
            Serves("/health", {"versions": {"starlette": "0.41.3"}, "loop": "uvloop"})),
    Project("aiohttp-hashed", Folder("aiohttp-hashed"), "setuptools (pyproject), aiohttp + multidict + yarl, hashed requirements.txt",
            Serves("/health", {"aiohttp": "3.10.11", "multidict_compiled": True})),
    Project("typer-requirements", Folder("typer-requirements"), "flit-core, typer + rich + click, requirements.txt of pins without hashes",
            Prints(("--version",), "corpus-typer 1.0.0 rich 13.7.1 typer 0.12.5")),
    Project("native-wheels", Folder("native-wheels"), "hatchling, cryptography + lxml + orjson + psycopg[binary] + pydantic-core + SQLAlchemy, no lock",
            Prints((), "natives ok: cryptography fernet, lxml, orjson, pydantic-core, psycopg binary, sqlalchemy compiled")),
    Project("scientific", Folder("scientific"), "hatchling, numpy + pandas (need libstdc++.so.6), fresh resolution",
            Prints((), "scientific ok: sum 45")),
    Project("grpc-service", Folder("grpc-service"), "hatchling, grpcio server and client (needs libstdc++.so.6), fresh resolution",
            Prints((), "grpc ok: echo corpus")),
    Project("uv-build", Folder("uv-build"), "uv_build backend, click CLI", Prints(("--version",), "corpus-uvbuild 1.0.0")),
    Project("maturin-bin", Folder("maturin-bin"), "maturin (bindings = bin): a Rust CLI compiled by cargo, no crates to fetch",
            Prints(("--version",), "corpus-rs 1.0.0")),
    Project("uv-workspace", Folder("uv-workspace", "packages/api"), "hatchling member of a uv workspace, sibling not on any index, uv.lock at the root",
            Prints((), "hello from the workspace core (httpx ")),
    Project("plain-app", Folder("plain-app"), "no pyproject.toml: app.py + requirements.txt + Procfile, Flask",
            Serves("/health", {"app": "plain", "flask": "3.1.0"})),
)


def _cases() -> list[object]:
    return [pytest.param(project, id=project.name) for project in CORPUS]


def cached_sdist(sdist: Sdist) -> Path:
    """The sdist from the tests' cache, downloaded (and its sha256 checked) the first time."""
    cache = base_image.test_cache_dir() / "corpus-sdists"
    path = cache / f"{sdist.sha256}.tar.gz"
    if not path.is_file():
        # The host's CA store: outbound HTTPS here passes a proxy only the system bundle trusts.
        with httpx.Client(follow_redirects=True, timeout=120, verify=ssl.create_default_context()) as client:
            url = sdist_url(client, sdist)
            response = client.get(url)
        response.raise_for_status()
        digest = hashlib.sha256(response.content).hexdigest()
        assert digest == sdist.sha256, f"{url} has sha256 {digest}, the corpus pins {sdist.sha256}"
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(response.content)
        partial.replace(path)
    return path


def sdist_url(client: httpx.Client, sdist: Sdist) -> str:
    """Where the index serves the sdist, from its JSON simple page (PEP 691)."""
    page = client.get(f"https://pypi.org/simple/{sdist.name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    page.raise_for_status()
    urls = [file["url"] for file in page.json()["files"] if file["filename"] == sdist.filename]
    assert urls, f"the public index lists no {sdist.filename}"
    return str(urls[0])


def checkout(source: Sdist | Folder, work: Path) -> Path:
    """A fresh copy of the project (backends write build/ and *.egg-info into the tree); returns the folder to build."""
    if isinstance(source, Sdist):
        with tarfile.open(cached_sdist(source)) as archive:
            archive.extractall(work, filter="data")
        (top,) = work.iterdir()
        return top
    shutil.copytree(FIXTURES / source.root, work / source.root)
    return work / source.root / source.member


def contains(answer: object, expected: object) -> bool:
    """True when every key of `expected` (recursively) has the same value in `answer`."""
    if isinstance(expected, Mapping):
        return isinstance(answer, Mapping) and all(key in answer and contains(answer[key], value) for key, value in expected.items())
    return answer == expected


def check_job(containers: Podman, reference: str, check: Prints | Serves) -> None:
    if isinstance(check, Prints):
        ran = containers.run(reference, list(check.args), timeout=180)
        assert ran.returncode == 0 and check.expect in ran.stdout, f"exit {ran.returncode}\nstdout:\n{ran.stdout}\nstderr:\n{ran.stderr}"
        return
    port = free_port()
    args = [arg.replace("{port}", str(port)) for arg in check.args]
    cid = containers.run_detached(reference, args, env={"PORT": str(port)}, timeout=180)
    try:
        answer = get_when_up(f"http://127.0.0.1:{port}{check.path}", containers, cid, timeout=60)
        assert answer.status_code == 200, f"{check.path}: {answer.status_code}\n{answer.text}"
        assert contains(answer.json(), check.expect), json.dumps(answer.json(), indent=1)
    finally:
        containers.remove(cid)


@pytest.mark.parametrize("project", _cases())
def test_corpus_project_builds_and_does_its_job(project: Project, pyjib: Pyjib, registry: Registry, base_ref: str,
                                                containers: Podman, tmp_path: Path) -> None:
    folder = checkout(project.source, tmp_path)
    reference = f"{registry.host}/corpus/{project.name}:1"
    pyjib("push", str(folder), "--from", base_ref, "--to", reference, *project.pyjib_args)
    # Real licences, sdists and folders: the attached SBOM stays valid SPDX and lists the base's Python.
    sbom = valid_spdx(pyjib("sbom", reference).stdout.encode())
    assert "python3.11-minimal" in {package["name"] for package in sbom["packages"]}
    check_job(containers, reference, project.check)
