"""Every lock format as teams ship it (real locks from Poetry 1.8, Poetry 2, PDM and uv), built against the public index.

Each test builds a copy of a project in tests/fixtures/locks and checks what the image holds against what the lock pins.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.conftest import Pyjib
from tests.e2e.test_bad_input import assert_clean_failure
from tests.e2e.test_real_projects import SECRET, _no_secret_anywhere, installed, layout_layers
from tests.helpers import write_project
from tests.infra.distributions import make_wheel
from tests.infra.podman import Podman
from tests.infra.simple_index import SimpleIndex

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "locks"
PYTHON = '["/app/venv/bin/python"]'
MAIN = {"requests", "certifi", "charset-normalizer", "idna", "urllib3"}  # what requests needs on Linux, nothing of dev
LOCKS = {"poetry1": "poetry.lock", "poetry2": "poetry.lock", "pdm": "pdm.lock", "uv": "uv.lock"}


def _copy(fixture: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / fixture, tmp_path / fixture))


def _locked(lock: Path) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, every sha256 the lock records for it)."""
    out: dict[str, tuple[str, set[str]]] = {}
    for package in tomllib.loads(lock.read_text())["package"]:
        hashes = set(re.findall(r"[0-9a-f]{64}", str(package.get("files") or [*package.get("wheels", []), package.get("sdist")])))
        out[canonicalize_name(package["name"])] = (str(package["version"]), hashes)
    return out


def _written(lock: Path) -> dict[str, tuple[str, str, str]]:
    """name -> (version, wheel file name, sha256) from a --write-lock output (one wheel per package for one platform)."""
    out = {}
    for package in tomllib.loads(lock.read_text())["packages"]:
        (wheel,) = package["wheels"]
        out[package["name"]] = (package["version"], wheel["name"], wheel["hashes"]["sha256"])
    return out


