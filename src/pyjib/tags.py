"""The wheel tags the image's interpreter accepts, computed for the target, never read from the host."""

from __future__ import annotations

from packaging.tags import Tag, compatible_tags, cpython_tags

from .interpreter import Interpreter

_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platform_tags(interpreter: Interpreter) -> list[str]:
    machine = interpreter.platform.machine
    major, minor = interpreter.libc_version
    if interpreter.libc == "musl":
        return [f"musllinux_{major}_{m}_{machine}" for m in range(minor, -1, -1)]
    out = []
    for m in range(minor, 4, -1):
        out.append(f"manylinux_{major}_{m}_{machine}")
        # The old names: manylinux2014 exists for every CPU, 2010 and 1 only for x86.
        if m == 17 or (m in _LEGACY_MANYLINUX and machine in ("x86_64", "i686")):
            out.append(f"{_LEGACY_MANYLINUX[m]}_{machine}")
    return out


def supported_tags(interpreter: Interpreter) -> list[Tag]:
    """Most preferred first, as pip orders them."""
    version = tuple(int(p) for p in interpreter.minor.split("."))
    platforms = platform_tags(interpreter)
    abi = f"cp{version[0]}{version[1]}"
    return [*cpython_tags(version, [abi], platforms), *compatible_tags(version, abi, platforms)]
