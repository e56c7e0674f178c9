"""The `container` target: hatchling builds the wheel in-process, pyjib's core turns it into an image."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.plugin.interface import BuilderInterface
from hatchling.builders.wheel import WheelBuilder

from pyjib.api import Builder, check_target, fixed_repository
from pyjib.errors import PyjibError
from pyjib.log import Log
from pyjib.settings import load_settings, options_from_table
from pyjib.transports import parse_location

# Keys hatch itself reads from any target table; they are not pyjib's business but are not typos either.
HATCH_TARGET_KEYS = frozenset({
    "dependencies", "require-runtime-dependencies", "require-runtime-features", "versions", "hooks", "directory",
    "include", "exclude", "packages", "only-include", "sources", "force-include", "artifacts", "only-packages",
    "skip-excluded-dirs", "ignore-vcs", "reproducible", "dev-mode-dirs", "dev-mode-exact", "strict-naming",
})
PLUGIN_KEYS = frozenset({"push"})


class ContainerBuilder(BuilderInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "container"

    def get_version_api(self) -> dict[str, Any]:
        return {"standard": self.build_standard}

    def _pyjib_options(self) -> tuple[dict[str, Any], bool]:
        table = dict(self.target_config)
        push = table.pop("push", False)
        if not isinstance(push, bool):
            raise PyjibError("[tool.hatch.build.targets.container] push must be true or false")
        own = {k: v for k, v in table.items() if k not in HATCH_TARGET_KEYS}
        return options_from_table(own, "[tool.hatch.build.targets.container]"), push

    def _wheel(self, directory: Path) -> Path:
        """The project's wheel from hatchling's own builder, in this process: no second isolated build."""
        wheel_builder = WheelBuilder(self.root, plugin_manager=self.plugin_manager, metadata=self.metadata, app=self.app)
        return Path(next(wheel_builder.build(directory=str(directory), versions=["standard"])))

    def build_standard(self, directory: str, **_build_data: Any) -> str:
        try:
            return self._build(Path(directory))
        except PyjibError as exc:
            # hatch shows an exception's message; keep it to pyjib's one line.
            self.app.abort(f"pyjib: error: {exc}", code=2)
            raise  # abort exits; this keeps type checkers content

    def _build(self, directory: Path) -> str:
        options, push = self._pyjib_options()
        root = Path(self.root)
        settings = load_settings(root, options)
        layout = parse_location(f"oci:{directory / f'{self.metadata.name}-{self.metadata.version}-image'}")
        target = check_target(settings.to, "any", len(settings.platforms)) if settings.to else layout
        if target.reference is not None and not push:
            self.app.display_info(f"to = {settings.to} is a registry: set push = true to push; writing {layout.path} only")
        target = target.anchored(root)

        log = Log(quiet=False)
        pushing = target.reference is not None and push
        fleet = target if pushing and settings.to is not None and fixed_repository(settings.to) else None
        with tempfile.TemporaryDirectory(prefix="hatch-pyjib-") as work, Builder(settings, log=log) as builder:
            # A push may use (and will fill) the fleet cache in the target repository, as the CLI's does.
            built = builder.build(self._wheel(Path(work)), fleet=fleet)
            local = builder.deliver(built, layout if target.reference is not None else target)
            if pushing:
                assert settings.to is not None
                pushed = builder.deliver(built, builder.filled_target(built, settings.to))
                self.app.display_success(pushed.location)
        assert local.location
        return str(layout.path if target.reference is not None else target.path)