def _dist_versions(layout: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in installed(layout_layers(layout)):
        name, _, version = entry.rpartition("-")
        found[canonicalize_name(name)] = version
    return found


@pytest.mark.parametrize("fixture", sorted(LOCKS))
def test_each_lock_is_installed_exactly_with_its_hashes(pyjib: Pyjib, base_ref: str, tmp_path: Path, fixture: str) -> None:
    project = _copy(fixture, tmp_path)
    lock = project / LOCKS[fixture]
    extra: list[str] = []
    if fixture == "poetry1":
        extra = ["--lock-file", "poetry.lock"]  # named, it must reach the Poetry reader
    if fixture == "pdm":  # under another name, the format is told by the content
        (project / "locks").mkdir()
        lock = Path(shutil.move(lock, project / "locks" / "prod.lock"))
        extra = ["--lock-file", "locks/prod.lock"]
    out, written = tmp_path / "out", tmp_path / "written.toml"
    pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{out}", "--entrypoint", PYTHON, "--write-lock", str(written), *extra)

    locked, image, wheels = _locked(lock), _dist_versions(out), _written(written)
    own = canonicalize_name(f"locked-{fixture}")
    assert set(image) == MAIN | {own}  # no colorama (win32 only), no pytest (dev), no iniconfig (uv's default group lint)
    assert {name: image[name] for name in MAIN} == {name: locked[name][0] for name in MAIN}
    for name in MAIN:  # every file installed is one the lock pins, by hash
        assert wheels[name][2] in locked[name][1], name
    assert re.fullmatch(r"charset_normalizer-[\d.]+-cp311-cp311-manylinux.*x86_64.*\.whl", wheels["charset-normalizer"][1])


@pytest.mark.parametrize("fixture", ["poetry2", "pdm", "uv"])
def test_a_tampered_hash_is_refused(pyjib: Pyjib, base_ref: str, tmp_path: Path, fixture: str) -> None:
    project = _copy(fixture, tmp_path)
    lock = project / LOCKS[fixture]
    text = lock.read_text()
    idna_wheel = re.search(r'idna-[\d.]+-py3-none-any\.whl".*?sha256[:=]\s*"?([0-9a-f]{64})', text)
    assert idna_wheel is not None
    lock.write_text(text.replace(idna_wheel.group(1), "0" * 64))
    result = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", "--entrypoint", PYTHON, check=False)
    assert_clean_failure(result, "idna", "sha256")
    assert not (tmp_path / "out").exists()


def test_uv_groups_and_extras_ship_only_when_asked(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    project = _copy("uv", tmp_path)
    out = tmp_path / "out"
    pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{out}", "--entrypoint", PYTHON, "--groups", "lint", "--extras", "cli")
    image = _dist_versions(out)
    assert image["iniconfig"] == "2.0.0" and image["click"] == "8.1.7"
    assert "pytest" not in image and "pluggy" not in image  # dev is a default group, and still not asked for

    missing = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{tmp_path / 'none'}", "--entrypoint", PYTHON,
                    "--groups", "docs", check=False)
    assert_clean_failure(missing, "uv.lock", "docs")


def test_a_stale_uv_lock_is_an_error(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    project = _copy("uv", tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"requests==2.32.3"', '"requests==2.32.3", "six"'))
    result = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", "--entrypoint", PYTHON, check=False)
    assert_clean_failure(result, "uv.lock", "no longer satisfies", "uv lock")
    assert not (tmp_path / "out").exists()


def test_unhashed_requirements_pins_are_installed_exactly(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    project = _copy("uv", tmp_path)
    (project / "uv.lock").unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"requests==2.32.3"', '"requests"'))  # the newest, were it not for the pin
    (project / "requirements.txt").write_text("requests==2.31.0\nurllib3==2.2.1\nsix>=1.16  # not a pin: resolved with the rest\n")
    out = tmp_path / "out"
    pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{out}", "--entrypoint", PYTHON)
    image = _dist_versions(out)
    assert (image["requests"], image["urllib3"]) == ("2.31.0", "2.2.1") and "six" in image


def test_workspace_member_builds_with_its_sibling_in_the_snapshot_layer(pyjib: Pyjib, base_ref: str, tmp_path: Path,
                                                                       containers: Podman) -> None:
    workspace = _copy("uv-workspace", tmp_path)
    member = workspace / "packages" / "api"
    out = tmp_path / "out"
    pyjib("build", str(member), "--from", base_ref, "--to", f"oci:{out}")
    layers = layout_layers(out)
    assert installed({"snapshot": layers["snapshot dependencies"]}) == {"ws_shared-0.3.0"}
    assert installed({"deps": layers["dependencies"]}) == {"six-1.16.0", "idna-3.7"}  # the root lock's pins; no dev group
    ran = containers.run(f"oci:{out}:latest", ["-c", "import ws_api, idna; print(ws_api.MESSAGE, idna.__version__)"])
    assert ran.stdout.strip() == "from the sibling 3.7", ran.stderr

    # Without the lock, { workspace = true } still means the sibling's folder, never a package index.
    (workspace / "uv.lock").unlink()
    (workspace / "packages" / "shared" / "ws_shared" / "__init__.py").write_text('MESSAGE = "edited sibling"\n')
    fresh = tmp_path / "fresh"
    pyjib("build", str(member), "--from", base_ref, "--to", f"oci:{fresh}")
    layers = layout_layers(fresh)
    assert installed({"snapshot": layers["snapshot dependencies"]}) == {"ws_shared-0.3.0"}
    ran = containers.run(f"oci:{fresh}:latest", ["-c", "import ws_api; print(ws_api.MESSAGE)"])
    assert ran.stdout.strip() == "edited sibling", ran.stderr


def test_a_lock_pyjib_cannot_use_is_one_line_not_ignored(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    project = _copy("poetry2", tmp_path)
    (project / "poetry.lock").unlink()
    (project / "Pipfile.lock").write_text('{"_meta": {}, "default": {"requests": {"version": "==2.31.0"}}}')
    result = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", "--entrypoint", PYTHON, check=False)
    assert_clean_failure(result, "Pipfile.lock", "pipenv requirements --hash")
    assert not (tmp_path / "out").exists()


def test_poetry_lock_files_are_found_on_a_private_index_with_its_credentials(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    """poetry.lock names the file and the source; the URL comes from the index's PEP 503 page, behind basic auth."""
    with SimpleIndex(tmp_path / "www", "deploy", SECRET) as index:
        wheel = make_wheel(tmp_path / "dist", "acme-tools", "2.0", {"acme_tools/__init__.py": "NAME = 'acme'\n"})
        index.add(wheel)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        project = write_project(tmp_path / "app", ["acme-tools==2.0"], name="private-app", scripts={})
        (project / "poetry.lock").write_text(f"""# This file is automatically @generated by Poetry 2.5.1 and should not be changed by hand.

[[package]]
name = "acme-tools"
version = "2.0"
description = ""
optional = false
python-versions = "*"
groups = ["main"]
files = [
    {{file = "{wheel.name}", hash = "sha256:{digest}"}},
]

[package.source]
type = "legacy"
url = "{index.url}"
reference = "private"

[metadata]
lock-version = "2.1"
python-versions = ">=3.11"
content-hash = "0000"
""")
        out = tmp_path / "out"
        result = pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{out}", "--entrypoint", PYTHON,
                       env={"PIP_EXTRA_INDEX_URL": index.url.replace("http://", f"http://deploy:{SECRET}@")})
    assert _dist_versions(out)["acme-tools"] == "2.0"
    _no_secret_anywhere(out, result.stdout, result.stderr)
