"""Helpers for the registry client's end-to-end tests: a small image built in-process, and pyjib run with stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pyjib.layer import tree_layer
from pyjib.oci.image import Image

CONFIG = {"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}


def small_image(directory: Path, sizes: tuple[int, ...] = (300_000, 40_000), seed: bytes = b"pyjib") -> Image:
    """An image of random-content layers (incompressible, so a layer's size on the wire is about `size`)."""
    image = Image(CONFIG, ())
    for number, size in enumerate(sizes):
        rootfs = directory / f"rootfs-{number}"
        (rootfs / "data").mkdir(parents=True, exist_ok=True)
        (rootfs / "data" / f"blob-{number}.bin").write_bytes(seed + os.urandom(size))
        layer = tree_layer(rootfs, directory / "blobs")
        image = image.append_blob(layer.blob(), layer.diff_id, created_by=f"test layer {number}", comment="random bytes", created=None)
    return image


def run_pyjib(cache_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m pyjib ARGS` as a user runs it, with a password on stdin if given."""
    environment = {**os.environ, "PYJIB_CACHE_DIR": str(cache_dir), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pyjib", *args], input=stdin if stdin is not None else "", capture_output=True,
                          text=True, env=environment, timeout=timeout)


def skopeo_digest(reference: str, *extra: str) -> str:
    """The digest skopeo (an independent client) reads for reference."""
    result = subprocess.run(["skopeo", "inspect", "--format", "{{.Digest}}", *extra, f"docker://{reference}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
