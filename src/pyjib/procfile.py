"""A Procfile's `web:` line as the image's entrypoint (Heroku's and buildpacks' convention).

The line is split as a shell would split it. The image has no shell, so shell syntax (`&&`, pipes, redirections, `$(...)`)
is refused, and `$NAME`, `${NAME}` and `${NAME:-default}` are expanded when the container starts, by a few lines of
Python that then exec the command: `podman run -e PORT=9000` then moves the server as it would on Heroku.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

_PROCESS_LINE = re.compile(r"^([A-Za-z0-9_-]+)\s*:\s*(.*)$")
_SHELL_OPERATORS = frozenset("();<>|&`")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Expands the variables in its arguments, then becomes the command (exec: it is PID 1, and it gets the signals).
LAUNCHER = (
    "import os,re,sys;"
    "x=lambda s:re.sub(r'\\$(?:(\\w+)|\\{(\\w+)(?::-([^}]*))?\\})',lambda m:os.environ.get(m[1] or m[2]) or m[3] or '',s);"
    "a=[x(v) for v in sys.argv[1:]];os.execvp(a[0],a)"
)


@dataclass(frozen=True)
class WebProcess:
    argv: tuple[str, ...]

    @property
    def expands_variables(self) -> bool:
        return any("$" in word for word in self.argv)

    @property
    def uses_port(self) -> bool:
        return any(re.search(r"\$\{?PORT\b", word) for word in self.argv)

    def entrypoint(self, python: str) -> tuple[str, ...]:
        """The argv as it is when it has no variables, else behind the launcher that expands them at start."""
        return (python, "-c", LAUNCHER, *self.argv) if self.expands_variables else self.argv


def process_types(text: str) -> dict[str, str]:
    """NAME -> command of each `NAME: command` line; comments and blank lines skipped."""
    found = {}
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        match = _PROCESS_LINE.match(line.strip())
        if match:
            found[match[1]] = match[2].strip()
    return found


def split_command(command: str, where: str) -> tuple[str, ...]:
    """A command split like a shell, or one line saying why the image (which has no shell) cannot run it."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = tuple(lexer)
    except ValueError as exc:
        raise ConfigError(f"{where}: cannot split {command!r} like a shell ({exc}); fix the quoting") from exc
    if not words:
        raise ConfigError(f"{where} is empty; give the command that starts the app")
    for word in words:
        if (word and all(char in _SHELL_OPERATORS for char in word)) or word.startswith("$("):
            raise ConfigError(f"{where} uses shell syntax ({word}), and the image has no shell; "
                              "run one command, or set entrypoint to a script that does it")
    if _ASSIGNMENT.match(words[0]):
        raise ConfigError(f"{where} sets a variable ({words[0]}); put it in the environment option instead")
    return words


def read_web_process(folder: Path) -> WebProcess | None:
    """The Procfile's web process, None when there is no Procfile or it has no web: line."""
    path = folder / "Procfile"
    if not path.is_file():
        return None
    command = process_types(path.read_text(encoding="utf-8", errors="replace")).get("web")
    if command is None:
        return None
    return WebProcess(split_command(command, f"{path} web:"))
