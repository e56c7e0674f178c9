"""A project's own base: [tool.pyjib.base] made into an OCI layout in pyjib's cache when the project names no `from`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..cache import cache_key
from ..cachelayout import DEBIAN_BASE_RECIPE, DEBIAN_BASES
from ..log import SILENT, Log
from ..oci.digest import sha256_file
from ..registry import ClientPool
from .build import build_base
from .request import base_request

PROJECT_BASE_MAX_AGE = 86400.0  # seconds: an unlocked project base is resolved again daily, to pick up security fixes


def project_base(recipe: Mapping[str, Any], project_dir: Path, platforms: tuple[str, ...], *, cache_root: Path, clients: ClientPool,
                 log: Log = SILENT) -> tuple[str, str]:
    """The base a project's [tool.pyjib.base] describes, made into an OCI layout in the cache; returns its oci: spec and
    the name the app's annotations give it (the spec is a path on this machine: the same app must get the same digest
    wherever it is built).

    With a lock the layout is kept as long as the lock is unchanged (the lock is written next to pyproject.toml the first
    time); without one it is made again after a day. The recipe's `to` is ignored: this base is the project's own.
    """
    where = f"{project_dir / 'pyproject.toml'} [tool.pyjib.base]"
    table = {key: value for key, value in recipe.items() if key != "to"}
    if platforms and "platforms" not in table:
        table["platforms"] = list(platforms)
    request = base_request(table, {"to": "oci:unused"}, where)
    lock = project_dir / request.lock if request.lock is not None else None
    # One folder per recipe, whatever the lock says, so the base's name (a path, recorded in the app's annotations) stays
    # put when the lock is first written; a marker beside it says which lock the layout was made from.
    key = cache_key(DEBIAN_BASE_RECIPE, str(project_dir.resolve()), request.suite, request.python, request.packages,
                    request.exclude, [str(p) for p in request.platforms], request.mirrors, str(request.keyring), str(lock))
    directory = cache_root / DEBIAN_BASES / key
    marker = directory.with_name(f"{key}.made-from")
    spec = f"oci:{directory}:base"
    index = directory / "index.json"
    made_from = marker.read_text() if marker.is_file() else None
    if lock is not None:
        fresh = index.is_file() and lock.is_file() and made_from == sha256_file(lock)
    else:
        fresh = index.is_file() and time.time() - index.stat().st_mtime < PROJECT_BASE_MAX_AGE
    if not fresh:
        log.info(f"making the base from {where}")
        shutil.rmtree(directory, ignore_errors=True)
        build_base(replace(request, to=spec, lock=lock), cache_root=cache_root, clients=clients, log=log)
        marker.write_text(sha256_file(lock) if lock is not None else "unlocked")
    return spec, "pyjib-base/" + "-".join(["debian", request.suite, f"python{request.python}", *request.packages,
                                           *(f"without-{name}" for name in request.exclude)])
