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

from .bytecode import Compiler
from .cache import BlobCache
from .dependencies import NamedLayer, project_layers
from .errors import ConfigError
from .indexes import IndexConfig
from .install import Environment
from .layer import Compression
from .log import Log
from .plainapp import PlainApp
from .settings import Settings, is_plain_app
from .wheelbuild import build_wheel, project_name
from .wheelmeta import WheelMetadata, read_wheel_metadata


class ProjectSource(Protocol):
    @property
    def metadata(self) -> WheelMetadata:
        """Name, version, requirements (as Requires-Dist lines), console scripts and URLs."""
        ...

    def image_settings(self, settings: Settings, environment: Environment) -> Settings:
        """The settings with this kind of project's defaults filled in where the user set nothing (entrypoint, workdir)."""
        ...

    def top_layers(self, environment: Environment, compiler: Compiler | None, cache: BlobCache,
                   compression: Compression) -> list[NamedLayer]:
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

    def image_settings(self, settings: Settings, environment: Environment) -> Settings:
        return settings

    def top_layers(self, environment: Environment, compiler: Compiler | None, cache: BlobCache,
                   compression: Compression) -> list[NamedLayer]:
        return project_layers(self.wheel, self.metadata.name, self.metadata.version, environment, compiler, cache, compression)


def start_source(settings: Settings, cache_root: Path, log: Log, pool: Executor, wheel: Path | None = None,
                 indexes: IndexConfig | None = None) -> Future[ProjectSource]:
    """The project's source, ready at once for an app folder (so its mistakes stop the build before any work), or
    built in pool while the caller goes on (the wheel builds in a subprocess). wheel: a package's wheel, already built."""
    if wheel is None and is_plain_app(settings.project_dir):
        app = PlainApp.open(settings)
        log.info(f"{settings.project_dir} is an app folder, not a package: its files go to the image as they are"
                 + (", started by its Procfile's web: line" if app.starts_from_procfile(settings) else ""))
        return _done(app)
    if settings.name is not None:
        raise ConfigError(f"name is for app folders that are not packages; {settings.project_dir} is a package, named by its metadata")
    if wheel is not None:
        return _done(Package.of_wheel(wheel))
    log.info(f"building the wheel of {project_name(settings.project_dir)} in {settings.project_dir}")
    return pool.submit(lambda: Package.of_wheel(build_wheel(settings.project_dir, cache_root, indexes)))


def _done(source: ProjectSource) -> Future[ProjectSource]:
    future: Future[ProjectSource] = Future()
    future.set_result(source)
    return future
