"""Resolve the project's requirements to wheels for the image's Python and platform, and fetch them.

uv does the resolution: it evaluates markers for the target (pip evaluates them for the host) and emits a PEP 751
lock that names one wheel per package with its URL and hash. pyjib downloads each wheel itself and checks the hash. A
package with no wheel for the image is taken from its sdist (or folder, or VCS checkout) and built into a pure wheel.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from packaging.utils import canonicalize_name, parse_wheel_filename

from .atomicfile import replacing
from .cache import Records, cache_key
from .cachelayout import RESOLUTION_RECIPE, RESOLUTIONS, SDISTS
from .childenv import child_environment
from .constraints import Constraints
from .errors import ResolveError
from .indexes import IndexConfig, credentials_for, redact, redact_text, without_credentials
from .interpreter import Interpreter
from .lockedwheel import LockedWheel
from .oci.digest import sha256_file
from .sources import Source, build_source, local_folders_identity
from .uvtool import uv_binary
from .wheelchoice import best_wheel, filename_of
from .workers import worker_pool


def _target(interpreter: Interpreter) -> str:
    return f"Python {interpreter.version} on {interpreter.platform} ({interpreter.uv_platform})"


def _wheelless_package(stderr: str) -> str | None:
    found = re.search(r"Wheels are required for `([^`]+)`", stderr) or re.search(
        r"(?:all versions of |Because )([A-Za-z0-9._-]+?)(?:[=<>!~]\S*)? (?:has|have) no usable wheels", stderr
    )
    return canonicalize_name(found.group(1)) if found else None


def _explain_uv_failure(stderr: str, interpreter: Interpreter, indexes: IndexConfig, only_binary: bool) -> str:
    stderr = redact_text(stderr, indexes)
    if wheelless := _wheelless_package(stderr):
        hint = "only-binary is set, so nothing is built from source" if only_binary else "pin a version that publishes one, or choose another base"
        return f"dependency {wheelless} has no wheel for {_target(interpreter)}; {hint}"
    if found := re.search(r"Because ([A-Za-z0-9._-]+) was not found in the package registry", stderr):
        return f"dependency {found.group(1)} was not found in the package index ({indexes.source})"
    cause = next((line.strip() for line in stderr.splitlines() if line.strip().startswith("cause:")), None)
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "no output")
    return f"cannot resolve the dependencies for {_target(interpreter)}: {(cause or first).removeprefix('cause: ')}"


def resolution_key(requirements: list[str], interpreter: Interpreter, indexes: IndexConfig, only_binary: bool, no_deps: bool,
                   project_dir: Path | None, constraints: Constraints) -> str:
    """What a resolution depends on: an edited constraint file or local folder gives another key."""
    return cache_key(RESOLUTION_RECIPE, requirements, interpreter.uv_platform, interpreter.version, indexes.cache_identity(), only_binary,
                     no_deps, str(project_dir), local_folders_identity(requirements), constraints.identity())


class TransientDownloadError(ResolveError):
    """A download that failed in a way another try can fix (a connection reset, a 503)."""


DOWNLOAD_TRIES = 3
RESOLUTION_TTL = 24 * 3600  # re-resolve daily, so new releases arrive without a lock file; --refresh forces it


def resolve_wheels(
    requirements: list[str],
    interpreter: Interpreter,
    cache_root: Path,
    *,
    indexes: IndexConfig | None = None,
    only_binary: bool = False,
    project_dir: Path | None = None,
    refresh: bool = False,
    no_deps: bool = False,
    constraints: Constraints | None = None,
) -> list[LockedWheel]:
    """One wheel for each distribution the requirements need in the image; cached a day per requirements and target."""
    if not requirements:
        return []
    indexes = indexes or IndexConfig()
    constraints = constraints or Constraints()
    records = Records(cache_root, RESOLUTIONS)
    key = resolution_key(requirements, interpreter, indexes, only_binary, no_deps, project_dir, constraints)
    if not refresh and (cached := records.get(key, max_age=RESOLUTION_TTL)) is not None:
        wheels = [LockedWheel(**entry) for entry in cached]
        if all(w.source == "index" or Path(urlsplit(w.url).path).is_file() for w in wheels):
            return wheels
    wheels = _resolve(requirements, interpreter, indexes, constraints, only_binary, project_dir, cache_root, no_deps)
    records.put(key, [asdict(w) for w in wheels])
    return wheels


def _run_uv(requirements: list[str], interpreter: Interpreter, indexes: IndexConfig, constraints: Constraints,
            built_from_source: list[str], project_dir: Path | None, no_deps: bool) -> subprocess.CompletedProcess[str]:
    command = [
        # uv wants some interpreter to start from even when told the target's version: give it ours, not a PATH search.
        uv_binary(), "pip", "compile", "-", "--python", sys.executable, "--python-platform", interpreter.uv_platform,
        "--python-version", interpreter.version, "--only-binary", ":all:", "--format", "pylock.toml", "--no-header", "--quiet",
        *constraints.uv_arguments(), *(arg for name in built_from_source for arg in ("--no-binary", name)),
        *(["--no-deps"] if no_deps else []),
    ]
    # The indexes go in uv's variables, not argv: their credentials would be readable by every local user in /proc.
    return subprocess.run(command, input="\n".join(requirements), capture_output=True, text=True, env=child_environment(indexes),
                          cwd=project_dir)


def _resolve(requirements: list[str], interpreter: Interpreter, indexes: IndexConfig, constraints: Constraints, only_binary: bool,
             project_dir: Path | None, cache_root: Path, no_deps: bool) -> list[LockedWheel]:
    """Wheels only, first; a package with no wheel for the image is then allowed from source, one at a time, unless only_binary."""
    built_from_source: list[str] = []
    for _ in range(50):
        result = _run_uv(requirements, interpreter, indexes, constraints, built_from_source, project_dir, no_deps)
        if result.returncode == 0:
            break
        wheelless = _wheelless_package(result.stderr)
        if only_binary or wheelless is None or wheelless in built_from_source:
            raise ResolveError(_explain_uv_failure(result.stderr, interpreter, indexes, only_binary))
        built_from_source.append(wheelless)
    else:
        raise ResolveError(f"cannot resolve the dependencies for {_target(interpreter)}: too many packages without wheels")
    return parse_pylock(result.stdout, cache_root, indexes, project_dir or Path.cwd(), interpreter)


def _fetch_sdist(url: str, sha256: str, cache_root: Path, indexes: IndexConfig) -> Path:
    filename = url.rsplit("/", 1)[-1].split("#")[0]
    return _download_file(url, sha256, filename, cache_root / SDISTS, indexes)


def parse_pylock(text: str, cache_root: Path, indexes: IndexConfig, base: Path, interpreter: Interpreter) -> list[LockedWheel]:
    """The resolver's PEP 751 output: for each package the wheel the image prefers, or a pure wheel built from its source."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ResolveError(f"the resolver's lock output does not parse: {exc}") from exc
    return pylock_wheels(document.get("packages", []), cache_root, indexes, base, interpreter)


