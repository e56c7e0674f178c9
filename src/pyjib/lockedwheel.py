"""One wheel the image installs, as a resolution or a lock pins it: where it is fetched from, its hash, where it came from.

Plain data, beside no I/O: the lock readers, the layer grouping, the SBOM and the fleet cache all speak it, and
importing it loads neither the HTTP client nor the build machinery that fetch and build wheels (resolve.py does).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockedWheel:
    name: str
    version: str
    url: str  # https://, or file:// for a local index or a wheel pyjib built from source
    sha256: str
    filename: str
    source: str = "index"  # "index" (a wheel of a release), "sdist" (built from a release's sdist), "local" (a folder) or "vcs"
    origin: str = ""  # for a wheel built here: the sdist's URL, or git+URL@COMMIT (without credentials); "" for a folder
