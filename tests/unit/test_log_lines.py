"""Lines from parallel uploads come out whole (issue 11 item 16): one writer, one line at a time."""

from __future__ import annotations

import re
import threading
import time

from pyjib.log import Log
from pyjib.progress import Progress


class SlowStream:
    """A CI log that takes its time with each write, so threads would slip in between a line and its newline."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        time.sleep(0.0002)
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_parallel_blob_lines_never_run_together() -> None:
    stream = SlowStream()
    progress = Progress(Log(stream=stream), stream=stream)  # type: ignore[arg-type]

    def upload(worker: int) -> None:
        for n in range(25):
            progress.blob(f"sha256:{worker:02d}{n:02d}", 1000).finish("pushed")

    threads = [threading.Thread(target=upload, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    lines = "".join(stream.parts).splitlines()
    assert len(lines) == 200
    assert all(re.fullmatch(r"pyjib \[ *\d+\.\ds\] pushed sha256:\d{4} \(1\.0 kB\)", line) for line in lines), lines[:5]
