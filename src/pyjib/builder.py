"""The build: base + the project's wheel and its dependencies, laid out in layers, as an Image value."""

from __future__ import annotations

import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from . import fleetcache
from .base import BaseImage, open_base
from .cache import BlobCache, Records, cache_key
from .descriptor import Descriptor
from .digest import sha256_file
from .errors import ConfigError
from .image import Blob, Image
from .install import PREFIX, Environment, install_all, install_wheel, write_skeleton
from .interpreter import Interpreter, cached_interpreter, detect_interpreter, remember_interpreter
from .layer import Layer, tree_layer
from .layering import split_resources
from .log import Log
from .platforms import parse_platform
from .reference import Reference
from .registry import ClientPool
from .resolve import LockedWheel, download, index_settings, lock, top_level_requirements
from .settings import Settings, creation_timestamp
from .wheelbuild import build_wheel
from .wheelmeta import WheelMetadata, read_wheel_metadata


@dataclass(frozen=True)
class FleetEntry:
    key: str
    record: fleetcache.FleetRecord


@dataclass(frozen=True)
class Build:
    image: Image
    base: BaseImage
    interpreter: Interpreter
    project: WheelMetadata
    fleet_entry: FleetEntry | None = None  # what to store in the registry's fleet cache after a push


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


LAYER_RECIPE = "layers-1"
FLEET_RECIPE = "fleet-1"  # bump when what goes into a layer changes, so cached layers are rebuilt


def _cached_layer(record: dict[str, Any] | None, cache: BlobCache) -> Layer | None:
    if not record or not cache.has(record["digest"]):
        return None
    return Layer(cache.path(record["digest"]), record["digest"], record["size"], record["diff_id"], record["media_type"])


