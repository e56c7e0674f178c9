"""Build settings: [tool.pyjib] in pyproject.toml, overridden key by key by the command line.

Each option has one name, spelled with dashes, used both as the TOML key and as the long command-line flag.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .grouping import BIG_DISTRIBUTION, LayerGroup, parse_groups
from .log import warn
from .oci.platforms import parse_platform
from .reference import TAG_PATTERN, parse_reference
from .tagtemplates import with_placeholders

DEFAULT_BASE = "gcr.io/distroless/python3-debian13:nonroot"

# name -> kind; kinds: "str", "list" (of strings), "dict" (string to string), "argv" (a list, or a string split like a shell),
# "bool", "int", "layers" ([[tool.pyjib.layers]] tables) and "sbom" (a format name, or false for none)
OPTIONS: dict[str, str] = {
    "from": "str",
    "to": "str",
    "tags": "list",
    "entrypoint": "argv",
    "module": "str",
    "args": "argv",
    "environment": "dict",
    "labels": "dict",
    "ports": "list",
    "user": "str",
    "workdir": "str",
    "creation-time": "str",
    "insecure-registries": "list",
    "platforms": "list",
    "extras": "list",
    "groups": "list",
    "registry-cache": "bool",
    "registry-cache-trust": "str",
    "registry-cache-repository": "str",
    "bytecode": "str",
    "layers": "layers",
    "layer-threshold-mb": "int",
    "index-url": "str",
    "extra-index-url": "list",
    "find-links": "list",
    "only-binary": "bool",
    "constraint": "list",
    "lock-file": "str",
    "compression": "str",
    "sbom": "sbom",
    "runtime-libraries": "list",
    "provenance": "bool",
    "name": "str",
}
SBOM_FORMATS = ("spdx", "cyclonedx")
BYTECODE_MODES = ("auto", "required", "off")
TRUST_MODES = ("key", "repository")  # registry-cache-trust: see fleetcache.py


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    base: str = DEFAULT_BASE
    to: str | None = None
    tags: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    module: str | None = None
    args: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[str, ...] = ()
    user: str | None = None
    workdir: str | None = None
    creation_time: str | None = None
    insecure_registries: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # dependency groups to install too; none by default (never dev, nor a lock's default-groups)
    registry_cache: bool = True  # keep a fleet cache record in the target repository (see fleetcache.py)
    registry_cache_trust: str = "key"  # read records authenticated with PYJIB_CACHE_KEY only, or ("repository") any record
    registry_cache_repository: str | None = None  # keep the records there instead of in the target repository
    bytecode: str = "auto"
    layers: tuple[LayerGroup, ...] = ()
    layer_threshold_mb: int = BIG_DISTRIBUTION // 1_000_000
    index_url: str | None = None
    extra_index_url: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    only_binary: bool = False  # True: never build a dependency from source
    runtime_libraries: tuple[str, ...] = ()  # sonames the container's runtime provides, or only optional plugins need
    constraint: tuple[str, ...] = ()  # constraint files (pip's -c); default: PIP_CONSTRAINT, else pip.conf
    lock_file: str | None = None  # default: pylock.toml, uv.lock, poetry.lock, pdm.lock or requirements.txt in the project
    compression: str = "gzip"  # or "zstd"
    base_recipe: Mapping[str, Any] | None = None  # [tool.pyjib.base] when no `from` is set: the base is made from it
    base_name: str | None = None  # the base's name in the image's annotations, when `base` is a path of pyjib's own
    sbom: str = "spdx"  # "spdx", "cyclonedx" or "none" (sbom = false)
    provenance: bool = True  # attach an in-toto SLSA provenance statement
    name: str | None = None  # an app folder's name (a package's comes from its metadata)


def _looks_like_app(project_dir: Path) -> bool:
    """A folder of the Dockerfile kind: requirements.txt, a Procfile or a .py file at its top."""
    return any((project_dir / name).is_file() for name in ("requirements.txt", "Procfile")) or any(project_dir.glob("*.py"))


def read_pyproject(project_dir: Path) -> dict[str, Any]:
    """The parsed pyproject.toml; {} for a setup.py-only project or an app folder; an error for a folder that is neither."""
    path = project_dir / "pyproject.toml"
    if not project_dir.is_dir():
        raise ConfigError(f"project folder {project_dir} does not exist")
    if not path.is_file():
        if (project_dir / "setup.py").is_file() or _looks_like_app(project_dir):
            return {}
        raise ConfigError(f"{project_dir} has no pyproject.toml (nor setup.py, requirements.txt or .py file): "
                          "point pyjib at a Python project or app folder")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def is_plain_app(project_dir: Path) -> bool:
    """A folder that is not a package: no setup.py or setup.cfg, and no pyproject.toml or one without [project] and
    [build-system] (a [tool.pyjib] table alone holds settings; it does not make the folder a package)."""
    if any((project_dir / name).is_file() for name in ("setup.py", "setup.cfg")):
        return False
    pyproject = read_pyproject(project_dir)
    return "project" not in pyproject and "build-system" not in pyproject


def _coerce(name: str, kind: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {name} must be {expected}, not {value!r}")

    if kind == "layers":
        return parse_groups(value, where)
    if kind == "sbom":
        if value is False or value in ("false", "none"):
            return "none"
        if value is True:
            return SBOM_FORMATS[0]
        if value not in SBOM_FORMATS:
            raise bad('"spdx", "cyclonedx" or false')
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad("a whole number")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise bad("a string")
        return str(value)
    if kind in ("list", "argv"):
        if kind == "argv" and isinstance(value, str):
            try:
                return tuple(shlex.split(value))
            except ValueError as exc:
                raise bad("a list of strings or a shell-quoted string") from exc
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            raise bad("a list of strings")
        return tuple(str(v) for v in value)
    if kind == "dict":
        if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
            raise bad("a table of strings")
        return {str(k): str(v) for k, v in value.items()}
    raise AssertionError(kind)


def options_from_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check and convert a [tool.pyjib]-style table; an unknown key is an error, so typos cannot pass silently."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    out = {}
    for key, value in table.items():
        if key not in OPTIONS:
            close = difflib.get_close_matches(str(key), list(OPTIONS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(OPTIONS))}"
            raise ConfigError(f"{where}: unknown option {key!r} ({hint})")
        out[key] = _coerce(key, OPTIONS[key], value, where)
    if out.get("entrypoint") and out.get("module"):
        raise ConfigError(f"{where}: set either entrypoint or module, not both")
    return out


# Each says what the image runs: setting one on the command line replaces the other from the file.
_ALTERNATIVES = {"entrypoint": "module", "module": "entrypoint"}


def merge(file_options: Mapping[str, Any], cli_options: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line values replace the file's; tables (environment, labels) are merged key by key; --module replaces the
    file's entrypoint and --entrypoint its module."""
    merged = dict(file_options)
    for key, value in cli_options.items():
        if OPTIONS[key] == "dict":
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
        if key in _ALTERNATIVES and value:
            merged.pop(_ALTERNATIVES[key], None)
    return merged


