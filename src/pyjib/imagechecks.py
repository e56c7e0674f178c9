"""Checks of what pyjib built against the base it goes on, before anything is pushed or written.

Each failure is one line naming what does not fit and what to do: a base whose Env lies about its Python, a project
whose Requires-Python refuses the image's Python, a project wheel built for another platform, and a shared library that
a file in pyjib's layers needs and the image does not hold. Everything they compare is cached (the base's facts by its
config digest, each layer's linkage with its record), so on a warm build they cost a few set operations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .elf import MACHINES
from .errors import ImageCheckError
from .interpreter import BaseFacts, Interpreter
from .linkage import Linkage
from .tags import platform_tags, supported_tags
from .wheelchoice import wheel_rank
from .wheelmeta import WheelMetadata

# The Debian packages (as in gcr.io/distroless/python3's cc layer) of the libraries manylinux wheels may assume.
DEBIAN_PACKAGES = {
    "libstdc++.so.6": "libstdc++6", "libgomp.so.1": "libgomp1", "libgcc_s.so.1": "libgcc-s1", "libz.so.1": "zlib1g",
    "libssl.so.3": "libssl3", "libcrypto.so.3": "libssl3", "libffi.so.8": "libffi8", "libexpat.so.1": "libexpat1",
}


def check_advertised_python(facts: BaseFacts, base_name: str) -> None:
    """The base's PYTHON_VERSION must name the Python its files hold: pyjib resolves wheels for the version it trusts."""
    advertised = re.match(r"(\d+\.\d+)", facts.advertised_python or "")
    if advertised and facts.found_python and advertised.group(1) != facts.found_python:
        raise ImageCheckError(
            f"the base {base_name} says PYTHON_VERSION={facts.advertised_python}, but its interpreter {facts.interpreter.path} is "
            f"Python {facts.found_python}; fix the base's Env or choose another base"
        )


def check_requires_python(project: WheelMetadata, interpreter: Interpreter) -> None:
    if not project.requires_python:
        return
    try:
        specifier = SpecifierSet(project.requires_python)
    except InvalidSpecifier:
        raise ImageCheckError(f"{project.name}'s Requires-Python {project.requires_python!r} does not parse; fix requires-python") from None
    if not specifier.contains(interpreter.version, prereleases=True):
        raise ImageCheckError(
            f"{project.name} {project.version} requires Python {specifier} but the base's interpreter {interpreter.path} is Python "
            f"{interpreter.version}; choose a base whose Python it admits, or change requires-python"
        )


def _host_built_fits(wheel_name: str, interpreter: Interpreter) -> bool:
    """A wheel built here for this CPU (linux_x86_64, as setuptools tags it) fits a glibc image whose Python accepts its tags."""
    if interpreter.libc != "glibc":
        return False
    try:
        tags = parse_wheel_filename(wheel_name)[3]
    except InvalidWheelFilename:
        return False
    supported, newest = set(supported_tags(interpreter)), platform_tags(interpreter)[0]
    return any(tag.platform == f"linux_{interpreter.platform.machine}" and Tag(tag.interpreter, tag.abi, newest) in supported
               for tag in tags)


def check_wheel_platform(project: WheelMetadata, wheel_name: str, interpreter: Interpreter) -> None:
    if wheel_rank(wheel_name, interpreter) is None and not _host_built_fits(wheel_name, interpreter):
        libc = f"{interpreter.libc} {interpreter.libc_version[0]}.{interpreter.libc_version[1]}"
        raise ImageCheckError(
            f"{project.name}'s wheel {wheel_name} does not fit the image's {interpreter.platform} (CPython {interpreter.minor}, "
            f"{interpreter.platform.machine}, {libc}); build it for that platform, or choose a base and platforms it fits"
        )


def check_base(project: WheelMetadata, wheel_name: str | None, facts: BaseFacts, base_name: str) -> None:
    """What can be checked once the base is known, before anything is resolved or installed (an app folder has no wheel)."""
    check_advertised_python(facts, base_name)
    check_requires_python(project, facts.interpreter)
    if wheel_name is not None:
        check_wheel_platform(project, wheel_name, facts.interpreter)


# The user-space half of a GPU driver: a GPU container runtime (NVIDIA's container toolkit, CDI) mounts these from the
# host into the container, matched to its kernel driver, and an image must not ship them. PyPI's torch and jax link them.
GPU_DRIVER_LIBRARIES = frozenset({
    "libcuda.so.1", "libnvidia-ml.so.1", "libnvidia-ptxjitcompiler.so.1", "libnvidia-nvvm.so.4", "libcudadebugger.so.1",
    "libnvidia-opencl.so.1", "libnvcuvid.so.1", "libnvidia-encode.so.1", "libnvidia-fbc.so.1", "libnvidia-cfg.so.1",
})


class Linked(Protocol):
    """A layer as the library check reads it: built (dependencies.NamedLayer), or installed and scanned but not yet
    compressed (dependencies.PreparedLayer), so that the check can refuse before the compression."""

    @property
    def linkage(self) -> Linkage: ...


def missing_libraries(layers: Sequence[Linked], facts: BaseFacts, runtime_libraries: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """Each library a file in the layers needs that neither the base nor any of the layers holds, nor the container's
    runtime provides (a GPU driver's, and those the user names), with who needs it.

    Only ELF files for the image's CPU count: the loader never loads another machine's file, which a wheel may carry as data.
    """
    machine = MACHINES.get(facts.interpreter.platform.machine)
    held = set(facts.libraries).union(GPU_DRIVER_LIBRARIES, runtime_libraries, *(layer.linkage.provided(machine) for layer in layers))
    missing: dict[str, set[str]] = {}
    for layer in layers:
        for library, users in layer.linkage.needed(machine):
            if library.rsplit("/", 1)[-1] not in held:
                missing.setdefault(library, set()).update(users)
    return {library: tuple(sorted(users)) for library, users in sorted(missing.items())}


def check_libraries(layers: Sequence[Linked], facts: BaseFacts, base_name: str, runtime_libraries: Iterable[str] = ()) -> None:
    missing = missing_libraries(layers, facts, runtime_libraries)
    if not missing:
        return
    library, users = next(iter(missing.items()))
    package = DEBIAN_PACKAGES.get(library)
    has_it = f"with Debian's {package}, as gcr.io/distroless/python3 has" if package else "that has it"
    more = f" (also missing: {', '.join(list(missing)[1:])})" if len(missing) > 1 else ""
    raise ImageCheckError(
        f"{library}, which {' and '.join(users)} need{'s' if len(users) == 1 else ''}, is neither in the base {base_name} nor in "
        f"the image's layers{more}; choose a base {has_it}, or, when the container's runtime provides it or only an "
        "optional plugin loads it, list it in runtime-libraries"
    )
