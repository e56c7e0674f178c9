"""Split the project's installed files into layers by how often they change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# What counts as code: it changes with every commit, so it belongs in the top (application) layer.
CODE_SUFFIXES = frozenset({".py", ".pyi", ".pyc", ".so", ".pth", ".typed"})


def is_code(relative: Path, bin_dir: Path) -> bool:
    if any(part.endswith(".dist-info") for part in relative.parts):
        return True
    if relative.is_relative_to(bin_dir):
        return True
    return relative.suffix in CODE_SUFFIXES or relative.name == "py.typed"


def split_resources(installed: Path, resources: Path, bin_dir: Path) -> int:
    """Move every non-code file of the installed tree into resources (same relative paths); return how many moved."""
    moved = 0
    for directory, _dirs, files in os.walk(installed):
        for name in files:
            source = Path(directory) / name
            relative = source.relative_to(installed)
            if is_code(relative, bin_dir):
                continue
            target = resources / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
            moved += 1
    return moved
