"""What Python the base image holds, read from its config and files (never from the host).

One pass over the base's layers builds a merged view of paths (applying whiteouts) and keeps the bytes of the few
files that tell the interpreter's path and version and the C library the image's wheels must match. The same pass
records what the image checks need (imagechecks.py): the shared libraries the dynamic loader finds in the base, and the
Python X.Y its files hold, whatever the Env advertises; and, for the SBOM, the dpkg status files that list the base's OS
packages. All of it is cached by the base's config digest.
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .atomicfile import write_text
from .cache import BlobCache
from .cachelayout import BASE_FACTS, BASE_FACTS_VERSION
from .errors import BaseImageError
from .filesystem import MergedFilesystem
from .imagepaths import APP_ROOT
from .oci.image import Image
from .oci.platforms import Platform, platform_of_config

_KEEP = re.compile(
    r"^(?:usr/(?:local/)?bin/python3(?:\.\d+)?"
    r"|usr/(?:local/)?lib/(?:[^/]+/)?libpython3\.\d+\.so[.\d]*"
    r"|(?:usr/)?lib(?:64)?/(?:[^/]+/)?libc\.so\.6"
    r"|var/lib/dpkg/status(?:\.d/[^/]+)?"
    r"|etc/ld\.so\.conf(?:\.d/[^/]+)?"
    r"|(?:etc|usr/lib)/os-release)$"
)
_STDLIB = re.compile(r"^usr/(?:local/)?lib/python(3\.\d+)/os\.py$")
_MUSL = re.compile(r"^(?:usr/)?lib/ld-musl-[^/]+\.so\.1$")
_MAX_KEPT = 64 << 20
# Where the dynamic loader looks: its built-in folders, Debian's multiarch ones, and /usr/local/lib, which ld.so.conf names.
_LIBRARY_DIRS = ("lib", "lib64", "usr/lib", "usr/lib64", "usr/local/lib", "usr/local/lib64")
_MULTIARCH_DIR = re.compile(r"^(?:usr/(?:local/)?)?lib/[^/]+-linux-[^/]+$")
_SHARED_OBJECT = re.compile(r"\.so(?:\.[\w.-]*)?$")


@dataclass(frozen=True)
class OsPackage:
    """A package of the base's distribution, as dpkg records it."""

    name: str
    version: str
    architecture: str
    source: str  # the source package's name (the binary's own when dpkg records none)
    source_version: str


@dataclass(frozen=True)
class Interpreter:
    path: str  # absolute path inside the image, symlinks resolved
    version: str  # full X.Y.Z
    libc: str  # "glibc" or "musl"
    libc_version: tuple[int, int]
    platform: Platform
    os_packages: tuple[OsPackage, ...] = ()  # the base's, from /var/lib/dpkg/status or status.d/, sorted
    distro: str = ""  # os-release ID-VERSION_ID, as in debian-12; "" when the base has no os-release

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def uv_platform(self) -> str:
        """The --python-platform value uv resolves for: the newest manylinux level the base's glibc satisfies."""
        machine = self.platform.machine
        if self.libc == "musl":
            return f"{machine}-unknown-linux-musl"
        supported = [17, 28, *range(31, 41)]
        fitting = [m for m in supported if m <= self.libc_version[1]] if self.libc_version[0] == 2 else []
        if not fitting:
            raise BaseImageError(f"the base's glibc {self.libc_version[0]}.{self.libc_version[1]} is older than manylinux2014 (2.17)")
        return f"{machine}-manylinux_2_{fitting[-1]}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["platform"] = asdict(self.platform)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interpreter:
        return cls(
            path=data["path"], version=data["version"], libc=data["libc"],
            libc_version=tuple(data["libc_version"]),
            platform=Platform(**data["platform"]),
            # A record from before the package list was kept raises KeyError: a miss, so the base is read again.
            os_packages=tuple(OsPackage(**p) for p in data["os_packages"]), distro=str(data["distro"]),
        )


def _keep(path: str, size: int) -> bool:
    return size <= _MAX_KEPT and _KEEP.match(path) is not None


def _read_layers(image: Image) -> MergedFilesystem:
    try:
        return MergedFilesystem.read([blob.fetch() for blob in image.layers], keep=_keep)
    except tarfile.TarError as exc:
        raise BaseImageError(f"a layer of the base is not a readable tar: {exc}") from exc


def _interpreter_path(config: dict[str, Any], view: MergedFilesystem) -> str:
    container = config.get("config") or {}
    candidates = []
    for argv in (container.get("Entrypoint") or [], container.get("Cmd") or []):
        if argv and posixpath.basename(argv[0]).startswith("python"):
            candidates.append(argv[0])
    candidates += ["/usr/local/bin/python3", "/usr/bin/python3"]
    for candidate in candidates:
        resolved = view.resolve(candidate) if candidate.startswith("/") else None
        if resolved and view.kind(resolved) == "file":
            return "/" + resolved
    raise BaseImageError(
        "the base image has no Python interpreter (looked for its entrypoint, /usr/local/bin/python3 and /usr/bin/python3); "
        "choose a Python base image"
    )


