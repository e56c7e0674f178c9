"""The tests' Python base image: the Debian rootfs as one reproducible layer, kept as an OCI layout between runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyjib.image import Image
from pyjib.layer import Ownership, tree_layer
from pyjib.layout import write_image

from . import debian_base

RECIPE_VERSION = "2"  # bump when the base's recipe changes, so cached layouts are rebuilt
TAG = "3.11-nonroot"
NO_CXX_TAG = "3.11-nonroot-no-cxx"
# The base without libstdc++6, as a base assembled without distroless' "cc" layer would be.
PACKAGES_WITHOUT_CXX = tuple(p for p in debian_base.PACKAGES if p != "libstdc++6")
OWNERSHIP = {"tmp": Ownership(0o1777), "home/nonroot": Ownership(0o700, 65532, 65532)}


def test_cache_dir() -> Path:
    if explicit := os.environ.get("PYJIB_TEST_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyjib-tests"


def cached_layout(cache: Path, name: str, key_parts: list[object], tag: str, make_image: Callable[[Path], Image]) -> Path:
    """An OCI layout under cache named by its recipe's key; make_image(work_dir) runs only when no such layout exists."""
    key = hashlib.sha256(json.dumps(key_parts).encode()).hexdigest()[:16]
    layout = cache / f"{name}-{key}"
    if (layout / "index.json").is_file():
        return layout
    with tempfile.TemporaryDirectory(dir=cache, prefix=f".{name}-") as work_name:
        work = Path(work_name)
        write_image(work / "layout", make_image(work), [tag])
        shutil.move(str(work / "layout"), layout)
    return layout


def rootfs_image(rootfs: Path, work: Path, config: dict[str, Any], created_by: str, comment: str) -> Image:
    """A one-layer image of a root filesystem, with the base's few non-root owners and modes."""
    layer = tree_layer(rootfs, work / "blobs", ownership=OWNERSHIP)
    return Image(config=config, layers=()).append_layer(layer, created_by=created_by, comment=comment, created="1970-01-01T00:00:00Z")


def base_layout(cache: Path | None = None, arch: str = "amd64", packages: tuple[str, ...] = debian_base.PACKAGES,
                tag: str = TAG) -> Path:
    """An OCI layout holding the base under tag, built only when the packages or the recipe changed."""
    cache = cache or test_cache_dir()
    debs = debian_base.download_packages(cache / "debs", arch, packages)

    def make_image(work: Path) -> Image:
        debian_base.build_rootfs(work / "rootfs", arch, download_dir=cache / "debs", packages=packages)
        return rootfs_image(work / "rootfs", work, debian_base.base_config(arch),
                            "debian bookworm packages: " + " ".join(packages), "distroless-like python base")

    return cached_layout(cache, f"base-{arch}", [RECIPE_VERSION, arch, sorted(d.name for d in debs), tag], tag, make_image)


def with_config(layout: Path, tag: str, new_tag: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """A layout next to layout holding its image under new_tag with the config changed by change(config), the layers kept."""
    from pyjib.base import open_base
    from pyjib.cache import BlobCache
    from pyjib.registry import ClientPool

    cache = layout.parent
    image = open_base(f"oci:{layout}:{tag}", platform=None, cache=BlobCache(cache / "blobs"), clients=ClientPool()).image
    config = json.loads(json.dumps(image.config))
    change(config)
    return cached_layout(cache, f"{layout.name}-{new_tag}", [config], new_tag, lambda _work: Image(config, image.layers))


MULTI_TAG = "3.11-nonroot-multiarch"


def multiarch_layout(cache: Path | None = None) -> Path:
    """One OCI layout with an index of the amd64 and arm64 bases under MULTI_TAG (arm64 from Debian's arm64 packages)."""
    from pyjib.base import open_base
    from pyjib.cache import BlobCache
    from pyjib.image import ImageIndex
    from pyjib.layout import write_index
    from pyjib.registry import ClientPool

    cache = cache or test_cache_dir()
    layouts = [base_layout(cache, arch) for arch in ("amd64", "arm64")]
    target = cache / ("multiarch-" + hashlib.sha256("".join(p.name for p in layouts).encode()).hexdigest()[:16])
    if not (target / "index.json").is_file():
        images = tuple(open_base(f"oci:{p}:{TAG}", platform=None, cache=BlobCache(cache / "blobs"), clients=ClientPool()).image for p in layouts)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".multi-") as work:
            write_index(Path(work) / "layout", ImageIndex(images), [MULTI_TAG])
            shutil.move(str(Path(work) / "layout"), target)
    return target


def push_with_skopeo(layout: Path, destination: str, tag: str = TAG) -> None:
    """Copy the base into a registry with skopeo, a tool independent of pyjib."""
    subprocess.run(
        ["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{destination}"],
        check=True, capture_output=True, text=True, timeout=300,
    )
