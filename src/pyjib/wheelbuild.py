"""Build the project's own wheel through PEP 517, with whatever backend the project names (a plain hatchling project's
in this process: inprocessbuild).

Two caches make the edit-build loop cheap: the build environment is kept while [build-system] is unchanged (as a
virtual environment under the cache, created once with uv), and the wheel itself is kept while the project's files
and git state are unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from .atomicfile import staged_directory
from .buildlog import failure_message, keep_log, tail
from .cache import cache_key, file_lock
from .cachelayout import BUILD_ENV_RECIPE, BUILD_ENVS, PROJECT_WHEELS
from .childenv import child_environment
from .errors import BuildError
from .indexes import IndexConfig
from .inprocessbuild import InProcessBuildFailed, build_wheel_in_process, can_build_in_process
from .uvtool import uv_binary
from .vcs import git

# Folders that are never part of a wheel's inputs: VCS data, caches, virtual environments and build outputs.
# Never inputs of a wheel, at any depth: VCS data and caches.
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
# Outputs and environments, skipped at the project's top only: a package may well have a build/ or dist/ module.
_SKIPPED_TOP_DIRS = frozenset({".venv", "venv", "node_modules", "dist", "build"})
_DEFAULT_BUILD_SYSTEM = {"requires": ["setuptools>=40.8.0"], "build-backend": "setuptools.build_meta:__legacy__"}


class BackendFailed(Exception):
    """A backend hook exited with an error; output is everything it printed."""

    def __init__(self, output: str) -> None:
        super().__init__(tail(output, 1)[0] if tail(output, 1) else "no output")
        self.output = output


def bin_first_on_path(python: str, environ: Mapping[str, str]) -> dict[str, str]:
    """environ with the folder of python (a build environment's bin/, not the interpreter it links to) first on PATH:
    backends run console scripts of their build requirements from there (maturin, cmake, ninja, uv-build)."""
    scripts = os.path.dirname(python)
    rest = [entry for entry in environ.get("PATH", os.defpath).split(os.pathsep) if entry and entry != scripts]
    return {**environ, "PATH": os.pathsep.join([scripts, *rest])}


def _run_hook(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None, *,
              indexes: IndexConfig | None = None) -> None:
    """Run a backend hook (cmd[0] is the build interpreter), keeping its chatter off our stdout and its output for a failure.
    The backend is third-party code: it gets pyjib's index settings, never pyjib's secrets (childenv)."""
    environ = bin_first_on_path(cmd[0], child_environment(indexes, extra_environ))
    result = subprocess.run(list(cmd), cwd=cwd, env=environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise BackendFailed(result.stdout.decode("utf-8", "replace"))


def project_name(project_dir: Path) -> str:
    """The distribution's name for messages: [project].name of pyproject.toml, else the folder's name."""
    try:
        name = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8")).get("project", {}).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else project_dir.name


def build_system(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "pyproject.toml"
    table: dict[str, Any] = {}
    if path.is_file():
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("build-system") or {}
    if not table.get("build-backend"):
        return {**_DEFAULT_BUILD_SYSTEM, **{k: v for k, v in table.items() if k == "requires"}}
    return table


def _runner(indexes: IndexConfig | None) -> Callable[..., None]:
    return functools.partial(_run_hook, indexes=indexes)


def _run(command: list[str], what: str, cache_root: Path, indexes: IndexConfig | None) -> None:
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=child_environment(indexes))
    if result.returncode != 0:
        raise BuildError(failure_message(what, keep_log(cache_root, what, result.stdout), result.stdout))


def _install(environment: Path, requirements: Sequence[str], project: str, cache_root: Path, indexes: IndexConfig | None) -> None:
    # Build requirements come from the same indexes as the dependencies: a private backend must not be taken from the
    # public index under its name (dependency confusion at build time).
    if requirements:
        _run([uv_binary(), "pip", "install", "--quiet", "--python", str(environment / "bin" / "python"), *requirements],
             f"installing the build requirements of {project} ({', '.join(requirements)})", cache_root, indexes)


def _environment_dir(project_dir: Path, cache_root: Path, indexes: IndexConfig | None) -> Path:
    system = build_system(project_dir)
    # Per project: dynamic build requirements (setup_requires, say) differ between projects with one [build-system].
    key = cache_key(BUILD_ENV_RECIPE, str(project_dir), sorted(system.get("requires") or []), system.get("build-backend"),
                    system.get("backend-path"), sys.version, indexes.cache_identity() if indexes else None)
    return cache_root / BUILD_ENVS / key[:32]


def _satisfied_here(requirements: Iterable[str]) -> bool:
    """Whether this interpreter's environment already has every requirement, at an allowed version."""
    for line in requirements:
        try:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            if not requirement.specifier.contains(importlib.metadata.version(requirement.name), prereleases=True):
                return False
        except (InvalidRequirement, importlib.metadata.PackageNotFoundError):
            return False
    return True


def build_python(project_dir: Path, cache_root: Path, indexes: IndexConfig | None = None, source: Path | None = None) -> str:
    """The interpreter to run the project's backend with.

    The project's cached build environment when there is one; else this interpreter, when it already holds every build
    requirement (a fresh CI runner then skips creating an environment, about 0.8 s); else a new build environment.
    The backend is asked in source (a writable copy of a read-only project), the caches are keyed by project_dir.
    """
    environment = _environment_dir(project_dir, cache_root, indexes)
    if (environment / ".pyjib-ready").is_file():
        return str(environment / "bin" / "python")
    requires = build_system(project_dir).get("requires") or []
    if _satisfied_here(requires):
        # The backend's own answer (one more process) is asked once; a marker remembers it while nothing changed.
        marker = environment.with_name(environment.name + ".here." + cache_key(_versions_here(requires), sys.executable)[:16])
        if marker.is_file():
            return sys.executable
        import build  # the PEP 517 machinery, imported only when a backend process is asked (a cached wheel needs none)

        here = build.ProjectBuilder(source or project_dir, python_executable=sys.executable, runner=_runner(indexes))
        if _satisfied_here(here.get_requires_for_build("wheel")):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("")
            return sys.executable
    return str(build_environment(project_dir, cache_root, indexes, source) / "bin" / "python")


def _versions_here(requirements: Iterable[str]) -> list[str]:
    """name==version of each applicable requirement as installed here (all are, when _satisfied_here said so)."""
    found = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            found.append(f"{requirement.name}=={importlib.metadata.version(requirement.name)}")
    return sorted(found)


def build_environment(project_dir: Path, cache_root: Path, indexes: IndexConfig | None = None, source: Path | None = None) -> Path:
    """A virtual environment holding the project's build requirements, made once per [build-system] and reused."""
    requires = sorted(build_system(project_dir).get("requires") or [])
    environment = _environment_dir(project_dir, cache_root, indexes)
    ready = environment / ".pyjib-ready"
    if ready.is_file():
        return environment
    with file_lock(environment.with_suffix(".lock")):
        if ready.is_file():  # another build made it while we waited
            return environment
        shutil.rmtree(environment, ignore_errors=True)
        name = project_name(project_dir)
        _run([uv_binary(), "venv", "--quiet", "--python", sys.executable, str(environment)], f"creating the build environment of {name}",
             cache_root, indexes)
        _install(environment, requires, name, cache_root, indexes)
        import build

        builder = build.ProjectBuilder(source or project_dir, python_executable=str(environment / "bin" / "python"), runner=_runner(indexes))
        # Backends may ask for more at build time (setuptools' wheel); those are installed once, with the environment.
        _install(environment, sorted(builder.get_requires_for_build("wheel")), name, cache_root, indexes)
        ready.write_text("")
    return environment


def project_files(project_dir: Path) -> Iterator[Path]:
    """Every file that can go into the project's wheel (what its fingerprint covers)."""
    # Cargo's output folder of a Rust project (maturin, setuptools-rust) changes on every build: never an input.
    skipped_top = _SKIPPED_TOP_DIRS | ({"target"} if (project_dir / "Cargo.toml").is_file() else set())
    for directory, dirs, files in os.walk(project_dir):
        top = Path(directory) == project_dir
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.endswith(".egg-info") and not (top and d in skipped_top))
        for name in sorted(files):
            yield Path(directory) / name


