"""The base's image config, checked for the JSON types pyjib relies on before anything reads it.

A config is the base publisher's input, not pyjib's: Env as a number or Labels as a list must give one line naming
the field, not a traceback somewhere in the build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import BaseImageError


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _string_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


_CONTAINER_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "Env": (_strings, "a list of strings"),
    "Entrypoint": (_strings, "a list of strings"),
    "Cmd": (_strings, "a list of strings"),
    "User": (lambda v: isinstance(v, str), "a string"),
    "WorkingDir": (lambda v: isinstance(v, str), "a string"),
    "Labels": (_string_table, "a table of strings"),
    "ExposedPorts": (lambda v: isinstance(v, dict), "a table"),
    "Volumes": (lambda v: isinstance(v, dict), "a table"),
}
_TOP_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "architecture": (lambda v: isinstance(v, str), "a string"),
    "os": (lambda v: isinstance(v, str), "a string"),
    "variant": (lambda v: isinstance(v, str), "a string"),
    "created": (lambda v: isinstance(v, str), "a string"),
    "history": (_objects, "a list of objects"),
    "config": (lambda v: isinstance(v, dict), "an object"),
    "rootfs": (lambda v: isinstance(v, dict) and _strings(v.get("diff_ids", [])), "an object with a list of diff_ids"),
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_base_config(config: Any, where: str) -> dict[str, Any]:
    """config itself when every field pyjib reads has its OCI type (null counts as absent); else one BaseImageError."""
    if not isinstance(config, dict):
        raise BaseImageError(f"the config of base {where} is not a JSON object; choose another base")
    for fields, parent in ((_TOP_FIELDS, config), (_CONTAINER_FIELDS, config.get("config") or {})):
        for name, (valid, expected) in fields.items():
            value = parent.get(name)
            if value is not None and not valid(value):
                path = name if fields is _TOP_FIELDS else f"config.{name}"
                raise BaseImageError(f"the config of base {where} is malformed: {path} must be {expected}, not {_short(value)}; "
                                     "fix the base or choose another")
    return config
