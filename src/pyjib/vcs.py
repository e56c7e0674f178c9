"""What git says about the project: the commit for annotations and tags, the state that versions are read from."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(project_dir: Path, *args: str) -> str | None:
    """git's answer in project_dir, or None when git is missing, the folder is no checkout, or the answer is empty."""
    try:
        result = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def has_uncommitted_changes(project_dir: Path) -> bool:
    """Whether tracked files differ from HEAD (staged or not), as `git describe --dirty` tells; untracked files do not count."""
    return git(project_dir, "status", "--porcelain", "--untracked-files=no") is not None
