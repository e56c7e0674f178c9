"""Where a file that a lock names only by file name and hash lives: its URL on the configured package index.

poetry.lock and pdm.lock record `file = "NAME"` and its sha256, not where it came from. pyjib asks the index the build
is configured with (pyjib's index options, pip's or uv's; a Poetry source's URL first) for the project's page, in the
PEP 691 JSON form or the PEP 503 HTML form, and takes the file's URL from there. The lock's hash is the one that counts:
an index that lists another hash for the file is an error, and the download checks the bytes against the lock again.
Answers are kept by the file's hash, so a warm build asks the index nothing.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import httpx
from packaging.utils import canonicalize_name

from ..cache import Records
from ..cachelayout import INDEX_FILE_URLS
from ..errors import ResolveError
from ..indexes import IndexConfig, credentials_for, redact, redact_text, without_credentials

PYPI = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str | None  # what the index says, when it says it


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def parse_project_page(body: str, content_type: str, page_url: str) -> list[IndexFile]:
    """The files of a simple-API project page, JSON (PEP 691) or HTML (PEP 503), with absolute URLs."""
    if "json" in content_type:
        data: dict[str, Any] = json.loads(body)
        return [IndexFile(f["filename"], urljoin(page_url, f["url"]), (f.get("hashes") or {}).get("sha256"))
                for f in data.get("files", []) if isinstance(f, dict) and f.get("filename") and f.get("url")]
    parser = _Anchors()
    parser.feed(body)
    files = []
    for href in parser.hrefs:
        url, fragment = urldefrag(urljoin(page_url, href))
        found = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", fragment)
        files.append(IndexFile(url.rsplit("/", 1)[-1], url, found.group(1).lower() if found else None))
    return files


def index_urls(indexes: IndexConfig, hint: str | None = None) -> list[str]:
    """The indexes to ask, in order: the lock's own source for the package, the main index, the extra ones."""
    main = indexes.index_url or indexes.uv_env.get("UV_DEFAULT_INDEX") or indexes.uv_env.get("UV_INDEX_URL") or PYPI
    extra = [*indexes.extra_index_urls, *(indexes.uv_env.get("UV_INDEX", "").split()),
             *(indexes.uv_env.get("UV_EXTRA_INDEX_URL", "").split())]
    return list(dict.fromkeys(u for u in (hint, main, *extra) if u))


def _page(client: httpx.Client, index: str, name: str, indexes: IndexConfig) -> list[IndexFile]:
    page = f"{without_credentials(index).rstrip('/')}/{canonicalize_name(name)}/"
    try:
        response = client.get(page, headers={"Accept": _ACCEPT}, auth=credentials_for(index, indexes))
    except httpx.TransportError as exc:
        raise ResolveError(f"cannot ask {redact(index)} for {name}: {redact_text(str(exc), indexes)}") from exc
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise ResolveError(f"{redact(index)} answered HTTP {response.status_code} for {name}; check the index and its credentials")
    return parse_project_page(response.text, response.headers.get("content-type", ""), str(response.url))


def _in_find_links(filename: str, indexes: IndexConfig) -> str | None:
    for location in indexes.find_links:
        folder = Path(location.removeprefix("file://")) if "://" not in location or location.startswith("file://") else None
        if folder is not None and (folder / filename).is_file():
            return (folder / filename).resolve().as_uri()
    return None


class IndexFiles:
    """Finds files' URLs on the indexes; one client and one page per package per build."""

    def __init__(self, indexes: IndexConfig, cache_root: Path, where: str) -> None:
        self.indexes = indexes
        self.records = Records(cache_root, INDEX_FILE_URLS)
        self.where = where
        self.pages: dict[tuple[str, str], list[IndexFile]] = {}
        self._client: httpx.Client | None = None  # made on the first question: a warm build asks none (a TLS context costs)
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(60.0, connect=15.0), follow_redirects=True)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def url_for(self, name: str, filename: str, sha256: str, hint: str | None = None) -> str:
        """The file's URL (kept by its sha256); an error when no index has it or an index lists another hash for it."""
        cached = self.records.get(sha256)
        if isinstance(cached, dict) and cached.get("filename") == filename:
            return str(cached["url"])
        url = _in_find_links(filename, self.indexes) or self._from_indexes(name, filename, sha256, hint)
        self.records.put(sha256, {"filename": filename, "url": url})
        return url

    def _from_indexes(self, name: str, filename: str, sha256: str, hint: str | None) -> str:
        asked = index_urls(self.indexes, hint)
        for index in asked:
            key = (index, canonicalize_name(name))
            if key not in self.pages:
                self.pages[key] = _page(self.client, index, name, self.indexes)
            for file in self.pages[key]:
                if file.filename != filename:
                    continue
                if file.sha256 is not None and file.sha256 != sha256.lower():
                    raise ResolveError(f"{self.where} pins {filename} with sha256 {sha256}, but {redact(index)} lists {file.sha256}: "
                                       "the lock's hash was edited or the index holds another file; lock again")
                return without_credentials(file.url)
        where = ", ".join(redact(u) for u in asked)
        raise ResolveError(f"{self.where} pins {filename}, which is not on {where}; "
                           "set index-url to the index the lock was made with")

