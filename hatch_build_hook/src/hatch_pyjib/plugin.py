"""The `container` target: hatchling builds the wheel in-process, pyjib's core turns it into an image."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.plugin.interface import BuilderInterface
from hatchling.builders.wheel import WheelBuilder

from pyjib.api import PublishRequest, check_target, layout_target, publish
from pyjib.errors import PyjibError
from pyjib.log import Log
from pyjib.settings import load_settings, options_from_table

# Keys hatch itself reads from any target table; they are not pyjib's business but are not typos either.
HATCH_TARGET_KEYS = frozenset({
    "dependencies", "require-runtime-dependencies", "require-runtime-features", "versions", "hooks", "directory",
    "include", "exclude", "packages", "only-include", "sources", "force-include", "artifacts", "only-packages",
    "skip-excluded-dirs", "ignore-vcs", "reproducible", "dev-mode-dirs", "dev-mode-exact", "strict-naming",
})


class ContainerBuilder(BuilderInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "container"

    def get_version_api(self) -> dict[str, Any]:
        return {"standard": self.build_standard}

    def _pyjib_options(self) -> tuple[dict[str, Any], bool, Path | None]:
        """pyjib's options from the target table, and the plugin's own keys: push, and write-lock (as --write-lock)."""
        table = dict(self.target_config)
        push = table.pop("push", False)
        if not isinstance(push, bool):
            raise PyjibError("[tool.hatch.build.targets.container] push must be true or false")
        write_lock = table.pop("write-lock", None)
        if write_lock is not None and not (isinstance(write_lock, str) and write_lock):
            raise PyjibError("[tool.hatch.build.targets.container] write-lock must be a file name, such as \"pylock.toml\"")
        own = {k: v for k, v in table.items() if k not in HATCH_TARGET_KEYS}
        lock_file = Path(self.root) / write_lock if write_lock is not None else None
        return options_from_table(own, "[tool.hatch.build.targets.container]"), push, lock_file

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
        options, push, write_lock = self._pyjib_options()
        root = Path(self.root)
        settings = load_settings(root, options)
        layout = layout_target(directory / f"{self.metadata.name}-{self.metadata.version}-image")
        target = check_target(settings.to, "any", len(settings.platforms)) if settings.to else layout
        if target.reference is not None and not push:
            self.app.display_info(f"to = {settings.to} is a registry: set push = true to push; writing {layout.path} only")
        target = target.anchored(root)
        pushing = target.reference is not None and push
        with tempfile.TemporaryDirectory(prefix="hatch-pyjib-") as work:
            # The CLI's own publish: the target and the login are checked before hatchling builds the wheel; a push may use
            # (and will fill) the fleet cache in the target repository, and the layout in dist/ is written beside it.
            request = PublishRequest(log=Log(quiet=False), write_lock=write_lock, wheel=lambda: self._wheel(Path(work)),
                                     to=None if pushing else (layout if target.reference is not None else target),
                                     copies=(layout,) if pushing else ())
            published = publish(settings, request)
        if pushing:
            self.app.display_success(published.location)
        return str(layout.path if target.reference is not None else target.path)
