"""The tests' Python bases, made by pyjib's own base builder (`pyjib base`) from the locks committed in tests/fixtures/base-locks,
so every run builds the same bytes; each is kept as an OCI layout between runs, named by its lock and recipe.

A lock that is absent is resolved from the host's apt sources and written (`--lock`): to move the tests onto newer Debian
packages, delete tests/fixtures/base-locks/*.json, run the tests once and commit the new locks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyjib.cachelayout import DEBIAN_BASE_RECIPE
from pyjib.debian.archive import ArchiveError
from pyjib.debian.build import build_base
from pyjib.debian.request import BaseRequest
from pyjib.oci.image import Image
from pyjib.oci.platforms import Platform
from pyjib.registry import ClientPool
from pyjib.transports.layout import write_image

LOCKS = Path(__file__).resolve().parents[1] / "fixtures" / "base-locks"
# One lock for amd64 and arm64: the amd64 base and the multi-platform index are built from it, so they share the amd64 image.
BASE_LOCK = LOCKS / "python3.11.json"
NO_CXX_LOCK = LOCKS / "python3.11-no-cxx.json"
TAG = "3.11-nonroot"
NO_CXX_TAG = "3.11-nonroot-no-cxx"
MULTI_TAG = "3.11-nonroot-multiarch"
# The base without libstdc++6, as a base assembled without distroless' "cc" layer would be.
NO_CXX_EXCLUDE = ("libstdc++6",)
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")  # as --platform linux/arm64 names it in the lock; the image declares variant v8


def test_cache_dir() -> Path:
    if explicit := os.environ.get("PYJIB_TEST_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyjib-tests"


def cached_layout(cache: Path, name: str, key_parts: Sequence[object], tag: str, make_layout: Callable[[Path, Path], None]) -> Path:
    """An OCI layout under cache named by its recipe's key; make_layout(layout, work_dir) runs only when no such layout exists."""
    key = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()[:16]
    layout = cache / f"{name}-{key}"
    if (layout / "index.json").is_file():
        return layout
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=f".{name}-") as work_name:
        work = Path(work_name)
        make_layout(work / "layout", work)
        shutil.move(str(work / "layout"), layout)
    return layout


def image_layout(cache: Path, name: str, key_parts: list[object], tag: str, make_image: Callable[[Path], Image]) -> Path:
    """cached_layout for one image that make_image(work_dir) returns."""

    def make(layout: Path, work: Path) -> None:
        write_image(layout, make_image(work), [tag])

    return cached_layout(cache, name, key_parts, tag, make)


def debian_base(cache: Path, name: str, lock: Path, tag: str, *, platforms: tuple[Platform, ...] = (AMD64,),
                packages: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> Path:
    """An OCI layout of `pyjib base` for the lock (written when absent), one image or an index of platforms under tag."""
    lock_bytes = lock.read_bytes() if lock.is_file() else b"unlocked"
    key = [DEBIAN_BASE_RECIPE, hashlib.sha256(lock_bytes).hexdigest(), [str(p) for p in platforms], sorted(packages), sorted(exclude), tag]

    def make(layout: Path, _work: Path) -> None:
        def build(with_lock: Path) -> None:
            request = BaseRequest(to=f"oci:{layout}:{tag}", packages=tuple(sorted(packages)), exclude=tuple(sorted(exclude)),
                                  platforms=platforms, lock=with_lock)
            build_base(request, cache_root=cache / "pyjib", clients=ClientPool())

        try:
            build(lock)
        except ArchiveError as exc:
            # Debian drops superseded versions from its pool (a security update, a point release): the committed lock is
            # then stale. A test run must not fail for that: resolve afresh into a lock of this machine's cache.
            fresh = cache / "fresh-base-locks" / f"{name}.json"
            fresh.unlink(missing_ok=True)
            print(f"tests' base {lock.name} is stale ({exc}); building {name} from a fresh resolution. To refresh the committed "
                  f"locks: delete {LOCKS}/*.json, run the tests and commit the locks they write", file=sys.stderr)
            shutil.rmtree(layout, ignore_errors=True)
            build(fresh)

    return cached_layout(cache, name, key, tag, make)


def base_layout(cache: Path | None = None) -> Path:
    """The amd64 base under TAG."""
    return debian_base(cache or test_cache_dir(), "base-amd64", BASE_LOCK, TAG)


def no_cxx_layout(cache: Path | None = None) -> Path:
    """The amd64 base without libstdc++6 under NO_CXX_TAG."""
    return debian_base(cache or test_cache_dir(), "base-amd64-no-cxx", NO_CXX_LOCK, NO_CXX_TAG, exclude=NO_CXX_EXCLUDE)


def multiarch_layout(cache: Path | None = None) -> Path:
    """One OCI layout with an index of the amd64 and arm64 bases under MULTI_TAG (arm64 from Debian's arm64 packages)."""
    return debian_base(cache or test_cache_dir(), "base-multiarch", BASE_LOCK, MULTI_TAG, platforms=(AMD64, ARM64))


def opened(layout: Path, tag: str) -> Image:
    """The image under tag of a layout."""
    from pyjib.cache import BlobCache
    from pyjib.transports import Session, parse_location

    return parse_location(f"oci:{layout}:{tag}").open(None, Session(ClientPool(), BlobCache(layout.parent / "blobs"))).image


def labels(layout: Path, tag: str = TAG) -> dict[str, str]:
    """The base's own Labels (`pyjib base` says what it is), which an image built on it keeps under its own."""
    return dict(opened(layout, tag).config["config"].get("Labels") or {})


def with_config(layout: Path, tag: str, new_tag: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """A layout next to layout holding its image under new_tag with the config changed by change(config), the layers kept."""
    image = opened(layout, tag)
    config = json.loads(json.dumps(image.config))
    change(config)
    return image_layout(layout.parent, f"{layout.name}-{new_tag}", [config], new_tag, lambda _work: Image(config, image.layers))


def push_with_skopeo(layout: Path, destination: str, tag: str = TAG) -> None:
    """Copy the base into a registry with skopeo, a tool independent of pyjib."""
    subprocess.run(
        ["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{destination}"],
        check=True, capture_output=True, text=True, timeout=300,
    )
