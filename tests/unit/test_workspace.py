"""uv workspace discovery and [tool.uv.sources] turned into direct requirements."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pyjib.errors import ConfigError
from pyjib.interpreter import Interpreter
from pyjib.locks.find import find_lock
from pyjib.oci.platforms import Platform
from pyjib.workspace import find_workspace, uv_sources

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "locks" / "uv-workspace"
AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))
ARM = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64"))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path.parent


def test_a_member_finds_its_workspace_and_the_root_lock() -> None:
    member = FIXTURE / "packages" / "api"
    workspace = find_workspace(member)
    assert workspace is not None and workspace.root == FIXTURE.resolve()
    assert workspace.members == {"ws-api": member.resolve(), "ws-shared": (FIXTURE / "packages" / "shared").resolve()}
    found = find_lock(member, None)
    assert found is not None and (found.path, found.format, found.workspace_root) == (FIXTURE / "uv.lock", "uv", FIXTURE.resolve())


def test_a_workspace_member_source_becomes_the_siblings_folder() -> None:
    sources = uv_sources(FIXTURE / "packages" / "api")
    requirements = sources.apply(["six==1.16.0", "ws-shared"], AMD)
    assert requirements == ["six==1.16.0", f"ws-shared @ {(FIXTURE / 'packages' / 'shared').resolve().as_uri()}"]
    assert sources.local_folders() == [(FIXTURE / "packages" / "shared").resolve()]


def test_excluded_and_unmatched_folders_are_not_members(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.uv.workspace]\nmembers = ["libs/*"]\nexclude = ["libs/old"]\n')
    kept = _write(tmp_path / "libs" / "new" / "pyproject.toml", '[project]\nname = "New_Lib"\nversion = "1"\n')
    old = _write(tmp_path / "libs" / "old" / "pyproject.toml", '[project]\nname = "old"\nversion = "1"\n')
    outside = _write(tmp_path / "tools" / "x" / "pyproject.toml", '[project]\nname = "x"\nversion = "1"\n')
    workspace = find_workspace(kept)
    assert workspace is not None and workspace.members == {"new-lib": kept.resolve()}
    assert find_workspace(old) is None and find_workspace(outside) is None
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert find_lock(outside, None) is None  # not a member: the root's lock is not its lock


def test_path_git_url_and_marker_sources_and_the_roots_defaults(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[tool.uv.workspace]\nmembers = ["app"]\n\n[tool.uv.sources]\n'
                                        'shared = { path = "libs/shared" }\nrich = { git = "https://example.org/rich.git", tag = "v1" }\n')
    app = _write(tmp_path / "app" / "pyproject.toml", '[project]\nname = "app"\nversion = "1"\n\n[tool.uv.sources]\n'
                 'rich = { git = "https://example.org/fork.git", rev = "abc123", subdirectory = "pkg" }\n'
                 'wheelonly = { url = "https://files.example/wheelonly-1-py3-none-any.whl" }\n'
                 'fromindex = { index = "internal" }\n'
                 'uvloop = [{ path = "vendor/uvloop-arm", marker = "platform_machine == \'aarch64\'" }, '
                 '{ path = "vendor/uvloop-x86", marker = "platform_machine == \'x86_64\'" }]\n')
    sources = uv_sources(app)
    requirements = ["fromindex>=2", "rich[jupyter]>=13", "shared", "uvloop", "wheelonly"]
    assert sources.apply(requirements, AMD) == [
        "fromindex>=2",
        "rich[jupyter] @ git+https://example.org/fork.git@abc123#subdirectory=pkg",  # the member's own entry wins
        f"shared @ {(tmp_path / 'libs' / 'shared').resolve().as_uri()}",  # the root's, relative to the root
        f"uvloop @ {(app / 'vendor' / 'uvloop-x86').resolve().as_uri()}",
        "wheelonly @ https://files.example/wheelonly-1-py3-none-any.whl",
    ]
    assert sources.apply(["uvloop"], ARM) == [f"uvloop @ {(app / 'vendor' / 'uvloop-arm').resolve().as_uri()}"]


def test_a_workspace_source_outside_a_workspace_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "packages" / "api", tmp_path / "api")
    with pytest.raises(ConfigError, match=r"ws-shared is no member of a uv workspace"):
        uv_sources(tmp_path / "api").apply(["ws-shared"], AMD)
