"""uv.lock, read through `uv export`: the project's production dependencies, with only the groups and extras asked for.

`uv export` renders the lock as PEP 751 for every platform; pyjib then picks the image's files like any pylock.toml.
No dependency group ships unless named in `groups` (not `dev`, not the lock's `default-groups`), and `--locked` makes a
lock that no longer satisfies pyproject.toml an error, as `uv sync --locked` does, never an old version in silence
(on a host without a Python that fits the project, uvcurrent.py checks it and the lock is exported `--frozen`).
In a uv workspace the root's lock is exported for the member being built, and sibling members come as folders.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..childenv import child_environment
from ..errors import ResolveError
from ..lockedwheel import LockedWheel
from ..uvtool import uv_binary
from .core import FoundLock, LockRequest
from .pylock import from_pylock
from .uvcurrent import stale_reason


def export_command(found: FoundLock, request: LockRequest, check: str = "--locked") -> list[str]:
    command = [uv_binary(), "export", check, "--format", "pylock.toml", "--no-emit-project", "--no-default-groups",
               "--no-editable", "--no-header", "--quiet", "--python", sys.executable]
    if found.workspace_root is not None:
        command += ["--package", request.project]
    for group in request.groups:
        command += ["--group", group]
    for extra in request.extras:
        command += ["--extra", extra]
    return command


def _needs_another_python(stderr: str) -> bool:
    """uv refused because no host interpreter satisfies the project's requires-python, not because of the lock."""
    return bool(re.search(r"interpreter|Python requirement|Python downloads", stderr))


def explain_export_failure(found: FoundLock, stderr: str) -> str:
    """uv's answer as one line: a stale lock says what to run, anything else keeps uv's own error."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if any("needs to be updated" in line for line in lines):
        return (f"{found.path} no longer satisfies {found.path.parent / 'pyproject.toml'} (uv export --locked refuses it); "
                "run `uv lock` and commit the lock")
    errors = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
    reason = "; ".join(errors) or (lines[-1] if lines else "uv export failed")
    return f"cannot read {found.path}: {reason}"


def _export(found: FoundLock, request: LockRequest, check: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(export_command(found, request, check), cwd=found.path.parent, capture_output=True, text=True,
                          env=child_environment(request.indexes))


def read_uv_lock(found: FoundLock, request: LockRequest) -> list[LockedWheel]:
    cwd = found.path.parent
    result = _export(found, request, "--locked")
    if result.returncode != 0 and _needs_another_python(result.stderr):
        # uv cannot check the lock with this host's Python; pyjib compares what it records with pyproject.toml instead.
        if reason := stale_reason(found.path, request.project_dir, request.project):
            raise ResolveError(f"{found.path} no longer satisfies {request.project_dir / 'pyproject.toml'} ({reason}); "
                               "run `uv lock` and commit the lock")
        result = _export(found, request, "--frozen")
    if result.returncode != 0:
        raise ResolveError(explain_export_failure(found, result.stderr))
    try:
        document = tomllib.loads(result.stdout)
    except tomllib.TOMLDecodeError as exc:
        raise ResolveError(f"uv export of {found.path} gave no readable lock: {exc}") from exc
    return from_pylock(document, request, found.where, cwd)


@dataclass(frozen=True)
class UvLockSource:
    """A uv.lock, the project's own or its uv workspace's (found.workspace_root), read through `uv export`."""

    found: FoundLock

    @property
    def path(self) -> Path:
        return self.found.path

    def wheels(self, request: LockRequest) -> list[LockedWheel]:
        return read_uv_lock(self.found, request)
