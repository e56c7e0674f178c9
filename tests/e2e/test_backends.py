"""Build backends as they are: uv_build, maturin, a backend that runs a console script of its own build requirements,
and a backend that fails, whose real cause reaches the user."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
import textwrap
import tomllib
from pathlib import Path

import pytest

from tests.conftest import Pyjib
from tests.e2e.test_real_projects import layout_layers
from tests.helpers import write_project
from tests.infra.distributions import make_wheel
from tests.infra.podman import Podman
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def test_uv_build_project_builds_and_runs(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path: Path,
                                          containers: Podman) -> None:
    app = write(tmp_path / "uvb", {
        "pyproject.toml": """\
            [project]
            name = "uvb-app"
            version = "0.3.0"
            [project.scripts]
            uvb-app = "uvb_app:main"
            [build-system]
            requires = ["uv_build>=0.7,<0.20"]
            build-backend = "uv_build"
            """,
        "src/uvb_app/__init__.py": "def main():\n    print('built by uv_build')\n",
    })
    reference = f"{registry.host}/backends/uvb:1"
    pyjib("push", str(app), "--from", base_ref, "--to", reference)
    ran = containers.run(reference, [])
    assert ran.stdout.strip() == "built by uv_build", ran.stderr


def test_maturin_binary_project_builds_and_runs(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path: Path,
                                                containers: Podman) -> None:
    # maturin from the index runs `maturin` (its own console script) and cargo; .ci/setup installs Debian's cargo.
    assert shutil.which("cargo"), "cargo is not on PATH: run .ci/setup"
    app = write(tmp_path / "rusty", {
        "pyproject.toml": """\
            [project]
            name = "rusty-hello"
            version = "0.2.0"
            [build-system]
            requires = ["maturin>=1.5,<2"]
            build-backend = "maturin"
            [tool.maturin]
            bindings = "bin"
            [tool.pyjib]
            entrypoint = ["/app/venv/bin/rusty-hello"]
            """,
        "Cargo.toml": """\
            [package]
            name = "rusty-hello"
            version = "0.2.0"
            edition = "2021"
            [dependencies]
            """,
        "src/main.rs": 'fn main() { println!("hello from rust"); }\n',
    })
    reference = f"{registry.host}/backends/rusty:1"
    pyjib("push", str(app), "--from", base_ref, "--to", reference)
    ran = containers.run(reference, [])
    assert ran.stdout.strip() == "hello from rust", ran.stderr


# An in-tree backend around hatchling that, like meson-python or scikit-build-core, runs a console script of one of its
# build requirements by name, and puts what it printed into the wheel.
TOOL_BACKEND = """\
    import subprocess
    from pathlib import Path
    from hatchling.build import *  # noqa: F403
    from hatchling.build import build_wheel as _hatchling_build_wheel

    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        printed = subprocess.run(["{tool}", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        Path("tooled/tool_version.py").write_text(f"PRINTED = {printed!r}\\n")
        return _hatchling_build_wheel(wheel_directory, config_settings, metadata_directory)
    """


@pytest.mark.parametrize("tool", ["meson", "uv"])  # meson: a fresh build environment; uv: pyjib's own interpreter has it
def test_backend_runs_console_scripts_of_its_build_requirements(pyjib: Pyjib, base_ref: str, tmp_path: Path, tool: str) -> None:
    app = write(tmp_path / "tooled", {
        "pyproject.toml": f"""\
            [project]
            name = "tooled"
            version = "1.0.0"
            [build-system]
            requires = ["hatchling", "{tool}"]
            build-backend = "tool_backend"
            backend-path = ["."]
            [tool.hatch.build.targets.wheel]
            packages = ["tooled"]
            [tool.pyjib]
            module = "tooled"
            """,
        "tool_backend.py": TOOL_BACKEND.replace("{tool}", tool),
        "tooled/__init__.py": "",
    })
    # Neither tool is on this PATH: the backend finds it only in its build interpreter's bin/.
    path = "/usr/bin:/bin"
    assert shutil.which(tool, path=path) is None
    layout = tmp_path / "out"
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{layout}", env={"PATH": path})
    application = layout_layers(layout)["application"]
    with tarfile.open(fileobj=io.BytesIO(application)) as archive:
        member = archive.extractfile("app/venv/lib/python3.11/site-packages/tooled/tool_version.py")
        assert member is not None
        assert re.fullmatch(r"PRINTED = '(uv )?\d+\.\d+[^']*'\n", member.read().decode())


SCM_PYPROJECT = """\
    [project]
    name = "{name}"
    dynamic = ["version"]
    [build-system]
    requires = ["setuptools>=64", "setuptools-scm>=8"]
    build-backend = "setuptools.build_meta"
    [tool.setuptools_scm]
    """


def failure_with_log(result: subprocess.CompletedProcess[str], first: str, cache_dir: Path) -> tuple[list[str], Path]:
    """The error's first line starts with first and names a log in the cache; the lines after it are that log's tail."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.rstrip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("pyjib: error:"))
    head, quoted = lines[start], lines[start + 1:]
    assert head.startswith(f"pyjib: error: {first}"), head
    found = re.search(r"whole log: (\S+?)\)", head)
    assert found, head
    log = Path(found.group(1))
    assert log.is_file() and log.resolve().is_relative_to(cache_dir.resolve())
    assert 0 < len(quoted) <= 20 and all(line.startswith("    ") for line in quoted)
    kept = [line.rstrip() for line in log.read_text().splitlines() if line.strip()]
    assert [line[4:] for line in quoted] == kept[-len(quoted):]
    return [line[4:] for line in quoted], log


def test_failing_backend_shows_the_real_cause_and_keeps_the_log(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    app = write(tmp_path / "scm", {"pyproject.toml": SCM_PYPROJECT.format(name="scm-app"), "scm_app/__init__.py": ""})
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", check=False)
    tail, _log = failure_with_log(result, "building the wheel of scm-app failed", pyjib.cache_dir)
    # The cause (no git metadata) is in the tail, not only the generic last line about SETUPTOOLS_SCM_PRETEND_VERSION.
    assert any(line.startswith("LookupError: setuptools-scm was unable to detect version") for line in tail), tail
    assert not (tmp_path / "out").exists()


# A folder dependency with static metadata (so it resolves) whose build fails, and then prints more, as builds do.
FAILING_SETUP = """\
    import sys
    print("checking for libwidget... no")
    sys.exit("error: libwidget headers are missing: install libwidget-dev")
    """


def test_failing_dependency_build_shows_the_real_cause_and_keeps_the_log(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    dependency = write(tmp_path / "widget", {
        "pyproject.toml": """\
            [project]
            name = "widget-dep"
            version = "0.1.0"
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"
            """,
        "setup.py": FAILING_SETUP,
    })
    app = write(tmp_path / "app", {
        "pyproject.toml": f"""\
            [project]
            name = "uses-widget"
            version = "1.0"
            dependencies = ["widget-dep @ {dependency.as_uri()}"]
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            [tool.hatch.metadata]
            allow-direct-references = true
            [tool.pyjib]
            module = "uses_widget"
            """,
        "uses_widget/__init__.py": "",
    })
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", check=False)
    tail, _log = failure_with_log(result, "dependency widget-dep has no wheel for the image, and building it from source failed",
                                  pyjib.cache_dir)
    assert "error: libwidget headers are missing: install libwidget-dev" in tail, tail
    assert not (tmp_path / "out").exists()


def locked_versions(lock: Path) -> dict[str, str]:
    return {package["name"]: package["version"] for package in tomllib.loads(lock.read_text())["packages"]}


@pytest.mark.parametrize("where", ["command line", "PIP_CONSTRAINT", "pip.conf"])
def test_constraints_shape_the_resolution(pyjib: Pyjib, base_ref: str, tmp_path: Path, where: str) -> None:
    app = write_project(tmp_path / "app", ["six"], name=f"constrained-{where.replace(' ', '-').replace('.', '-').lower()}",
                        scripts={}, pyjib='module = "six"\n')
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("six==1.15.0\n")  # the newest six is 1.17 or later
    arguments, env = [], {}
    if where == "command line":
        arguments = ["--constraint", str(constraints)]
    elif where == "PIP_CONSTRAINT":
        env = {"PIP_CONSTRAINT": str(constraints)}
    else:
        (tmp_path / "pip.conf").write_text(f"[install]\nconstraint = {constraints}\n")
        env = {"PIP_CONFIG_FILE": str(tmp_path / "pip.conf")}
    lock = tmp_path / "pylock.toml"
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", "--write-lock", str(lock), *arguments, env=env)
    assert locked_versions(lock)["six"] == "1.15.0"
    # An edited constraint file is a new resolution, not yesterday's cached one.
    constraints.write_text("six==1.16.0\n")
    pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{tmp_path / 'out'}", "--write-lock", str(lock), *arguments, env=env)
    assert locked_versions(lock)["six"] == "1.16.0"


def test_two_distributions_shipping_one_file_install_as_with_pip(pyjib: Pyjib, base_ref: str, tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    make_wheel(wheelhouse, "alpha-tests", "1.0", {"alpha_tests/__init__.py": "", "tests/__init__.py": "# alpha\n"})
    make_wheel(wheelhouse, "beta-tests", "1.0", {"beta_tests/__init__.py": "", "tests/__init__.py": "# beta\n"})
    app = write_project(tmp_path / "app", ["alpha-tests", "beta-tests"], name="shares-tests", scripts={},
                        pyjib=f'module = "shares_tests"\nfind-links = ["{wheelhouse}"]\n')
    layout = tmp_path / "out"
    result = pyjib("build", str(app), "--from", base_ref, "--to", f"oci:{layout}")
    with tarfile.open(fileobj=io.BytesIO(layout_layers(layout)["dependencies"])) as archive:
        member = archive.extractfile("app/venv/lib/python3.11/site-packages/tests/__init__.py")
        assert member is not None and member.read() == b"# beta\n"  # installed after alpha-tests, so its copy is kept
        assert "app/venv/lib/python3.11/site-packages/alpha_tests/__init__.py" in archive.getnames()
    assert len([line for line in result.stderr.splitlines() if "tests/__init__.py" in line]) == 1, result.stderr
