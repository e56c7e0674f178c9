"""The layers under the project's own: the environment, then the dependencies grouped as grouping.py plans them.

Each layer is cached by what it holds (wheel hashes, interpreter, bytecode compiler), never by its name or the project,
so the same wheels give the same layer, and the same digest, in every project and on every platform they fit. Next to
each layer's record sits its linkage (what its ELF files need and provide), scanned once when the layer is built.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .bytecode import Compiler, compile_tree
from .cache import BlobCache, Records, cache_key
from .cachelayout import LAYER_RECIPE, LAYER_RECORDS, WHEEL_SIZES, WHEELS
from .context import BuildContext
from .errors import BuildError
from .grouping import LayerPlan, WheelInfo, plan_layers, unpacked_size
from .indexes import IndexConfig
from .install import Environment, SharedFile, install_all, install_wheel, write_skeleton
from .layer import GZIP, Compression, Layer, tree_layer
from .layering import split_resources
from .linkage import NO_LINKAGE, Linkage, scan_tree
from .lockedwheel import LockedWheel
from .log import Log
from .oci.descriptor import Descriptor
from .oci.digest import sha256_file
from .oci.image import Blob
from .resolve import download
from .wheelmeta import WheelMetadata
from .workers import worker_pool

T = TypeVar("T")


@dataclass(frozen=True)
class LayerInputs:
    """What every layer of one platform is made with: the environment it installs into, the bytecode compiler (None:
    no .pyc), the compression, and the cache its blobs and records go to. Each of them is part of a layer's cache key."""

    environment: Environment
    compiler: Compiler | None
    cache: BlobCache
    compression: Compression = GZIP

    def key(self, compiler: Compiler | None) -> list[object]:
        interpreter = self.environment.interpreter
        return [LAYER_RECIPE, self.environment.prefix, interpreter.path, interpreter.version, compiler.version if compiler else None,
                self.compression.algorithm, self.compression.level, self.environment.app_root_owner]


@dataclass(frozen=True)
class NamedLayer:
    """A layer of the image with the name its history entry gives it."""

    name: str
    comment: str
    descriptor: Descriptor
    diff_id: str
    linkage: Linkage = NO_LINKAGE  # what its ELF files need and provide, for the image checks

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "comment": self.comment, "diff_id": self.diff_id, **self.descriptor.to_json(),
                "linkage": self.linkage.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NamedLayer:
        return cls(data["name"], data["comment"], Descriptor.from_json(data), data["diff_id"], Linkage.from_json(data["linkage"]))

    @classmethod
    def of(cls, name: str, comment: str, layer: Layer, linkage: Linkage = NO_LINKAGE) -> NamedLayer:
        return cls(name, comment, Descriptor(layer.media_type, layer.digest, layer.size), layer.diff_id, linkage)

    def local_blob(self, cache: BlobCache) -> Blob:
        path = cache.path(self.descriptor.digest)
        return Blob(self.descriptor, lambda: path)


def _record(layer: Layer) -> dict[str, Any]:
    return {"digest": layer.digest, "size": layer.size, "diff_id": layer.diff_id, "media_type": layer.media_type}


def _cached(record: dict[str, Any] | None, cache: BlobCache) -> Layer | None:
    if not record or not cache.has(record["digest"]):
        return None
    return Layer(cache.path(record["digest"]), record["digest"], record["size"], record["diff_id"], record["media_type"])


def _linkage_of(record: dict[str, Any] | None) -> Linkage | None:
    """The linkage a layer record holds; None when it has none this pyjib can read (the layer is then built again)."""
    try:
        return Linkage.from_json(record["linkage"]) if record else None
    except (KeyError, TypeError, ValueError):
        return None


def environment_layer(inputs: LayerInputs) -> NamedLayer:
    """pyvenv.cfg and bin/python at the prefix: what makes it an environment of the base's interpreter."""
    environment, cache = inputs.environment, inputs.cache
    records = Records(cache.root, LAYER_RECORDS)
    key = cache_key(*inputs.key(None), "environment")  # no Python file in it: the compiler is no part of its key
    layer = _cached(records.get(key), cache)
    if layer is None:
        with tempfile.TemporaryDirectory(prefix="pyjib-env-") as work:
            write_skeleton(Path(work), environment)
            layer = tree_layer(Path(work), cache.blobs, compression=inputs.compression, ownership=environment.ownership)
        records.put(key, _record(layer))
    comment = f"virtual environment at {environment.prefix} for {environment.interpreter.path} ({environment.interpreter.version})"
    return NamedLayer.of("environment", comment, layer)


