import gzip
import io
import multiprocessing
import random
import struct
import subprocess
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pyjib.layer import tree_layer
from pyjib.parallelgzip import CHUNK_SIZE, ParallelGzipWriter

SMALL_CHUNK = 64 * 1024  # many pieces from a few hundred KB keeps these tests fast


def _data(size: int, seed: int = 7) -> bytes:
    """Compressible but not trivial: words drawn at random, with some random bytes between them."""
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"abcdefghijklmnop_(): ", k=rng.randint(2, 12))) for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) if rng.random() < 0.9 else rng.randbytes(rng.randint(1, 40))
    return bytes(out[:size])


def _reference(data: bytes, level: int, chunk_size: int) -> bytes:
    """The scheme written out plainly, one piece after the other on this thread."""
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    xfl = b"\x02" if level == 9 else b"\x04" if level == 1 else b"\x00"
    out = b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + xfl + b"\xff"
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        if index:
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, 0, zdict=pieces[index - 1][-32768:])
        else:
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, 0)
        out += compressor.compress(piece) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return out + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _parallel(data: bytes, level: int, threads: int, chunk_size: int = SMALL_CHUNK, write_size: int = 10240,
              in_flight: int | None = None) -> bytes:
    out = io.BytesIO()
    with ThreadPoolExecutor(threads) as pool:
        writer = ParallelGzipWriter(out, level, pool=pool, chunk_size=chunk_size, in_flight=in_flight)
        for start in range(0, len(data), write_size):
            writer.write(data[start:start + write_size])
        writer.close()
    return out.getvalue()


def _gzipfile(data: bytes, level: int, write_size: int = 10240) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=out, mtime=0) as gz:
        for start in range(0, len(data), write_size):
            gz.write(data[start:start + write_size])
    return out.getvalue()


@pytest.mark.parametrize("level", [1, 6, 9])
def test_bytes_do_not_depend_on_threads_or_how_the_stream_is_written(level: int) -> None:
    data = _data(SMALL_CHUNK * 9 + 1234)
    expected = _reference(data, level, SMALL_CHUNK)
    assert _parallel(data, level, threads=1) == expected
    assert _parallel(data, level, threads=4) == expected
    assert _parallel(data, level, threads=4, write_size=SMALL_CHUNK * 3 + 17, in_flight=1) == expected
    assert gzip.decompress(expected) == data


def test_the_pieces_are_one_stream_that_matches_across_the_cuts() -> None:
    data = _data(SMALL_CHUNK * 6)
    blob = _parallel(data, 6, threads=2)
    assert gzip.decompress(blob) == data
    # one member: a reader that stops at the first member's end sees everything
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decompressor.decompress(blob) == data and decompressor.eof and decompressor.unused_data == b""
    # the dictionary keeps the ratio: within 1% of one stream compressed whole
    assert len(blob) < len(_gzipfile(data, 6)) * 1.01


@pytest.mark.parametrize("size", [0, 1, 5000, SMALL_CHUNK - 1, SMALL_CHUNK])
def test_a_stream_of_at_most_one_piece_is_gzipfiles_bytes(size: int) -> None:
    data = _data(size)
    assert _parallel(data, 6, threads=2) == _gzipfile(data, 6) == _gzipfile(data, 6, write_size=size or 1)


def test_one_byte_over_a_piece_is_two_pieces() -> None:
    data = _data(SMALL_CHUNK + 1)
    blob = _parallel(data, 6, threads=2)
    assert blob == _reference(data, 6, SMALL_CHUNK) != _gzipfile(data, 6)
    assert gzip.decompress(blob) == data


def test_a_big_layer_is_read_by_gzip_and_tar(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    for index in range(3):
        (tree / "pkg" / f"blob{index}.bin").write_bytes(_data(CHUNK_SIZE + 300_000, seed=index))
    layer = tree_layer(tree, tmp_path / "blobs")
    with tarfile.open(layer.path) as tar:
        assert sorted(tar.getnames()) == ["pkg", "pkg/blob0.bin", "pkg/blob1.bin", "pkg/blob2.bin"]
        assert tar.extractfile("pkg/blob1.bin").read() == _data(CHUNK_SIZE + 300_000, seed=1)  # type: ignore[union-attr]
    raw = gzip.decompress(layer.path.read_bytes())
    assert len(raw) > 3 * CHUNK_SIZE
    assert layer.path.read_bytes() == _reference(raw, 6, CHUNK_SIZE)
    subprocess.run(["gzip", "-t", str(layer.path)], check=True)  # GNU gzip and tar read it too
    listed = subprocess.run(["tar", "-tzf", str(layer.path)], check=True, capture_output=True, text=True).stdout.split()
    assert sorted(listed) == ["pkg/", "pkg/blob0.bin", "pkg/blob1.bin", "pkg/blob2.bin"]
    again = tree_layer(tree, tmp_path / "blobs2")
    assert again.digest == layer.digest and again.diff_id == layer.diff_id


def test_a_failed_layer_writes_nothing_more() -> None:
    out = io.BytesIO()
    with ThreadPoolExecutor(2) as pool:
        writer = ParallelGzipWriter(out, 6, pool=pool, chunk_size=SMALL_CHUNK)
        writer.write(_data(SMALL_CHUNK * 3))
        written = out.tell()
        writer.abandon()
        writer.close()
    assert out.tell() == written
    with pytest.raises(ValueError):
        writer.write(b"more")


def _shared_pool_gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    writer = ParallelGzipWriter(out, 6, chunk_size=SMALL_CHUNK)  # the process's shared pool
    writer.write(data)
    writer.close()
    return out.getvalue()


def test_a_forked_child_compresses_on_a_pool_of_its_own() -> None:
    data = _data(SMALL_CHUNK * 5)
    in_parent = _shared_pool_gzip(data)  # the parent's pool threads now exist; a fork does not copy them
    with multiprocessing.get_context("fork").Pool(1) as pool:
        in_child = pool.apply_async(_shared_pool_gzip, (data,)).get(timeout=60)
    assert in_child == in_parent == _reference(data, 6, SMALL_CHUNK)