def pylock_wheels(packages: list[dict[str, Any]], cache_root: Path, indexes: IndexConfig, base: Path, interpreter: Interpreter, *,
                  where: str = "the resolver", only_binary: bool = False) -> list[LockedWheel]:
    """PEP 751 package entries (markers already applied) to wheels: the one the image prefers, else one built from source.

    Lock readers (pylock.toml, uv.lock, poetry.lock, pdm.lock) hand their entries here too, so every path picks, checks
    and builds the same way; where names the lock in messages, and only_binary forbids building from an sdist.
    """
    wheels = []
    for package in packages:
        name, version = canonicalize_name(package["name"]), str(package.get("version", "0"))
        candidates = {wheel.get("name") or filename_of(wheel.get("url") or wheel.get("path") or ""): wheel
                      for wheel in package.get("wheels") or []}
        if (chosen := best_wheel(candidates, interpreter)) is not None:
            wheel = candidates[chosen]
            url = without_credentials(wheel.get("url") or "") or (wheel.get("path") and (base / wheel["path"]).resolve().as_uri())
            sha256 = (wheel.get("hashes") or {}).get("sha256")
            if not url or not sha256:
                raise ResolveError(f"{where} gives no URL and sha256 for the wheel of {name} {version}; a lock must pin every file's hash")
            wheels.append(LockedWheel(name, version, url, sha256, chosen))
            continue
        if only_binary and package.get("sdist"):
            raise ResolveError(f"{where} pins {name} {version}, which has no wheel for {_target(interpreter)}, and only-binary "
                               "forbids building its sdist; update the lock for this platform or choose another base")
        source = _source_of(package, name, version, cache_root, indexes, base, where)
        if source is None:
            found = f" (its {len(candidates)} wheels do not fit)" if candidates else ""
            raise ResolveError(f"dependency {name} {version} has no wheel for {_target(interpreter)}{found}; "
                               "pin a version that publishes one, or choose another base")
        built = build_source(source, cache_root, indexes)
        built_version = str(parse_wheel_filename(built.name)[1])  # a folder's pylock entry carries no version
        wheels.append(LockedWheel(name, built_version, built.as_uri(), sha256_file(built).split(":", 1)[1], built.name,
                                  source.kind, _origin(package, source)))
    return wheels


