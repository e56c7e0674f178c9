"""{git_sha} and {git_short_sha} say when the tree has uncommitted changes, as `git describe --dirty` does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyjib.tagtemplates import fill


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("print('one')\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "one")
    return tmp_path


def test_a_clean_tree_gets_the_bare_commit(repo: Path) -> None:
    told: list[None] = []
    sha = _git(repo, "rev-parse", "HEAD")
    assert fill("{git_sha}", repo, "1.0", on_dirty=lambda: told.append(None)) == sha
    assert fill("{git_short_sha}", repo, "1.0", on_dirty=lambda: told.append(None)) == sha[:7]
    assert told == []


def test_an_untracked_file_leaves_the_tree_clean(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch")
    assert fill("{git_sha}", repo, "1.0") == _git(repo, "rev-parse", "HEAD")


@pytest.mark.parametrize("stage", [False, True])
def test_uncommitted_changes_get_dirty_and_are_told(repo: Path, stage: bool) -> None:
    (repo / "app.py").write_text("print('two')\n")
    if stage:
        _git(repo, "add", "app.py")
    told: list[None] = []
    sha = _git(repo, "rev-parse", "HEAD")
    assert fill("v-{git_short_sha}.{git_sha}", repo, "1.0", on_dirty=lambda: told.append(None)) == f"v-{sha[:7]}-dirty.{sha}-dirty"
    assert len(told) == 2  # per field; the Builder turns these into one warning
