"""Upload progress on stderr: a live bar per blob on a terminal, one line per blob otherwise, nothing when quiet."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from .log import Log

_REDRAW_S = 0.1  # at most ten redraws a second: a terminal is slower than loopback
_BAR = 24


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


class Progress:
    """Shared by the parallel uploads of one push; each blob gets a BlobProgress."""

    def __init__(self, log: Log, stream: TextIO | None = None, terminal: bool | None = None) -> None:
        self.log = log
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self._lock = threading.Lock()
        self._active: list[BlobProgress] = []
        self._drawn = 0  # lines of bars below the cursor's line, to erase on the next redraw
        self._last_draw = 0.0

    def blob(self, name: str, size: int) -> BlobProgress:
        bar = BlobProgress(self, name, size)
        if self.terminal and not self.log.quiet:
            with self._lock:
                self._active.append(bar)
                self._redraw(force=True)
        return bar

    def close(self) -> None:
        """Erase the bars still drawn (after a failure), so the error line is not buried under them."""
        if self.terminal and not self.log.quiet:
            with self._lock:
                self._active.clear()
                self._erase()
                self.stream.flush()

    def _finished(self, bar: BlobProgress, outcome: str) -> None:
        if self.log.quiet:
            return
        line = f"{outcome} {bar.name} ({human_size(bar.size)})"
        if not self.terminal:
            self.log.info(line)
            return
        with self._lock:
            if bar in self._active:
                self._active.remove(bar)
            self._erase()
            self.log.info(line)  # a finished blob scrolls up as a permanent line; the live bars stay at the bottom
            self._redraw(force=True)

    def _updated(self) -> None:
        if not self.terminal or self.log.quiet:
            return
        with self._lock:
            self._redraw(force=False)

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}A\x1b[J")
            self._drawn = 0

    def _redraw(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < _REDRAW_S:
            return
        self._last_draw = now
        self._erase()
        for bar in self._active:
            self.stream.write(bar.render() + "\n")
        self._drawn = len(self._active)
        self.stream.flush()


class BlobProgress:
    def __init__(self, owner: Progress, name: str, size: int) -> None:
        self.owner = owner
        self.name = name
        self.size = size
        self.position = 0

    def update(self, position: int) -> None:
        """Bytes of this blob the registry has been sent so far (it may go back when an upload restarts)."""
        self.position = position
        self.owner._updated()

    def finish(self, outcome: str) -> None:
        self.position = self.size
        self.owner._finished(self, outcome)

    def render(self) -> str:
        fraction = self.position / self.size if self.size else 1.0
        filled = int(fraction * _BAR)
        return f"  {self.name} [{'#' * filled}{'.' * (_BAR - filled)}] {human_size(self.position)}/{human_size(self.size)}"