def _version(config: dict[str, Any], view: MergedFilesystem, interpreter: str) -> str:
    minors = {m.group(1) for path in view.entries if (m := _STDLIB.match(path))}
    if not minors:
        raise BaseImageError("the base image has a python binary but no standard library (no lib/python3.X/os.py); choose a Python base image")
    env = _env(config)
    if re.fullmatch(r"3\.\d+\.\d+", env.get("PYTHON_VERSION", "")):
        return str(env["PYTHON_VERSION"])
    name_minor = re.search(r"python(3\.\d+)$", interpreter)
    wanted = name_minor.group(1) if name_minor else (sorted(minors)[-1] if len(minors) == 1 else None)
    for path, data in sorted(view.contents.items()):
        if path.startswith("var/lib/dpkg/status"):
            for stanza in data.decode("utf-8", "replace").split("\n\n"):
                package = re.search(r"^Package: python(3\.\d+)-minimal$", stanza, re.M)
                version = re.search(r"^Version: (?:\d+:)?(3\.\d+\.\d+)", stanza, re.M)
                if package and version and (wanted is None or package.group(1) == wanted):
                    return version.group(1)
    binaries = [view.contents.get(interpreter.lstrip("/"), b"")] + [
        data for path, data in sorted(view.contents.items()) if "libpython" in path
    ]
    prefix = re.escape(wanted) if wanted else r"3\.\d+"
    pattern = re.compile(rb"\x00(" + prefix.encode() + rb"\.\d+)[\x00 +]")
    for data in binaries:
        if found := pattern.search(data):
            return found.group(1).decode()
    raise BaseImageError(f"cannot tell the full version of {interpreter} in the base image; set PYTHON_VERSION in its Env")


def _libc(view: MergedFilesystem) -> tuple[str, tuple[int, int]]:
    for path, data in sorted(view.contents.items()):
        if path.endswith("libc.so.6"):
            found = re.search(rb"release version (\d+)\.(\d+)", data) or re.search(rb"GLIBC (\d+)\.(\d+)", data)
            if found:
                return "glibc", (int(found.group(1)), int(found.group(2)))
    if any(_MUSL.match(path) for path in view.entries):
        return "musl", (1, 2)
    raise BaseImageError("cannot find the base image's C library (glibc's libc.so.6 or musl's loader); choose a Linux Python base")


def _env(config: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in (config.get("config") or {}).get("Env") or [] if "=" in e)


def _loader_dirs(config: dict[str, Any], view: MergedFilesystem) -> set[str]:
    """The folders the dynamic loader searches in the base, symlinks resolved, without the leading slash."""
    wanted = set(_LIBRARY_DIRS)
    wanted |= {directory for path in view.entries if _MULTIARCH_DIR.match(directory := posixpath.dirname(path))}
    for path, data in view.contents.items():
        if path.startswith("etc/ld.so.conf"):
            for line in data.decode("utf-8", "replace").splitlines():
                line = line.split("#", 1)[0].strip()
                if line.startswith("/"):
                    wanted.add(line)
    wanted |= {d for d in _env(config).get("LD_LIBRARY_PATH", "").split(":") if d.startswith("/")}
    resolved = set()
    for directory in wanted:
        normal = posixpath.normpath("/" + directory).lstrip("/")
        resolved.add(view.resolve(normal, strict=False) or normal)
    return resolved


def _libraries(config: dict[str, Any], view: MergedFilesystem) -> frozenset[str]:
    """The names of the shared objects (files and symlinks) in the loader's folders."""
    folders = _loader_dirs(config, view)
    found = set()
    for path, entry in view.entries.items():
        directory, name = posixpath.split(path)
        if directory in folders and entry.kind != "dir" and _SHARED_OBJECT.search(name):
            found.add(name)
    return frozenset(found)


def _found_python(view: MergedFilesystem, interpreter: str) -> str | None:
    """The X.Y of the interpreter from its files alone: its name, its one standard library, or its binary's version."""
    if named := re.search(r"python(3\.\d+)$", interpreter):
        return named.group(1)
    minors = {m.group(1) for path in view.entries if (m := _STDLIB.match(path))}
    if len(minors) == 1:
        return minors.pop()
    if found := re.search(rb"\x00(3\.\d+)\.\d+[\x00 +]", view.contents.get(interpreter.lstrip("/"), b"")):
        return found.group(1).decode()
    return None


