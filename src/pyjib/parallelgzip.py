"""One gzip member compressed on every core, with bytes that depend only on the input, the level and CHUNK_SIZE.

The stream is cut into CHUNK_SIZE pieces (the last one 1 to CHUNK_SIZE bytes long). Each piece is compressed on its own
as raw deflate at the same level, primed with the previous piece's last 32 KiB as its dictionary, so matches reach
back across the cut as in one stream; every piece but the last ends with a sync flush (byte-aligned, not final), the
last with a finish, and the pieces, written in order, are one deflate stream. zlib releases the GIL while it
compresses, so threads compress pieces in parallel; which thread compressed a piece, and when, never shows in its bytes.

A stream of at most CHUNK_SIZE bytes is one piece without a dictionary, compressed and finished like gzip.GzipFile
does it, behind the same header (no name, mtime 0, XFL by level, OS 255): its bytes are GzipFile's.
"""

from __future__ import annotations

import collections
import os
import struct
import threading
import zlib
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import IO, Protocol

# 1 MiB: compressing it at level 6 takes ~40 ms on one core here, long enough that handing it to a thread costs
# nothing measurable, and a cut costs ~5 bytes of sync marker a MiB (the dictionary keeps the ratio). Small enough that
# a few pieces in flight per layer stay a few MiB of memory, and that a 10 MB layer still spreads over the cores. Every
# layer whose tar is at most 1 MiB (the environment, most applications) keeps the bytes GzipFile gave it.
# Part of every gzip layer's bytes: changing it changes their digests (bump LAYER_RECIPE).
CHUNK_SIZE = 1 << 20
WINDOW = 32 * 1024  # deflate's window: what a match may reach back to, so all of the dictionary that can matter
# The tar of a layer is written by one Python thread at ~100 MB/s, which feeds about four cores of gzip-6 (~26 MB/s
# each); two layers pack at once, so more threads than 8 would wait. The cap also bounds memory on a many-core machine:
# each layer holds at most MAX_THREADS + 2 pieces (~2.5 MiB each with their copies and output), ~25 MiB.
MAX_THREADS = 8
_GZIP_MAGIC_METHOD_FLAGS_MTIME = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
_OS_UNKNOWN = b"\xff"  # GzipFile's OS byte


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def gzip_header(level: int) -> bytes:
    """GzipFile's header with no name and mtime 0: XFL 2 for the best level, 4 for the fastest, else 0."""
    xfl = b"\x02" if level == 9 else b"\x04" if level == 1 else b"\x00"
    return _GZIP_MAGIC_METHOD_FLAGS_MTIME + xfl + _OS_UNKNOWN


def compress_piece(piece: bytes, dictionary: bytes, level: int, last: bool) -> bytes:
    """One piece as raw deflate, primed with dictionary (empty for the first), ended by a sync flush or, last, a finish."""
    if dictionary:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0, zdict=dictionary)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
    return compressor.compress(piece) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def cores() -> int:
    """The cores this process may run on (its affinity, which a container's CPU set limits), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads() -> int:
    return min(cores(), MAX_THREADS)


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads do not exist there, so the pool would take pieces and never
    compress them (a build in a multiprocessing 'fork' worker hung): the child starts a pool of its own."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def shared_pool() -> Executor:
    """One pool of one thread a core (at most MAX_THREADS) for every layer the process compresses: layers compressing
    at once share the cores piece by piece, in the order their pieces come, instead of each starting threads of its own."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="pyjib-gzip")
        return _pool


class ParallelGzipWriter:
    """A write-only file object: what is written to it goes to sink as one gzip member, compressed on pool's threads.

    At most `in_flight` pieces are waiting or being compressed at once (each CHUNK_SIZE bytes of input and its
    output), so memory stays a few MiB whatever the stream's size; write() blocks on the oldest piece when they are all taken.
    """

    def __init__(self, sink: _Sink | IO[bytes], level: int, *, pool: Executor | None = None,
                 chunk_size: int = CHUNK_SIZE, in_flight: int | None = None) -> None:
        self._sink = sink
        self._level = level
        self._pool = pool or shared_pool()
        self._chunk_size = chunk_size
        self._in_flight = in_flight or _threads() + 2
        self._pending: collections.deque[Future[bytes]] = collections.deque()
        self._buffer = bytearray()
        self._dictionary = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        sink.write(gzip_header(level))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed ParallelGzipWriter")
        self._buffer += data
        # A piece leaves only when more follows it, so the last piece (1 to chunk_size bytes) is known at close.
        while len(self._buffer) > self._chunk_size:
            piece = bytes(self._buffer[: self._chunk_size])
            del self._buffer[: self._chunk_size]
            self._submit(piece, last=False)
        return len(data)

    def _submit(self, piece: bytes, *, last: bool) -> None:
        self._crc = zlib.crc32(piece, self._crc)
        self._size += len(piece)
        self._pending.append(self._pool.submit(compress_piece, piece, self._dictionary, self._level, last))
        self._dictionary = piece[-WINDOW:]
        while len(self._pending) >= self._in_flight:
            self._sink.write(self._pending.popleft().result())

    def flush(self) -> None:
        """Nothing to do: a piece is cut only by its size, never by a flush, so the bytes do not depend on flushes."""

    def close(self) -> None:
        """Compress what is left as the last piece, write every piece in order, then the CRC-32 and size trailer."""
        if self._closed:
            return
        self._closed = True
        self._submit(bytes(self._buffer), last=True)
        self._buffer = bytearray()
        while self._pending:
            self._sink.write(self._pending.popleft().result())
        self._sink.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))

    def abandon(self) -> None:
        """Drop the pieces still waiting (the layer failed): nothing more is written."""
        self._closed = True
        for future in self._pending:
            future.cancel()
        self._pending.clear()
