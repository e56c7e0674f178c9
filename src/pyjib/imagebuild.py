"""The build: the project's wheel and its dependencies, laid out in layers on the base, for each target platform."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from . import fleetcache, imagechecks
from .bytecode import compiler_for
from .cache import BlobCache, cache_key
from .cachelayout import FLEET_RECIPE, LAYER_RECIPE
from .constraints import find_constraints
from .context import BuildContext, Sources
from .dependencies import LayerInputs, NamedLayer, dependency_layers, environment_layer
from .errors import ResolveError
from .grouping import check_layer_count
from .imagechecks import Linked
from .imageconfig import container_config, image_annotations
from .imagepaths import PREFIX
from .indexes import index_config
from .install import Environment
from .interpreter import BaseFacts, Interpreter, cached_facts, detect_base, remember_facts
from .layer import Compression
from .lockedwheel import LockedWheel
from .locks.core import LockRequest
from .locks.find import find_lock
from .locks.groups import group_requirements
from .locks.read import open_lock
from .log import Log
from .markers import image_extras, top_level_requirements
from .oci.image import Blob, Image, ImageIndex
from .oci.platforms import Platform, parse_platform
from .projectsource import Package, ProjectSource, start_source
from .reference import Reference
from .registry import ClientPool
from .resolve import resolve_wheels
from .settings import Settings, creation_timestamp, read_pyproject
from .sources import local_folders_identity
from .transports import BaseImage, Session, parse_location
from .transports.remote import mountable
from .wheelfacts import WheelFacts, read_facts, wheel_facts
from .wheelmeta import WheelMetadata
from .workers import worker_pool
from .workspace import uv_sources


@dataclass(frozen=True)
class FleetEntry:
    key: str
    record: fleetcache.FleetRecord


@dataclass(frozen=True)
class PlatformImage:
    image: Image
    base: BaseImage
    interpreter: Interpreter
    locked: tuple[LockedWheel, ...] = ()
    fleet_entry: FleetEntry | None = None  # what to store in the registry's fleet cache after a push
    facts: tuple[WheelFacts, ...] = ()  # of each locked wheel, in the same order (for the SBOM)
    requirements: tuple[str, ...] = ()  # the project's requirements that apply on this platform (its DEPENDS_ON)


@dataclass(frozen=True)
class Build:
    project: WheelMetadata
    images: tuple[PlatformImage, ...]
    project_facts: WheelFacts | None = None  # the project's own licence, for the SBOM
    sources: Sources | None = None  # where dependencies came from, for the provenance

    @property
    def image(self) -> Image:
        """The image of a single-platform build (the first platform's for an index)."""
        return self.images[0].image

    @property
    def is_index(self) -> bool:
        return len(self.images) > 1

    def index(self, annotations: dict[str, str]) -> ImageIndex:
        return ImageIndex(tuple(p.image for p in self.images), annotations)




def fleet_key(base: BaseImage, project: WheelMetadata, settings: Settings, extras: tuple[str, ...], sources: Sources) -> str:
    """What a fleet cache record depends on, all known before the base is read or anything is resolved."""
    return cache_key(FLEET_RECIPE, LAYER_RECIPE, PREFIX, base.image.config_descriptor().digest, sorted(project.requires_dist),
                     local_folders_identity(project.requires_dist),
                     sorted(extras), sorted(settings.groups), sources.identity(), settings.bytecode, [g.__dict__ for g in settings.layers],
                     settings.layer_threshold_mb, settings.only_binary, settings.compression)


def fresh_requirements(requirements: list[str], extras: tuple[str, ...], interpreter: Interpreter, context: BuildContext) -> list[str]:
    """Without a lock: the project's requirements and the groups asked for, each [tool.uv.sources] entry as its direct URL."""
    settings = context.settings
    if settings.groups:
        where = str(settings.project_dir / "pyproject.toml")
        grouped = group_requirements(read_pyproject(settings.project_dir), settings.groups, where)
        requirements = sorted({*requirements, *top_level_requirements(grouped, extras, interpreter)})
    return context.sources.uv_sources.apply(requirements, interpreter)


def locked_wheels(requirements: list[str], interpreter: Interpreter, project: str, extras: tuple[str, ...],
                  context: BuildContext) -> list[LockedWheel]:
    """The wheels to install: exactly the lock's when the project has one (every hash checked), else a fresh resolution."""
    settings, sources, cache, refresh = context.settings, context.sources, context.cache, context.refresh
    project_dir = settings.project_dir.resolve()
    if sources.lock is None:
        return resolve_wheels(fresh_requirements(requirements, extras, interpreter, context), interpreter, cache.root,
                    indexes=sources.indexes, only_binary=settings.only_binary, project_dir=project_dir, refresh=refresh,
                    constraints=sources.constraints)
    request = LockRequest(interpreter, project_dir, canonicalize_name(project), tuple(requirements), extras, settings.groups,
                          sources.indexes, cache.root, settings.only_binary, refresh)
    wheels = open_lock(sources.lock).wheels(request)
    locked_names = {w.name for w in wheels}
    for requirement in requirements:
        name = canonicalize_name(Requirement(requirement).name)
        if name not in locked_names:
            raise ResolveError(f"{project} requires {name}, which {sources.lock.path} does not pin; update the lock")
    return wheels


def _blob(layer: NamedLayer, context: BuildContext) -> Blob:
    """The layer's bytes from the local cache, or, for a layer known only from the fleet record, from the registry."""
    cache, fleet = context.cache, context.fleet
    if cache.has(layer.descriptor.digest) or fleet is None:
        return layer.local_blob(cache)
    client = context.clients.get(fleet.registry)
    return mountable(Blob(layer.descriptor, lambda: client.fetch_blob(fleet.repository, layer.descriptor.digest, layer.descriptor.size, cache)), fleet)


def _fleet_hit(base: BaseImage, source: ProjectSource, key: str, context: BuildContext) -> fleetcache.FleetRecord | None:
    """The fleet record of key, when one is to be read and the registry holds one that fits the base."""
    settings, cache, log, fleet = context.settings, context.cache, context.log, context.fleet
    if fleet is None or context.refresh:
        return None
    trust = fleetcache.Trust.of(settings.registry_cache_trust)
    if not trust.reads:
        log.info(f"the fleet cache in {fleet.repository_ref} is not read: set {fleetcache.KEY_VARIABLE} (a CI secret of trusted builds), "
                 'or registry-cache-trust = "repository" to trust everyone who can push there')
    record = fleetcache.load(context.clients, fleet, key, cache, trust, log.warn)
    if record is not None:
        imagechecks.check_base(source.metadata, source.wheel_name, record.base, base.name)
        log.info(f"fleet cache hit in {fleet.repository_ref}: skipping base inspection, resolution and dependency install")
        remember_facts(base.image, cache, record.base)
    return record


def _lower_layers(
    base: BaseImage, source: ProjectSource, extras: tuple[str, ...], requires: list[str], context: BuildContext,
    before_compression: Callable[[BaseFacts, list[Linked]], None],
) -> tuple[BaseFacts, list[NamedLayer], list[LockedWheel], tuple[WheelFacts, ...], FleetEntry | None]:
    """The environment and dependency layers: from the fleet record when local caches know nothing, else built (or
    cached), calling before_compression with the base's facts and every lower layer once all are installed and scanned."""
    settings, sources, cache, log = context.settings, context.sources, context.cache, context.log
    project = source.metadata
    key = fleet_key(base, project, settings, extras, sources)
    facts = cached_facts(base.image, cache)
    if facts is None and (record := _fleet_hit(base, source, key, context)) is not None:
        return record.base, [NamedLayer.from_json(layer) for layer in record.layers], record.locked, record.facts, None
    if facts is None:
        facts = detect_base(base.image, cache)
    imagechecks.check_base(project, source.wheel_name, facts, base.name)  # before resolving for a Python or platform that does not fit
    interpreter = facts.interpreter
    log.info(f"base has Python {interpreter.version} at {interpreter.path} for {interpreter.platform}")
    environment = Environment(interpreter, app_root_owner=facts.app_dir)
    extras = image_extras(requires, project.name, extras, interpreter)  # the project's extras naming each other, for this platform
    requirements = top_level_requirements(requires, extras, interpreter, project.name)
    if sources.lock:
        unused = f" (the constraints of {sources.constraints.source} do not apply: a lock pins exactly)" if sources.constraints.files else ""
        log.info(f"installing what {sources.lock.path.name} pins, for {interpreter.uv_platform}{unused}")
    else:
        constrained = sources.constraints
        with_constraints = f", constrained by {', '.join(map(str, constrained.files))} ({constrained.source})" if constrained.files else ""
        log.info(f"resolving {len(requirements)} requirements for {interpreter.uv_platform} from {sources.indexes.source}{with_constraints}")
    locked = locked_wheels(requirements, interpreter, project.name, extras, context)
    inputs = LayerInputs(environment, compiler_for(interpreter.version, settings.bytecode), cache, Compression(settings.compression))
    env_layer = environment_layer(inputs)
    layers = [env_layer, *dependency_layers(locked, inputs, context, lambda prepared: before_compression(facts, [env_layer, *prepared]))]
    described = wheel_facts(locked, cache, sources.indexes)
    record = fleetcache.FleetRecord(facts, locked, [layer.to_json() for layer in layers], time.time(), described)
    return facts, layers, locked, described, FleetEntry(key, record)


_warned_no_compiler: set[str] = set()


def _top_layers(source: ProjectSource, facts: BaseFacts, context: BuildContext) -> list[NamedLayer]:
    settings, interpreter = context.settings, facts.interpreter
    environment = Environment(interpreter, app_root_owner=facts.app_dir)
    compiler = compiler_for(interpreter.version, settings.bytecode)
    if compiler is None and settings.bytecode == "auto" and interpreter.minor not in _warned_no_compiler:
        _warned_no_compiler.add(interpreter.minor)
        context.log.info(f"this host has no Python {interpreter.minor}: the image ships without precompiled bytecode")
    return source.top_layers(LayerInputs(environment, compiler, context.cache, Compression(settings.compression)))


def _check_layers(base: BaseImage, layers: Sequence[Linked], facts: BaseFacts, settings: Settings) -> None:
    check_layer_count(len(base.image.layers), len(layers))
    imagechecks.check_libraries(layers, facts, base.name, settings.runtime_libraries)


def _platform_image(base: BaseImage, source: ProjectSource, context: BuildContext) -> PlatformImage:
    settings, log = context.settings, context.log
    project = source.metadata
    requires, extras = list(project.requires_dist), settings.extras  # extras naming each other are expanded per platform
    top: list[NamedLayer] | None = None

    def check_before_compression(facts: BaseFacts, lower: list[Linked]) -> None:
        # The project's layers are small: built first, so that the checks see every layer before the big ones compress.
        nonlocal top
        top = _top_layers(source, facts, context)
        _check_layers(base, [*lower, *top], facts, settings)

    facts, lower, locked, described, entry = _lower_layers(base, source, extras, requires, context, check_before_compression)
    interpreter = facts.interpreter
    environment = Environment(interpreter, app_root_owner=facts.app_dir)
    if top is None:  # the lower layers came from a fleet record, so before_compression never ran: check them now
        top = _top_layers(source, facts, context)
        _check_layers(base, [*lower, *top], facts, settings)
    layers = [*lower, *top]

    created = creation_timestamp(settings.creation_time)
    image = base.image
    for layer in layers:
        log.info(f"layer {layer.name}: {layer.descriptor.digest[:19]} ({layer.descriptor.size} bytes)")
        image = image.append_blob(_blob(layer, context), layer.diff_id, created_by=f"pyjib: {layer.name}",
                                  comment=layer.comment, created=created)
    image_settings = source.image_settings(settings, environment)
    image = image.with_container_config(**container_config(image_settings, project, environment, base.image.container_config, log))
    image = image.with_created(created).with_annotations({
        **image_annotations(settings, project, created),
        "org.opencontainers.image.base.name": settings.base_name or base.name,
        "org.opencontainers.image.base.digest": base.digest,
    })
    requirements = tuple(top_level_requirements(requires, image_extras(requires, project.name, extras, interpreter), interpreter, project.name))
    return PlatformImage(image, base, interpreter, tuple(locked), entry, described, requirements)


def settle_sources(settings: Settings, log: Log) -> Sources:
    """The indexes, the lock and the [tool.uv.sources], settled first: a lock pyjib cannot use stops the build before any work."""
    indexes = index_config(settings.project_dir, settings.index_url, settings.extra_index_url, settings.find_links)
    found_lock, sourced = find_lock(settings.project_dir, settings.lock_file, log), uv_sources(settings.project_dir)
    return Sources(indexes, found_lock, sourced, find_constraints(settings.constraint, settings.project_dir))


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
    """The image for each platform of settings (one: the base's, or linux/amd64 for an index).

    wheel, when given, is the project's already-built wheel (the hatch plugin builds it in-process); without it the
    project's wheel is built, or, for an app folder that is not a package, its files are taken as they are. fleet, when given,
    is the repository whose fleet cache record is consulted when local caches miss. Every platform is built before
    anything is delivered, so a platform that cannot be built stops the build with nothing published.
    """
    platforms: list[Platform | None] = [parse_platform(p) for p in settings.platforms] or [None]
    context = BuildContext(settings, settle_sources(settings, log), cache, clients, log, refresh, fleet)
    sources = context.sources
    with worker_pool(1) as pool:
        # The wheel builds in a subprocess while the base's manifests come over the network.
        source_job = start_source(context, pool, wheel)
        base_location = parse_location(settings.base)
        bases = [base_location.open(platform, Session(clients, cache, log)) for platform in platforms]
        source = source_job.result()
    if sources.lock is not None:
        log.info(f"lock: {sources.lock.path} ({sources.lock.format}"
                 + (f", workspace member {source.metadata.name})" if sources.lock.workspace_root else ")"))
        if sources.lock.format == "requirements" and not sources.lock.hashed:
            log.info(f"{sources.lock.path.name} has no hashes to check: its == pins are installed as they are, "
                     "its other lines resolved with the project's requirements")
    images = []
    for platform, base in zip(platforms, bases, strict=True):
        log.info(f"building for {platform or 'the base platform'} on {settings.base}")
        images.append(_platform_image(base, source, context))
    # The project's own licence, for the SBOM: a package's wheel says it; an app folder has no metadata to say one.
    project_facts = read_facts(source.wheel, "") if isinstance(source, Package) else None
    return Build(source.metadata, tuple(images), project_facts, sources)
