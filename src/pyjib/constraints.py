"""Constraint files: versions the resolution may choose, configured the way pip users already configure them.

Precedence, as pip's for one key: pyjib's `constraint` option (command line, else [tool.pyjib]), else PIP_CONSTRAINT,
else `constraint` in pip's configuration files. They shape a fresh resolution only: a lock file pins exactly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .indexes import pip_config_values, split_list


@dataclass(frozen=True)
class Constraints:
    files: tuple[Path, ...] = ()
    source: str = ""  # where they were configured, for the log and messages

    def uv_arguments(self) -> list[str]:
        return [argument for path in self.files for argument in ("--constraint", str(path))]

    def identity(self) -> list[str]:
        """What the resolution depends on: each file's path and bytes (an edited file re-resolves)."""
        return [f"{path}={hashlib.sha256(path.read_bytes()).hexdigest()}" for path in self.files]


def find_constraints(option: tuple[str, ...], project_dir: Path, environ: Mapping[str, str] = os.environ) -> Constraints:
    """The constraint files in effect; paths from [tool.pyjib] are relative to the project, pip's to the working folder
    (the command line's are made absolute by the CLI)."""
    if option:
        found = Constraints(tuple(project_dir / entry for entry in option), "the constraint option")
    elif environ.get("PIP_CONSTRAINT", "").strip():
        found = Constraints(tuple(Path(entry) for entry in split_list(environ["PIP_CONSTRAINT"])), "PIP_CONSTRAINT")
    else:
        values, read = pip_config_values(("constraint",))
        found = Constraints(tuple(Path(entry) for entry in split_list(values.get("constraint"))), " and ".join(read))
    files = tuple(path.absolute() for path in found.files)
    for path in files:
        if not path.is_file():
            raise ConfigError(f"constraint file {path} (from {found.source}) does not exist; fix the path or remove the setting")
    return Constraints(files, found.source)
