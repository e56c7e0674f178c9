"""The wheels a found lock pins for the image, whatever its format; every reader ends in the same PEP 751 path."""

from __future__ import annotations

from ..errors import ConfigError
from ..lockedwheel import LockedWheel
from ..settings import read_pyproject
from .core import FoundLock, LockRequest


def read_lock(found: FoundLock, request: LockRequest) -> list[LockedWheel]:
    if request.groups and found.format in ("pylock", "requirements"):
        raise ConfigError(f"groups {', '.join(request.groups)} cannot be taken from {found.path.name}, which records no dependency "
                          "groups; lock them in, or use uv.lock, poetry.lock or pdm.lock")
    # Each reader is imported when its format is met: a build pays at start-up for none of them (the warm paths are
    # mostly interpreter start and imports), and for one at most.
    if found.format == "uv":
        from .uvlock import read_uv_lock

        return read_uv_lock(found, request)
    if found.format == "poetry":
        from .poetry import read_poetry_lock

        return read_poetry_lock(found.path, request, _pyproject(request))
    if found.format == "pdm":
        from .pdm import read_pdm_lock

        return read_pdm_lock(found.path, request, _pyproject(request))
    if found.format == "pylock":
        from .pylock import read_pylock

        return read_pylock(found.path, request)
    from .requirements import read_requirements

    return read_requirements(found.path, request)


def _pyproject(request: LockRequest) -> dict[str, object]:
    return read_pyproject(request.project_dir) if (request.project_dir / "pyproject.toml").is_file() else {}
