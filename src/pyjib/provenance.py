"""How an image was made: an in-toto Statement v1 with a SLSA Provenance v1 predicate, per platform image. Unsigned.

It records pyjib's version, the settings that shaped the image, the source (git remote without credentials, commit,
dirty or not), the base by digest, every wheel installed with its sha256, the index URLs without credentials, and the
builder (the CI's run where its variables say so). No clock time: the same build in the same place gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .imagebuild import Build, PlatformImage
from .indexes import without_credentials
from .oci.descriptor import canonical_json
from .settings import Settings
from .vcs import git_each

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://pyjib.dev/build/image/v1"
LOCAL_BUILDER = "https://pyjib.dev/builder/local"
# Settings that say where the image goes or how to reach registries, not what is in it.
_NOT_SHAPING = {"project_dir", "to", "tags", "insecure_registries", "registry_cache", "index_url", "extra_index_url", "find_links"}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def shaping_settings(settings: Settings) -> dict[str, Any]:
    """The settings that shaped the image, in [tool.pyjib]'s spelling; unset ones left out."""
    shaped = {}
    for item in dataclasses.fields(settings):
        value = getattr(settings, item.name)
        if item.name not in _NOT_SHAPING and value not in (None, (), {}):
            shaped[item.name.replace("_", "-")] = _plain(value)
    shaped["from"] = shaped.pop("base")
    return shaped


def source_of(project_dir: Path) -> dict[str, Any] | None:
    """The project's git checkout: remote (without credentials), commit, and whether the work tree has changes."""
    commit, remote, changes = git_each(project_dir, ("rev-parse", "HEAD"), ("remote", "get-url", "origin"), ("status", "--porcelain"))
    if commit is None:
        return None
    source: dict[str, Any] = {"digest": {"gitCommit": commit}, "dirty": changes is not None}
    if remote:
        source["uri"] = "git+" + without_credentials(remote)
    return source


def run_details(environ: Mapping[str, str]) -> dict[str, Any]:
    """The builder, from the CI's variables where there are any (GitHub Actions, GitLab CI), else this machine."""
    if environ.get("GITHUB_ACTIONS") == "true":
        server, repository, run = environ.get("GITHUB_SERVER_URL", "https://github.com"), environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_RUN_ID", "")
        hosted = environ.get("RUNNER_ENVIRONMENT") == "github-hosted"
        builder = f"https://github.com/actions/runner/{'github-hosted' if hosted else 'self-hosted'}"
        invocation = f"{server}/{repository}/actions/runs/{run}/attempts/{environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    elif environ.get("GITLAB_CI") == "true":
        builder = f"{environ.get('CI_SERVER_URL', 'https://gitlab.com')}/-/runners/{environ.get('CI_RUNNER_ID', '')}"
        invocation = environ.get("CI_JOB_URL", "")
    else:
        builder, invocation = LOCAL_BUILDER, ""
    details: dict[str, Any] = {"builder": {"id": builder, "version": {"pyjib": __version__}}}
    if invocation:
        details["metadata"] = {"invocationId": invocation}
    return details


def _dependencies(build: Build, platform_image: PlatformImage) -> list[dict[str, Any]]:
    base = platform_image.base
    resolved: list[dict[str, Any]] = [{"name": "base", "uri": base.name, "digest": {"sha256": base.digest.split(":", 1)[1]}}]
    for wheel in sorted(platform_image.locked, key=lambda w: w.name):
        entry: dict[str, Any] = {"name": f"{wheel.name}=={wheel.version}", "digest": {"sha256": wheel.sha256},
                                 "annotations": {"source": wheel.source}}
        if location := (without_credentials(wheel.url) if wheel.source == "index" else wheel.origin):
            entry["uri"] = location
        resolved.append(entry)
    return resolved


def statement(build: Build, platform_image: PlatformImage, settings: Settings, environ: Mapping[str, str] = os.environ) -> bytes:
    image = platform_image.image
    sources = build.sources
    external: dict[str, Any] = {"project": {"name": build.project.name, "version": build.project.version},
                                "settings": shaping_settings(settings)}
    if (source := source_of(settings.project_dir)) is not None:
        external["source"] = source
    if sources is not None:
        external["indexes"] = [without_credentials(url) for url in sources.indexes.urls()]
        if sources.lock is not None:
            external["lockFile"] = {"name": sources.lock.path.name, "format": sources.lock.format}
    document = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": build.project.name, "digest": {"sha256": image.digest.split(":", 1)[1]}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {"pyjibVersion": __version__, "platform": image.platform,
                                       "interpreter": {"path": platform_image.interpreter.path, "version": platform_image.interpreter.version}},
                "resolvedDependencies": _dependencies(build, platform_image),
            },
            "runDetails": run_details(environ),
        },
    }
    return canonical_json(document)
