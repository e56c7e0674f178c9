"""Errors a user acts on: one line each, exit code 2, and someone else's text made fit for that line."""

from __future__ import annotations

from pathlib import Path

from pyjib.errors import PyjibError, cache_damaged, one_line


def test_one_line_collapses_whitespace_and_cuts_at_the_limit() -> None:
    assert one_line("  blob\tunknown\n\n  to registry  ") == "blob unknown to registry"
    cut = one_line("x" * 300, limit=50)
    assert len(cut) == 50 and cut.endswith("…") and cut[:49] == "x" * 49
    assert one_line("y" * 50, limit=50) == "y" * 50


def test_a_damaged_cache_blob_is_removed_and_the_error_says_how_to_recover(tmp_path: Path) -> None:
    blob = tmp_path / "blobs" / "sha256" / "ab"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"flipped bits")
    error = cache_damaged(blob, "sha256:ab")
    assert not blob.exists()
    assert isinstance(error, PyjibError) and error.exit_code == 2
    assert str(blob) in str(error) and "run the build again" in str(error) and "\n" not in str(error)
    assert isinstance(cache_damaged(blob, "sha256:ab"), PyjibError)  # already gone: still the error, no crash