@dataclass(frozen=True)
class BaseFacts:
    """What pyjib knows of a base from its config and files: its interpreter, and what the image checks compare."""

    interpreter: Interpreter
    libraries: frozenset[str] = frozenset()  # shared objects the dynamic loader finds in the base
    found_python: str | None = None  # X.Y of the interpreter's own files (None: cannot tell)
    advertised_python: str | None = None  # PYTHON_VERSION in the base's Env, as written
    app_dir: tuple[int, int, int] | None = None  # mode, uid and gid of the base's /app, when it has that folder

    def to_json(self) -> dict[str, Any]:
        return {"version": BASE_FACTS_VERSION, "interpreter": self.interpreter.to_json(), "libraries": sorted(self.libraries),
                "found_python": self.found_python, "advertised_python": self.advertised_python,
                "app_dir": list(self.app_dir) if self.app_dir else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BaseFacts:
        if data.get("version") != BASE_FACTS_VERSION:
            raise ValueError(f"base facts of version {data.get('version')}")
        app_dir = data.get("app_dir")
        return cls(Interpreter.from_json(data["interpreter"]), frozenset(data["libraries"]), data["found_python"],
                   data["advertised_python"], (int(app_dir[0]), int(app_dir[1]), int(app_dir[2])) if app_dir else None)


def _stanza_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line and not line[0].isspace() and ":" in line:  # continuation lines (descriptions, conffiles) are skipped
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


def parse_dpkg_status(text: str) -> list[OsPackage]:
    """The installed packages of a dpkg status file (or one status.d/ control file, which has no Status field)."""
    packages = []
    for stanza in text.split("\n\n"):
        fields = _stanza_fields(stanza)
        if not fields.get("Package") or not fields.get("Version"):
            continue
        if (status := fields.get("Status")) is not None and not status.endswith(" installed"):
            continue
        source, _, source_version = fields.get("Source", fields["Package"]).partition(" ")
        packages.append(OsPackage(fields["Package"], fields["Version"], fields.get("Architecture", ""), source,
                                  source_version.strip("()") or fields["Version"]))
    return packages


def os_packages(view: MergedFilesystem) -> tuple[OsPackage, ...]:
    found = {}
    for path, data in sorted(view.contents.items()):
        if path.startswith("var/lib/dpkg/status") and view.kind(path) == "file":
            for package in parse_dpkg_status(data.decode("utf-8", "replace")):
                found[(package.name, package.architecture)] = package
    return tuple(sorted(found.values(), key=lambda p: (p.name, p.architecture)))


def distro(view: MergedFilesystem) -> str:
    """ID-VERSION_ID from os-release (etc/ first, as systemd reads it), the purl qualifier scanners match advisories by."""
    for path in ("etc/os-release", "usr/lib/os-release"):
        resolved = view.resolve(path)  # Debian's etc/os-release links to usr/lib/os-release
        if resolved is not None and (data := view.contents.get(resolved)) is not None:
            fields = dict(line.split("=", 1) for line in data.decode("utf-8", "replace").splitlines() if "=" in line)
            name, version = fields.get("ID", "").strip('"'), fields.get("VERSION_ID", "").strip('"')
            return f"{name}-{version}" if name and version else name
    return ""


def _record_path(image: Image, cache: BlobCache) -> Path:
    # The config's digest names every layer's diff_id, so it identifies the base's files.
    return cache.root / BASE_FACTS / f"{image.config_descriptor().digest.split(':', 1)[1]}.json"


def cached_facts(image: Image, cache: BlobCache) -> BaseFacts | None:
    record = _record_path(image, cache)
    if record.is_file():
        try:
            return BaseFacts.from_json(json.loads(record.read_text()))
        except (ValueError, KeyError, TypeError):
            pass
    return None


def remember_facts(image: Image, cache: BlobCache, facts: BaseFacts) -> None:
    write_text(_record_path(image, cache), json.dumps(facts.to_json()), permissions=0o644)


def _app_dir(view: MergedFilesystem) -> tuple[int, int, int] | None:
    """The base's own /app folder, whose owner and mode pyjib's layers keep (their entry for app/ would replace them)."""
    entry = view.entries.get(APP_ROOT.strip("/"))
    return (entry.mode, entry.uid, entry.gid) if entry is not None and entry.kind == "dir" else None


def detect_base(image: Image, cache: BlobCache) -> BaseFacts:
    """The base's facts, from the local cache or by reading the base's layers once."""
    if (known := cached_facts(image, cache)) is not None:
        return known
    view = _read_layers(image)
    path = _interpreter_path(image.config, view)
    libc, libc_version = _libc(view)
    interpreter = Interpreter(path, _version(image.config, view, path), libc, libc_version, platform_of_config(image.config),
                              os_packages(view), distro(view))
    facts = BaseFacts(interpreter, _libraries(image.config, view), _found_python(view, path),
                      _env(image.config).get("PYTHON_VERSION"), _app_dir(view))
    remember_facts(image, cache, facts)
    return facts


def detect_interpreter(image: Image, cache: BlobCache) -> Interpreter:
    """The base's interpreter (see detect_base)."""
    return detect_base(image, cache).interpreter
