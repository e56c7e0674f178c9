"""Where the uv binary is: the one the `uv` package ships, else one on PATH."""

from __future__ import annotations

import functools
import shutil

from .errors import PyjibError


@functools.cache
def uv_binary() -> str:
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if not found:
            raise PyjibError("uv is needed to build and resolve for the image: pip install uv") from None
        return found
