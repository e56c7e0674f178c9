"""What a layer's ELF files need from the dynamic loader, and what shared objects the layer holds.

A layer is scanned once, when it is built, and the summary is cached in its record: checking an image then costs a
few set operations. A need counts as met inside pyjib's layers when any of them holds a file of that name or a shared
object of that SONAME. That covers auditwheel's NAME.libs/ folders (reached through RPATH/RUNPATH with $ORIGIN) and
libraries a package loads itself before its extension (glibc then matches the need by SONAME), so the check never
refuses an image that loads; what it catches is a library that is nowhere in the image, such as libstdc++.so.6.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .elf import ElfInfo, read_elf


@dataclass(frozen=True)
class Linkage:
    """One layer's summary, per CPU (ELF e_machine): the libraries it holds, and those its files need that it does not hold.

    Kept per CPU because a wheel may carry ELF files for other machines as data, which the image's loader never loads.
    """

    provides: tuple[tuple[int, frozenset[str]], ...] = ()  # (machine, file names and SONAMEs), sorted by machine
    needs: tuple[tuple[int, str, tuple[str, ...]], ...] = ()  # (machine, library, distributions whose files need it), sorted

    def provided(self, machine: int | None) -> frozenset[str]:
        """What the layer holds for machine (None: for any)."""
        return frozenset().union(*(names for m, names in self.provides if machine is None or m == machine))

    def needed(self, machine: int | None) -> list[tuple[str, tuple[str, ...]]]:
        """What the layer's files for machine (None: for any) need, with who needs it."""
        return [(library, users) for m, library, users in self.needs if machine is None or m == machine]

    def to_json(self) -> dict[str, Any]:
        needs: dict[str, dict[str, list[str]]] = {}
        for machine, library, users in self.needs:
            needs.setdefault(str(machine), {})[library] = list(users)
        return {"provides": {str(machine): sorted(names) for machine, names in self.provides}, "needs": needs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Linkage:
        provides = tuple(sorted((int(machine), frozenset(str(n) for n in names)) for machine, names in dict(data["provides"]).items()))
        needs = tuple(sorted((int(machine), str(library), tuple(str(u) for u in users))
                             for machine, libraries in dict(data["needs"]).items() for library, users in dict(libraries).items()))
        return cls(provides, needs)


NO_LINKAGE = Linkage()  # a layer without ELF files (the environment, resources)


def _owners(tree: Path) -> dict[Path, str]:
    """Each installed file's distribution, from the RECORD files of the tree's dist-info folders."""
    owners: dict[Path, str] = {}
    for record in tree.rglob("*.dist-info/RECORD"):
        distribution = canonicalize_name(record.parent.name.split("-", 1)[0])
        site_packages = record.parent.parent
        for row in csv.reader(io.StringIO(record.read_text("utf-8", "replace"))):
            if row and row[0]:
                owners[Path(os.path.normpath(site_packages / row[0]))] = distribution
    return owners


def _elf_files(tree: Path) -> Iterable[tuple[Path, ElfInfo]]:
    for directory, _dirs, files in os.walk(tree):
        for name in sorted(files):
            path = Path(directory) / name
            if not path.is_symlink() and (info := read_elf(path)) is not None:
                yield path, info


def scan_tree(tree: Path) -> Linkage:
    """The linkage summary of an installed tree (a layer's files before they are packed)."""
    owners = _owners(tree)
    provides: dict[int, set[str]] = defaultdict(set)
    wanted: dict[tuple[int, str], set[str]] = defaultdict(set)
    for path, info in _elf_files(tree):
        provides[info.machine].add(path.name)
        if info.soname:
            provides[info.machine].add(info.soname)
        for library in info.needed:
            wanted[info.machine, library].add(owners.get(Path(os.path.normpath(path)), path.relative_to(tree).as_posix()))
    needs = tuple(sorted((machine, library, tuple(sorted(users))) for (machine, library), users in wanted.items()
                         if library not in provides[machine]))
    return Linkage(tuple(sorted((machine, frozenset(names)) for machine, names in provides.items())), needs)
