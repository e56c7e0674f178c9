"""Progress for people goes to stderr; stdout carries only the result, so scripts can read it."""

from __future__ import annotations

import sys
import time


class Log:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._start = time.monotonic()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(f"pyjib [{time.monotonic() - self._start:5.1f}s] {message}", file=sys.stderr, flush=True)


SILENT = Log(quiet=True)


def warn(message: str) -> None:
    """Something the user should fix but that does not stop the build; shown even with --quiet."""
    print(f"pyjib: warning: {message}", file=sys.stderr, flush=True)
