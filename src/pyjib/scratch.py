"""Scratch space for one build, under the cache rather than /tmp, swept of what killed builds left.

Every temporary folder a build makes (its own, the PEP 517 machinery's, uv's and the backends', through TMPDIR) lives
in CACHE/tmp/PID-XXXX while the build runs and is removed at its end. A build that was killed cannot remove its own, so
each build first removes the folders whose process is gone. It also means a pod whose only writable volume is the
cache can build (no writable /tmp needed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .atomicfile import TEMP_PREFIX
from .cachelayout import BLOBS, SCRATCH

_STALE_TEMP_FILE_S = 24 * 3600  # a half-written cache file older than this belongs to no running build
# Where half-written files and folders sit: beside their final names, one or two folders deep (atomicfile.py names
# them); and the names pyjib gave them before it had one scheme.
_HALF_WRITTEN = (f"*/{TEMP_PREFIX}*", f"*/*/{TEMP_PREFIX}*", f"{BLOBS}/.incoming-*", f"{BLOBS}/.layer-*", "*/.record-*")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep(cache_root: Path, now: float | None = None) -> list[Path]:
    """Remove the scratch folders of builds that are no longer running, and half-written cache files older than a day at
    now (epoch seconds; the clock's by default); what was removed."""
    removed = []
    root = cache_root / SCRATCH
    for folder in root.glob("*-*") if root.is_dir() else []:
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    now = time.time() if now is None else now
    for pattern in _HALF_WRITTEN:
        for leftover in cache_root.glob(pattern):
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > _STALE_TEMP_FILE_S:
                    if leftover.is_dir():  # a staged folder (a wheel's) that was never renamed into place
                        shutil.rmtree(leftover)
                    else:
                        leftover.unlink()
                    removed.append(leftover)
    return removed


@contextlib.contextmanager
def scratch_space(cache_root: Path) -> Iterator[Path]:
    """A scratch folder for this build that tempfile (and, through TMPDIR, every child process) uses until the end."""
    sweep(cache_root)
    (cache_root / SCRATCH).mkdir(parents=True, exist_ok=True)
    mine = Path(tempfile.mkdtemp(dir=cache_root / SCRATCH, prefix=f"{os.getpid()}-"))
    previous = tempfile.tempdir
    tempfile.tempdir = str(mine)
    try:
        yield mine
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(mine, ignore_errors=True)
