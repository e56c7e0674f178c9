"""Build the project's own wheel through PEP 517, with whatever backend the project names."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import build
import build.env
import pyproject_hooks

from .errors import BuildError


def _uv_available() -> bool:
    try:
        import uv

        return bool(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv") is not None


def _quiet_runner(cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None) -> None:
    """Run a backend hook, keeping its chatter off our stdout; show it only when the hook fails."""
    try:
        pyproject_hooks.quiet_subprocess_runner(cmd, cwd, extra_environ)
    except subprocess.CalledProcessError as exc:
        output = (exc.output or b"").decode("utf-8", "replace").strip().splitlines()
        tail = output[-1] if output else "no output"
        raise BuildError(f"the build backend failed: {tail}") from exc


def build_wheel(project_dir: Path, out_dir: Path) -> Path:
    """The project's wheel, built in an isolated environment (uv installs the backend when available, as it is faster)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    installer: Literal["uv", "pip"] = "uv" if _uv_available() else "pip"
    try:
        with build.env.DefaultIsolatedEnv(installer=installer) as env:
            builder = build.ProjectBuilder.from_isolated_env(env, project_dir, runner=_quiet_runner)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel"))
            return Path(builder.build("wheel", out_dir))
    except BuildError as exc:
        raise BuildError(
            f"building the wheel of {project_dir} failed ({exc}); run `{Path(sys.executable).name} -m build --wheel {project_dir}` to see the whole log"
        ) from exc
    except build.BuildException as exc:
        raise BuildError(f"cannot build the wheel of {project_dir}: {exc}") from exc
    except build.BuildBackendException as exc:
        raise BuildError(f"the build backend of {project_dir} failed: {exc.exception}") from exc
