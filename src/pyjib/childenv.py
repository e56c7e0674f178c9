"""The environment of every process pyjib starts (uv, build backends, setup.py, git): pyjib's secrets left out, pyjib's
index settings put in.

A dependency's setup.py or a project's backend is third-party code: it must not read the registry password, and one
test found it copying the environment into the image. Index settings travel in uv's own variables, not on its argv,
where every local user could read their credentials in /proc.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

from .indexes import IndexConfig

# Every credential pyjib itself reads from the environment.
SECRET_VARIABLES = frozenset({"PYJIB_PASSWORD", "PYJIB_USERNAME", "PYJIB_CACHE_KEY"})


def child_environment(indexes: IndexConfig | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # never fetch an interpreter: builds run on this host's Python
    env["NO_COLOR"] = "1"
    env["TMPDIR"] = tempfile.gettempdir()  # the build's scratch space (scratch.py), swept if the build is killed
    if indexes is not None:
        env.update(indexes.uv_environment())
    env.update(extra or {})
    return env
