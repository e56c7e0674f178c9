"""Where packages come from: the host's apt sources (deb822 .sources files or one-line .list files), or mirrors named by the user."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .control import ControlError, paragraphs

APT_DIR = Path("/etc/apt")
DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# A suite's point-release and security updates live in suites of their own; apt picks the newest version across them.
UPDATE_SUFFIXES = ("-updates", "-security")


@dataclass(frozen=True)
class Source:
    """One suite of one archive: http://deb.debian.org/debian bookworm main."""

    uri: str
    suite: str
    components: tuple[str, ...] = ("main",)
    keyring: Path | None = None  # apt's Signed-By, when it names a file
    required: bool = True  # a mirror's -updates or -security suite may not exist there

    def url(self, path: str) -> str:
        return f"{self.uri.rstrip('/')}/{path}"


def belongs_to(suite: str, wanted: str) -> bool:
    return suite == wanted or any(suite == wanted + suffix for suffix in UPDATE_SUFFIXES)


def _deb822_sources(text: str, where: Path) -> Iterable[Source]:
    try:
        stanzas = list(paragraphs(text))
    except ControlError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    for stanza in stanzas:
        if "deb" not in stanza.get("Types", "").split() or stanza.get("Enabled", "yes").lower() == "no":
            continue
        signed_by = stanza.get("Signed-By", "").strip()
        keyring = Path(signed_by) if signed_by.startswith("/") and "\n" not in signed_by else None
        for uri in stanza.get("URIs", "").split():
            for suite in stanza.get("Suites", "").split():
                yield Source(uri, suite, tuple(stanza.get("Components", "main").split()), keyring)


def _one_line_sources(text: str) -> Iterable[Source]:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        keyring = None
        if words and words[0].startswith("["):  # [arch=amd64 signed-by=/usr/share/keyrings/x.gpg]
            options = []
            while words:
                word = words.pop(0)
                options.append(word.strip("[]"))
                if word.endswith("]"):
                    break
            for option in options:
                key, _, value = option.partition("=")
                if key == "signed-by" and value.startswith("/"):
                    keyring = Path(value)
        if len(words) >= 2:
            yield Source(words[0], words[1], tuple(words[2:]) or ("main",), keyring)


def host_sources(suite: str, apt_dir: Path = APT_DIR) -> list[Source]:
    """The host's apt sources for suite and its -updates and -security suites, in apt's file order."""
    found: list[Source] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in files:
        if path.is_file():
            found.extend(_one_line_sources(path.read_text(errors="replace")))
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        found.extend(_deb822_sources(path.read_text(errors="replace"), path))
    chosen = [s for s in found if belongs_to(s.suite, suite)]
    if not any(s.suite == suite for s in chosen):
        raise ConfigError(f"the host's apt sources ({apt_dir}) list no {suite} suite; name an archive with --mirror http://deb.debian.org/debian")
    return list(dict.fromkeys(chosen))


def mirror_sources(mirrors: Iterable[str], suite: str) -> list[Source]:
    """Each mirror for the suite itself and, where the mirror has them, its -updates and -security suites."""
    out = []
    for uri in mirrors:
        if not uri.startswith(("http://", "https://")):
            raise ConfigError(f"mirror {uri!r} is no http:// or https:// URL, such as http://deb.debian.org/debian")
        out.append(Source(uri, suite, ("main",), None, False))  # with two mirrors (debian, debian-security) each has only some
        out.extend(Source(uri, suite + suffix, ("main",), None, False) for suffix in UPDATE_SUFFIXES)
    return out
