"""`pyjib base`: packages resolved (or read from the lock), downloaded and checked, unpacked into one reproducible layer,
with a distroless-like config, for each platform; then pushed or written like any image pyjib builds."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import BlobCache, Records, cache_key
from ..cachelayout import DEBIAN_BASE_LAYERS, DEBIAN_BASE_RECIPE
from ..errors import ConfigError
from ..layer import Layer, tree_layer
from ..log import SILENT, Log
from ..oci.image import Image
from ..oci.platforms import Platform
from ..registry import ClientPool
from ..targets import check_target
from ..transports import Delivery, Session
from .archive import Archive
from .bytecode import precompile_stdlib, runs_here
from .control import parse_relations
from .deb import DebError, read_deb
from .lock import BaseLock, LockedPackage, read_lock, write_lock
from .packages import Package, PackageIndex
from .request import BaseRequest, debian_arch
from .resolve import resolve
from .rootfs import NONROOT_UID, assemble, has_shell
from .sources import Source, host_sources, mirror_sources

# What distroless' static, base, cc and python3 images hold (GoogleContainerTools/distroless), the Python ones per X.Y.
DISTROLESS = ("base-files", "netbase", "tzdata", "media-types", "ca-certificates", "libc6", "libssl3", "libgcc-s1", "libgomp1",
              "libstdc++6", "zlib1g")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LABEL_PREFIX = "dev.pyjib.base."
PARALLEL_DOWNLOADS = 4  # the archive's files are small: latency, not bandwidth, bounds a cold build


def python_packages(python: str) -> tuple[str, str]:
    return f"python{python}-minimal", f"libpython{python}-stdlib"


def package_names(request: BaseRequest) -> list[str]:
    return [*(p for p in DISTROLESS if p not in request.exclude), *python_packages(request.python), *request.packages]


def check_exclude(request: BaseRequest) -> None:
    """Only a default package may be left out, and never the interpreter's own: checked before any download."""
    for name in request.exclude:
        if name in python_packages(request.python):
            raise ConfigError(f"cannot exclude {name}: it is the base's Python {request.python}")
        if name not in DISTROLESS:
            raise ConfigError(f"cannot exclude {name}: it is not a default package of the base (those are {', '.join(DISTROLESS)})")


def _needers(packages: list[Package], name: str) -> list[str]:
    """The packages whose Depends or Pre-Depends name the package name."""
    return [p.name for p in packages if p.name != name and any(
        relation.name == name for text in (p.pre_depends, p.depends)
        for clause in parse_relations(text, f"dependencies of {p.name}") for relation in clause)]


def resolve_platform(request: BaseRequest, index: PackageIndex, platform: Platform) -> list[Package]:
    """The platform's packages; a package left out must not come back as a dependency (what needs it would break)."""
    packages = resolve(index, package_names(request))
    for name in request.exclude:
        if any(p.name == name for p in packages):
            raise ConfigError(f"cannot exclude {name} on {platform}: the base's {', '.join(_needers(packages, name)) or 'packages'} depend on it; "
                              "drop it from exclude")
    return packages


def _sources(request: BaseRequest) -> list[Source]:
    return mirror_sources(request.mirrors, request.suite) if request.mirrors else host_sources(request.suite)


def resolve_lock(request: BaseRequest, archive: Archive, log: Log) -> BaseLock:
    """Resolve every platform's packages from the verified indexes."""
    if not any(s.source.suite == request.suite for s in archive.suites()):
        raise ConfigError(f"no mirror has the suite {request.suite}; check --suite and --mirror")
    platforms = {}
    for platform in request.platforms:
        index = archive.index(debian_arch(platform))
        minimal = f"python{request.python}-minimal"
        if minimal not in index.versions:
            have = sorted(n.removeprefix("python").removesuffix("-minimal") for n in index.versions if n.startswith("python3.") and n.endswith("-minimal"))
            raise ConfigError(f"{request.suite} has no Python {request.python} (it has {', '.join(have) or 'none'}); set --python")
        packages = resolve_platform(request, index, platform)
        log.info(f"{platform}: {len(packages)} packages, {sum(p.size for p in packages) / 1e6:.1f} MB to download")
        platforms[str(platform)] = tuple(LockedPackage.of(p) for p in packages)
    return BaseLock(request.suite, request.python, request.packages, platforms, request.exclude)


def checked_lock(request: BaseRequest, lock: BaseLock, path: Path) -> BaseLock:
    """A lock read back must be for what is asked now: an edited request with an old lock would build the old base."""
    if (lock.suite, lock.python, lock.packages, lock.exclude) != (request.suite, request.python, request.packages, request.exclude):
        raise ConfigError(f"the lock {path} is for {lock.suite}, Python {lock.python}, packages [{', '.join(lock.packages)}], exclude "
                          f"[{', '.join(lock.exclude)}], not what is asked ({request.suite}, Python {request.python}, "
                          f"[{', '.join(request.packages)}], [{', '.join(request.exclude)}]): delete it to resolve again")
    missing = [str(p) for p in request.platforms if str(p) not in lock.platforms]
    if missing:
        raise ConfigError(f"the lock {path} has no {', '.join(missing)}: delete it to resolve again")
    return BaseLock(lock.suite, lock.python, lock.packages, {str(p): lock.platforms[str(p)] for p in request.platforms}, lock.exclude)


