"""Real wheels from the public index for unit tests, downloaded once into the tests' cache (pip sees the public index only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.infra.base_image import test_cache_dir

MANYLINUX_X86_64 = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def download_wheel(requirement: str) -> Path:
    """The cp311 manylinux x86_64 wheel of requirement (an exact pin), from the tests' cache or the public index."""
    name, version = requirement.split("==")
    folder = test_cache_dir() / "unit-wheels"
    found = sorted(folder.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    if found:
        return found[0]
    platforms = [flag for platform in MANYLINUX_X86_64 for flag in ("--platform", platform)]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:", "--python-version", "3.11",
                    *platforms, "--dest", str(folder), requirement], check=True, capture_output=True, timeout=300)
    found = sorted(folder.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
    assert found, f"pip downloaded no wheel of {requirement} into {folder}"
    return found[0]
