"""What git says about the project: the commit for annotations and tags, the state that versions are read from."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


def git(project_dir: Path, *args: str) -> str | None:
    """git's answer in project_dir, or None when git is missing, the folder is no checkout, or the answer is empty."""
    return git_each(project_dir, args)[0]


def git_each(project_dir: Path, *commands: Sequence[str]) -> list[str | None]:
    """git's answer to each command (as git() gives it), the processes run at once: a few milliseconds each, not in turn."""
    started: list[subprocess.Popen[str] | None] = []
    for args in commands:
        try:
            started.append(subprocess.Popen(["git", "-C", str(project_dir), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, text=True))
        except OSError:
            started.append(None)
    return [_answer(process) for process in started]


def _answer(process: subprocess.Popen[str] | None) -> str | None:
    if process is None:
        return None
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return (out.strip() or None) if process.returncode == 0 else None


def has_uncommitted_changes(project_dir: Path) -> bool:
    """Whether tracked files differ from HEAD (staged or not), as `git describe --dirty` tells; untracked files do not count."""
    return git(project_dir, "status", "--porcelain", "--untracked-files=no") is not None
