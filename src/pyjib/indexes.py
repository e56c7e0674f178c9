"""Where packages come from, configured the way users already configure pip and uv, with credentials kept out of sight.

Precedence: pyjib's own options (index-url, extra-index-url, find-links), then PIP_INDEX_URL / PIP_EXTRA_INDEX_URL /
PIP_FIND_LINKS, then uv's own configuration (UV_* variables, uv.toml, [tool.uv]), which uv reads by itself, then pip.conf.
Settings that come from pip keep pip's meaning: the best version across all indexes wins.
"""

from __future__ import annotations

import configparser
import netrc
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

_UV_INDEX_VARIABLES = ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_FIND_LINKS")


@dataclass(frozen=True)
class IndexConfig:
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    source: str = "uv's defaults"  # where the settings came from, for messages
    best_match: bool = False  # pip's rule: the best version across indexes, not the first index that has the package
    uv_env: dict[str, str] = field(default_factory=dict)  # UV_* variables that shape resolution

    def uv_arguments(self) -> list[str]:
        arguments: list[str] = []
        if self.index_url:
            arguments += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            arguments += ["--extra-index-url", url]
        for location in self.find_links:
            arguments += ["--find-links", location]
        if self.best_match:
            arguments += ["--index-strategy", "unsafe-best-match"]
        return arguments

    def uv_environment(self) -> dict[str, str]:
        """The same settings as uv's variables, for child processes: credentials stay off argv (readable in /proc)."""
        env: dict[str, str] = {}
        if self.index_url:
            env["UV_INDEX_URL"] = self.index_url
        if self.extra_index_urls:
            env["UV_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
        if self.find_links:
            env["UV_FIND_LINKS"] = ",".join(self.find_links)
        if self.best_match:
            env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
        return env

    def urls(self) -> list[str]:
        return [u for u in (self.index_url, *self.extra_index_urls, *self.find_links) if u]

    def cache_identity(self) -> list[object]:
        """What the indexes are, for cache keys: their locations without credentials, so a per-job token in a URL (CI job
        tokens) neither leaks into keys nor makes every key new; and of uv's variables only those that can change what
        is resolved, so a runner's own cache folder or download concurrency does not make the fleet cache miss."""
        return [[without_credentials(a) if "://" in a else a for a in self.uv_arguments()],
                sorted((k, without_credentials(v) if "://" in v else v) for k, v in self.uv_env.items() if not is_local_uv_setting(k))]


# uv's variables about this machine and how uv works on it, not about what it resolves: where it keeps things, how
# it downloads and reports (the rest, such as UV_EXCLUDE_NEWER or UV_PRERELEASE, stays in the key).
_LOCAL_UV_SETTINGS = frozenset({
    "UV_NO_CACHE", "UV_LINK_MODE", "UV_NO_PROGRESS", "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_REQUEST_TIMEOUT", "UV_HTTP_RETRIES",
    "UV_NO_WRAP", "UV_COMPILE_BYTECODE", "UV_NO_CONFIG", "UV_CONFIG_FILE", "UV_KEYRING_PROVIDER", "UV_OFFLINE",
})


def is_local_uv_setting(name: str) -> bool:
    """A uv variable that two runners may set differently and still resolve the same (UV_CACHE_DIR, UV_CONCURRENT_*)."""
    return name in _LOCAL_UV_SETTINGS or name.endswith(("_DIR", "_DIRECTORY")) or name.startswith(("UV_CONCURRENT_", "UV_CACHE_"))


def split_list(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in re.split(r"\s+", value or "") if v)


def _pip_config_files() -> list[Path]:
    if explicit := os.environ.get("PIP_CONFIG_FILE"):
        return [Path(explicit)] if explicit != os.devnull else []
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"), home / ".pip" / "pip.conf", xdg / "pip" / "pip.conf"]


def pip_config_values(keys: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """The keys' values in pip's configuration files ([install] over [global], later files over earlier ones), and the
    files that were read."""
    parser = configparser.RawConfigParser()
    read = parser.read([str(p) for p in _pip_config_files() if p.is_file()])
    values: dict[str, str] = {}
    for section in ("global", "install"):
        if parser.has_section(section):
            values.update({k: v for k, v in parser.items(section) if k in keys})
    return values, read


def _from_pip_conf() -> IndexConfig | None:
    values, read = pip_config_values(("index-url", "extra-index-url", "find-links"))
    if not values:
        return None
    return IndexConfig(values.get("index-url"), split_list(values.get("extra-index-url")), split_list(values.get("find-links")),
                       source=" and ".join(read), best_match=True)


def _uv_configured(project_dir: Path) -> bool:
    if any(os.environ.get(name) for name in _UV_INDEX_VARIABLES):
        return True
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for path in (project_dir / "uv.toml", xdg / "uv" / "uv.toml", Path("/etc/uv/uv.toml")):
        if path.is_file():
            return True
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            uv = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("uv", {})
        except tomllib.TOMLDecodeError:
            return False
        return bool(uv.get("index") or uv.get("index-url") or uv.get("extra-index-url") or (uv.get("pip") or {}).get("index-url"))
    return False


def index_config(project_dir: Path, index_url: str | None, extra_index_urls: tuple[str, ...], find_links: tuple[str, ...]) -> IndexConfig:
    uv_env = {k: v for k, v in os.environ.items() if k.startswith("UV_") and k not in ("UV_PYTHON_DOWNLOADS",)}
    if index_url or extra_index_urls or find_links:
        return IndexConfig(index_url, extra_index_urls, find_links, source="pyjib's index options", uv_env=uv_env)
    pip_env = {k: os.environ.get(k) for k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    if any(pip_env.values()):
        return IndexConfig(pip_env["PIP_INDEX_URL"], split_list(pip_env["PIP_EXTRA_INDEX_URL"]), split_list(os.environ.get("PIP_FIND_LINKS")),
                           source="PIP_INDEX_URL/PIP_EXTRA_INDEX_URL", best_match=True, uv_env=uv_env)
    if _uv_configured(project_dir):
        return IndexConfig(source="uv's configuration", uv_env=uv_env)
    return _from_pip_conf() or IndexConfig(uv_env=uv_env)


def redact(url: str) -> str:
    """The URL without its password (or token), safe for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None and not (parts.username and "@" in parts.netloc):
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = parts.username or ""
    return urlunsplit(SplitResult(parts.scheme, f"{user}:***@{host}" if parts.password is not None else f"***@{host}",
                                  parts.path, parts.query, parts.fragment))


def without_credentials(url: str) -> str:
    """The URL with no user or password at all: what pyjib records; credentials come from the configuration when needed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(SplitResult(parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment))


def redact_text(text: str, config: IndexConfig) -> str:
    for url in config.urls():
        text = text.replace(url, redact(url))
        if password := urlsplit(url).password:
            text = text.replace(password, "***").replace(unquote(password), "***")
    return text


def credentials_for(url: str, config: IndexConfig) -> tuple[str, str] | None:
    """Credentials for a file URL: those of a configured index on the same host, else ~/.netrc's."""
    target = urlsplit(url)
    for configured in config.urls():
        parts = urlsplit(configured)
        if parts.hostname == target.hostname and parts.port == target.port and parts.username:
            return unquote(parts.username), unquote(parts.password or "")
    try:
        entry = netrc.netrc(os.environ.get("NETRC")).authenticators(target.hostname or "")
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return None
    if entry:
        login, _account, password = entry
        return login, password or ""
    return None
