"""What the front ends (the CLI, the hatch plugin, the pytest plugin) call, and all they import of pyjib besides the
errors, the log and the settings: publish (from settings to a delivered image), the other commands, and what a test
reads of an image it built. A dependency-rule test keeps it so; the commands' heavy modules are imported when they run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from platform import machine
from typing import TYPE_CHECKING, Any, Literal

from . import fleetcache, referrers
from .cache import BlobCache, Records, cache_key, default_cache_dir
from .cachelayout import FLEET_STORED
from .debian.request import KEYS as BASE_OPTIONS
from .debian.request import base_request, base_table
from .devloop import build_inputs, skaffold_argv
from .errors import ConfigError, PyjibError
from .filesystem import MergedFilesystem
from .imagebuild import Build, build_image
from .locks.write import write_pylock
from .log import SILENT, Log
from .oci.image import Image
from .oci.platforms import parse_platform
from .reference import TAG_PATTERN, Reference, parse_reference
from .registry import Access, ClientPool
from .scratch import scratch_space
from .settings import Settings, read_pyproject
from .tagtemplates import fill, with_placeholders
from .targets import check_target
from .transports import Delivery, Location, Session, login_registry, parse_location
from .transports.tarball import write_archive

if TYPE_CHECKING:  # the results of commands whose modules are imported only when they run
    from .debian.build import BaseBuild
    from .rebase import Rebased

__all__ = [
    "BASE_OPTIONS", "Access", "Image", "ImageLayer", "MergedFilesystem", "PublishRequest", "Published", "Publisher", "build_base",
    "build_inputs", "check_tag", "check_target", "default_cache_dir", "host_platform", "image_filesystem", "image_layers", "layout_target",
    "publish", "read_sbom", "rebase", "registry_clients", "skaffold_argv", "write_docker_archive",
]

_EMPTY_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # of zero bytes


@dataclass(frozen=True)
class Published:
    build: Build
    digest: str
    location: str  # REGISTRY/REPO@DIGEST for a push, PATH@DIGEST for a layout or archive
    references: tuple[str, ...] = ()  # every REF:TAG@DIGEST pushed, for --image-refs


def check_tag(tag: str) -> str:
    if not TAG_PATTERN.match(tag):
        raise ConfigError(f"invalid tag {tag!r}: up to 128 letters, digits, _ . and -, not starting with . or -")
    return tag


def registry_clients(insecure_registries: Iterable[str], access: Access | None = None, login: str | None = None) -> ClientPool:
    """One client per registry host for a run; access's username and password are for the registry login names only."""
    access = access or Access()
    return ClientPool(frozenset(insecure_registries), ca_certs=access.ca_certs, username=access.username, password=access.password,
                      login_registry=login)


