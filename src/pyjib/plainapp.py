"""An app that is not a package: the Dockerfile kind of folder, requirements.txt and app.py (templates/, static/...).

Its files (minus what .gitignore and .dockerignore leave out, see ignorefiles.py) go under APP_DIR, which becomes the
working directory, and a .pth file in the environment puts APP_DIR on sys.path, so `python -m app` and `gunicorn
app:app` import the app from any working directory. Its requirements resolve and install as a package's would. It starts
with the entrypoint or module option, else its Procfile's web: line.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from .cachelayout import PLAIN_APP_RECIPE
from .dependencies import LayerInputs, NamedLayer, code_layers
from .errors import ConfigError
from .ignorefiles import app_files
from .install import Environment
from .procfile import WebProcess, read_web_process
from .requirementsfile import read_requirements
from .settings import Settings
from .tagtemplates import with_placeholders
from .transports import parse_location
from .vcs import git
from .wheelmeta import WheelMetadata

APP_DIR = "/app/src"  # beside the environment at /app/venv, as Jib puts an app under /app
DEFAULT_PORT = "8080"
_PTH_NAME = "pyjib-app.pth"


def app_name(folder: Path, chosen: str | None = None) -> str:
    """The name option, else the folder's name, as an image name may spell it (lower case, dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", (chosen or folder.name).lower()).strip("-") or "app"


def app_version(folder: Path) -> str:
    """The git tag on the checked-out commit (without a leading v), else 0: a folder has no version of its own."""
    tag = git(folder, "describe", "--tags", "--exact-match", "HEAD")
    return tag.removeprefix("v") if tag else "0"


def fingerprint(folder: Path, files: list[str]) -> str:
    """What the app's layers are made of: each file's path, kind, exec bit and bytes (or link target)."""
    digest = hashlib.sha256()
    for relative in files:
        path = folder / relative
        digest.update(relative.encode() + b"\0")
        if path.is_symlink():
            digest.update(b"l" + os.readlink(path).encode())
        else:
            digest.update(b"x" if path.stat().st_mode & 0o111 else b"-")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def own_output(target: str | None, folder: Path) -> tuple[str, ...]:
    """A target written inside the folder (oci:, docker-archive:), relative to it: the next build must not ship the last image."""
    if not target:
        return ()
    path = parse_location(with_placeholders(target)).path
    resolved = path.resolve() if path is not None else None
    return (resolved.relative_to(folder).as_posix(),) if resolved is not None and resolved.is_relative_to(folder) else ()


@dataclass(frozen=True)
class PlainApp:
    """A project source (see projectsource.py) made of a folder's files and its requirements.txt."""

    folder: Path
    metadata: WheelMetadata
    web: WebProcess | None
    leave_out: tuple[str, ...] = ()  # the build's own output, when it is written into the folder

    @classmethod
    def open(cls, settings: Settings) -> PlainApp:
        """The app, with everything that can be wrong with it said before any work starts."""
        folder = settings.project_dir.resolve()
        web = read_web_process(folder)
        if not settings.entrypoint and not settings.module and web is None:
            procfile = "its Procfile has no web: line" if (folder / "Procfile").is_file() else "it has no Procfile"
            raise ConfigError(f"{folder.name} is an app folder, not a package, and {procfile}: say how to start it with "
                              "--entrypoint (or entrypoint in [tool.pyjib]), --module, or a Procfile line such as `web: python app.py`")
        if settings.extras:
            raise ConfigError(f"{folder.name} is an app folder, not a package, so it has no extras; list what it needs in requirements.txt")
        requirements_txt = folder / "requirements.txt"
        requirements = read_requirements(requirements_txt) if requirements_txt.is_file() else []
        metadata = WheelMetadata(app_name(folder, settings.name), app_version(folder), tuple(requirements), (), {})
        return cls(folder, metadata, web, own_output(settings.to, folder))

    def starts_from_procfile(self, settings: Settings) -> bool:
        return self.web is not None and not settings.entrypoint and not settings.module

    def image_settings(self, settings: Settings, environment: Environment) -> Settings:
        """The working directory APP_DIR, and the Procfile's command when no option names one (PORT=8080 when it uses $PORT)."""
        workdir = APP_DIR if settings.workdir is None else settings.workdir
        if self.web is None or not self.starts_from_procfile(settings):
            return replace(settings, workdir=workdir)
        environment_variables, ports = settings.environment, settings.ports
        if self.web.uses_port:
            environment_variables = {"PORT": DEFAULT_PORT, **settings.environment}
            ports = ports or (environment_variables["PORT"],)
        return replace(settings, workdir=workdir, entrypoint=self.web.entrypoint(environment.python),
                       environment=environment_variables, ports=ports)

    def _write_tree(self, tree: Path, files: list[str], environment: Environment) -> None:
        destination = tree / APP_DIR.lstrip("/")
        for relative in files:
            source, target = self.folder / relative, destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            else:
                shutil.copyfile(source, target)
                if source.stat().st_mode & 0o111:
                    target.chmod(0o755)
        site_packages = tree / environment.site_packages.lstrip("/")
        site_packages.mkdir(parents=True, exist_ok=True)
        (site_packages / _PTH_NAME).write_text(APP_DIR + "\n")

    @property
    def wheel_name(self) -> str | None:
        return None  # its files go in as they are

    def top_layers(self, inputs: LayerInputs) -> list[NamedLayer]:
        """Its non-code files (templates, static...) as the resources layer and its code as the application layer."""
        files = list(app_files(self.folder, self.leave_out))
        key: list[object] = [PLAIN_APP_RECIPE, APP_DIR, fingerprint(self.folder, files)]
        return code_layers(key, lambda tree: self._write_tree(tree, files, inputs.environment), self.metadata, inputs)
