"""git's answers, one process per command, run at once: each answer in the order asked, None where git says nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyjib.vcs import git, git_each

_IDENTITY = ("-c", "user.name=t", "-c", "user.email=t@example.com")


def _checkout(root: Path) -> str:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "a.txt").write_text("a\n")
    subprocess.run(["git", *_IDENTITY, "-C", str(root), "add", "a.txt"], check=True)
    subprocess.run(["git", *_IDENTITY, "-C", str(root), "commit", "-q", "-m", "one"], check=True)
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def test_answers_come_in_the_order_asked_and_failures_are_none(tmp_path: Path) -> None:
    commit = _checkout(tmp_path)
    answers = git_each(tmp_path, ("rev-parse", "HEAD"), ("remote", "get-url", "origin"), ("status", "--porcelain"), ("rev-parse", "--abbrev-ref", "HEAD"))
    assert answers[0] == commit
    assert answers[1] is None  # no remote: git fails
    assert answers[2] is None  # a clean tree: an empty answer
    assert answers[3] in ("master", "main")
    (tmp_path / "a.txt").write_text("changed\n")
    assert git_each(tmp_path, ("status", "--porcelain"))[0] == "M a.txt"
    assert git(tmp_path, "rev-parse", "HEAD") == commit


def test_a_folder_that_is_no_checkout_gives_none(tmp_path: Path) -> None:
    assert git_each(tmp_path / "missing", ("rev-parse", "HEAD"), ("status",)) == [None, None]