def _layer_record(layer: Layer) -> dict[str, Any]:
    return {"digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id, "media_type": layer.media_type}


def _dependency_key(locked: list[LockedWheel], environment: Environment) -> str:
    interpreter = environment.interpreter
    return cache_key(LAYER_RECIPE, "dependencies", environment.prefix, interpreter.path, interpreter.version, sorted(w.sha256 for w in locked))


def cached_dependency_layer(locked: list[LockedWheel], environment: Environment, cache: BlobCache) -> Layer | None:
    return _cached_layer(Records(cache.root, "layers").get(_dependency_key(locked, environment)), cache)


def dependency_layer(locked: list[LockedWheel], environment: Environment, cache: BlobCache) -> Layer:
    """The environment and the third-party wheels installed in it; rebuilt only when a wheel or the interpreter changes."""
    records = Records(cache.root, "layers")
    key = _dependency_key(locked, environment)
    if layer := _cached_layer(records.get(key), cache):
        return layer
    wheels = download(locked, cache.root / "wheels")
    with tempfile.TemporaryDirectory(prefix="pyjib-deps-") as work:
        tree = Path(work)
        write_skeleton(tree, environment)
        install_all(wheels, tree, environment)
        layer = tree_layer(tree, cache.blobs)
    records.put(key, _layer_record(layer))
    return layer


def project_layers(wheel: Path, environment: Environment, cache: BlobCache) -> tuple[Layer | None, Layer]:
    """The project's resources (None when it has none) and its application layer; rebuilt only when its wheel changes."""
    records = Records(cache.root, "layers")
    interpreter = environment.interpreter
    key = cache_key(LAYER_RECIPE, "project", environment.prefix, interpreter.path, interpreter.version, sha256_file(wheel))
    record = records.get(key)
    if record and (application := _cached_layer(record["application"], cache)):
        resources = _cached_layer(record["resources"], cache)
        if record["resources"] is None or resources is not None:
            return resources, application
    with tempfile.TemporaryDirectory(prefix="pyjib-app-") as work:
        installed, resources_tree = Path(work) / "application", Path(work) / "resources"
        install_wheel(wheel, installed, environment)
        moved = split_resources(installed, resources_tree, Path(environment.bin.lstrip("/")))
        resources = tree_layer(resources_tree, cache.blobs) if moved else None  # as Jib does, an empty layer is left out
        application = tree_layer(installed, cache.blobs)
    records.put(key, {"application": _layer_record(application), "resources": _layer_record(resources) if resources else None})
    return resources, application


def fleet_key(base: BaseImage, project: WheelMetadata, extras: tuple[str, ...]) -> str:
    """What the fleet cache record depends on, all known before the base is read or anything is resolved."""
    return cache_key(FLEET_RECIPE, LAYER_RECIPE, PREFIX, base.image.config_descriptor().digest, sorted(project.requires_dist),
                     sorted(extras), index_settings())


def _remote_layer_blob(record: dict[str, Any], repository: Reference, clients: ClientPool, cache: BlobCache) -> Blob:
    descriptor = Descriptor(record["media_type"], record["digest"], record["size"])
    client = clients.get(repository.registry)
    return Blob(descriptor, lambda: client.fetch_blob(repository.repository, descriptor.digest, cache), origin=repository)


def build_image(
    settings: Settings,
    *,
    cache: BlobCache,
    clients: ClientPool,
    log: Log,
    wheel: Path | None = None,
    refresh: bool = False,
    fleet: Reference | None = None,
) -> Build:
    """The image for settings.

    wheel, when given, is the project's already-built wheel (the hatch plugin builds it in-process). fleet, when given,
    is the repository whose fleet cache record is consulted when local caches miss.
    """
    platform = parse_platform(settings.platform) if settings.platform else None
    log.info(f"reading base {settings.base}")
    base = open_base(settings.base, platform=platform, cache=cache, clients=clients)
    if wheel is None:
        log.info(f"building the wheel of {settings.project_dir}")
        wheel = build_wheel(settings.project_dir, cache.root)
    project = read_wheel_metadata(wheel)
    requires, extras = expand_self_extras(project, settings.extras)

    key = fleet_key(base, project, extras)
    interpreter = cached_interpreter(base.image, cache)
    record = None
    if fleet is not None and not refresh and interpreter is None:
        record = fleetcache.load(clients, fleet, key, cache)
        if record is not None:
            log.info(f"fleet cache hit in {fleet.repository_ref}: skipping base inspection, resolution and dependency install")
            interpreter = record.interpreter
            remember_interpreter(base.image, cache, interpreter)
    if interpreter is None:
        interpreter = detect_interpreter(base.image, cache)
    environment = Environment(interpreter)
    log.info(f"base has Python {interpreter.version} at {interpreter.path} for {interpreter.platform}")

    if record is not None:
        locked = record.locked
    else:
        requirements = top_level_requirements(requires, extras, interpreter)
        log.info(f"resolving {len(requirements)} requirements for {interpreter.uv_platform}")
        locked = lock(requirements, interpreter, cache.root, refresh=refresh)

    # The two halves share nothing; compressing them at once uses both cores (zlib releases the GIL).
    local_dependencies = cached_dependency_layer(locked, environment, cache)
    with ThreadPoolExecutor(max_workers=2) as pool:
        dependencies_job = None
        if local_dependencies is None and record is None:
            dependencies_job = pool.submit(dependency_layer, locked, environment, cache)
        resources, application = project_layers(wheel, environment, cache)
        if dependencies_job is not None:
            local_dependencies = dependencies_job.result()
    if local_dependencies is not None:
        dependency_blob, diff_id = Blob.of_layer(local_dependencies), local_dependencies.diff_id
        dependency_record = fleetcache.layer_record(local_dependencies)
    else:
        assert record is not None and fleet is not None
        dependency_record = record.dependency_layer
        dependency_blob, diff_id = _remote_layer_blob(dependency_record, fleet, clients, cache), dependency_record["diff_id"]
    to_store = None if record else fleetcache.FleetRecord(interpreter, locked, dependency_record, time.time())

    created = creation_timestamp(settings.creation_time)
    image = base.image
    recipe = [
        ("dependencies", None, f"{len(locked)} distributions: " + ", ".join(f"{w.name}=={w.version}" for w in locked)),
        ("resources", resources, f"non-code files of {project.name}"),
        ("application", application, f"{project.name} {project.version}: code, metadata and scripts"),
    ]
    image = image.append_blob(dependency_blob, diff_id, created_by="pyjib: dependencies", comment=recipe[0][2], created=created)
    for name, layer, comment in recipe[1:]:
        if layer is None:
            continue
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
    return Build(image, base, interpreter, project, FleetEntry(key, to_store) if to_store else None)
