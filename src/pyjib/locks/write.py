"""--write-lock: what a build installed from indexes, as a PEP 751 pylock.toml the next build can pin."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..lockedwheel import LockedWheel


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