def look_alike_tables(tool: Mapping[str, Any]) -> list[str]:
    """[tool.*] tables whose name is a likely typo of pyjib ([tool.pjib], [tool.py-jib]): they would drop every option unseen."""
    return [str(name) for name in tool if name != "pyjib" and difflib.SequenceMatcher(None, str(name).lower(), "pyjib").ratio() >= 0.75]


def _utf8(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigError(f"{what} is not valid UTF-8 text ({exc.reason} at position {exc.start}); an image config holds UTF-8 only") from exc


def _strings_in(value: Any) -> list[str]:
    """Every string an option's value holds: itself, a list's items, or a table's keys and values."""
    parts = [*value.keys(), *value.values()] if isinstance(value, Mapping) else list(value) if isinstance(value, tuple) else [value]
    return [part for part in parts if isinstance(part, str)]


def check_values(options: Mapping[str, Any]) -> None:
    """Values that would be accepted and then break at run time are refused here, before any work."""
    for name, value in options.items():
        for part in _strings_in(value):
            _utf8(part, f"{name} {part!r}")
            if "\0" in part:
                raise ConfigError(f"{name} holds a NUL character, which no process environment or argv can carry")
    if "entrypoint" in options and not options["entrypoint"]:
        raise ConfigError("entrypoint is empty: give the program to run, e.g. entrypoint = [\"/app/venv/bin/serve\"], or set module")
    if isinstance(user := options.get("user"), str) and not user.strip():
        raise ConfigError('user is empty, which would run the image as root without a word; say user = "0" to run as root on purpose')
    if (workdir := options.get("workdir")) is not None and not str(workdir).startswith("/"):
        raise ConfigError(f"workdir {workdir!r} is relative: the image's working directory must be an absolute path such as /app")
    creation_timestamp(options.get("creation-time"))  # a bad value or SOURCE_DATE_EPOCH stops the build now, not after it


def load_settings(project_dir: Path, cli_options: Mapping[str, Any], pyproject: Mapping[str, Any] | None = None) -> Settings:
    pyproject = read_pyproject(project_dir) if pyproject is None else pyproject
    tool = pyproject.get("tool") or {}
    if not isinstance(tool, Mapping):
        raise ConfigError(f"{project_dir / 'pyproject.toml'}: tool must be a table ([tool.NAME] sections), not {tool!r}")
    for name in look_alike_tables(tool):
        warn(f"{project_dir / 'pyproject.toml'} has [tool.{name}], which pyjib does not read: did you mean [tool.pyjib]?")
    table = tool.get("pyjib") or {}
    recipe = None
    if isinstance(table, Mapping):  # [tool.pyjib.base] is `pyjib base`'s recipe (pyjib.debian.request), not a build option
        recipe = table.get("base")
        table = {key: value for key, value in table.items() if key != "base"}
    if recipe is not None and not isinstance(recipe, Mapping):
        raise ConfigError(f"{project_dir / 'pyproject.toml'}: [tool.pyjib] base must be a table ([tool.pyjib.base]), not {recipe!r}")
    options = merge(options_from_table(table, f"{project_dir / 'pyproject.toml'} [tool.pyjib]"), cli_options)
    check_values(options)
    for port in options.get("ports", ()):
        if not re.fullmatch(r"\d{1,5}(/(tcp|udp|sctp))?", port) or not 0 < int(port.split("/")[0]) < 65536:
            raise ConfigError(f"invalid port {port!r}: expected a number from 1 to 65535, optionally /tcp or /udp")
    if options.get("compression", "gzip") not in ("gzip", "zstd"):
        raise ConfigError(f"invalid compression {options['compression']!r}: use gzip or zstd")
    if options.get("registry-cache-trust", "key") not in TRUST_MODES:
        raise ConfigError(f"invalid registry-cache-trust {options['registry-cache-trust']!r}: use key (records authenticated with "
                          "PYJIB_CACHE_KEY) or repository (any record: trusts everyone who can push to the repository)")
    if (cache_repository := options.get("registry-cache-repository")) is not None:
        named = parse_reference(cache_repository)
        if named.tag or named.digest or "/" not in cache_repository:
            raise ConfigError(f"invalid registry-cache-repository {cache_repository!r}: name a repository, as in registry.example.com/team/pyjib-cache")
    if options.get("bytecode", "auto") not in BYTECODE_MODES:
        raise ConfigError(f"invalid bytecode {options['bytecode']!r}: use one of {', '.join(BYTECODE_MODES)}")
    for platform in options.get("platforms", ()):
        parse_platform(platform)
    for tag in options.get("tags", ()):
        if not TAG_PATTERN.match(with_placeholders(tag)):  # checked before any work; deliveries check the filled tags again
            raise ConfigError(f"invalid tag {tag!r}: up to 128 letters, digits, _ . and -, not starting with . or -")
    for name in options.get("environment", {}):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"invalid environment variable name {name!r}")
    renamed = {key.replace("-", "_"): value for key, value in options.items()}
    if "from" not in renamed and recipe is not None:
        renamed["base_recipe"] = dict(recipe)
    renamed["base"] = renamed.pop("from", DEFAULT_BASE)
    return Settings(project_dir=project_dir, **renamed)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def creation_timestamp(value: str | None, environ: Mapping[str, str] = os.environ, clock: Callable[[], dt.datetime] = _utc_now) -> str:
    """The image's creation time in RFC 3339: the option (ISO 8601, 'now', the clock's time, or epoch seconds), else
    SOURCE_DATE_EPOCH, else the epoch."""
    source = "creation-time"
    if value is None:
        value, source = environ.get("SOURCE_DATE_EPOCH") or "0", "SOURCE_DATE_EPOCH"
    try:
        if value == "now":
            moment = clock()
        elif re.fullmatch(r"\d+", value):
            moment = dt.datetime.fromtimestamp(int(value), dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ConfigError(f"invalid {source} {value!r}: use ISO 8601 (2024-05-01T12:00:00Z), 'now' or epoch seconds up to year 9999") from exc
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
