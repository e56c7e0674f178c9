"""Progress for people goes to stderr; stdout carries only the result, so scripts can read it.

One writer: every line goes out whole, in one write under one lock, so lines from parallel uploads never run together
in a CI log (print() writes the text and its newline separately, and threads slip in between).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_WRITER = threading.Lock()


def write_line(text: str, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    with _WRITER:
        stream.write(text + "\n")
        stream.flush()


class Log:
    def __init__(self, quiet: bool = False, stream: TextIO | None = None, *, warnings: bool = True) -> None:
        self.quiet = quiet
        self.stream = stream
        self.warnings = warnings
        self._start = time.monotonic()

    def info(self, message: str) -> None:
        if not self.quiet:
            write_line(f"pyjib [{time.monotonic() - self._start:5.1f}s] {message}", self.stream)

    def warn(self, message: str) -> None:
        """Something went wrong that the result does not depend on; shown even with --quiet, as pip's warnings are."""
        if self.warnings:
            write_line(f"pyjib: warning: {message}", self.stream)


SILENT = Log(quiet=True, warnings=False)  # for library callers that want no output at all


def warn(message: str) -> None:
    """Something the user should fix but that does not stop the build (a typo'd [tool.*] table, read before any Log
    exists); shown even with --quiet."""
    write_line(f"pyjib: warning: {message}")
