"""Files and folders put into place whole, for a cache that concurrent builds share.

Each is written under a unique temporary name in its final folder (the same file system, so the rename is atomic), then
renamed over the final name: a reader sees the old file or the new one, never half of one, and a writer that fails
leaves the old file as it was and no temporary behind. Nothing is fsynced: after a crash the cache's readers check
what they read (digests, record versions) and build again, as they always have. Every temporary name starts with
TEMP_PREFIX, which scratch.sweep uses to remove what a killed build left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".pyjib-partial-"


class StagedFile:
    """A file being written under a temporary name in the folder it is meant for; commit() puts it into place."""

    def __init__(self, path: Path, file: BinaryIO, permissions: int | None) -> None:
        self.path = path
        self.file = file
        self._permissions = permissions

    def commit(self, final: Path) -> None:
        """Close the file and rename it to final (in the same folder), replacing what final was."""
        self.file.close()
        if self._permissions is not None:
            os.chmod(self.path, self._permissions)
        os.replace(self.path, final)


@contextlib.contextmanager
def staged_file(folder: Path, permissions: int | None = None) -> Iterator[StagedFile]:
    """A new file in folder, open for binary writing, for a writer that learns the final name only at the end (a blob
    named by its digest). Not committed by the end of the block (the writer raised, say), it is removed.
    permissions: the final file's mode; by default 0600, as tempfile makes it."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    staged = StagedFile(Path(name), os.fdopen(descriptor, "wb"), permissions)
    try:
        yield staged
    finally:
        staged.file.close()
        staged.path.unlink(missing_ok=True)  # gone already when it was committed


@contextlib.contextmanager
def replacing(path: Path, permissions: int | None = None) -> Iterator[BinaryIO]:
    """A file to write path's new bytes to: path is replaced when the block ends, and left as it was if it raises."""
    with staged_file(path.parent, permissions) as staged:
        yield staged.file
        staged.commit(path)


def write_bytes(path: Path, data: bytes, permissions: int | None = None) -> None:
    with replacing(path, permissions) as file:
        file.write(data)


def write_text(path: Path, text: str, permissions: int | None = None) -> None:
    write_bytes(path, text.encode("utf-8"), permissions)


@contextlib.contextmanager
def staged_directory(final: Path) -> Iterator[Path]:
    """A new empty folder beside final, renamed to final when the block ends without an error; removed when it raises.
    When final is there already (another build put the same result there first) it is kept and this one dropped."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=TEMP_PREFIX))
    staging.chmod(0o755)  # a folder of the cache like any other, not mkdtemp's private 0700
    try:
        yield staging
        with contextlib.suppress(OSError):  # a rename onto a folder that holds something fails: the first result stands
            os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