def _git_state(project_dir: Path) -> str:
    """What git contributes to a build (versions from tags, as setuptools-scm and hatch-vcs read them)."""
    return git(project_dir, "describe", "--tags", "--long", "--always", "--dirty") or ""


def project_fingerprint(project_dir: Path) -> str:
    """A hash of everything that can change the project's wheel: its files' paths, bytes and exec bits, git state, SOURCE_DATE_EPOCH."""
    digest = hashlib.sha256()
    for path in project_files(project_dir):
        if path.is_symlink() or not path.is_file():
            continue
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(_git_state(project_dir).encode() + b"\0" + os.environ.get("SOURCE_DATE_EPOCH", "").encode())
    return digest.hexdigest()


def _copy_ignored(top: Path) -> Callable[[str, list[str]], set[str]]:
    """What a copy of the project leaves out: caches and, at its top, environments and outputs (VCS data is kept: a
    backend may read its version from git)."""
    never = _SKIPPED_DIRS - {".git", ".hg", ".svn"}
    return lambda directory, names: {n for n in names if n in never or (Path(directory) == top and n in _SKIPPED_TOP_DIRS)}


@contextlib.contextmanager
def _writable_source(project_dir: Path) -> Iterator[Path]:
    """The project where its backend may write (setuptools writes NAME.egg-info and build/ into it): the project itself,
    or, in a read-only checkout (a pod's source volume), a copy in the build's scratch space."""
    if os.access(project_dir, os.W_OK):
        yield project_dir
        return
    with tempfile.TemporaryDirectory(prefix="source-") as scratch:
        copy = Path(scratch) / project_dir.name
        shutil.copytree(project_dir, copy, symlinks=True, ignore=_copy_ignored(project_dir))
        yield copy


