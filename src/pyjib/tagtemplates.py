"""Tags filled from the environment and git, for CI: {git_sha}, {git_short_sha}, {git_branch}, {version}, {env:NAME}.

A template that cannot be filled is an error, never an empty tag. In a filled value, characters a tag cannot hold (a
branch's slashes) become dashes, as CI systems' "ref slugs" do. On a tree with uncommitted changes the commit fields
get a `-dirty` suffix, as `git describe --dirty` does: a tag never claims a commit the image was not built from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import ConfigError
from .vcs import git, has_uncommitted_changes

_FIELD = re.compile(r"\{([a-z_]+(?::[A-Za-z_][A-Za-z0-9_]*)?)\}")
_BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH", "CIRCLE_BRANCH", "BRANCH_NAME")
PLACEHOLDER = "x"  # stands in for every field when a target is checked before the build


def with_placeholders(text: str, placeholder: str = PLACEHOLDER) -> str:
    return _FIELD.sub(placeholder, text)


def _branch(project_dir: Path, environ: Mapping[str, str]) -> str | None:
    branch = git(project_dir, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        return branch
    # CI checkouts are often detached; the CI system still knows the branch.
    return next((environ[name] for name in _BRANCH_VARIABLES if environ.get(name)), None)


def _commit(project_dir: Path, on_dirty: Callable[[], None] | None, *rev_parse: str) -> str | None:
    sha = git(project_dir, "rev-parse", *rev_parse, "HEAD")
    if sha and has_uncommitted_changes(project_dir):
        if on_dirty is not None:
            on_dirty()
        return f"{sha}-dirty"
    return sha


def fill(template: str, project_dir: Path, version: str, environ: Mapping[str, str] = os.environ,
         on_dirty: Callable[[], None] | None = None) -> str:
    """The template filled; on_dirty is called when a commit field got the -dirty suffix (for the caller's warning)."""
    resolvers: dict[str, Callable[[], str | None]] = {
        "git_sha": lambda: _commit(project_dir, on_dirty),
        "git_short_sha": lambda: _commit(project_dir, on_dirty, "--short=7"),
        "git_branch": lambda: _branch(project_dir, environ),
        "version": lambda: version,
    }

    def replace(match: re.Match[str]) -> str:
        field = match.group(1)
        if field.startswith("env:"):
            value = environ.get(field[4:])
            if not value:
                raise ConfigError(f"tag template {template!r}: the environment variable {field[4:]} is not set")
        elif field in resolvers:
            value = resolvers[field]()
            if not value:
                raise ConfigError(f"tag template {template!r}: cannot tell {{{field}}} here (is {project_dir} in a git checkout?)")
        else:
            raise ConfigError(f"tag template {template!r}: unknown field {{{field}}}; use git_sha, git_short_sha, git_branch, version or env:NAME")
        return re.sub(r"[^A-Za-z0-9_.-]", "-", value).lstrip(".-")

    return _FIELD.sub(replace, template)
