import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

from pyjib.layer import FILE_MTIME, Ownership, tree_layer


def _tree(root: Path, mtime: int, file_mode: int) -> Path:
    (root / "app" / "pkg" / "sub").mkdir(parents=True)
    (root / "app" / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "app" / "pkg" / "sub" / "data.txt").write_text("data\n")
    (root / "app" / "tool").write_text("#!/bin/sh\n")
    os.chmod(root / "app" / "tool", 0o775)
    os.symlink("pkg/__init__.py", root / "app" / "link")
    os.link(root / "app" / "pkg" / "__init__.py", root / "app" / "hardlink.py")
    for path in [*root.rglob("*")]:
        if path.is_file() and not path.is_symlink() and path.name != "tool":
            os.chmod(path, file_mode)
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root


def test_same_tree_with_other_times_modes_and_umask_gives_same_bytes(tmp_path: Path) -> None:
    one = tree_layer(_tree(tmp_path / "one", 1_000, 0o644), tmp_path / "blobs1")
    old = os.umask(0o077)
    try:
        two = tree_layer(_tree(tmp_path / "two", 2_000_000_000, 0o600), tmp_path / "blobs2")
    finally:
        os.umask(old)
    assert one.digest == two.digest and one.diff_id == two.diff_id
    assert one.path.read_bytes() == two.path.read_bytes()


def test_digests_sizes_and_entries(tmp_path: Path) -> None:
    layer = tree_layer(_tree(tmp_path / "t", 5, 0o644), tmp_path / "blobs")
    blob = layer.path.read_bytes()
    assert layer.digest == "sha256:" + hashlib.sha256(blob).hexdigest() and layer.size == len(blob)
    assert layer.path.name == layer.digest.split(":")[1]
    raw = gzip.decompress(blob)
    assert layer.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert blob[3] == 0 and blob[4:8] == b"\0\0\0\0"  # gzip: no FNAME flag, no mtime
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == ["app", "app/hardlink.py", "app/link", "app/pkg", "app/pkg/__init__.py", "app/pkg/sub", "app/pkg/sub/data.txt", "app/tool"]
    by_name = {m.name: m for m in members}
    assert all(m.mtime == FILE_MTIME and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
    assert by_name["app/hardlink.py"].isreg()  # hardlinks are stored as plain files
    assert by_name["app/link"].issym() and by_name["app/link"].linkname == "pkg/__init__.py"
    assert by_name["app/tool"].mode == 0o755 and by_name["app/pkg/__init__.py"].mode == 0o644 and by_name["app"].mode == 0o755


def test_ownership_overrides(tmp_path: Path) -> None:
    (tmp_path / "root" / "tmp").mkdir(parents=True)
    layer = tree_layer(tmp_path / "root", tmp_path / "blobs", ownership={"tmp": Ownership(0o1777, 0, 0)})
    with tarfile.open(layer.path) as tar:
        assert tar.getmember("tmp").mode == 0o1777


def test_content_change_changes_digest(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / "f").write_text("a")
    first = tree_layer(root, tmp_path / "b")
    (root / "f").write_text("b")
    assert tree_layer(root, tmp_path / "b").digest != first.digest


def test_zstd_layers_are_reproducible_and_their_diff_id_is_the_tar(tmp_path: Path) -> None:
    import zstandard

    from pyjib.layer import Compression

    zstd = Compression("zstd")
    one = tree_layer(_tree(tmp_path / "one", 1_000, 0o644), tmp_path / "b1", compression=zstd)
    two = tree_layer(_tree(tmp_path / "two", 9_000, 0o640), tmp_path / "b2", compression=zstd)
    assert one.digest == two.digest and one.media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(one.path.read_bytes())
    assert one.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    gz = tree_layer(_tree(tmp_path / "three", 1_000, 0o644), tmp_path / "b3")
    assert gz.diff_id == one.diff_id and gz.digest != one.digest  # same files, other compression
