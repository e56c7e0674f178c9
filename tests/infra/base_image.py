"""The tests' Python base image: the Debian rootfs as one reproducible layer, kept as an OCI layout between runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pyjib.image import Image
from pyjib.layer import Ownership, tree_layer
from pyjib.layout import write_image

from . import debian_base

RECIPE_VERSION = "1"  # bump when the base's recipe changes, so cached layouts are rebuilt
TAG = "3.11-nonroot"
OWNERSHIP = {"tmp": Ownership(0o1777), "home/nonroot": Ownership(0o700, 65532, 65532)}


def test_cache_dir() -> Path:
    if explicit := os.environ.get("PYJIB_TEST_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyjib-tests"


def base_layout(cache: Path | None = None, arch: str = "amd64") -> Path:
    """An OCI layout holding the base under TAG, built only when the packages or the recipe changed."""
    cache = cache or test_cache_dir()
    debs = debian_base.download_packages(cache / "debs", arch)
    key = hashlib.sha256(json.dumps([RECIPE_VERSION, arch, sorted(d.name for d in debs)]).encode()).hexdigest()[:16]
    layout = cache / f"base-{arch}-{key}"
    if (layout / "index.json").is_file():
        return layout
    with tempfile.TemporaryDirectory(dir=cache, prefix=".base-") as work_name:
        work = Path(work_name)
        rootfs = work / "rootfs"
        debian_base.build_rootfs(rootfs, arch, download_dir=cache / "debs")
        layer = tree_layer(rootfs, work / "blobs", ownership=OWNERSHIP)
        image = Image(config=debian_base.base_config(arch), layers=()).append_layer(
            layer, created_by="debian bookworm packages: " + " ".join(debian_base.PACKAGES), comment="distroless-like python base",
            created="1970-01-01T00:00:00Z",
        )
        staged = work / "layout"
        write_image(staged, image, [TAG])
        shutil.move(str(staged), layout)
    return layout


def push_with_skopeo(layout: Path, destination: str) -> None:
    """Copy the base into a registry with skopeo, a tool independent of pyjib."""
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{TAG}", f"docker://{destination}"],
        check=True, capture_output=True, text=True, timeout=300,
    )
