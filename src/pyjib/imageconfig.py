"""The image's config and annotations: what runs, as whom, where, with which environment and labels."""

from __future__ import annotations

from typing import Any

from packaging.utils import canonicalize_name

from .errors import ConfigError
from .install import Environment
from .log import SILENT, Log
from .settings import Settings
from .vcs import git
from .wheelmeta import WheelMetadata

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def entrypoint_for(settings: Settings, project: WheelMetadata, environment: Environment, log: Log = SILENT) -> list[str]:
    """The entrypoint option, else python -m MODULE, else the project's only console script, else the one named like it."""
    if settings.entrypoint:
        return list(settings.entrypoint)
    if settings.module:
        return [environment.python, "-m", settings.module]
    scripts = project.console_scripts
    if len(scripts) == 1:
        return [f"{environment.bin}/{scripts[0]}"]
    named_like_project = [script for script in scripts if canonicalize_name(script) == canonicalize_name(project.name)]
    if len(named_like_project) == 1:
        log.info(f"entrypoint: the console script {named_like_project[0]}, named like the project, of {', '.join(scripts)} "
                 "(set entrypoint or module to choose another)")
        return [f"{environment.bin}/{named_like_project[0]}"]
    if scripts:
        raise ConfigError(
            f"{project.name} has several console scripts ({', '.join(scripts)}) and none is named like the project; "
            f'choose one with entrypoint = ["{environment.bin}/{scripts[0]}"] or set module'
        )
    raise ConfigError(f"{project.name} has no console script; set module (run as python -m MODULE) or entrypoint in [tool.pyjib]")


def image_annotations(settings: Settings, project: WheelMetadata, created: str) -> dict[str, str]:
    """org.opencontainers.image.* annotations; revision from git when the project is in a checkout."""
    found = {
        "org.opencontainers.image.title": project.name,
        "org.opencontainers.image.version": project.version,
        "org.opencontainers.image.created": created,
    }
    urls = project.project_urls
    if source := urls.get("source") or urls.get("repository") or urls.get("homepage"):
        found["org.opencontainers.image.source"] = source
    if revision := git(settings.project_dir, "rev-parse", "HEAD"):
        found["org.opencontainers.image.revision"] = revision
    return found


def environment_variables(base_env: list[str], environment: Environment, extra: dict[str, str]) -> list[str]:
    """The base's Env with the environment's bin first on PATH, VIRTUAL_ENV, and the project's own variables."""
    variables = dict(entry.split("=", 1) for entry in base_env if "=" in entry)
    path = variables.get("PATH", DEFAULT_PATH)
    variables["PATH"] = ":".join([environment.bin, *(p for p in path.split(":") if p != environment.bin)])
    variables["VIRTUAL_ENV"] = environment.prefix
    variables.update(extra)
    return [f"{key}={value}" for key, value in variables.items()]


def container_config(settings: Settings, project: WheelMetadata, environment: Environment, base: dict[str, Any],
                     log: Log = SILENT) -> dict[str, Any]:
    """The fields of the config's "config" object pyjib sets; None removes a field the base had (Cmd, when the entrypoint changes)."""
    labels = {**(base.get("Labels") or {}), **settings.labels}
    return {
        "Entrypoint": entrypoint_for(settings, project, environment, log),
        "Cmd": list(settings.args) if settings.args else None,
        "Env": environment_variables(base.get("Env") or [], environment, dict(settings.environment)),
        "User": settings.user if settings.user is not None else base.get("User"),
        "WorkingDir": settings.workdir if settings.workdir is not None else base.get("WorkingDir"),
        "ExposedPorts": {(p if "/" in p else f"{p}/tcp"): {} for p in settings.ports} or base.get("ExposedPorts"),
        "Labels": labels or None,
    }
