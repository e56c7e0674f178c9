"""Resolve the project's requirements to wheels for the image's Python and platform, and fetch them.

uv does the resolution: it evaluates markers for the target (pip evaluates them for the host) and emits a PEP 751
lock that names one wheel per package with its URL and hash. pyjib downloads each wheel itself and checks the hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .cache import Records, cache_key
from .errors import ResolveError
from .interpreter import Interpreter


@dataclass(frozen=True)
class LockedWheel:
    name: str
    version: str
    url: str
    sha256: str
    filename: str


def target_environment(interpreter: Interpreter) -> dict[str, str]:
    """The PEP 508 marker environment of the image's interpreter."""
    return {
        "implementation_name": "cpython",
        "implementation_version": interpreter.version,
        "os_name": "posix",
        "platform_machine": interpreter.platform.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": interpreter.version,
        "python_version": interpreter.minor,
        "sys_platform": "linux",
    }


def top_level_requirements(requires_dist: Iterable[str], extras: Iterable[str], interpreter: Interpreter) -> list[str]:
    """The project's requirements that apply in the image, markers evaluated for the image and the chosen extras."""
    environment = target_environment(interpreter)
    chosen = [""] + [canonicalize_name(e) for e in extras]
    out = []
    for line in requires_dist:
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise ResolveError(f"the project's requirement {line!r} does not parse: {exc}") from exc
        marker: Marker | None = requirement.marker
        if marker is not None and not any(marker.evaluate({**environment, "extra": extra}) for extra in chosen):
            continue
        requirement.marker = None
        out.append(str(requirement))
    return sorted(set(out))


def _uv_binary() -> str:
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError) as exc:
        raise ResolveError("uv is needed to resolve dependencies for the image: pip install uv") from exc


def _explain_uv_failure(stderr: str, interpreter: Interpreter) -> str:
    target = f"Python {interpreter.version} on {interpreter.platform} ({interpreter.uv_platform})"
    wheelless = re.search(r"Wheels are required for `([^`]+)`", stderr) or re.search(
        r"(?:all versions of |Because )([A-Za-z0-9._-]+?)(?:[=<>!~]\S*)? (?:has|have) no usable wheels", stderr
    )
    if wheelless:
        return f"dependency {wheelless.group(1)} has no wheel for {target}; pin a version that publishes one, or choose another base"
    if found := re.search(r"Because ([A-Za-z0-9._-]+) was not found in the package registry", stderr):
        return f"dependency {found.group(1)} was not found in the package index"
    cause = next((line.strip() for line in stderr.splitlines() if line.strip().startswith("cause:")), None)
    first = next((line.strip() for line in stderr.splitlines() if line.strip()), "no output")
    return f"cannot resolve the dependencies for {target}: {(cause or first).removeprefix('cause: ')}"


RESOLUTION_TTL = 24 * 3600  # re-resolve daily, so new releases arrive without a lock file; --refresh forces it


def index_settings() -> dict[str, str]:
    """Environment that changes what the resolver sees, so it is part of the cache key."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith(("UV_", "PIP_INDEX", "PIP_EXTRA_INDEX", "PIP_FIND_LINKS"))}


def lock(requirements: list[str], interpreter: Interpreter, cache_root: Path | None = None, refresh: bool = False) -> list[LockedWheel]:
    """One wheel for each distribution the requirements need in the image; cached a day per requirements and target."""
    if not requirements:
        return []
    records = Records(cache_root, "resolutions") if cache_root else None
    key = cache_key("resolution-1", requirements, interpreter.uv_platform, interpreter.version, index_settings())
    if records and not refresh and (cached := records.get(key, max_age=RESOLUTION_TTL)) is not None:
        return [LockedWheel(**entry) for entry in cached]
    wheels = _resolve(requirements, interpreter)
    if records:
        records.put(key, [asdict(w) for w in wheels])
    return wheels


def _resolve(requirements: list[str], interpreter: Interpreter) -> list[LockedWheel]:
    command = [
        # uv wants some interpreter to start from even when told the target's version: give it ours, not a PATH search.
        _uv_binary(), "pip", "compile", "-", "--python", sys.executable, "--python-platform", interpreter.uv_platform,
        "--python-version", interpreter.version, "--only-binary", ":all:", "--format", "pylock.toml",
        "--no-header", "--quiet",
    ]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    result = subprocess.run(command, input="\n".join(requirements), capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ResolveError(_explain_uv_failure(result.stderr, interpreter))
    return parse_pylock(result.stdout)


def parse_pylock(text: str) -> list[LockedWheel]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ResolveError(f"the resolver's lock output does not parse: {exc}") from exc
    wheels = []
    for package in document.get("packages", []):
        name, version = package["name"], package.get("version", "?")
        candidates = package.get("wheels") or []
        if len(candidates) != 1:
            raise ResolveError(f"dependency {name} {version} has no single wheel for the image (found {len(candidates)})")
        wheel = candidates[0]
        url = wheel.get("url")
        sha256 = (wheel.get("hashes") or {}).get("sha256")
        if not url or not sha256:
            raise ResolveError(f"the resolver gave no URL and sha256 for the wheel of {name} {version}")
        filename = wheel.get("name") or url.rsplit("/", 1)[-1].split("#")[0]
        wheels.append(LockedWheel(canonicalize_name(name), version, url, sha256, filename))
    return wheels


def _download(client: httpx.Client, wheel: LockedWheel, wheel_dir: Path) -> Path:
    destination = wheel_dir / wheel.sha256 / wheel.filename
    if destination.is_file():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{wheel.filename}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with client.stream("GET", wheel.url) as response:
            if response.status_code != 200:
                raise ResolveError(f"downloading {wheel.filename} failed: HTTP {response.status_code}")
            with tmp.open("wb") as f:
                for chunk in response.iter_bytes(1 << 20):
                    digest.update(chunk)
                    f.write(chunk)
        if digest.hexdigest() != wheel.sha256:
            raise ResolveError(f"{wheel.filename} does not match its sha256 {wheel.sha256}: the index served other bytes")
        os.replace(tmp, destination)
    except httpx.TransportError as exc:
        raise ResolveError(f"downloading {wheel.filename} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return destination


def download(wheels: list[LockedWheel], wheel_dir: Path) -> list[Path]:
    """Each wheel's path in the cache (kept by hash), downloading those it lacks, four at a time."""
    if not wheels:
        return []
    client = httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), follow_redirects=True)
    with client, ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda w: _download(client, w, wheel_dir), wheels))
