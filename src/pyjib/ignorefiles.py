"""Which files of an app folder go into the image: .gitignore and .dockerignore rules, and what never goes.

.gitignore rules (git's own): a pattern without a slash (but a trailing one) matches a name at any depth below its
.gitignore, one with a slash is anchored there; a trailing slash matches directories only; `*`, `?` and `[...]` stop at
`/`, `**` spans folders; `!` re-includes; the last matching line wins; nested .gitignore files apply below their folder;
nothing inside an excluded folder comes back. .dockerignore rules (Docker's): every pattern is anchored at the folder's
top, a trailing slash is dropped, a pattern that matches a folder matches what is in it, and a later `!` line can
re-include a file inside an excluded folder. A path either kind of file leaves out stays out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Never shipped, whatever the ignore files say: VCS data, virtual environments, caches, bytecode and secrets.
NEVER_DIRS = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
                        ".tox", ".nox"})
NEVER_FILES = frozenset({".env"})
NEVER_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negated: bool  # a `!` line: re-include what matches
    directories_only: bool  # a trailing slash

    def matches(self, relative: str, is_dir: bool) -> bool:
        return (is_dir or not self.directories_only) and self.regex.fullmatch(relative) is not None


def _segment_regex(segment: str) -> str:
    """One path segment of a glob as a regex: `*` and `?` never cross a slash, `[...]` is a class, `\\x` is x."""
    out, i = [], 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := segment.find("]", i + 2)) != -1:
            body = segment[i + 1:end]
            if body[0] in "!^":
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def compile_pattern(line: str, *, anchored: bool = False) -> Rule | None:
    """A rule from one line of an ignore file; None for blanks and comments. anchored: .dockerignore's reading."""
    stripped = line.strip() if anchored else line.rstrip("\n")  # Docker trims each line; git keeps leading spaces
    if stripped.startswith("#"):
        return None
    while stripped.endswith(" ") and not stripped.endswith("\\ "):  # trailing spaces count only when escaped
        stripped = stripped[:-1]
    negated = stripped.startswith("!")
    if negated or stripped.startswith(("\\!", "\\#")):  # `!` negates; `\!` and `\#` are literal
        stripped = stripped[1:]
    directories_only = stripped.endswith("/") and not anchored
    stripped = stripped.rstrip("/")
    if anchored:
        stripped = os.path.normpath(stripped) if stripped else stripped
    anchored = anchored or "/" in stripped
    stripped = stripped.lstrip("/")
    if not stripped or stripped == ".":
        return None
    segments = stripped.split("/")
    parts = [] if anchored else ["(?:.*/)?"]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:.*/)?")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return Rule(re.compile("".join(parts)), negated, directories_only)


def parse_rules(text: str, *, anchored: bool = False) -> list[Rule]:
    return [rule for line in text.splitlines() if (rule := compile_pattern(line, anchored=anchored)) is not None]


@dataclass(frozen=True)
class RuleSet:
    """The rules of one ignore file, applying to paths below base (a folder relative to the app's top, "" for the top);
    outer: for a .gitignore above the app's top (in the same checkout), the top's path relative to that file's folder."""

    base: str
    rules: tuple[Rule, ...]
    outer: str = ""

    def verdict(self, relative: str, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included; None: no rule here says anything."""
        if self.outer:
            relative = f"{self.outer}/{relative}"
        elif self.base:
            if not relative.startswith(self.base + "/"):
                return None
            relative = relative[len(self.base) + 1:]
        found = None
        for rule in self.rules:
            if rule.matches(relative, is_dir):
                found = not rule.negated
        return found


def _verdict(relative: str, is_dir: bool, rule_sets: Iterable[RuleSet]) -> bool:
    ignored = False
    for rule_set in rule_sets:  # deeper files come later and win
        verdict = rule_set.verdict(relative, is_dir)
        if verdict is not None:
            ignored = verdict
    return ignored


def docker_ignored(relative: str, rules: Sequence[Rule]) -> bool:
    """Docker's reading: the last rule that matches the path or one of its parent folders decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    ignored = False
    for rule in rules:
        if any(rule.regex.fullmatch(candidate) for candidate in candidates):
            ignored = not rule.negated
    return ignored


def is_ignored(relative: str, is_dir: bool, gitignores: Iterable[RuleSet], dockerignore: Sequence[Rule] = ()) -> bool:
    """Whether a path (relative to the app's top, with slashes) is left out: always-excluded, or by either kind of file."""
    name = PurePosixPath(relative).name
    if (is_dir and name in NEVER_DIRS) or (not is_dir and (name in NEVER_FILES or name.endswith(NEVER_SUFFIXES))):
        return True
    return _verdict(relative, is_dir, gitignores) or docker_ignored(relative, dockerignore)


def _read_rules(path: Path, *, anchored: bool) -> list[Rule]:
    return parse_rules(path.read_text(encoding="utf-8", errors="replace"), anchored=anchored) if path.is_file() else []


def outer_gitignores(top: Path) -> list[RuleSet]:
    """The .gitignore files above top up to its git checkout's top, outermost first (none when top is no checkout's part).
    .git/info/exclude and the user's global excludes are left alone: they are one machine's, and builds are everyone's."""
    top = top.resolve()
    found = []
    for folder in top.parents:
        if here := _read_rules(folder / ".gitignore", anchored=False):
            found.append(RuleSet("", tuple(here), top.relative_to(folder).as_posix()))
        if (folder / ".git").exists():
            return found[::-1]
    return []


def app_files(top: Path, leave_out: Collection[str] = ()) -> Iterator[str]:
    """Every file and symlink under top that goes into the image, as sorted relative paths with slashes; leave_out: more
    paths (relative, with slashes) to leave out with everything below them.

    The .gitignore files of the checkout above top apply as git applies them. Folders are walked top-down and a folder
    .gitignore excludes is never entered, as git does; one that only
    .dockerignore excludes is entered when that file has `!` lines, which may re-include files below it, as Docker does.
    A path either file leaves out stays out: a `!` line re-includes only what its own kind of file excluded.
    """
    dockerignore = _read_rules(top / ".dockerignore", anchored=True)
    may_reinclude = any(rule.negated for rule in dockerignore)

    def walk(directory: Path, relative: str, inherited: list[RuleSet]) -> Iterator[str]:
        here = _read_rules(directory / ".gitignore", anchored=False)
        rule_sets = [*inherited, RuleSet(relative, tuple(here))] if here else inherited
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                path = f"{relative}/{entry.name}" if relative else entry.name
                is_dir = entry.is_dir(follow_symlinks=False)
                if path in leave_out:
                    continue
                if is_ignored(path, is_dir, rule_sets, dockerignore):
                    if is_dir and may_reinclude and not is_ignored(path, is_dir, rule_sets):
                        yield from walk(Path(entry.path), path, rule_sets)  # each file below is judged on its own
                    continue
                if is_dir:
                    yield from walk(Path(entry.path), path, rule_sets)
                elif entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    yield path  # sockets, pipes and devices have no place in a layer

    if (top / ".git").exists():
        yield from walk(top, "", [])
    else:
        yield from walk(top, "", outer_gitignores(top))
