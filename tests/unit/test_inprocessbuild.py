"""A plain hatchling project's wheel is built in pyjib's process, byte-identical to the PEP 517 subprocess's; a project
that would run its own code (hooks, code version sources, plugins) still builds in a subprocess."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import build
import pytest

from pyjib import wheelbuild
from pyjib.errors import BuildError
from pyjib.inprocessbuild import build_wheel_in_process, can_build_in_process

REPO = Path(__file__).resolve().parents[2]
QUALIFYING_PROJECTS = [REPO / "bench" / "app", REPO / "examples" / "hello-web", REPO / "examples" / "quotes-api"]

_PLAIN = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "plain-app"
version = "1.0"
"""


def _project(root: Path, pyproject: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    for name, text in (files or {"plain_app/__init__.py": "VALUE = 1\n"}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _subprocess_wheel(project: Path, out: Path) -> bytes:
    """The wheel as pyjib's PEP 517 path builds it here (this interpreter, childenv's environment)."""
    builder = build.ProjectBuilder(project, python_executable=sys.executable, runner=wheelbuild._runner(None))
    return Path(builder.build("wheel", out)).read_bytes()


@pytest.mark.parametrize("epoch", [None, "1700000000"])
@pytest.mark.parametrize("project", QUALIFYING_PROJECTS, ids=lambda p: p.name)
def test_the_in_process_wheel_is_the_subprocess_wheel_byte_for_byte(project: Path, epoch: str | None, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    copy = tmp_path / project.name  # a copy: the subprocess backend may leave files in the tree it builds
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", "dist", "build"))
    assert can_build_in_process(copy)
    here = build_wheel_in_process(copy, tmp_path / "here")
    assert here.read_bytes() == _subprocess_wheel(copy, tmp_path / "subprocess")


def test_the_epoch_changes_the_in_process_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above could not fail if the epoch were ignored by both paths: it is read."""
    project = _project(tmp_path / "p", _PLAIN)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = build_wheel_in_process(project, tmp_path / "a").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert build_wheel_in_process(project, tmp_path / "b").read_bytes() != first


@pytest.mark.parametrize("extra", [
    '[tool.hatch.build.hooks.custom]\n',
    '[tool.hatch.build.targets.wheel.hooks.custom]\npath = "hooks.py"\n',
    '[tool.hatch.metadata.hooks.custom]\n',
    '[tool.hatch.version]\nsource = "code"\npath = "plain_app/__init__.py"\n',
    '[tool.hatch.version]\nsource = "env"\nvariable = "APP_VERSION"\n',
    '[tool.hatch.version]\nsource = "vcs"\n',
    '[tool.hatch.metadata]\nallow-direct-references = true\n[tool.hatch.build.targets.wheel]\nsources = ["{env:HOME}"]\n',
], ids=["build-hook", "wheel-hook", "metadata-hook", "code-version", "env-version", "plugin-version", "env-formatting"])
def test_a_project_that_runs_or_reads_its_own_code_here_is_not_built_in_process(extra: str, tmp_path: Path) -> None:
    assert can_build_in_process(_project(tmp_path / "plain", _PLAIN))
    assert not can_build_in_process(_project(tmp_path / "p", _PLAIN + extra))


@pytest.mark.parametrize("change", [
    lambda text: text.replace('requires = ["hatchling"]', 'requires = ["hatchling", "hatch-vcs"]'),
    lambda text: text.replace('requires = ["hatchling"]', 'requires = ["hatchling>=999"]'),
    lambda text: text.replace('requires = ["hatchling"]', 'requires = ["hatchling[extra]"]'),
    lambda text: text.replace('"hatchling.build"', '"hatchling.build"\nbackend-path = ["."]'),
    lambda text: text.replace('"hatchling.build"', '"setuptools.build_meta"'),
    lambda text: text.replace("[build-system]", "[build-system]\nbroken ="),
], ids=["plugin-requirement", "other-version", "extras", "backend-path", "other-backend", "bad-toml"])
def test_a_build_system_beyond_the_hatchling_installed_here_is_not_built_in_process(change: Callable[[str], str], tmp_path: Path) -> None:
    assert not can_build_in_process(_project(tmp_path / "p", change(_PLAIN)))


@pytest.mark.parametrize("name", ["hatch.toml", "hatch_build.py"])
def test_hatchs_own_files_beside_the_project_send_it_to_the_subprocess(name: str, tmp_path: Path) -> None:
    project = _project(tmp_path / "p", _PLAIN)
    (project / name).write_text("")
    assert not can_build_in_process(project)


def test_a_requirement_whose_marker_does_not_apply_is_no_obstacle(tmp_path: Path) -> None:
    text = _PLAIN.replace('requires = ["hatchling"]', 'requires = ["hatchling", "hatch-vcs; python_version < \'3\'"]')
    assert can_build_in_process(_project(tmp_path / "p", text))


def _spy_on_backend_processes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []
    real = wheelbuild._run_hook

    def recording(cmd: Any, *args: Any, **kwargs: Any) -> None:
        started.append(list(cmd))
        real(cmd, *args, **kwargs)

    monkeypatch.setattr(wheelbuild, "_run_hook", recording)
    return started


def test_build_wheel_starts_no_backend_process_for_a_plain_hatchling_project_and_caches_the_wheel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _spy_on_backend_processes(monkeypatch)
    project = _project(tmp_path / "p", _PLAIN)
    wheel = wheelbuild.build_wheel(project, tmp_path / "cache")
    assert started == [] and wheel.name.startswith("plain_app-1.0-")
    assert wheelbuild.build_wheel(project, tmp_path / "cache") == wheel  # the wheel cache, keyed as before
    (project / "plain_app" / "__init__.py").write_text("VALUE = 2\n")
    rebuilt = wheelbuild.build_wheel(project, tmp_path / "cache")
    assert rebuilt != wheel and rebuilt.read_bytes() != wheel.read_bytes()


def test_a_project_with_a_hook_still_builds_in_a_backend_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _spy_on_backend_processes(monkeypatch)
    project = _project(tmp_path / "p", _PLAIN + '[tool.hatch.build.hooks.custom]\n', {
        "plain_app/__init__.py": "",
        "hatch_build.py": "from hatchling.builders.hooks.plugin.interface import BuildHookInterface\n"
                          "class CustomBuildHook(BuildHookInterface):\n    pass\n",
    })
    assert wheelbuild.build_wheel(project, tmp_path / "cache").is_file()
    assert started, "the hooked project was built in pyjib's process"


def test_a_failing_in_process_build_gives_the_backends_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _spy_on_backend_processes(monkeypatch)
    project = _project(tmp_path / "p", _PLAIN, {"unrelated_name/__init__.py": ""})  # hatchling finds no package to ship
    with pytest.raises(BuildError) as failure:
        wheelbuild.build_wheel(project, tmp_path / "cache")
    first_line = str(failure.value).splitlines()[0]
    assert first_line.startswith("building the wheel of plain-app failed") and "build-logs" in first_line
    assert started  # the subprocess reported it, as for any backend
    assert not (tmp_path / "cache" / "project-wheels").exists() or not list((tmp_path / "cache" / "project-wheels").rglob("*.whl"))


_SECRET = "hunter2-not-for-wheels"


def _leaky_projects(root: Path) -> dict[str, Path]:
    """Projects that would copy pyjib's environment (/proc/self/environ, in its process) into their wheel."""
    forced = _project(root / "forced", _PLAIN + '[tool.hatch.build.targets.wheel.force-include]\n"/proc/self/environ" = "plain_app/env.txt"\n')
    linked = _project(root / "linked", _PLAIN.replace('version = "1.0"', 'version = "1.0"\nreadme = "README.md"'))
    (linked / "README.md").symlink_to("/proc/self/environ")
    escaped = _project(root / "escaped", _PLAIN.replace('version = "1.0"', 'version = "1.0"\ndependencies = ["foo @ file:///x/{\\u0065nv:PYJIB_PASSWORD}"]')
                       + "[tool.hatch.metadata]\nallow-direct-references = true\n")
    return {"force-include": forced, "symlink": linked, "escaped-env-formatting": escaped}


@pytest.mark.parametrize("kind", ["force-include", "symlink", "escaped-env-formatting"])
def test_no_wheel_carries_pyjibs_secrets(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    project = _leaky_projects(tmp_path)[kind]
    assert not can_build_in_process(project)
    monkeypatch.setenv("PYJIB_PASSWORD", _SECRET)
    try:
        wheel = wheelbuild.build_wheel(project, tmp_path / "cache")
    except BuildError:
        return  # refused by the backend: nothing built, nothing leaked
    with zipfile.ZipFile(wheel) as archive:
        assert not any(_SECRET.encode() in archive.read(name) for name in archive.namelist())


@pytest.mark.parametrize("version", ['source = ["regex"]', "source = {}"])
def test_a_malformed_hatch_table_sends_the_project_to_the_subprocess_without_a_traceback(version: str, tmp_path: Path) -> None:
    assert not can_build_in_process(_project(tmp_path / "p", _PLAIN + f"[tool.hatch.version]\n{version}\n"))
