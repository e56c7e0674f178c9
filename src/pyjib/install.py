"""Install wheels into a staging tree that mirrors the image, without running anything from them.

The image's environment is a virtual environment at PREFIX whose pyvenv.cfg points at the base's interpreter:
the interpreter then puts PREFIX's site-packages on sys.path after the standard library, so nothing can shadow it,
console scripts get PREFIX/bin/python in their shebang, and importlib.metadata sees every distribution.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .errors import InstallError
from .imagepaths import APP_ROOT, PREFIX
from .interpreter import Interpreter
from .layer import Ownership

if TYPE_CHECKING:
    from installer.records import RecordEntry
    from installer.utils import Scheme


@dataclass(frozen=True)
class Environment:
    """Where things live inside the image."""

    interpreter: Interpreter
    prefix: str = PREFIX
    app_root_owner: tuple[int, int, int] | None = None  # the base's /app (mode, uid, gid), which pyjib's layers keep

    @property
    def ownership(self) -> dict[str, Ownership]:
        """Entries pyjib's layers must write with the base's owner and mode rather than root's 0755: an upper layer's
        directory entry replaces the lower one's, so /app would otherwise lose the base's owner."""
        if self.app_root_owner is None:
            return {}
        mode, uid, gid = self.app_root_owner
        return {APP_ROOT.strip("/"): Ownership(mode, uid, gid)}

    @property
    def bin(self) -> str:
        return f"{self.prefix}/bin"

    @property
    def python(self) -> str:
        return f"{self.bin}/python"

    @property
    def site_packages(self) -> str:
        return f"{self.prefix}/lib/python{self.interpreter.minor}/site-packages"

    def scheme(self, distribution: str) -> dict[str, str]:
        return {
            "purelib": self.site_packages,
            "platlib": self.site_packages,
            "headers": f"{self.prefix}/include/site/python{self.interpreter.minor}/{distribution}",
            "scripts": self.bin,
            "data": self.prefix,
        }


def write_skeleton(staging: Path, environment: Environment) -> None:
    """pyvenv.cfg and bin/python: what makes PREFIX an environment of the base's interpreter."""
    root = staging / environment.prefix.lstrip("/")
    (root / "bin").mkdir(parents=True, exist_ok=True)
    (staging / environment.site_packages.lstrip("/")).mkdir(parents=True, exist_ok=True)
    interpreter = environment.interpreter
    (root / "pyvenv.cfg").write_text(
        f"home = {posixpath.dirname(interpreter.path)}\ninclude-system-site-packages = false\nversion = {interpreter.version}\n"
    )
    for name in ("python", "python3", f"python{interpreter.minor}"):
        link = root / "bin" / name
        if not link.is_symlink():
            os.symlink(interpreter.path if name == "python" else "python", link)


def check_wheel_paths(wheel: Path) -> None:
    """Refuse a wheel that would write outside its environment, before anything is written."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise InstallError(f"{wheel.name} is not a valid wheel (zip): {exc}") from exc
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or ".." in parts or (parts and parts[0].endswith(":")):
            raise InstallError(f"{wheel.name} holds the path {name!r}, which would write outside the image's environment; refusing to install it")


_SCRIPT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*")


def check_script_names(wheel: Path, entry_points: str) -> None:
    """Refuse console or GUI script names that are paths (`../../etc/x`, `/usr/bin/x`): the zip member check does not see
    them, and a script is written at bin/NAME."""
    section = ""
    for line in entry_points.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line and section in ("console_scripts", "gui_scripts"):
            name = line.split("=", 1)[0].strip()
            if not _SCRIPT_NAME.fullmatch(name):
                raise InstallError(f"{wheel.name} declares the script name {name!r}, which is not a plain file name; refusing to install it")


def _entry_points_text(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/entry_points.txt")]
        return archive.read(names[0]).decode("utf-8", "replace") if names else ""


@dataclass(frozen=True)
class SharedFile:
    """A file two distributions of one tree both ship: the later one's copy is kept, as pip keeps it."""

    path: str  # as the image sees it
    earlier: str
    later: str


@functools.cache
def _tree_destination() -> type[Any]:
    """installer's destination for a tree shared by several wheels. Made (and installer imported) at the first install:
    a build whose layers are all cached never pays for importing installer."""
    from installer.destinations import SchemeDictionaryDestination

    class TreeDestination(SchemeDictionaryDestination):
        """Installs one wheel into a tree shared with other wheels: a file an earlier wheel wrote is replaced (pypa
        installer refuses with FileExistsError), and owners remembers which distribution wrote each file."""

        owners: dict[str, str]
        shared: list[SharedFile]
        distribution: str

        def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:
            seen = posixpath.join(self.scheme_dict[scheme], path)
            target = Path(self.destdir or "/") / seen.lstrip("/")
            if target.is_file() or target.is_symlink():
                self.shared.append(SharedFile(seen, self.owners.get(seen, "the environment"), self.distribution))
                target.unlink()
            self.owners[seen] = self.distribution
            return super().write_to_fs(scheme, path, stream, is_executable)

    return TreeDestination


def install_wheel(wheel: Path, staging: Path, environment: Environment, owners: dict[str, str] | None = None) -> list[SharedFile]:
    """Install wheel into staging; the files it replaced, which another distribution in the tree wrote (owners: who wrote what)."""
    import installer
    from installer.exceptions import InvalidWheelSource
    from installer.records import InvalidRecordEntry
    from installer.sources import WheelFile

    check_wheel_paths(wheel)
    check_script_names(wheel, _entry_points_text(wheel))
    shared: list[SharedFile] = []
    try:
        with WheelFile.open(wheel) as source:
            destination = _tree_destination()(
                environment.scheme(source.distribution),
                interpreter=environment.python,
                script_kind="posix",
                bytecode_optimization_levels=(),
                destdir=str(staging),
            )
            destination.owners = {} if owners is None else owners
            destination.shared = shared
            destination.distribution = source.distribution
            installer.install(source, destination, additional_metadata={"INSTALLER": b"pyjib\n"})
    except (ValueError, KeyError, zipfile.BadZipFile, InvalidRecordEntry, InvalidWheelSource, UnicodeDecodeError) as exc:
        # A wheel with a malformed RECORD or METADATA is the wheel's fault: one line naming it, not a traceback.
        raise InstallError(f"cannot install {wheel.name}: {' '.join(str(exc).split())[:200]}") from exc
    return shared


def install_all(wheels: Iterable[Path], staging: Path, environment: Environment) -> list[SharedFile]:
    """Install wheels in order into one tree; a file two of them ship is the later one's, as with pip. Returns those files."""
    owners: dict[str, str] = {}
    return [shared for wheel in wheels for shared in install_wheel(wheel, staging, environment, owners)]
