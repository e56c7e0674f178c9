"""The merged filesystem of an image's layers, as a container would see it: whiteouts applied, symlinks resolvable."""

from __future__ import annotations

import contextlib
import posixpath
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@contextlib.contextmanager
def _open_layer(path: Path) -> Iterator[tarfile.TarFile]:
    """A layer's tar, read as a stream: plain, gzip (which tarfile knows) or zstd (through the zstandard package)."""
    with path.open("rb") as raw:
        if raw.read(4) == _ZSTD_MAGIC:
            raw.seek(0)
            try:
                import zstandard
            except ImportError as exc:
                raise tarfile.ReadError("a zstd-compressed layer needs the zstandard package: pip install 'pyjib[zstd]'") from exc
            with zstandard.ZstdDecompressor().stream_reader(raw) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
                yield tar
            return
        raw.seek(0)
        with tarfile.open(fileobj=raw, mode="r|*") as tar:
            yield tar


@dataclass
class Entry:
    kind: str  # "file", "dir" or "link"
    layer: int  # index of the layer that wrote it
    member: str  # its name in that layer's tar
    linkname: str = ""


@dataclass
class MergedFilesystem:
    layers: Sequence[Path]
    entries: dict[str, Entry] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)  # bytes kept while reading, for the paths asked for
    # Each directory's children ever seen, so a whiteout removes a subtree in time proportional to it, not to the image
    # (a layer of 60,000 whiteouts would otherwise scan every path 60,000 times).
    children: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, layers: Sequence[Path], keep: Callable[[str, int], bool] = lambda path, size: False) -> MergedFilesystem:
        """One pass over the layers, bottom first; keep(path, size) says which files' bytes to hold on to."""
        view = cls(list(layers))
        for index, layer in enumerate(view.layers):
            with _open_layer(layer) as tar:
                for member in tar:
                    view._apply(index, member, tar, keep)
        return view

    def _apply(self, index: int, member: tarfile.TarInfo, tar: tarfile.TarFile, keep: Callable[[str, int], bool]) -> None:
        name = posixpath.normpath("/" + member.name).lstrip("/")
        if not name:
            return
        directory, base = posixpath.split(name)
        if base == ".wh..wh..opq":
            self._remove_under(directory)
            return
        if base.startswith(".wh."):
            removed = posixpath.join(directory, base[4:])
            self._forget(removed)
            self._remove_under(removed)
            return
        self._forget(name)
        self._register(name)
        if member.issym():
            self.entries[name] = Entry("link", index, member.name, member.linkname)
        elif member.isdir():
            self.entries[name] = Entry("dir", index, member.name)
        elif member.islnk():
            target = posixpath.normpath("/" + member.linkname).lstrip("/")
            if target in self.entries:
                self.entries[name] = self.entries[target]
            if target in self.contents:
                self.contents[name] = self.contents[target]
        elif member.isreg():
            self.entries[name] = Entry("file", index, member.name)
            if keep(name, member.size):
                extracted = tar.extractfile(member)
                if extracted is not None:
                    self.contents[name] = extracted.read()

    def _forget(self, name: str) -> None:
        self.entries.pop(name, None)
        self.contents.pop(name, None)

    def _register(self, name: str) -> None:
        """name, and each ancestor not yet known, in its parent's children (names are never taken out of a parent's set:
        forgetting a path that is gone does nothing)."""
        while name:
            parent = posixpath.dirname(name)
            siblings = self.children.setdefault(parent, set())
            if name in siblings:
                return
            siblings.add(name)
            name = parent

    def _remove_under(self, directory: str) -> None:
        pending = [directory]
        while pending:
            for child in self.children.pop(pending.pop(), ()):
                self._forget(child)
                pending.append(child)

    def resolve(self, path: str, depth: int = 0, strict: bool = True) -> str | None:
        """The path with symlinks in every component resolved, as the kernel would inside the image; None if absent.

        strict=False resolves what it can and returns the rest as it is (tars need not list the folders they fill).
        """
        if depth > 40:
            return None
        parts = [p for p in path.strip("/").split("/") if p]
        current = ""
        for index, part in enumerate(parts):
            candidate = f"{current}/{part}" if current else part
            entry = self.entries.get(candidate)
            if entry is not None and entry.kind == "link":
                target = entry.linkname if entry.linkname.startswith("/") else posixpath.join("/" + current, entry.linkname)
                rest = "/".join(parts[index + 1:])
                return self.resolve(posixpath.normpath(posixpath.join(target, rest) if rest else target), depth + 1, strict)
            current = candidate
        return current if current in self.entries or not strict else None

    def kind(self, path: str) -> str | None:
        entry = self.entries.get(path)
        return entry.kind if entry else None

    def read_file(self, path: str) -> bytes:
        """The bytes of a regular file, following symlinks; FileNotFoundError if the image has none there."""
        resolved = self.resolve(path)
        if resolved is None or self.entries[resolved].kind != "file":
            raise FileNotFoundError(f"no file {path} in the image")
        if resolved in self.contents:
            return self.contents[resolved]
        entry = self.entries[resolved]
        with _open_layer(self.layers[entry.layer]) as tar:
            for member in tar:  # a stream: walk to the member rather than seek
                if member.name == entry.member:
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        return extracted.read()
        raise FileNotFoundError(f"no file {path} in the image")
