"""{git_sha} and {git_short_sha} say when the tree has uncommitted changes, as `git describe --dirty` does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyjib.errors import ConfigError
from pyjib.tagtemplates import PLACEHOLDER, fill, with_placeholders


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
    assert len(told) == 2  # per field; the Publisher turns these into one warning


def test_version_and_environment_fields_fill_and_plain_text_stays(tmp_path: Path) -> None:
    assert fill("{version}-build.{env:BUILD_NUMBER}", tmp_path, "1.4.0", environ={"BUILD_NUMBER": "17"}) == "1.4.0-build.17"
    assert fill("stable", tmp_path, "1.4.0", environ={}) == "stable"


def test_characters_a_tag_cannot_hold_become_dashes_and_no_value_starts_a_tag_with_a_dot_or_dash(tmp_path: Path) -> None:
    environ = {"REF": "feature/login+sso", "DOTTED": ".-hidden"}
    assert fill("{env:REF}", tmp_path, "1", environ=environ) == "feature-login-sso"
    assert fill("v{env:DOTTED}", tmp_path, "1", environ=environ) == "vhidden"


def test_a_branch_is_read_from_git_and_slugged(repo: Path) -> None:
    _git(repo, "checkout", "-q", "-b", "team/feature-1")
    assert fill("{git_branch}", repo, "1", environ={"BRANCH_NAME": "ignored"}) == "team-feature-1"


def test_a_detached_checkout_takes_the_branch_from_the_ci_system(repo: Path) -> None:
    _git(repo, "checkout", "-q", "--detach")
    assert fill("{git_branch}", repo, "1", environ={"GITHUB_REF_NAME": "", "CI_COMMIT_REF_NAME": "release/2.x"}) == "release-2.x"
    with pytest.raises(ConfigError, match=r"cannot tell \{git_branch\} here"):
        fill("{git_branch}", repo, "1", environ={})


@pytest.mark.parametrize(("template", "message"), [
    ("{env:MISSING}", "the environment variable MISSING is not set"),
    ("{env:EMPTY}", "the environment variable EMPTY is not set"),
    ("{git_sha}", r"cannot tell \{git_sha\} here \(is .* in a git checkout\?\)"),
    ("{commit}", r"unknown field \{commit\}; use git_sha, git_short_sha, git_branch, version or env:NAME"),
])
def test_a_field_that_cannot_be_filled_is_an_error_never_an_empty_tag(tmp_path: Path, template: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        fill(template, tmp_path, "1", environ={"EMPTY": ""})


def test_placeholders_stand_in_for_every_field_before_the_build() -> None:
    assert with_placeholders("reg/app:{version}-{git_short_sha}-{env:RUN}") == f"reg/app:{PLACEHOLDER}-{PLACEHOLDER}-{PLACEHOLDER}"
    assert with_placeholders("reg/app:{not a field}") == "reg/app:{not a field}"
