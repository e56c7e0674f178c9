"""What invalidates a cached result and what does not, against the real keys and the real cache: a changed recipe
version or input makes a new key (and a rebuild), while index credentials (a CI job's token) never change a key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pyjib import dependencies, imagebuild, resolve
from pyjib.bytecode import Compiler
from pyjib.cache import BlobCache
from pyjib.cachelayout import LAYER_RECORDS
from pyjib.constraints import Constraints
from pyjib.context import Sources
from pyjib.dependencies import LayerInputs, code_layers, environment_layer
from pyjib.indexes import IndexConfig
from pyjib.install import Environment
from pyjib.interpreter import Interpreter
from pyjib.layer import Compression
from pyjib.locks.core import FoundLock
from pyjib.oci.image import Image
from pyjib.oci.platforms import Platform
from pyjib.settings import Settings
from pyjib.transports import BaseImage
from pyjib.wheelmeta import WheelMetadata

AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))
ARM = replace(AMD, platform=Platform("linux", "arm64"))
INDEX = "https://ci-user:job-token-1@pypi.internal.example/simple"
SAME_INDEX_OTHER_TOKEN = "https://ci-user:job-token-2@pypi.internal.example/simple"
PROJECT = WheelMetadata("app", "1.0", ("flask>=3",), (), {})


def _resolution(tmp_path: Path, **changes: object) -> str:
    inputs: dict[str, object] = {"requirements": ["flask>=3"], "interpreter": AMD, "indexes": IndexConfig(index_url=INDEX),
                                 "only_binary": False, "no_deps": False, "project_dir": tmp_path, "constraints": Constraints()}
    inputs.update(changes)
    return resolve.resolution_key(**inputs)  # type: ignore[arg-type]


def test_a_resolution_key_changes_with_what_the_resolution_depends_on(tmp_path: Path) -> None:
    constraint = tmp_path / "constraints.txt"
    constraint.write_text("flask<4\n")
    pinned = _resolution(tmp_path, constraints=Constraints((constraint,)))
    keys = [_resolution(tmp_path), _resolution(tmp_path, requirements=["flask>=3", "click"]), _resolution(tmp_path, interpreter=ARM),
            _resolution(tmp_path, interpreter=replace(AMD, version="3.11.9")), _resolution(tmp_path, only_binary=True),
            _resolution(tmp_path, indexes=IndexConfig(index_url="https://pypi.other.example/simple")), pinned]
    assert len(set(keys)) == len(keys)
    constraint.write_text("flask<3.1\n")  # an edited constraint file resolves again
    assert _resolution(tmp_path, constraints=Constraints((constraint,))) != pinned


def test_index_credentials_never_change_a_resolution_key(tmp_path: Path) -> None:
    assert _resolution(tmp_path) == _resolution(tmp_path, indexes=IndexConfig(index_url=SAME_INDEX_OTHER_TOKEN))
    assert _resolution(tmp_path) == _resolution(tmp_path, indexes=IndexConfig(index_url="https://pypi.internal.example/simple"))
    assert "job-token" not in str(IndexConfig(index_url=INDEX).cache_identity())


def test_a_new_resolution_recipe_makes_a_new_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _resolution(tmp_path)
    monkeypatch.setattr(resolve, "RESOLUTION_RECIPE", "resolution-next")
    assert _resolution(tmp_path) != before


def _fleet(tmp_path: Path, settings: Settings | None = None, sources: Sources | None = None, project: WheelMetadata = PROJECT) -> str:
    image = Image({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}, ())
    base = BaseImage(image, "base", "sha256:" + "0" * 64)
    return imagebuild.fleet_key(base, project, settings or Settings(tmp_path), (), sources or Sources(IndexConfig(index_url=INDEX), None))


def test_a_fleet_key_changes_with_the_project_the_settings_the_lock_and_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\n')
    locked = Sources(IndexConfig(index_url=INDEX), FoundLock(lock, "pylock"))
    keys = [_fleet(tmp_path), _fleet(tmp_path, project=replace(PROJECT, requires_dist=("flask>=3", "click"))),
            _fleet(tmp_path, Settings(tmp_path, compression="zstd")), _fleet(tmp_path, Settings(tmp_path, bytecode="off")),
            _fleet(tmp_path, Settings(tmp_path, groups=("web",))), _fleet(tmp_path, sources=locked)]
    assert len(set(keys)) == len(keys)
    lock.write_text('lock-version = "1.0"\n# edited\n')
    assert _fleet(tmp_path, sources=locked) != keys[-1]
    # What does not go into the lower layers leaves the record usable: the version, the tags, the entrypoint.
    assert _fleet(tmp_path, project=replace(PROJECT, version="2.0")) == keys[0]
    assert _fleet(tmp_path, Settings(tmp_path, tags=("v2",), entrypoint=("/x",))) == keys[0]
    assert _fleet(tmp_path, sources=Sources(IndexConfig(index_url=SAME_INDEX_OTHER_TOKEN), None)) == keys[0]
    monkeypatch.setattr(imagebuild, "FLEET_RECIPE", "fleet-next")
    assert _fleet(tmp_path) != keys[0]


def _records(cache: BlobCache) -> int:
    folder = cache.root / LAYER_RECORDS
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0


def test_a_layer_record_is_reused_until_the_environment_compression_or_recipe_changes(tmp_path: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cache = BlobCache(tmp_path / "cache")
    inputs = LayerInputs(Environment(AMD), None, cache)
    first = environment_layer(inputs)
    assert environment_layer(inputs) == first and _records(cache) == 1  # the second build reads the record
    assert environment_layer(replace(inputs, compiler=Compiler("/usr/bin/python3.11", "3.11.2"))) == first  # no .py in it
    assert _records(cache) == 1
    assert environment_layer(replace(inputs, environment=Environment(ARM))) == first  # the same bytes fit every platform
    assert _records(cache) == 1
    assert environment_layer(replace(inputs, compression=Compression("gzip", 1))).descriptor != first.descriptor
    other_python = Environment(replace(AMD, path="/usr/local/bin/python3.11"))
    assert environment_layer(replace(inputs, environment=other_python)).descriptor != first.descriptor
    assert _records(cache) == 3
    monkeypatch.setattr(dependencies, "LAYER_RECIPE", "layers-next")
    assert environment_layer(inputs) == first  # the same bytes, under a new record
    assert _records(cache) == 4


def _counting_tree(calls: list[Path]) -> Callable[[Path], object]:
    def write(tree: Path) -> None:
        calls.append(tree)
        (tree / "app.py").write_text("print('hello')\n")  # code only: one application layer
    return write


def test_code_layers_are_rebuilt_only_when_their_key_the_compiler_or_the_recipe_changes(tmp_path: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache, calls = BlobCache(tmp_path / "cache"), list[Path]()
    inputs = LayerInputs(Environment(AMD), None, cache)
    layers = code_layers(["app", "fingerprint-1"], _counting_tree(calls), PROJECT, inputs)
    assert code_layers(["app", "fingerprint-1"], _counting_tree(calls), PROJECT, inputs) == layers
    assert len(calls) == 1
    code_layers(["app", "fingerprint-2"], _counting_tree(calls), PROJECT, inputs)  # a changed input
    assert len(calls) == 2
    code_layers(["app", "fingerprint-1"], _counting_tree(calls), PROJECT, replace(inputs, compiler=Compiler("/usr/bin/python3.11", "3.11.2")))
    assert len(calls) == 3
    monkeypatch.setattr(dependencies, "LAYER_RECIPE", "layers-next")
    code_layers(["app", "fingerprint-1"], _counting_tree(calls), PROJECT, inputs)
    assert len(calls) == 4


def test_a_record_whose_blob_is_gone_is_a_miss(tmp_path: Path) -> None:
    cache, calls = BlobCache(tmp_path / "cache"), list[Path]()
    inputs = LayerInputs(Environment(AMD), None, cache)
    (layer,) = code_layers(["app"], _counting_tree(calls), PROJECT, inputs)
    cache.path(layer.descriptor.digest).unlink()
    assert code_layers(["app"], _counting_tree(calls), PROJECT, inputs) == [layer]  # the same bytes, made again
    assert len(calls) == 2 and cache.has(layer.descriptor.digest)
