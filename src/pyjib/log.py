"""Progress for people goes to stderr; stdout carries only the result, so scripts can read it."""

from __future__ import annotations

import sys
import time


class Log:
    def __init__(self, quiet: bool = False, *, warnings: bool = True) -> None:
        self.quiet = quiet
        self.warnings = warnings
        self._start = time.monotonic()

    def info(self, message: str) -> None:
        if not self.quiet:
            print(f"pyjib [{time.monotonic() - self._start:5.1f}s] {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        """Something went wrong that the result does not depend on; shown even with --quiet, as pip's warnings are."""
        if self.warnings:
            print(f"pyjib: warning: {message}", file=sys.stderr, flush=True)


SILENT = Log(quiet=True, warnings=False)  # for library callers that want no output at all