def _mirrored(url: str, mirrors: tuple[str, ...]) -> str:
    """A locked URL from --mirror instead: the pool path stays (pool/main/...), the archive's address changes."""
    if not mirrors or "/pool/" not in url:
        return url
    return f"{mirrors[0].rstrip('/')}/pool/{url.split('/pool/', 1)[1]}"


def platform_layer(lock: BaseLock, platform: str, archive: Archive, mirrors: tuple[str, ...], log: Log) -> Layer:
    """The base's one layer; cached by the lock's package list, since it is a function of the .deb files only."""
    blobs = BlobCache(archive.blobs.root)
    records = Records(blobs.root, DEBIAN_BASE_LAYERS)
    key = cache_key(DEBIAN_BASE_RECIPE, lock.python, lock.digest(platform))
    if (hit := records.get(key)) is not None and blobs.has(hit["digest"]):
        return Layer(blobs.path(hit["digest"]), hit["digest"], hit["size"], hit["diff_id"])
    locked = lock.platforms[platform]
    with ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS) as pool:
        paths = list(pool.map(lambda p: archive.deb(_mirrored(p.url, mirrors), p.sha256, p.name), locked))
    debs = []
    for package, path in zip(locked, paths, strict=True):
        deb = read_deb(path, f"package {package.name}")
        if (deb.control.get("Package"), deb.control.get("Version")) != (package.name, package.version):
            raise DebError(f"{package.url} holds {deb.control.get('Package')} {deb.control.get('Version')}, not {package.name} {package.version}")
        debs.append((package.name, deb))
    with tempfile.TemporaryDirectory(prefix="pyjib-base-") as tmp:
        root = Path(tmp) / "rootfs"
        root.mkdir()
        ownership = assemble(root, debs, lock.python)
        architecture = platform.split("/")[1]
        if runs_here(architecture):
            precompile_stdlib(root, lock.python)
        else:
            log.info(f"{platform}: this host cannot run the image's Python, so its standard library ships without .pyc files")
        if has_shell(root):
            log.info(f"{platform}: note: the packages put a shell at /bin/sh")
        layer = tree_layer(root, blobs.blobs, ownership=ownership)
    records.put(key, {"digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id})
    return layer


def labels(request: BaseRequest, lock: BaseLock, platform: str) -> dict[str, str]:
    tags = {
        "org.opencontainers.image.description": f"Python {lock.python} on Debian {lock.suite}, distroless-like, made by pyjib base",
        f"{LABEL_PREFIX}suite": lock.suite,
        f"{LABEL_PREFIX}python": lock.python,
        f"{LABEL_PREFIX}packages": ",".join(request.packages),
        f"{LABEL_PREFIX}lock-digest": lock.digest(platform),
    }
    if request.exclude:
        tags[f"{LABEL_PREFIX}exclude"] = ",".join(request.exclude)
    return tags


def base_image(request: BaseRequest, lock: BaseLock, platform: Platform, layer: Layer) -> Image:
    """The config distroless' python3 :nonroot images have: python3.X as entrypoint, nonroot, certificates and UTF-8."""
    tags = labels(request, lock, str(platform))
    config: dict[str, Any] = {
        "architecture": platform.architecture, "os": platform.os,
        "config": {
            "Env": [PATH_ENV, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=C.UTF-8"],
            "Entrypoint": [f"/usr/bin/python{lock.python}"], "User": str(NONROOT_UID), "WorkingDir": "/home/nonroot", "Labels": tags,
        },
        "rootfs": {"type": "layers", "diff_ids": []}, "history": [],
    }
    if platform.architecture == "arm64":
        config["variant"] = platform.variant or "v8"  # what distroless' arm64 images declare
    image = Image(config, ()).append_blob(layer.blob(), layer.diff_id,
                                          created_by=f"pyjib base: {len(lock.platforms[str(platform)])} Debian {lock.suite} packages",
                                          comment=f"lock {tags[LABEL_PREFIX + 'lock-digest']}", created=None)
    return image.with_annotations(tags)


@dataclass(frozen=True)
class BaseBuild:
    images: tuple[Image, ...]
    lock: BaseLock
    location: str
    digest: str


def build_base(request: BaseRequest, *, cache_root: Path, clients: ClientPool, log: Log = SILENT) -> BaseBuild:
    """The base for request; the lock file is written (when asked for and absent) only after the image is delivered."""
    check_target(request.to, "any", len(request.platforms))
    check_exclude(request)
    locked = request.lock is not None and request.lock.exists()
    # A locked build needs no index, so not even the host's sources: only the files the lock names.
    archive = Archive([] if locked else _sources(request), cache_root, keyring=request.keyring, log=log)
    try:
        if request.lock is not None and locked:
            lock = checked_lock(request, read_lock(request.lock), request.lock)
            log.info(f"using the lock {request.lock}")
        else:
            lock = resolve_lock(request, archive, log)
        images = [base_image(request, lock, p, platform_layer(lock, str(p), archive, request.mirrors, log)) for p in request.platforms]
    finally:
        archive.close()
    target = check_target(request.to, "any", len(images))
    written = target.write(images, Delivery(name="pyjib-base"), Session(clients, BlobCache(cache_root), log))
    if request.lock is not None and not request.lock.exists():
        write_lock(request.lock, lock)
        log.info(f"wrote the lock {request.lock}")
    return BaseBuild(tuple(images), lock, written.location, written.digest)

