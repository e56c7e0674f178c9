"""Which of a release's wheels the image gets: the one the image's interpreter would prefer.

A resolver or a lock lists every wheel compatible with the target (charset-normalizer ships a cp311, an abi3 and a
py3-none-any wheel); choosing among them is pyjib's job. The order is the target's own tag priority (packaging.tags for
the image's CPython X.Y, CPU and glibc, as pip ranks them): the newest fitting manylinux for cpXY first, then abi3, then
pure. Every path that picks a wheel (fresh resolution, pylock.toml, uv.lock, poetry.lock, pdm.lock, requirements) asks here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .interpreter import Interpreter
from .tags import supported_tags


def filename_of(location: str) -> str:
    """The file name at the end of a URL or path (fragments and queries dropped, percent-escapes undone)."""
    return unquote(urlsplit(location).path.rsplit("/", 1)[-1])


@functools.lru_cache(maxsize=32)
def _ranks(interpreter: Interpreter) -> dict[Tag, int]:
    ranks: dict[Tag, int] = {}
    for rank, tag in enumerate(supported_tags(interpreter)):
        ranks.setdefault(tag, rank)
    return ranks


def wheel_rank(filename: str, interpreter: Interpreter) -> int | None:
    """The wheel's place in the image's preference (0 is best), or None when the image cannot use it (or it is no wheel)."""
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return None
    ranks = _ranks(interpreter)
    return min((ranks[t] for t in tags if t in ranks), default=None)


def best_wheel(filenames: Iterable[str], interpreter: Interpreter) -> str | None:
    """The filename the image's interpreter prefers; None when none fits. Ties (one tag set twice) go to the first name in order."""
    ranked = [(rank, name) for name in filenames if (rank := wheel_rank(name, interpreter)) is not None]
    return min(ranked)[1] if ranked else None


def is_pure(filename: str) -> bool:
    """A wheel that runs on any CPU and libc: every tag's platform is `any` (py3-none-any, or cp311-none-any)."""
    return all(tag.platform == "any" for tag in parse_wheel_filename(filename)[3])