def _origin(package: dict[str, Any], source: Source) -> str:
    """Where a built wheel's source came from, for the SBOM; a local folder's host path is no place anyone can fetch from."""
    if source.kind == "sdist":
        return without_credentials(str((package.get("sdist") or {}).get("url") or ""))
    if source.kind == "vcs":
        vcs = package.get("vcs") or {}
        url = without_credentials(str(vcs.get("url") or ""))
        return f"{vcs.get('type', 'git')}+{url}@{source.identity}" if url else ""
    return ""


def _source_of(package: dict[str, Any], name: str, version: str, cache_root: Path, indexes: IndexConfig, base: Path,
               where: str) -> Source | None:
    if sdist := package.get("sdist"):
        sha256 = (sdist.get("hashes") or {}).get("sha256")
        url = sdist.get("url") or (sdist.get("path") and (base / sdist["path"]).resolve().as_uri())
        if not url or not sha256:
            raise ResolveError(f"{where} gives no URL and sha256 for the sdist of {name} {version}; a lock must pin every file's hash")
        return Source(name, version, "sdist", str(_fetch_sdist(url, sha256, cache_root, indexes)), sha256)
    if directory := package.get("directory"):
        return Source(name, version, "local", str((base / directory["path"]).resolve()), "")
    if vcs := package.get("vcs"):
        return Source(name, version, "vcs", vcs.get("url") or str((base / vcs["path"]).resolve()), vcs.get("commit-id", ""))
    return None


def _download_file(url: str, sha256: str, filename: str, directory: Path, indexes: IndexConfig,
                   client: httpx.Client | None = None) -> Path:
    """A file kept by its hash; fetched over HTTP(S) (with the index's or ~/.netrc's credentials) or copied from file://."""
    # Both come from a lock or an index, and name a path in the cache: a "hash" of ../../x would reach a planted file.
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ResolveError(f"{filename!r} has the sha256 {sha256[:80]!r}, which is not 64 hex digits; fix the lock or the index")
    if not filename or "/" in filename or "\\" in filename or filename in (".", ".."):
        raise ResolveError(f"the file name {filename[:80]!r} (from {redact(url)}) is not a plain file name; fix the lock or the index")
    destination = directory / sha256 / filename
    if destination.is_file():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(DOWNLOAD_TRIES):
        try:
            _fetch_checked(url, sha256, filename, destination, indexes, client)
            return destination
        except TransientDownloadError:
            if attempt == DOWNLOAD_TRIES - 1:
                raise
            time.sleep(0.5 * 2**attempt)  # a proxy's hiccup or an index's 503: the next try usually goes through
    return destination


def _fetch_checked(url: str, sha256: str, filename: str, destination: Path, indexes: IndexConfig, client: httpx.Client | None) -> None:
    digest = hashlib.sha256()
    with replacing(destination, permissions=0o644) as f:
        for chunk in _chunks(url, filename, indexes, client):
            digest.update(chunk)
            f.write(chunk)
        if digest.hexdigest() != sha256:  # raised inside the block: nothing is put in place
            raise ResolveError(f"{filename} has sha256 {digest.hexdigest()}, not the pinned {sha256}: the lock's hash was edited "
                               "or the index served other bytes; check the lock and the index")


def _chunks(url: str, filename: str, indexes: IndexConfig, client: httpx.Client | None) -> Iterator[bytes]:
    parts = urlsplit(url)
    if parts.scheme == "file":
        try:
            with open(unquote(parts.path), "rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
        except OSError as exc:
            raise ResolveError(f"cannot read {filename} from {parts.path}: {exc.strerror}") from exc
        return
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True)
    credentials = credentials_for(url, indexes)
    try:
        with client.stream("GET", url, auth=credentials) as response:
            if response.status_code != 200:
                error = TransientDownloadError if response.status_code in (429, 500, 502, 503, 504) else ResolveError
                raise error(f"downloading {filename} from {redact(url)} failed: HTTP {response.status_code}")
            yield from response.iter_bytes(1 << 20)
    except httpx.TransportError as exc:
        # Every transport failure is worth another try here (TLS alerts from a proxy included): the bytes are checked
        # against the lock's sha256 whatever path they took.
        raise TransientDownloadError(f"downloading {filename} from {redact(url)} failed: {redact_text(str(exc), indexes)}") from exc
    finally:
        if own:
            client.close()


def download(wheels: list[LockedWheel], wheel_dir: Path, indexes: IndexConfig | None = None) -> list[Path]:
    """Each wheel's path in the cache (kept by hash), fetching those it lacks, four at a time."""
    if not wheels:
        return []
    indexes = indexes or IndexConfig()
    client = httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True)
    with client, worker_pool(4) as pool:
        return list(pool.map(lambda w: _download_file(w.url, w.sha256, w.filename, wheel_dir, indexes, client), wheels))
