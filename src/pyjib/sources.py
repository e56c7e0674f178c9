"""Distributions that come without a wheel for the image: sdists, local folders and VCS checkouts, built into wheels.

Each is built on the host in an isolated environment (uv build), cached by what identifies its source (the sdist's hash,
the folder's files, the commit), and kept only when the wheel is pure: a wheel compiled for the host would not run in
the image, and pyjib never runs a compiler for the image.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from .atomicfile import staged_directory
from .buildlog import failure_message, keep_log
from .cachelayout import BUILT_WHEEL_RECIPE, BUILT_WHEELS
from .childenv import child_environment
from .errors import ResolveError
from .indexes import IndexConfig
from .uvtool import uv_binary
from .wheelbuild import project_fingerprint
from .wheelchoice import is_pure


@dataclass(frozen=True)
class Source:
    name: str
    version: str
    kind: str  # "sdist", "local" or "vcs"
    location: str  # sdist: a path in the cache; local: a folder; vcs: the repository URL
    identity: str  # sdist: its sha256; vcs: the commit


def local_folders_identity(requirements: Iterable[str]) -> list[str]:
    """A fingerprint of each local folder the requirements point at (name @ file:///...): resolutions and fleet records
    that include such a folder must not outlive a change to its files."""
    identity = []
    for line in requirements:
        try:
            url = Requirement(line).url
        except InvalidRequirement:
            continue
        if url and url.startswith("file:"):
            path = Path(unquote(urlsplit(url).path))
            if path.is_dir():
                identity.append(f"{path}={project_fingerprint(path)}")
    return sorted(identity)


def _uv_build(source: Path, out_dir: Path, name: str, cache_root: Path, indexes: IndexConfig | None) -> Path:
    # Not --quiet: the backend's own output is what explains a failure; it goes to the kept log, not the terminal.
    result = subprocess.run(
        [uv_binary(), "build", "--wheel", "--python", sys.executable, "--out-dir", str(out_dir), str(source)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=child_environment(indexes),  # the build's requirements from pyjib's indexes; setup.py never sees pyjib's secrets
    )
    wheels = sorted(out_dir.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        what = f"dependency {name} has no wheel for the image, and building it from source"
        hint = "pin a version that publishes wheels, or provide a wheelhouse with --find-links"
        raise ResolveError(failure_message(what, keep_log(cache_root, f"dependency-{name}", result.stdout), result.stdout, hint))
    return wheels[0]


def _checkout(url: str, commit: str, into: Path) -> Path:
    """A clean checkout of commit, so the wheel is built from exactly what was resolved."""
    for command in (["git", "clone", "--quiet", "--no-checkout", url, str(into)], ["git", "-C", str(into), "checkout", "--quiet", commit]):
        result = subprocess.run(command, capture_output=True, text=True, env=child_environment())
        if result.returncode != 0:
            raise ResolveError(f"cannot check out {url} at {commit[:12]}: {result.stderr.strip().splitlines()[-1:] or ['git failed']}")
    return into


def build_source(source: Source, cache_root: Path, indexes: IndexConfig | None = None) -> Path:
    """A pure wheel built from source, cached by the source's identity and the indexes its build requirements come from;
    an error naming the package if it is not pure."""
    identity = source.identity if source.kind != "local" else project_fingerprint(Path(source.location))
    where = json.dumps(indexes.cache_identity() if indexes else None, sort_keys=True)
    key = hashlib.sha256(f"{BUILT_WHEEL_RECIPE}\0{source.kind}\0{source.location if source.kind != 'sdist' else ''}\0{identity}\0{where}".encode()).hexdigest()
    out_dir = cache_root / BUILT_WHEELS / key[:32]
    if existing := sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []:
        return existing[0]
    with tempfile.TemporaryDirectory(prefix="pyjib-source-") as work:
        staging = Path(work) / "out"
        if source.kind == "vcs":
            wheel = _uv_build(_checkout(source.location, source.identity, Path(work) / "checkout"), staging, source.name, cache_root, indexes)
        else:
            wheel = _uv_build(Path(source.location), staging, source.name, cache_root, indexes)
        if canonicalize_name(parse_wheel_filename(wheel.name)[0]) != canonicalize_name(source.name):
            raise ResolveError(f"building {source.name} from source produced {wheel.name}, a wheel of another distribution")
        if not is_pure(wheel.name):
            raise ResolveError(
                f"dependency {source.name} {source.version} has no wheel for the image, and its source builds {wheel.name}, "
                "compiled for this host, not the image; pin a version that publishes wheels for the image, or provide one with --find-links"
            )
        with staged_directory(out_dir) as final:  # or a concurrent build's, stored first
            shutil.move(str(wheel), final / wheel.name)
    return sorted(out_dir.glob("*.whl"))[0]
