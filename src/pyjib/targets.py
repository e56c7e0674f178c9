"""Where an image goes, checked against what the command promises before any work is done: below the API, so the
commands that deliver images of their own (`pyjib base`, `pyjib rebase`) check their targets as `publish` does."""

from __future__ import annotations

from typing import Literal

from .errors import ConfigError
from .tagtemplates import with_placeholders
from .transports import Location, parse_location


def check_target(text: str | None, mode: Literal["build", "push", "any"], platforms: int = 1) -> Location:
    """The target, checked against what the command promises before any work is done."""
    if not text:
        raise ConfigError("no target: give --to (or `to` in [tool.pyjib])")
    target = parse_location(with_placeholders(text))  # templates are filled after the build, when {version} is known
    if mode == "push" and target.reference is None:
        raise ConfigError(
            f"push needs a registry reference such as registry.example.com/team/app:1.0, not {text!r}; use `pyjib build` for {target.scheme}:"
        )
    if mode == "build" and target.reference is not None:
        raise ConfigError(f"build writes oci:DIR, docker-archive:FILE or docker-daemon:NAME; to publish {text} use `pyjib push`")
    target.check_writable(platforms)
    return target
