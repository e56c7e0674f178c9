"""Lock files: install exactly what the project pinned (pylock.toml, uv.lock, requirements with hashes), or write one.

A lock names distributions and their files' hashes; pyjib picks, for each distribution that applies in the image (its
marker evaluated for the image), the wheel the image's interpreter prefers, and refuses any file whose hash differs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .errors import ResolveError
from .indexes import without_credentials
from .interpreter import Interpreter
from .resolve import LockedWheel, target_environment
from .uvtool import uv_binary
from .wheelchoice import best_wheel, filename_of

LOCK_NAMES = ("pylock.toml", "uv.lock", "requirements.txt")


def find_lock(project_dir: Path, explicit: str | None) -> Path | None:
    """The lock to honour: the lock-file option, else pylock.toml, uv.lock, or a requirements.txt that carries hashes."""
    if explicit:
        path = (project_dir / explicit) if not Path(explicit).is_absolute() else Path(explicit)
        if not path.is_file():
            raise ResolveError(f"lock-file {explicit} does not exist")
        return path
    for name in LOCK_NAMES:
        path = project_dir / name
        if path.is_file() and (name != "requirements.txt" or "--hash=" in path.read_text(encoding="utf-8")):
            return path
    return None


def _applies(marker_text: str | None, interpreter: Interpreter, where: str) -> bool:
    if not marker_text:
        return True
    try:
        return Marker(marker_text).evaluate({**target_environment(interpreter), "extra": ""})
    except InvalidMarker as exc:
        raise ResolveError(f"{where}: bad marker {marker_text!r}: {exc}") from exc


def _best_wheel(name: str, wheels: list[dict[str, Any]], interpreter: Interpreter, where: str) -> dict[str, Any]:
    candidates = {wheel.get("name") or filename_of(str(wheel.get("url") or wheel.get("path") or "")): wheel for wheel in wheels}
    chosen = best_wheel(candidates, interpreter)
    if chosen is None:
        raise ResolveError(f"{where} pins {name}, which has no wheel for Python {interpreter.version} on {interpreter.platform}; "
                           "update the lock for this platform or choose another base")
    return {**candidates[chosen], "name": chosen}


def from_pylock(document: dict[str, Any], interpreter: Interpreter, where: str, base: Path) -> list[LockedWheel]:
    out = []
    for package in document.get("packages", []):
        name, version = canonicalize_name(package["name"]), str(package.get("version", "0"))
        if not _applies(package.get("marker"), interpreter, where):
            continue
        if not package.get("wheels"):
            if package.get("directory") or package.get("vcs") or package.get("sdist"):
                raise ResolveError(f"{where} pins {name} as a source, not a wheel; pyjib installs locked wheels only: lock a wheel for it")
            continue  # the project itself, listed without files
        wheel = _best_wheel(name, package["wheels"], interpreter, where)
        sha256 = (wheel.get("hashes") or {}).get("sha256")
        if not sha256:
            raise ResolveError(f"{where} gives no sha256 for {wheel['name']}; a lock must pin every file's hash")
        # Credentials in a lock's URLs stay out of pyjib's records; downloads find them in the index settings.
        url = without_credentials(wheel.get("url") or "") or (base / wheel["path"]).resolve().as_uri()
        out.append(LockedWheel(name, version, url, sha256, wheel["name"]))
    return out


def _from_uv_lock(path: Path, interpreter: Interpreter) -> list[LockedWheel]:
    """uv.lock through `uv export`, which renders it as PEP 751 for every platform; pyjib then picks the image's wheels."""
    result = subprocess.run(
        [uv_binary(), "export", "--frozen", "--format", "pylock.toml", "--no-emit-project", "--no-dev", "--no-header", "--quiet",
         "--python", sys.executable],
        cwd=path.parent, capture_output=True, text=True,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise ResolveError(f"cannot read {path}: {lines[-1] if lines else 'uv export failed'}")
    return from_pylock(tomllib.loads(result.stdout), interpreter, str(path), path.parent)


def _requirement_lines(text: str) -> Iterable[str]:
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            yield line


def pinned_requirements(path: Path, interpreter: Interpreter) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, allowed sha256s) for every line of a hashed requirements file that applies in the image."""
    pins: dict[str, tuple[str, set[str]]] = {}
    for line in _requirement_lines(path.read_text(encoding="utf-8")):
        hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        spec = re.sub(r"\s*--hash=\S+", "", line).strip()
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise ResolveError(f"{path}: {spec!r} does not parse: {exc}") from exc
        if requirement.marker is not None and not requirement.marker.evaluate({**target_environment(interpreter), "extra": ""}):
            continue
        pinned = [s.version for s in requirement.specifier if s.operator == "=="]
        if len(pinned) != 1 or not hashes:
            raise ResolveError(f"{path}: {requirement.name} must be pinned with == and carry --hash=sha256:..., as pip's --require-hashes demands")
        pins[canonicalize_name(requirement.name)] = (pinned[0], hashes)
    return pins


def read_lock(path: Path, interpreter: Interpreter) -> list[LockedWheel] | dict[str, tuple[str, set[str]]]:
    """Locked wheels (pylock.toml, uv.lock), or pins with hashes that still need a wheel chosen (requirements.txt)."""
    if path.name == "uv.lock":
        return _from_uv_lock(path, interpreter)
    if path.suffix == ".toml":
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ResolveError(f"{path} is not valid TOML: {exc}") from exc
        return from_pylock(document, interpreter, str(path), path.parent)
    return pinned_requirements(path, interpreter)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_pylock(path: Path, wheels: Sequence[LockedWheel]) -> list[str]:
    """A PEP 751 lock of the wheels pyjib installed from indexes, one entry per distribution, every platform's wheel listed.

    Wheels pyjib built itself (from an sdist, a folder or a VCS checkout) live only in this machine's cache, so they are
    left out; their names are returned so the caller can say so.
    """
    by_name: dict[tuple[str, str], dict[str, LockedWheel]] = {}
    left_out = sorted({w.name for w in wheels if w.source != "index"})
    for wheel in (w for w in wheels if w.source == "index"):
        by_name.setdefault((wheel.name, wheel.version), {})[wheel.sha256] = wheel
    lines = ['lock-version = "1.0"', 'created-by = "pyjib"', ""]
    for (name, version), files in sorted(by_name.items()):
        lines += ["[[packages]]", f"name = {_toml_string(name)}", f"version = {_toml_string(version)}", "wheels = ["]
        for wheel in sorted(files.values(), key=lambda w: w.filename):
            lines.append(f"  {{ name = {_toml_string(wheel.filename)}, url = {_toml_string(wheel.url)}, "
                         f"hashes = {{ sha256 = {_toml_string(wheel.sha256)} }} }},")
        lines += ["]", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return left_out