def _built_in_process(source: Path, staging: Path) -> Path | None:
    """The wheel built by hatchling in this process when the project allows it (inprocessbuild), else None. A failure
    here is also None: the subprocess build then runs and reports it with its log, as for any backend."""
    if not can_build_in_process(source):
        return None
    try:
        return build_wheel_in_process(source, staging)
    except InProcessBuildFailed:
        for leftover in staging.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        return None


def build_wheel(project_dir: Path, cache_root: Path, indexes: IndexConfig | None = None) -> Path:
    """The project's wheel, from the cache when nothing that goes into it changed, else built with the reused environment."""
    project_dir = project_dir.resolve()
    key = cache_key(BUILD_ENV_RECIPE, str(project_dir), project_fingerprint(project_dir), build_system(project_dir))
    out_dir = cache_root / PROJECT_WHEELS / key[:32]
    existing = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
    if existing:
        return existing[0]
    name = project_name(project_dir)
    import build

    try:
        with _writable_source(project_dir) as source, staged_directory(out_dir) as staging:
            wheel = _built_in_process(source, staging)
            if wheel is None:
                builder = build.ProjectBuilder(source, python_executable=build_python(project_dir, cache_root, indexes, source),
                                               runner=_runner(indexes))
                wheel = Path(builder.build("wheel", staging))
    except build.BuildException as exc:
        raise BuildError(f"cannot build the wheel of {name}: {exc}") from exc
    except build.BuildBackendException as exc:
        if isinstance(exc.exception, BackendFailed):
            output = exc.exception.output
            log = keep_log(cache_root, f"wheel-{name}", output)
            raise BuildError(failure_message(f"building the wheel of {name}", log, output)) from exc
        raise BuildError(f"the build backend of {name} failed: {exc.exception}") from exc
    return out_dir / wheel.name  # this build's, or the same wheel a concurrent build stored first
