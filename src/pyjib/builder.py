"""The build: base + the project's wheel and its dependencies, laid out in layers, as an Image value."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .base import BaseImage, open_base
from .cache import BlobCache
from .errors import ConfigError
from .image import Image
from .install import Environment, install_all, install_wheel, write_skeleton
from .interpreter import Interpreter, detect_interpreter
from .layer import tree_layer
from .layering import split_resources
from .log import Log
from .platforms import parse_platform
from .registry import ClientPool
from .resolve import download, lock, top_level_requirements
from .settings import Settings, creation_timestamp
from .wheelbuild import build_wheel
from .wheelmeta import WheelMetadata, read_wheel_metadata


@dataclass(frozen=True)
class Build:
    image: Image
    base: BaseImage
    interpreter: Interpreter
    project: WheelMetadata


def expand_self_extras(metadata: WheelMetadata, extras: tuple[str, ...]) -> tuple[list[str], tuple[str, ...]]:
    """Requirements without references to the project itself (`app[web]` in app's own extras), and the extras they pull in."""
    chosen = {canonicalize_name(e) for e in extras}
    while True:
        kept, grown = [], set(chosen)
        for line in metadata.requires_dist:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == metadata.name:
                extra_markers = {canonicalize_name(e) for e in chosen | {""}}
                marker = requirement.marker
                if marker is None or any(marker.evaluate({"extra": e}) for e in extra_markers):
                    grown |= {canonicalize_name(e) for e in requirement.extras}
                continue
            kept.append(line)
        if grown == chosen:
            return kept, tuple(sorted(chosen))
        chosen = grown


def entrypoint_for(settings: Settings, project: WheelMetadata, environment: Environment) -> list[str]:
    if settings.entrypoint:
        return list(settings.entrypoint)
    if settings.module:
        return [environment.python, "-m", settings.module]
    scripts = project.console_scripts
    if len(scripts) == 1:
        return [f"{environment.bin}/{scripts[0]}"]
    if scripts:
        raise ConfigError(
            f"{project.name} has several console scripts ({', '.join(scripts)}); choose one with entrypoint = "
            f'["{environment.bin}/{scripts[0]}"] or set module'
        )
    raise ConfigError(f"{project.name} has no console script; set module (run as python -m MODULE) or entrypoint in [tool.pyjib]")


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _annotations(settings: Settings, project: WheelMetadata, base: BaseImage, created: str) -> dict[str, str]:
    annotations = {
        "org.opencontainers.image.title": project.name,
        "org.opencontainers.image.version": project.version,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.base.name": base.name,
        "org.opencontainers.image.base.digest": base.digest,
    }
    urls = project.project_urls
    if source := urls.get("source") or urls.get("repository") or urls.get("homepage"):
        annotations["org.opencontainers.image.source"] = source
    if revision := _git(settings.project_dir, "rev-parse", "HEAD"):
        annotations["org.opencontainers.image.revision"] = revision
    return annotations


def _environment_variables(base_env: list[str], environment: Environment, extra: dict[str, str]) -> list[str]:
    variables = dict(entry.split("=", 1) for entry in base_env if "=" in entry)
    path = variables.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    variables["PATH"] = ":".join([environment.bin, *(p for p in path.split(":") if p != environment.bin)])
    variables["VIRTUAL_ENV"] = environment.prefix
    variables.update(extra)
    return [f"{key}={value}" for key, value in variables.items()]


def build_image(settings: Settings, *, cache: BlobCache, clients: ClientPool, log: Log, wheel: Path | None = None) -> Build:
    """The image for settings; wheel, when given, is the project's already-built wheel (the hatch plugin builds it in-process)."""
    platform = parse_platform(settings.platform) if settings.platform else None
    log.info(f"reading base {settings.base}")
    base = open_base(settings.base, platform=platform, cache=cache, clients=clients)
    interpreter = detect_interpreter(base.image, cache)
    environment = Environment(interpreter)
    log.info(f"base has Python {interpreter.version} at {interpreter.path} for {interpreter.platform}")

    with tempfile.TemporaryDirectory(prefix="pyjib-") as work_name:
        work = Path(work_name)
        if wheel is None:
            log.info(f"building the wheel of {settings.project_dir}")
            wheel = build_wheel(settings.project_dir.resolve(), work / "wheel")
        project = read_wheel_metadata(wheel)
        requires, extras = expand_self_extras(project, settings.extras)
        requirements = top_level_requirements(requires, extras, interpreter)
        log.info(f"resolving {len(requirements)} requirements for {interpreter.uv_platform}")
        locked = lock(requirements, interpreter)
        wheels = download(locked, cache.root / "wheels")

        dependencies, application, resources = work / "dependencies", work / "application", work / "resources"
        write_skeleton(dependencies, environment)
        install_all(wheels, dependencies, environment)
        install_wheel(wheel, application, environment)
        resources.mkdir()
        split_resources(application, resources, Path(environment.bin.lstrip("/")))

        created = creation_timestamp(settings.creation_time)
        image = base.image
        recipe = [
            ("dependencies", dependencies, f"{len(locked)} distributions: " + ", ".join(f"{w.name}=={w.version}" for w in locked)),
            ("resources", resources, f"non-code files of {project.name}"),
            ("application", application, f"{project.name} {project.version}: code, metadata and scripts"),
        ]
        for name, tree, comment in recipe:
            if name == "resources" and not any(p.is_file() for p in tree.rglob("*")):
                continue  # as Jib does, an empty layer is left out
            layer = tree_layer(tree, cache.blobs)
            log.info(f"layer {name}: {layer.digest[:19]} ({layer.size} bytes)")
            image = image.append_layer(layer, created_by=f"pyjib: {name}", comment=comment, created=created)

    container = base.image.container_config
    labels = {**(container.get("Labels") or {}), **settings.labels}
    image = image.with_container_config(
        Entrypoint=entrypoint_for(settings, project, environment),
        Cmd=list(settings.args) if settings.args else None,
        Env=_environment_variables(container.get("Env") or [], environment, dict(settings.environment)),
        User=settings.user if settings.user is not None else container.get("User"),
        WorkingDir=settings.workdir if settings.workdir is not None else container.get("WorkingDir"),
        ExposedPorts={(p if "/" in p else f"{p}/tcp"): {} for p in settings.ports} or container.get("ExposedPorts"),
        Labels=labels or None,
    )
    image = image.with_created(created).with_annotations(_annotations(settings, project, base, created))
    return Build(image, base, interpreter, project)