def wheel_infos(locked: list[LockedWheel], cache: BlobCache, indexes: IndexConfig) -> list[WheelInfo]:
    """Each wheel with its unpacked size, measured once per wheel hash (downloading only the wheels not yet measured)."""
    sizes = Records(cache.root, WHEEL_SIZES)
    known = {w.sha256: sizes.get(w.sha256) for w in locked}
    missing = [w for w in locked if known[w.sha256] is None]
    for wheel, path in zip(missing, download(missing, cache.root / WHEELS, indexes), strict=True):
        known[wheel.sha256] = unpacked_size(path)
        sizes.put(wheel.sha256, known[wheel.sha256])
    return [WheelInfo(w, int(known[w.sha256] or 0)) for w in locked]


def _warn_shared(layer: str, shared: list[SharedFile], log: Log) -> None:
    if shared:
        first = shared[0]
        more = f" and {len(shared) - 1} more files" if len(shared) > 1 else ""
        log.info(f"warning: in layer {layer}, {first.path}{more} ship in more than one distribution; as pip does, the later "
                 f"one's copy is kept ({first.later}'s over {first.earlier}'s)")


@dataclass(frozen=True)
class PreparedLayer:
    """A dependency layer before it is compressed: its linkage is known (what the library check reads), its blob
    either cached already or still to be packed from tree."""

    plan: LayerPlan
    key: str
    linkage: Linkage
    cached: Layer | None
    tree: Path | None

    @property
    def comment(self) -> str:
        return f"{len(self.plan.wheels)} distributions: " + ", ".join(f"{w.name}=={w.version}" for w in self.plan.wheels)


def _prepare_dependency_layer(plan: LayerPlan, inputs: LayerInputs, indexes: IndexConfig, log: Log, scratch: Path) -> PreparedLayer:
    """The plan's wheels installed, compiled and scanned into a tree of its own under scratch, unless the cache has the layer."""
    environment, compiler, cache = inputs.environment, inputs.compiler, inputs.cache
    key = cache_key(*inputs.key(compiler), "dependencies", sorted(w.sha256 for w in plan.wheels))
    record = Records(cache.root, LAYER_RECORDS).get(key)
    layer, linkage = _cached(record, cache), _linkage_of(record)
    if layer is not None and linkage is not None:
        return PreparedLayer(plan, key, linkage, layer, None)
    wheels = download(list(plan.wheels), cache.root / WHEELS, indexes)
    tree = Path(tempfile.mkdtemp(prefix="pyjib-deps-", dir=scratch))
    _warn_shared(plan.name, install_all(wheels, tree, environment), log)
    if compiler:
        compile_tree(tree, compiler, skip_tests=True)  # a dependency's file that does not compile ships without .pyc, as pip does
    return PreparedLayer(plan, key, scan_tree(tree), None, tree)


def _compress_dependency_layer(prepared: PreparedLayer, inputs: LayerInputs) -> NamedLayer:
    layer = prepared.cached
    if layer is None:
        assert prepared.tree is not None
        layer = tree_layer(prepared.tree, inputs.cache.blobs, compression=inputs.compression, ownership=inputs.environment.ownership)
        shutil.rmtree(prepared.tree)
        Records(inputs.cache.root, LAYER_RECORDS).put(prepared.key, {**_record(layer), "linkage": prepared.linkage.to_json()})
    return NamedLayer.of(prepared.plan.name, prepared.comment, layer, prepared.linkage)


