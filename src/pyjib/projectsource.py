"""What the builder needs from a project, whatever kind it is: its facts, its defaults for the image, its top layers.

Two kinds satisfy it: a package (any PEP 517 project: its wheel is built and installed into the environment) and an
app folder that is not a package (plainapp.py: its files are copied under /app/src). Everything below these layers
(the environment, the dependencies) is built the same way for both, from the requirements the facts list.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .context import BuildContext
from .dependencies import LayerInputs, NamedLayer, project_layers
from .errors import ConfigError
from .install import Environment
from .settings import Settings, is_plain_app
from .wheelbuild import build_wheel, project_name
from .wheelmeta import WheelMetadata, read_wheel_metadata


class ProjectSource(Protocol):
    @property
    def metadata(self) -> WheelMetadata:
        """Name, version, requirements (as Requires-Dist lines), console scripts and URLs."""
        ...

    @property
    def wheel_name(self) -> str | None:
        """The project's wheel file name, whose tags must fit the image; None for an app folder, which has no wheel."""
        ...

    def image_settings(self, settings: Settings, environment: Environment) -> Settings:
        """The settings with this kind of project's defaults filled in where the user set nothing (entrypoint, workdir)."""
        ...

    def top_layers(self, inputs: LayerInputs) -> list[NamedLayer]:
        """The project's own layers, above its dependencies: resources (when it has any), then the application."""
        ...


@dataclass(frozen=True)
class Package:
    """A project with a build backend: its wheel, installed into the environment."""

    wheel: Path
    metadata: WheelMetadata

    @classmethod
    def of_wheel(cls, wheel: Path) -> Package:
        return cls(wheel, read_wheel_metadata(wheel))

    @property
    def wheel_name(self) -> str | None:
        return self.wheel.name

    def image_settings(self, settings: Settings, environment: Environment) -> Settings:
        return settings

    def top_layers(self, inputs: LayerInputs) -> list[NamedLayer]:
        return project_layers(self.wheel, self.metadata, inputs)


def start_source(context: BuildContext, pool: Executor, wheel: Path | None = None) -> Future[ProjectSource]:
    """The project's source, ready at once for an app folder (so its mistakes stop the build before any work), or
    built in pool while the caller goes on (the wheel builds in a subprocess). wheel: a package's wheel, already built."""
    settings, log = context.settings, context.log
    if wheel is None and is_plain_app(settings.project_dir):
        from .plainapp import PlainApp  # a package's build never needs the app-folder machinery (its ignore rules, Procfile)

        app = PlainApp.open(settings)
        log.info(f"{settings.project_dir} is an app folder, not a package: its files go to the image as they are"
                 + (", started by its Procfile's web: line" if app.starts_from_procfile(settings) else ""))
        return _done(app)
    if settings.name is not None:
        raise ConfigError(f"name is for app folders that are not packages; {settings.project_dir} is a package, named by its metadata")
    if wheel is not None:
        return _done(Package.of_wheel(wheel))
    log.info(f"building the wheel of {project_name(settings.project_dir)} in {settings.project_dir}")
    cache_root, indexes = context.cache.root, context.sources.indexes
    return pool.submit(lambda: Package.of_wheel(build_wheel(settings.project_dir, cache_root, indexes)))


def _done(source: ProjectSource) -> Future[ProjectSource]:
    future: Future[ProjectSource] = Future()
    future.set_result(source)
    return future