class Publisher:
    """Holds the cache and one registry client per host for a build and its deliveries."""

    def __init__(self, settings: Settings, *, cache_dir: Path | None = None, log: Log = SILENT, access: Access | None = None) -> None:
        self.settings = settings
        self.cache = BlobCache(cache_dir or default_cache_dir())
        # Templates sit in tags, never in the registry's name, so placeholders leave the login's registry as it is.
        self.clients = registry_clients(settings.insecure_registries, access,
                                        login_registry(with_placeholders(settings.to) if settings.to else None, settings.base))
        self.log = log
        self._scratch = contextlib.ExitStack()
        self._told_dirty = False

    def __enter__(self) -> Publisher:
        self._scratch.enter_context(scratch_space(self.cache.root))
        return self

    def __exit__(self, *exc: object) -> None:
        self.clients.close()
        self._scratch.close()

    def fleet_repository(self, target: Reference | None) -> Reference | None:
        """Where the fleet cache records live: the repository the user names, else the target's; None when off."""
        if not self.settings.registry_cache:
            return None
        if self.settings.registry_cache_repository:
            return parse_reference(self.settings.registry_cache_repository)
        return target

    @property
    def session(self) -> Session:
        return Session(self.clients, self.cache, self.log)

    def build(self, wheel: Path | None = None, fleet: Location | None = None, refresh: bool = False) -> Build:
        """The image; fleet names the registry target whose fleet cache may be used (when the settings allow it)."""
        repository = self.fleet_repository(fleet.reference if fleet is not None else None)
        if self.settings.base_recipe is not None:
            from .debian.projectbase import project_base  # only projects with a [tool.pyjib.base] pay for importing it

            base, name = project_base(self.settings.base_recipe, self.settings.project_dir, self.settings.platforms, cache_root=self.cache.root,
                                clients=self.clients, log=self.log)
            self.settings = replace(self.settings, base=base, base_recipe=None, base_name=name)
        return build_image(self.settings, cache=self.cache, clients=self.clients, log=self.log, wheel=wheel, fleet=repository,
                           refresh=refresh)

    def check_login(self, target: Location) -> None:
        """Ask for the push token (or check the login) before building: a wrong password fails in a second, not after
        the build. The token is the one the push then uses."""
        if target.reference is not None:
            client = self.clients.get(target.reference.registry)
            client.blob_exists(target.reference.repository, _EMPTY_DIGEST, push=True)

    def filled_target(self, build: Build, text: str) -> Location:
        """The target with its tag templates filled, now that the project's version is known."""
        return parse_location(self._fill(text, build))

    def _fill(self, template: str, build: Build) -> str:
        return fill(template, self.settings.project_dir, build.project.version, on_dirty=self._tell_dirty)

    def _tell_dirty(self) -> None:
        """One warning a build, however many tags carry the commit."""
        if not self._told_dirty:
            self._told_dirty = True
            self.log.warn(f"{self.settings.project_dir} has uncommitted changes: commit tags get a -dirty suffix")

    def _store_fleet_entries(self, build: Build, reference: Reference) -> None:
        """Record each platform's lower layers in the registry, once per repository (a local marker remembers it was done)."""
        repository = self.fleet_repository(reference)
        if repository is None:
            return
        stored = Records(self.cache.root, FLEET_STORED)
        trust = fleetcache.Trust.of(self.settings.registry_cache_trust)
        for entry in (p.fleet_entry for p in build.images):
            if entry is None:
                continue
            marker = cache_key(entry.key, repository.repository_ref)
            if stored.get(marker) is None:
                fleetcache.store(self.clients, repository, entry.key, entry.record, self.cache, trust, pushed_to=reference)
                stored.put(marker, {"tag": fleetcache.tag_for(entry.key)})

    def deliver(self, build: Build, target: Location) -> Published:
        tags = tuple(check_tag(self._fill(tag, build)) for tag in self.settings.tags)
        # The SBOM and provenance of every platform image, made before the target's first write (when it writes at all).
        delivery = Delivery(tags, lambda: tuple(a for p in build.images for a in referrers.artifacts_for(build, p, self.settings)),
                            platform_annotations(build), build.project.name)
        written = target.write([p.image for p in build.images], delivery, self.session)
        if target.reference is not None:
            try:
                self._store_fleet_entries(build, target.reference)
            except PyjibError as exc:  # the cache is optional: the image and its tags are pushed, and that result stands
                self.log.warn(f"the fleet cache record was not stored in {target.reference.repository_ref} ({exc}); "
                              "the push itself succeeded")
        return Published(build, written.digest, written.location, written.references)


def fixed_repository(text: str) -> bool:
    """A registry target whose repository has no template fields (tags may): the fleet cache can be read before the build."""
    one, other = parse_location(with_placeholders(text, "x")), parse_location(with_placeholders(text, "y"))
    return one.reference is not None and other.reference is not None and one.reference.repository_ref == other.reference.repository_ref


def platform_annotations(build: Build) -> dict[str, str]:
    """The index carries the image's own annotations (title, version, revision...), without the per-platform base ones."""
    first = build.image.annotations
    return {k: v for k, v in first.items() if not k.startswith("org.opencontainers.image.base.")}


@dataclass(frozen=True)
class PublishRequest:
    """What a front end (the CLI, the hatch plugin, the pytest plugin) asks of one publish beyond the settings."""

    mode: Literal["build", "push", "any"] = "any"  # what the command promises: a push refuses a local target, a build a registry
    cache_dir: Path | None = None
    log: Log = SILENT
    access: Access | None = None
    refresh: bool = False  # resolve again, and read no fleet cache record
    write_lock: Path | None = None  # receives what was installed, as a pylock.toml
    # Makes the project's wheel (the hatch plugin's, built in-process); called after the target and the login are checked.
    wheel: Callable[[], Path] | None = None
    to: Location | None = None  # a target the front end has settled itself, in place of settings.to (hatch's own layout)
    copies: tuple[Location, ...] = ()  # local targets the same image is written to first (hatch's layout beside a push)


