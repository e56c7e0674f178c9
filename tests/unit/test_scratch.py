"""A build's scratch space lives under the cache and is swept of what killed builds left (issue 11 item 15)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pyjib.scratch import scratch_space, sweep

DAY = 24 * 3600


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_scratch_of_a_killed_build_is_removed_and_a_running_ones_kept(tmp_path: Path) -> None:
    dead = tmp_path / "tmp" / f"{_dead_pid()}-abc"
    (dead / "pyjib-deps-x").mkdir(parents=True)
    (dead / "pyjib-deps-x" / "big.bin").write_bytes(b"x" * 1000)
    running = tmp_path / "tmp" / f"{os.getppid()}-def"
    running.mkdir()
    now = 1_700_000_000.0  # a fixed clock: a half-written file is stale after a day
    old = tmp_path / "blobs" / "sha256" / ".incoming-old"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"half")
    os.utime(old, (now - DAY - 1, now - DAY - 1))
    fresh = old.with_name(".incoming-fresh")
    fresh.write_bytes(b"being written")
    os.utime(fresh, (now - DAY + 1, now - DAY + 1))
    record = tmp_path / "layers" / ".record-x"
    record.parent.mkdir()
    record.write_text("{")
    os.utime(record, (now - DAY - 1, now - DAY - 1))
    assert sorted(sweep(tmp_path, now=now)) == sorted([dead, old, record])
    assert running.is_dir() and fresh.is_file()


def test_temporary_files_of_a_build_go_to_its_scratch_and_are_gone_after(tmp_path: Path) -> None:
    with scratch_space(tmp_path) as scratch:
        made = Path(tempfile.mkdtemp(prefix="pyjib-deps-"))
        assert made.parent == scratch and scratch.parent == tmp_path / "tmp"
        assert scratch.name.startswith(f"{os.getpid()}-")
    assert not scratch.exists() and not made.exists()
    assert tempfile.gettempdir() != str(scratch)
