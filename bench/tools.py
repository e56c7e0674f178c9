"""The tools measured, each as the commands a user (or CI) would run to build the app's image and push it.

A tool gets a checkout of the app (a git repository, like a CI checkout), a runner (the local state a machine keeps between
builds: caches, environments, image storage; a fresh runner is an empty one) and the registry's address.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from bench.images import Tls, base_reference, builder_reference
from bench.measure import Command

PYOCI_VERSION = "0.2.1"
IMAGE_REPOSITORY = "bench/svc"
EDITED_FILE = Path("src/bench_svc/app.py")
DOCKERFILE = Path(__file__).resolve().parent / "Dockerfile"  # one for every app: each is a bench-svc with a requirements.txt


@dataclass(frozen=True)
class Context:
    """What every run shares."""

    repo: Path  # the copy of pyjib's repository that is measured (see snapshot_pyjib)
    app: Path  # the example app, copied for each checkout
    work: Path  # scratch space of this benchmark run
    python: str
    pythonpath: str  # empty when python's environment has the measured pyjib installed (install_pyjib)
    tls: Tls | None  # for the tools that speak only HTTPS
    uv: str
    hatch: str | None
    pyoci: Path | None  # the pyoci executable, in a virtual environment of its own
    pyjib_args: tuple[str, ...] = ()  # more options for `pyjib push` and `pyjib build` (--bytecode off: what bytecode costs)


@dataclass(frozen=True)
class Target:
    host: str

    @property
    def base(self) -> str:
        return base_reference(self.host)

    @property
    def image(self) -> str:
        return f"{self.host}/{IMAGE_REPOSITORY}:latest"


@dataclass(frozen=True)
class Runner:
    """A machine's local state between builds; every cache any tool keeps lives under root."""

    root: Path

    def env(self, ctx: Context, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        cache = self.root / "cache"
        env = dict(os.environ)
        env.update(
            PYJIB_CACHE_DIR=str(self.root / "pyjib"),
            XDG_CACHE_HOME=str(cache),  # pip's and uv's caches, and anything else that follows XDG
            UV_CACHE_DIR=str(cache / "uv"),
            HATCH_DATA_DIR=str(self.root / "hatch" / "data"),  # hatch's build environments
            HATCH_CACHE_DIR=str(self.root / "hatch" / "cache"),
            PYJIB_CACHE_KEY="bench-fleet-key",  # as a CI secret would: pyjib reads only fleet cache records authenticated with it
        )
        if ctx.pythonpath:
            env["PYTHONPATH"] = ctx.pythonpath
        else:  # the measured pyjib is installed in ctx.python's environment; nothing may shadow it
            env.pop("PYTHONPATH", None)
        # A user's machine keeps bytecode caches; without them every run would compile hatch's build environment again.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(extra or {})
        return env


class Tool:
    name: ClassVar[str]
    summary: ClassVar[str]
    notes: ClassVar[str] = ""
    pushes: ClassVar[bool] = True  # False: the image goes to an OCI layout; the registry only serves the base
    tls: ClassVar[bool] = False  # the registry must speak HTTPS to this tool
    needs_builder: ClassVar[bool] = False

    def unavailable(self, ctx: Context) -> str | None:
        """Why this tool cannot run here, or None."""
        return None

    def configure(self, project: Path, target: Target, ctx: Context) -> None:
        """Write the tool's settings into a checkout before its first commit, as a project would keep them."""

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        raise NotImplementedError

    def layout(self, project: Path) -> Path | None:
        """The OCI layout a non-pushing tool writes."""
        return None


class PyjibPush(Tool):
    name = "pyjib"
    summary = "python -m pyjib push PROJECT --from BASE --to REF"

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        argv = (ctx.python, "-m", "pyjib", "push", str(project), "--from", target.base, "--to", target.image, *ctx.pyjib_args)
        return [Command("pyjib push", argv, project, runner.env(ctx))]


class PyjibBuild(Tool):
    name = "pyjib-build"
    summary = "python -m pyjib build PROJECT --from BASE --to oci:PROJECT/dist/image (no push)"
    pushes = False

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        argv = (ctx.python, "-m", "pyjib", "build", str(project), "--from", target.base, "--to", f"oci:{self.layout(project)}:latest",
                *ctx.pyjib_args)
        return [Command("pyjib build", argv, project, runner.env(ctx))]

    def layout(self, project: Path) -> Path:
        return project / "dist" / "image"


def _hatch_target_table(ctx: Context, table: Mapping[str, object]) -> str:
    dependencies = [f"hatch-pyjib @ {(ctx.repo / 'hatch_build_hook').as_uri()}", f"pyjib @ {ctx.repo.as_uri()}"]
    lines = ["", "[tool.hatch.build.targets.container]", f"dependencies = {json.dumps(dependencies)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


class Hatch(Tool):
    name = "hatch"
    summary = "hatch build -t container (push = true); hatch installs the plugin and pyjib into its build environment"
    notes = "hatch creates its build environment (hatchling, hatch-pyjib, pyjib from file://) on a fresh runner; the target also writes a layout"

    def unavailable(self, ctx: Context) -> str | None:
        return None if ctx.hatch else "hatch is not installed (pip install hatch, or bash .ci/setup)"

    def configure(self, project: Path, target: Target, ctx: Context) -> None:
        with (project / "pyproject.toml").open("a") as f:
            f.write(_hatch_target_table(ctx, {"from": target.base, "to": target.image, "push": True}))

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        assert ctx.hatch
        return [Command("hatch build", (ctx.hatch, "build", "-t", "container"), project, runner.env(ctx))]


class Hatchling(Hatch):
    name = "hatchling"
    summary = "python -m hatchling build -t container (push = true), in-process: the plugin installed in this environment"
    notes = "the target also writes an OCI layout under dist/ before it pushes"

    def unavailable(self, ctx: Context) -> str | None:
        return None

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        argv = (ctx.python, "-m", "hatchling", "build", "-t", "container")
        return [Command("hatchling build", argv, project, runner.env(ctx))]


class HatchlingLayout(Hatchling):
    name = "hatchling-layout"
    summary = "python -m hatchling build -t container (no push: an OCI layout), to compare with pyjib build (issue 3)"
    notes = ""
    pushes = False

    def configure(self, project: Path, target: Target, ctx: Context) -> None:
        with (project / "pyproject.toml").open("a") as f:
            f.write(_hatch_target_table(ctx, {"from": target.base}))

    def layout(self, project: Path) -> Path:
        return project / "dist" / "bench-svc-1.0.0-image"


class Buildah(Tool):
    name = "buildah"
    summary = "buildah bud --layers --isolation chroot (bench/Dockerfile: pip in a builder stage) + buildah push"
    notes = (
        "overlay storage under the runner (a fresh runner pulls the base and the builder); the pip stage reaches PyPI; "
        "the host-wide blob-info cache /var/lib/containers/cache is shared by all runs"
    )
    needs_builder = True

    def unavailable(self, ctx: Context) -> str | None:
        return None if shutil.which("buildah") else "buildah is not installed (apt-get install buildah, or bash .ci/setup)"

    def _global(self, runner: Runner) -> tuple[str, ...]:
        storage = runner.root / "buildah"
        return ("buildah", "--storage-driver", "overlay", "--root", str(storage / "root"), "--runroot", str(storage / "run"))

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        env = runner.env(ctx)
        bud = (
            *self._global(runner), "bud", "--layers", "--isolation", "chroot", "--tls-verify=false", "--quiet",
            "--build-arg", f"BUILDER={builder_reference(target.host)}", "--build-arg", f"BASE={target.base}", "-t", target.image,
            "-f", str(DOCKERFILE), str(project),
        )  # fmt: skip
        push = (*self._global(runner), "push", "--tls-verify=false", "--quiet", target.image)
        return [Command("buildah bud", bud, project, env), Command("buildah push", push, project, env)]


class Pyoci(Tool):
    name = "pyoci"
    summary = f"pyoci {PYOCI_VERSION} build --include-deps --push, dependencies from a .venv the runner makes with uv"
    notes = (
        "pyoci speaks only HTTPS (its registry here has a self-signed certificate it trusts through SSL_CERT_FILE); it does not install "
        "dependencies but copies a project's .venv site-packages, so a runner without one first makes it (uv venv + uv pip install, measured); "
        "entrypoint and PYTHONPATH come from pyoci.toml; its own layers are uncompressed tar"
    )
    tls = True

    def unavailable(self, ctx: Context) -> str | None:
        return None if ctx.pyoci else f"pyoci {PYOCI_VERSION} could not be installed from PyPI"

    def configure(self, project: Path, target: Target, ctx: Context) -> None:
        (project / "pyoci.toml").write_text(
            "[build]\n"
            'entrypoint = ["/usr/bin/python3", "-m", "bench_svc.app"]\n'
            "exposed_ports = [8080]\n"
            'env = { PYTHONPATH = "/app/src:/app/.venv/lib/python3.11/site-packages" }\n'
            'labels = { "org.example.team" = "bench" }\n'
        )

    def commands(self, project: Path, runner: Runner, target: Target, ctx: Context) -> list[Command]:
        assert ctx.pyoci and ctx.tls
        env = runner.env(ctx, {"SSL_CERT_FILE": str(ctx.tls.bundle)})
        commands = []
        if not (project / ".venv").is_dir():
            venv = (ctx.uv, "venv", "--quiet", "--python", ctx.python, str(project / ".venv"))
            install = (ctx.uv, "pip", "install", "--quiet", "--python", str(project / ".venv"), "-r", str(project / "requirements.txt"))
            commands += [Command("uv venv", venv, project, env), Command("uv pip install", install, project, env)]
        build = (
            str(ctx.pyoci), "build", "--config", "pyoci.toml", "--tag", target.image, "--base-image", target.base, "--include-deps",
            "--cache-dir", str(runner.root / "pyoci"), "--push", "--no-progress",
        )  # fmt: skip
        return [*commands, Command("pyoci build --push", build, project, env)]


TOOLS: dict[str, Tool] = {tool.name: tool for tool in (PyjibPush(), Hatch(), Hatchling(), Buildah(), Pyoci(), PyjibBuild(), HatchlingLayout())}


def find_hatch() -> str | None:
    """hatch next to this interpreter (a pyenv shim would add its own start-up to every measurement), else on PATH."""
    beside = Path(sys.executable).parent / "hatch"
    return str(beside) if beside.is_file() else shutil.which("hatch")


def find_uv() -> str:
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise SystemExit("uv is needed (pip install uv, or bash .ci/setup)") from None
        return found


@dataclass(frozen=True)
class Snapshot:
    path: Path
    pythonpath: str  # makes the copy's pyjib and hatch-pyjib shadow the editable installs
    source: dict[str, object]  # what was copied: the commit, and whether the work tree differed from it


def _git_output(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True, text=True).stdout.strip()


def snapshot_pyjib(repo: Path, rev: str | None, destination: Path) -> Snapshot:
    """A copy of pyjib's repository to measure.

    With rev, the files committed at rev; without, the work tree's files as they are now (tracked and untracked, less what
    git ignores). A copy keeps work in progress (other people's, too) and later commits from changing what is measured
    halfway through a run. It is byte-compiled, as an installed package is: this machine sets PYTHONDONTWRITEBYTECODE,
    and editable sources without .pyc files would be compiled again by every run.
    """
    destination.mkdir(parents=True)
    if rev:
        commit = _git_output(repo, "rev-parse", "--verify", f"{rev}^{{commit}}")
        archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, filter="data")
        source: dict[str, object] = {"from": f"git revision {rev}", "commit": commit}
    else:
        commit = _git_output(repo, "rev-parse", "HEAD")
        dirty = _git_output(repo, "status", "--porcelain", "--", "src", "hatch_build_hook")
        for name in filter(None, _git_output(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")):
            if (repo / name).is_file():  # a tracked file may be deleted in the work tree
                (destination / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(repo / name, destination / name)
        source = {"from": "work tree", "commit": commit, "uncommitted_changes": bool(dirty)}
    sources = [destination / "src", destination / "hatch_build_hook" / "src"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *map(str, sources)], check=True, capture_output=True)
    return Snapshot(destination, os.pathsep.join(map(str, sources)), source)


def install_pyjib(snapshot: Snapshot, destination: Path, uv: str) -> str:
    """The snapshot's pyjib and hatch-pyjib installed (not editable, byte-compiled) in a virtual environment of their own
    with their dependencies only, as a user's CI has them (pipx, uvx or a project's venv): the interpreter running the
    benchmark holds some 180 other distributions, whose start-up costs (.pth files; httpx importing rich for its CLI
    when rich is there) are this machine's, not pyjib's. Returns the environment's python."""
    python = destination / "bin" / "python"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(destination)], check=True, capture_output=True)
    installed = subprocess.run([uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python),
                                str(snapshot.path), str(snapshot.path / "hatch_build_hook")], capture_output=True, text=True)
    if installed.returncode != 0:
        raise SystemExit(f"bench: cannot install the pyjib being measured: {installed.stderr.strip()[-500:]}")
    return str(python)


def ensure_pyoci(cache: Path) -> Path | None:
    """pyoci in a virtual environment of its own (it has no dependencies), made once and kept in cache."""
    venv = cache / f"pyoci-{PYOCI_VERSION}"
    executable = venv / "bin" / "pyoci"
    if executable.is_file():
        return executable
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode == 0:
        made = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"pyoci=={PYOCI_VERSION}"], capture_output=True, text=True)
    if made.returncode != 0 or not executable.is_file():
        print(f"bench: cannot install pyoci: {made.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return executable
