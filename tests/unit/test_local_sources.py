"""Local sources (a monorepo's sibling folder, a VCS checkout's tree): built once into a pure wheel with the real uv build,
found again by their files' fingerprint, built again only when a file changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyjib.errors import ResolveError
from pyjib.sources import Source, build_source, local_folders_identity

FLIT_PROJECT = """[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "{name}"
version = "1.0"
description = "a sibling"
"""


def _sibling(root: Path, name: str = "sibling") -> Path:
    folder = root / name
    (folder / name).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(FLIT_PROJECT.format(name=name))
    (folder / name / "__init__.py").write_text("VALUE = 1\n")
    return folder


def test_a_folders_identity_follows_its_files_and_ignores_what_is_not_a_folder(tmp_path: Path) -> None:
    folder = _sibling(tmp_path)
    lines = [f"sibling @ {folder.as_uri()}", "flask>=3", "other @ https://example.com/other-1.0.tar.gz", "not a requirement @@",
             f"gone @ {(tmp_path / 'missing').as_uri()}"]
    first = local_folders_identity(lines)
    assert len(first) == 1 and first[0].startswith(f"{folder}=")
    assert local_folders_identity(lines) == first
    (folder / "sibling" / "__init__.py").write_text("VALUE = 2\n")
    assert local_folders_identity(lines) != first


def test_a_local_folder_is_built_once_and_again_only_when_its_files_change(tmp_path: Path) -> None:
    folder, cache = _sibling(tmp_path), tmp_path / "cache"
    source = Source("sibling", "1.0", "local", str(folder), "")
    wheel = build_source(source, cache)
    assert wheel.name == "sibling-1.0-py2.py3-none-any.whl"  # flit_core 3 tags its pure wheels for both
    built_at = wheel.stat().st_mtime_ns
    assert build_source(source, cache) == wheel and wheel.stat().st_mtime_ns == built_at  # found, not rebuilt
    (folder / "sibling" / "__init__.py").write_text("VALUE = 2\n")
    rebuilt = build_source(source, cache)
    assert rebuilt != wheel and rebuilt.parent != wheel.parent and wheel.exists()


def test_a_folder_that_builds_another_distribution_is_refused(tmp_path: Path) -> None:
    folder = _sibling(tmp_path, "actual")
    with pytest.raises(ResolveError, match="a wheel of another distribution"):
        build_source(Source("expected", "1.0", "local", str(folder), ""), tmp_path / "cache")
