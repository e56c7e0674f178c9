"""The lock source of a found lock, whatever its format; every reader ends in the same PEP 751 path."""

from __future__ import annotations

from .core import FoundLock, LockSource


def open_lock(found: FoundLock) -> LockSource:
    """The reader of found's format. Each is imported when its format is met: a build pays at start-up for none of them
    (the warm paths are mostly interpreter start and imports), and for one at most."""
    if found.format == "uv":
        from .uvlock import UvLockSource

        return UvLockSource(found)
    if found.format == "poetry":
        from .poetry import PoetryLockSource

        return PoetryLockSource(found.path)
    if found.format == "pdm":
        from .pdm import PdmLockSource

        return PdmLockSource(found.path)
    if found.format == "pylock":
        from .pylock import PylockSource

        return PylockSource(found.path)
    from .requirements import RequirementsSource

    return RequirementsSource(found.path)
