"""Thread pools that let Ctrl-C through: an interrupted build does not wait for its uploads, downloads or compressions.

ThreadPoolExecutor's own `with` waits for every running task on the way out, so a KeyboardInterrupt in the main thread
would sit behind an upload stuck on a silent registry for minutes. These pools stop taking work and leave at once; the
CLI then ends the process (cli.py), and the next build sweeps what was left (scratch.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor


@contextlib.contextmanager
def worker_pool(max_workers: int) -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=max_workers)
    try:
        yield pool
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
