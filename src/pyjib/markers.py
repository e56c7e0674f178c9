"""PEP 508 markers evaluated for the image, never for the host: one environment and one evaluation for every path.

A build for linux/arm64 on an x86_64 host must see `platform_machine == "aarch64"` hold; packaging's own default
evaluates for the interpreter running pyjib. Every marker of the project, a lock or a [tool.uv.sources] entry is
evaluated by holds() with the image's interpreter. (The build requirements of a backend run on the host, and
wheelbuild.py evaluates theirs for the host on purpose.)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .errors import ResolveError

if TYPE_CHECKING:
    from .interpreter import Interpreter


@functools.lru_cache(maxsize=32)
def _environment(interpreter: Interpreter) -> tuple[tuple[str, str], ...]:
    return tuple({
        "implementation_name": "cpython",
        "implementation_version": interpreter.version,
        "os_name": "posix",
        "platform_machine": interpreter.platform.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": interpreter.version,
        "python_version": interpreter.minor,
        "sys_platform": "linux",
    }.items())


def target_environment(interpreter: Interpreter) -> dict[str, str]:
    """The PEP 508 marker environment of the image's interpreter."""
    return dict(_environment(interpreter))


def holds(marker: Marker | None, interpreter: Interpreter, extras: Iterable[str] = ()) -> bool:
    """Whether a marker holds in the image, with no extra or with any of the given ones; no marker always holds."""
    if marker is None:
        return True
    environment = target_environment(interpreter)
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *sorted(set(extras))))


def _requirement(line: str) -> Requirement:
    try:
        return Requirement(line)
    except InvalidRequirement as exc:
        raise ResolveError(f"the project's requirement {line!r} does not parse: {exc}") from exc


def image_extras(requires_dist: Iterable[str], project: str, extras: Iterable[str], interpreter: Interpreter) -> tuple[str, ...]:
    """The extras chosen and those the project's requirements on itself pull in, in the image (`app[web]` in app's own `all`)."""
    lines, project = list(requires_dist), canonicalize_name(project)
    chosen = {canonicalize_name(e) for e in extras}
    while True:
        grown = set(chosen)
        for requirement in map(_requirement, lines):
            if canonicalize_name(requirement.name) == project and holds(requirement.marker, interpreter, chosen):
                grown |= {canonicalize_name(e) for e in requirement.extras}
        if grown == chosen:
            return tuple(sorted(chosen))
        chosen = grown


def top_level_requirements(requires_dist: Iterable[str], extras: Iterable[str], interpreter: Interpreter,
                           project: str = "") -> list[str]:
    """The requirements that apply in the image, markers evaluated for the image and the chosen extras, without markers.

    A requirement on the project itself (its extras naming each other) is no dependency: image_extras expands it.
    """
    chosen, project = [canonicalize_name(e) for e in extras], canonicalize_name(project) if project else ""
    out = []
    for requirement in map(_requirement, requires_dist):
        if (project and canonicalize_name(requirement.name) == project) or not holds(requirement.marker, interpreter, chosen):
            continue
        requirement.marker = None
        out.append(str(requirement))
    return sorted(set(out))