def publish(settings: Settings, request: PublishRequest | None = None) -> Published:
    """Build the image for settings and deliver it to settings.to (or request.to): the target and the login are checked
    before any build work, so a wrong password fails in a second."""
    request = request or PublishRequest()
    target = request.to or check_target(settings.to, request.mode, len(settings.platforms))
    fixed = request.to is None and settings.to is not None and fixed_repository(settings.to)
    with Publisher(settings, cache_dir=request.cache_dir, log=request.log, access=request.access) as publisher:
        publisher.check_login(target)
        wheel = request.wheel() if request.wheel is not None else None
        build = publisher.build(wheel, fleet=target if fixed else None, refresh=request.refresh)
        if request.write_lock is not None:
            left_out = write_pylock(request.write_lock, [wheel for image in build.images for wheel in image.locked])
            request.log.info(f"wrote the lock {request.write_lock}"
                             + (f" (not in it, built from source here: {', '.join(left_out)})" if left_out else ""))
        for copy in request.copies:
            publisher.deliver(build, copy)
        if request.to is None:
            assert settings.to is not None  # check_target refused a missing target
            target = publisher.filled_target(build, settings.to)
        return publisher.deliver(build, target)


# The other commands: each makes its own registry clients and closes them when it is done.

def build_base(project: Path, options: Mapping[str, Any], *, access: Access | None = None, insecure_registries: Iterable[str] = (),
               cache_dir: Path | None = None, log: Log = SILENT) -> BaseBuild:
    """`pyjib base`: the base the project's [tool.pyjib.base] describes, options (keys of BASE_OPTIONS) over it, delivered
    to its `to`."""
    # Imported here: `push` and `build` should not pay for the Debian machinery at start-up.
    from .debian.build import build_base as build_debian_base

    where = f"{project / 'pyproject.toml'} [tool.pyjib.base]"
    table = base_table(read_pyproject(project), where) if (project / "pyproject.toml").is_file() else {}
    request = base_request(table, options, where)
    with contextlib.closing(registry_clients(insecure_registries, access, login_registry(request.to, None))) as clients:
        return build_debian_base(request, cache_root=cache_dir or default_cache_dir(), clients=clients, log=log)


def rebase(image: str, new_base: str, target: str, *, access: Access | None = None, insecure_registries: Iterable[str] = (),
           cache_dir: Path | None = None, log: Log = SILENT) -> Rebased:
    """`pyjib rebase`: an image pyjib built moved onto new_base and delivered to target, rebuilding nothing."""
    from .rebase import rebase as rebase_image

    with contextlib.closing(registry_clients(insecure_registries, access, login_registry(target, None))) as clients:
        return rebase_image(image, new_base, target, cache=BlobCache(cache_dir or default_cache_dir()), clients=clients, log=log)


def read_sbom(image: str, platform: str | None = None, *, access: Access | None = None, insecure_registries: Iterable[str] = (),
              cache_dir: Path | None = None) -> bytes:
    """The SBOM attached to image (a registry reference or oci:DIR[:TAG]); platform chooses within an index."""
    with contextlib.closing(registry_clients(insecure_registries, access)) as clients:
        return referrers.read_sbom(image, platform, clients, BlobCache(cache_dir or default_cache_dir()))


def layout_target(path: Path) -> Location:
    """An OCI layout at path, as a target (the hatch plugin's own beside dist/)."""
    return parse_location(f"oci:{path}")


# What the pytest plugin reads of the image it built.

_HOST_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_platform(platforms: Sequence[str]) -> str:
    """The platform among platforms that this host's CPU runs (so its image runs here), else the first."""
    host = _HOST_ARCHITECTURES.get(machine(), machine())
    return next((p for p in platforms if parse_platform(p).architecture == host), platforms[0])


@dataclass(frozen=True)
class ImageLayer:
    """One layer of an image as a test looks at it: its blob, the history step that made it, the paths it holds."""

    digest: str
    size: int
    created_by: str
    files: tuple[str, ...]  # paths (without leading /) of every entry in the layer


def image_layers(image: Image) -> list[ImageLayer]:
    """The image's layers, bottom first, each with its history's created_by (empty when the history has none)."""
    history = [h for h in image.config.get("history", []) if not h.get("empty_layer")]
    out = []
    for index, blob in enumerate(image.layers):
        files = MergedFilesystem.read([blob.fetch()]).entries
        created_by = history[index].get("created_by", "") if index < len(history) else ""
        out.append(ImageLayer(blob.descriptor.digest, blob.descriptor.size, created_by, tuple(sorted(files))))
    return out


def image_filesystem(image: Image) -> MergedFilesystem:
    """The image's files as a container sees them: every layer merged, whiteouts applied."""
    return MergedFilesystem.read([blob.fetch() for blob in image.layers])


def write_docker_archive(path: Path, image: Image, repo_tags: Sequence[str]) -> None:
    """The image as a docker-archive at path (what `podman run docker-archive:` and `docker load` read)."""
    write_archive(path, image, list(repo_tags))
