"""An app's requirements.txt as the top-level requirements of a resolution (what a project's Requires-Dist is).

pip's file format, as far as a folder that is not a package needs it: comments, line continuations, `-r FILE`
includes (relative to the including file), and per-line `--hash` options (checked where a hashed file is used as a
lock). Options that change where packages come from or how they install would be ignored in silence if merely
skipped, so each is one line saying which pyjib option does the same.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .errors import ConfigError

_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s+|=)(\S+)$")
_HASH_OPTION = re.compile(r"\s--hash[=\s]\S+")
_WHERE_INSTEAD = {
    "-i": "index-url", "--index-url": "index-url", "--extra-index-url": "extra-index-url", "-f": "find-links",
    "--find-links": "find-links", "--only-binary": "only-binary", "-c": "a lock file (lock-file)", "--constraint": "a lock file (lock-file)",
}


def _logical_lines(text: str) -> list[str]:
    """Lines with continuations joined and comments (a # at the start or after a space) removed."""
    out = []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            out.append(line)
    return out


def _requirement(line: str, where: str) -> str:
    spec = " ".join(_HASH_OPTION.sub("", " " + line).split())
    if spec.startswith("-"):
        option = re.split(r"[\s=]", spec, maxsplit=1)[0]
        instead = _WHERE_INSTEAD.get(option)
        if option in ("-e", "--editable"):
            raise ConfigError(f"{where}: {spec!r} installs a folder in editable mode, which an image cannot; "
                              "list it as NAME @ file:///absolute/path instead")
        hint = f"set pyjib's {instead} option instead" if instead else "remove it"
        raise ConfigError(f"{where}: pyjib does not read the option {option} in a requirements file; {hint}")
    try:
        Requirement(spec)
    except InvalidRequirement as exc:
        if spec.startswith((".", "/")):
            raise ConfigError(f"{where}: {spec!r} is a path; write it as NAME @ file:///absolute/path") from exc
        raise ConfigError(f"{where}: {spec!r} is not a requirement: {exc}") from exc
    return spec


def read_requirements(path: Path, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """The requirement strings of path and of the files it includes, in order; one line for what cannot be read."""
    resolved = path.resolve()
    if resolved in _seen:
        raise ConfigError(f"{path} includes itself (through -r); remove the loop")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    found = []
    for line in _logical_lines(text):
        include = _INCLUDE.match(line)
        if include:
            found += read_requirements(path.parent / include[1], _seen | {resolved})
        else:
            found.append(_requirement(line, str(path)))
    return found
