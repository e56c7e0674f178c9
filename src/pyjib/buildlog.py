"""The output of a build tool that failed (a PEP 517 backend, uv build, uv pip install): kept whole in the cache, its
tail shown to the user.

The last line of a backend's output rarely says why it failed (setuptools-scm outside git, a missing compiler, a
missing console script all end in a generic traceback line), so the message carries the last TAIL_LINES lines, under
a first line that says what failed and where the whole log is.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from .cachelayout import BUILD_LOGS

TAIL_LINES = 20
_INDENT = "    "
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def keep_log(cache_root: Path, label: str, output: str) -> Path:
    """Write output under cache_root/build-logs, named by label, time and process, and return its path."""
    directory = cache_root / BUILD_LOGS
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = directory / f"{_UNSAFE.sub('-', label).strip('-') or 'build'}-{stamp}-{os.getpid()}.log"
    path.write_text(output, encoding="utf-8")
    return path


def tail(output: str, count: int = TAIL_LINES) -> list[str]:
    """The last count non-blank lines of output, without trailing whitespace."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    return lines[-count:]


def failure_message(what: str, log: Path, output: str, hint: str = "") -> str:
    """First line: what failed, where the whole log is, and what to do; then the output's tail, indented."""
    lines = tail(output)
    first = f"{what} failed (whole log: {log}){'; ' + hint if hint else ''}"
    if not lines:
        return f"{first}; it printed nothing"
    return "\n".join([f"{first}; its last {len(lines)} lines:", *(_INDENT + line for line in lines)])
