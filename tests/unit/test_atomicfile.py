"""atomicfile: a reader sees the old file or the new one, never half; a failing writer leaves the old file and no temporary."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pyjib.atomicfile import TEMP_PREFIX, replacing, staged_directory, staged_file, write_bytes, write_text
from pyjib.scratch import sweep


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "record.json"
    write_text(target, "one")
    write_text(target, "two")
    assert target.read_text() == "two"
    assert _leftovers(target.parent) == []


def test_a_failing_writer_leaves_the_old_file_intact_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "lock.json"
    write_bytes(target, b"old and whole")
    with pytest.raises(RuntimeError), replacing(target) as file:
        file.write(b"half of the new")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"old and whole"
    assert _leftovers(tmp_path) == []


def test_a_staged_file_gets_its_name_at_the_end_and_vanishes_when_not_committed(tmp_path: Path) -> None:
    with staged_file(tmp_path) as staged:
        staged.file.write(b"blob")
        assert staged.path.parent == tmp_path and staged.path.name.startswith(TEMP_PREFIX)
        staged.commit(tmp_path / "named-by-digest")
    assert (tmp_path / "named-by-digest").read_bytes() == b"blob"
    with staged_file(tmp_path) as staged:
        staged.file.write(b"refused: wrong digest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["named-by-digest"]


def test_permissions_are_tempfiles_private_mode_unless_given(tmp_path: Path) -> None:
    write_text(tmp_path / "private", "x")
    write_text(tmp_path / "shared", "x", permissions=0o644)
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o644


def test_concurrent_writers_and_a_reader_never_see_half_a_file(tmp_path: Path) -> None:
    target = tmp_path / "shared.bin"
    contents = [bytes([n]) * 256_000 for n in range(4)]  # big enough that a torn write would show
    write_bytes(target, contents[0])
    done = threading.Event()
    seen: set[bytes] = set()
    torn: list[int] = []

    def write(data: bytes) -> None:
        for _ in range(25):
            write_bytes(target, data)

    def read() -> None:
        while not done.is_set():
            data = target.read_bytes()
            if data in contents:
                seen.add(data[:1])
            else:
                torn.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(data,)) for data in contents]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    reader.join()
    assert torn == []
    assert seen  # the reader did read, so torn == [] says something
    assert target.read_bytes() in contents
    assert _leftovers(tmp_path) == []


def test_a_staged_directory_is_renamed_into_place_and_the_first_one_stands(tmp_path: Path) -> None:
    final = tmp_path / "built-wheels" / "key"
    with staged_directory(final) as staging:
        assert not final.exists()  # nothing is visible under the final name while it is being filled
        (staging / "a-1-py3-none-any.whl").write_bytes(b"first")
    assert (final / "a-1-py3-none-any.whl").read_bytes() == b"first"
    with staged_directory(final) as staging:  # a concurrent build that finished second
        (staging / "a-1-py3-none-any.whl").write_bytes(b"second")
    assert (final / "a-1-py3-none-any.whl").read_bytes() == b"first"
    assert _leftovers(final.parent) == []


def test_a_failing_directory_writer_leaves_nothing(tmp_path: Path) -> None:
    final = tmp_path / "project-wheels" / "key"
    with pytest.raises(RuntimeError), staged_directory(final) as staging:
        (staging / "half.whl").write_bytes(b"half")
        raise RuntimeError("the backend failed")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []


def test_sweep_removes_stale_staged_files_and_folders_and_keeps_fresh_ones(tmp_path: Path) -> None:
    stale_file = tmp_path / "layers" / f"{TEMP_PREFIX}old"
    stale_blob = tmp_path / "blobs" / "sha256" / f"{TEMP_PREFIX}old"
    stale_folder = tmp_path / "built-wheels" / f"{TEMP_PREFIX}dir"
    fresh = tmp_path / "layers" / f"{TEMP_PREFIX}fresh"
    for path in (stale_file, stale_blob, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    stale_folder.mkdir(parents=True)
    (stale_folder / "x.whl").write_bytes(b"half")
    day_and_more = time.time() - 2 * 24 * 3600
    for path in (stale_file, stale_blob, stale_folder):
        os.utime(path, (day_and_more, day_and_more))
    assert sorted(sweep(tmp_path)) == sorted([stale_file, stale_blob, stale_folder])
    assert fresh.exists() and not stale_folder.exists()
