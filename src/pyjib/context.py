"""What one build shares from start to end: its settings, where dependencies come from, the caches, the registry
clients, the log, and the two choices a front end makes (resolve again; consult a fleet cache). Made once by
builder.build_image and passed down whole, so a step that needs one more of them does not widen every signature."""

from __future__ import annotations

from dataclasses import dataclass, field

from .cache import BlobCache
from .constraints import Constraints
from .indexes import IndexConfig
from .locks.core import FoundLock
from .log import Log
from .oci.digest import sha256_file
from .reference import Reference
from .registry import ClientPool
from .settings import Settings
from .wheelbuild import project_fingerprint
from .workspace import UvSources


@dataclass(frozen=True)
class Sources:
    """Where dependencies come from, settled once per build: the indexes, the lock file if the project has one, and
    its [tool.uv.sources] (workspace siblings, folders, git)."""

    indexes: IndexConfig
    lock: FoundLock | None
    uv_sources: UvSources = field(default_factory=UvSources)
    constraints: Constraints = field(default_factory=Constraints)  # for a fresh resolution; a lock pins exactly

    def identity(self) -> list[object]:
        lock_digest = sha256_file(self.lock.path) if self.lock else None
        folders = [f"{folder}={project_fingerprint(folder)}" for folder in self.uv_sources.local_folders() if folder.is_dir()]
        return [self.indexes.cache_identity(), lock_digest, folders, self.constraints.identity()]


@dataclass(frozen=True)
class BuildContext:
    settings: Settings
    sources: Sources
    cache: BlobCache
    clients: ClientPool
    log: Log
    refresh: bool = False  # resolve again instead of reusing a cached resolution or fleet record
    fleet: Reference | None = None  # the repository whose fleet cache record is consulted when local caches miss
