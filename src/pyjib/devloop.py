"""The contracts of dev-loop tools that run a custom build command: what they set in the environment, as pyjib's argv.

Skaffold's custom builder sets IMAGE (the reference to produce), PUSH_IMAGE ("true" to push, else the image goes into
the local engine), BUILD_CONTEXT (the artifact's folder) and PLATFORMS (comma-separated); its `dependencies.command`
wants the build's inputs as a JSON array of paths. Tilt's custom_build sets EXPECTED_REF, which its command passes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .errors import ConfigError
from .wheelbuild import project_files


def skaffold_argv(environ: Mapping[str, str]) -> list[str]:
    """`pyjib push|build CONTEXT --to ...` for what Skaffold set: a push when PUSH_IMAGE is true, else a local engine load."""
    image = environ.get("IMAGE", "").strip()
    if not image:
        raise ConfigError("IMAGE is not set: `pyjib skaffold` is Skaffold's custom build command (it sets IMAGE, PUSH_IMAGE "
                          "and BUILD_CONTEXT); run `pyjib push` or `pyjib build` yourself otherwise")
    push = environ.get("PUSH_IMAGE", "").strip().lower() == "true"
    context = environ.get("BUILD_CONTEXT", "").strip() or "."
    argv = ["push", context, "--to", image] if push else ["build", context, "--to", f"docker-daemon:{image}"]
    for platform in (p.strip() for p in environ.get("PLATFORMS", "").split(",")):
        if platform:
            argv += ["--platform", platform]
    return argv


def build_inputs(project_dir: Path) -> list[str]:
    """The files a build reads, relative to the project with slashes, sorted: the wheel's sources, pyproject and locks."""
    top = project_dir.resolve()
    return sorted(path.relative_to(top).as_posix() for path in project_files(top))