def dependency_layers(locked: list[LockedWheel], inputs: LayerInputs, context: BuildContext,
                      before_compression: Callable[[list[PreparedLayer]], None] | None = None) -> list[NamedLayer]:
    """The locked wheels installed, in the layers the settings' groups and size threshold plan.

    Every layer is installed, compiled and scanned before any is compressed, and before_compression sees them all
    then: a check of their linkage refuses a build before the longest step (minutes for a big wheel) rather than after.
    """
    settings, indexes = context.settings, context.sources.indexes
    plans = plan_layers(wheel_infos(locked, inputs.cache, indexes), settings.layers, settings.layer_threshold_mb * 1_000_000)
    # Two layers at a time: while one installs or scans (Python, holding the GIL) the other compiles (compileall on
    # every core) or packs its tar; the gzip itself runs on parallelgzip's shared pool, one thread a core, whatever
    # the number of layers compressing at once, so the cores are shared piece by piece and never oversubscribed by it.
    with tempfile.TemporaryDirectory(prefix="pyjib-deps-") as scratch, worker_pool(2) as pool:
        prepared = _all_done([pool.submit(_prepare_dependency_layer, plan, inputs, indexes, context.log, Path(scratch)) for plan in plans])
        if before_compression is not None:
            before_compression(prepared)
        return _all_done([pool.submit(_compress_dependency_layer, layer, inputs) for layer in prepared])


def _all_done(futures: list[Future[T]]) -> list[T]:
    """Every result in order, or the first failure once every task has ended: none still writes into the scratch
    folder when it is removed (that removal failing would hide the failure)."""
    wait(futures)
    return [future.result() for future in futures]


def _image_relative(path: str, environment: Environment) -> str:
    """A path of the staging tree as the user knows it: inside site-packages, else as the image has it."""
    site_packages = environment.site_packages.lstrip("/") + "/"
    return path.removeprefix(site_packages) if path.startswith(site_packages) else "/" + path


def code_layers(key: list[object], write_tree: Callable[[Path], object], project: WheelMetadata, inputs: LayerInputs) -> list[NamedLayer]:
    """The project's resources (left out when it has none) and its application layer, from the tree write_tree fills
    (a mirror of the image's filesystem); rebuilt only when key, what identifies that tree's inputs, changes.
    The project's own code must compile: a syntax error stops the build (a dependency's does not, as with pip)."""
    environment, compiler, cache, compression = inputs.environment, inputs.compiler, inputs.cache, inputs.compression
    project_name = project.name
    records = Records(cache.root, LAYER_RECORDS)
    record_key = cache_key(*inputs.key(compiler), *key)
    try:
        layers = [NamedLayer.from_json(r) for r in records.get(record_key) or []]
    except (KeyError, TypeError, ValueError):  # a record this pyjib cannot read is a miss
        layers = []
    if layers and all(cache.has(layer.descriptor.digest) for layer in layers):
        return layers
    with tempfile.TemporaryDirectory(prefix="pyjib-app-") as work:
        installed, resources_tree = Path(work) / "application", Path(work) / "resources"
        installed.mkdir()
        write_tree(installed)
        linkage = scan_tree(installed)
        moved = split_resources(installed, resources_tree, Path(environment.bin.lstrip("/")))
        if compiler and (failure := compile_tree(installed, compiler)):
            raise BuildError(f"{project_name}'s {_image_relative(failure.path, environment)}"
                             + (f" line {failure.line}" if failure.line else "")
                             + f" does not compile with Python {compiler.version}: {failure.message}; fix it, "
                             "or choose a base whose Python runs it")
        layers = []
        if moved:  # as Jib does, an empty layer is left out
            resources = tree_layer(resources_tree, cache.blobs, compression=compression, ownership=environment.ownership)
            layers.append(NamedLayer.of("resources", f"non-code files of {project_name}", resources))
        application = tree_layer(installed, cache.blobs, compression=compression, ownership=environment.ownership)
        layers.append(NamedLayer.of("application", f"{project_name} {project.version}: code, metadata and scripts", application, linkage))
    records.put(record_key, [layer.to_json() for layer in layers])
    return layers


def project_layers(wheel: Path, project: WheelMetadata, inputs: LayerInputs) -> list[NamedLayer]:
    """The layers of the project's installed wheel; rebuilt only when its wheel changes."""
    return code_layers(["project", sha256_file(wheel)], lambda tree: install_wheel(wheel, tree, inputs.environment), project, inputs)
