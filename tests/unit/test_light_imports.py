"""Reading settings loads no HTTP client and no build machinery: the data types live beside their concept, not in I/O modules.

Each check runs in a fresh interpreter, so what this test process imported before does not hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("httpx", "pyproject_hooks", "build", "installer")


def _loaded_by(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", ["pyjib.settings", "pyjib.lockedwheel", "pyjib.markers", "pyjib.grouping", "pyjib.locks.core"])
def test_importing_loads_no_http_client_nor_build_machinery(module: str) -> None:
    loaded = _loaded_by(module)
    assert module in loaded
    assert {name for name in loaded if name.split(".")[0] in HEAVY} == set()


def test_the_check_sees_a_heavy_import_when_there_is_one() -> None:
    assert "httpx" in _loaded_by("pyjib.resolve")
