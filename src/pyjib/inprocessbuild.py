"""Build a plain hatchling project's wheel in pyjib's own process, with hatchling's Python API.

A PEP 517 build starts a new interpreter that imports the backend (~0.1 s), and a fresh runner one more to ask the
backend for its build requirements. pyjib depends on hatchling, so for the most common backend neither is needed: the
wheel is the one hatchling's build_wheel hook writes (same code, same environment variables, same root), byte for byte.

Only projects that run none of their own code here qualify: hatchling's build hooks, metadata hooks, the `code` and
`env` version sources and `{env:...}` context formatting would run or read in pyjib's process, whose environment holds
the registry credentials that a subprocess backend never sees (childenv); so would a file outside the project (an
absolute path or a symbolic link to /proc/self/environ, which is pyjib's environment here and the cleaned one there). Every other project, and any project whose
build needs more than the hatchling installed here, goes through the PEP 517 subprocess as before.
"""

from __future__ import annotations

import importlib.metadata
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

HATCHLING_BACKEND = "hatchling.build"
# Version sources built into hatchling that read only the project's files.
_FILE_VERSION_SOURCES = frozenset({"regex"})
# Files beside pyproject.toml that hatchling reads as configuration or runs as code.
_HATCH_FILES = ("hatch.toml", "hatch_build.py")


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _only_hatchling_installed_here(requires: object) -> bool:
    """Whether [build-system].requires names hatchling alone (no plugin) at a version that the installed one satisfies."""
    if not isinstance(requires, list) or not requires:
        return False
    installed = importlib.metadata.version("hatchling")
    for line in requires:
        try:
            requirement = Requirement(str(line))
        except InvalidRequirement:
            return False
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        if canonicalize_name(requirement.name) != "hatchling" or requirement.extras:
            return False
        if not requirement.specifier.contains(installed, prereleases=True):
            return False
    return True


def _has_hooks(hatch: dict[str, Any]) -> bool:
    """Whether hatchling would run code of the project or of a plugin: a build or metadata hook, a version source other
    than the file-reading ones."""
    build = _table(hatch.get("build"))
    targets = _table(build.get("targets"))
    if build.get("hooks") or _table(targets.get("wheel")).get("hooks") or _table(hatch.get("metadata")).get("hooks"):
        return True
    version = _table(hatch.get("version"))
    return bool(version) and version.get("source", "regex") not in _FILE_VERSION_SOURCES


def _strings(value: object) -> Iterator[str]:
    """Every string in a parsed TOML value, keys included (TOML escapes decoded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _may_reach_outside(text: str) -> bool:
    """Whether a configured string could name a file outside the project (an absolute path, ~, {home}, a .. segment):
    in pyjib's process, /proc/self/environ is pyjib's environment, credentials included."""
    segments = text.replace("\\", "/").split("/")
    return text.startswith(("/", "~")) or ".." in segments or "{home" in text or (len(text) > 1 and text[1] == ":")


# Never walked for links: VCS data, environments and outputs (what the wheel's fingerprint leaves out too).
_UNWALKED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", "dist", "build"})


def _links_outside(project_dir: Path) -> bool:
    """Whether a symbolic link in the project resolves outside it (a README linked to /proc/self/environ, say)."""
    root = project_dir.resolve()
    for directory, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in _UNWALKED]
        for name in (*dirs, *files):
            path = Path(directory) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                return True
    return False


def can_build_in_process(project_dir: Path) -> bool:
    """Whether project_dir's wheel can be built here: backend hatchling.build (no backend-path), build requirements
    met by the hatchling installed here, no hatch hook, plugin, code version source or environment lookup, and nothing
    that could read a file outside the project. Any doubt (an unexpected value, an error) answers no: the subprocess
    build then reports the project's mistakes as it always has."""
    try:
        return _can_build_in_process(project_dir)
    except Exception:
        return False


def _can_build_in_process(project_dir: Path) -> bool:
    if any((project_dir / name).exists() for name in _HATCH_FILES):
        return False
    try:
        pyproject = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    system = _table(pyproject.get("build-system"))
    if system.get("build-backend") != HATCHLING_BACKEND or "backend-path" in system:
        return False
    hatch = _table(_table(pyproject.get("tool")).get("hatch"))
    configured = [*_strings(pyproject.get("project")), *_strings(hatch)]
    # Context formatting reads this process's environment, credentials included; paths outside the project could too.
    if any("{env:" in text or _may_reach_outside(text) for text in configured):
        return False
    if not _only_hatchling_installed_here(system.get("requires")) or _has_hooks(hatch):
        return False
    return not _links_outside(project_dir)


class InProcessBuildFailed(Exception):
    """hatchling refused or failed; the caller builds through the subprocess, which reports the failure as it always has."""


def _quiet_application() -> Any:
    """A hatchling Application that prints nothing (pyjib's output is shared by its threads: no redirecting of
    sys.stdout) and whose abort raises instead of exiting the process."""
    from hatchling.bridge.app import Application

    class Quiet(Application):
        @staticmethod
        def display(message: str = "", **kwargs: Any) -> None:
            pass

        def display_info(self, message: str = "", **kwargs: Any) -> None:
            pass

        def display_waiting(self, message: str = "", **kwargs: Any) -> None:
            pass

        def display_success(self, message: str = "", **kwargs: Any) -> None:
            pass

        def display_warning(self, message: str = "", **kwargs: Any) -> None:
            pass

        def display_error(self, message: str = "", **kwargs: Any) -> None:
            pass

        def display_debug(self, message: str = "", level: int = 1, **kwargs: Any) -> None:
            pass

        def display_mini_header(self, message: str = "", **kwargs: Any) -> None:
            pass

        def abort(self, message: str = "", code: int = 1, **kwargs: Any) -> None:
            raise InProcessBuildFailed(message or f"hatchling aborted with code {code}")

    return Quiet()


def build_wheel_in_process(source: Path, out_dir: Path) -> Path:
    """The wheel hatchling's build_wheel hook would write for source, written into out_dir.

    WheelBuilder takes its root as an argument, so nothing changes the process's working folder (other threads run).
    """
    from hatchling.builders.wheel import WheelBuilder  # 20 ms: only when a wheel is built

    try:
        builder = WheelBuilder(str(source), app=_quiet_application())
        if builder.config.dependencies:  # build dependencies beyond hatchling (require-runtime-dependencies...)
            raise InProcessBuildFailed("the wheel target has build dependencies")
        return Path(next(builder.build(directory=str(out_dir), versions=["standard"])))
    except InProcessBuildFailed:
        raise
    except Exception as exc:  # hatchling reports bad configuration with any exception type
        raise InProcessBuildFailed(f"{type(exc).__name__}: {exc}") from exc
