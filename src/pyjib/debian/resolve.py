"""Which packages a base holds: the ones asked for and, recursively, what they Pre-Depend and Depend on, as apt picks them.

Alternatives (`a | b`) take the first that the archive has or that is already chosen; a virtual package (one only named by
other packages' Provides) takes its provider when there is one, or the one already chosen. Dependencies that exist only to
run maintainer scripts are left out: the image runs none, and they would bring a shell, perl and dpkg.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from ..errors import PyjibError
from .control import Relation, parse_relations
from .packages import Package, PackageIndex
from .version import satisfies

# Dependencies for maintainer scripts and package management only (configuration prompts, shells, the package manager):
# distroless' images hold none of them either. A package named explicitly is always installed.
MAINTAINER_ONLY = frozenset({
    "adduser", "awk", "bash", "cdebconf", "coreutils", "dash", "debconf", "debconf-2.0", "debianutils", "dpkg", "init-system-helpers",
    "gawk", "install-info", "login", "mawk", "lsb-base", "openssl", "passwd", "perl", "perl-base", "sensible-utils", "sysvinit-utils", "ucf",
    "usr-is-merged", "usrmerge",
})


class ResolutionError(PyjibError):
    """A package or dependency the archive cannot satisfy."""


def _provides(package: Package, relation: Relation) -> bool:
    """Whether package's Provides satisfies relation (a versioned relation needs a versioned Provides)."""
    if not package.provides:
        return False
    for clause in parse_relations(package.provides, f"Provides of {package.name}"):
        for provided in clause:
            if provided.name == relation.name and (relation.operator is None or (
                    provided.version is not None and satisfies(provided.version, relation.operator, relation.version))):
                return True
    return False


def _satisfied_by(chosen: dict[str, Package], relation: Relation) -> bool:
    installed = chosen.get(relation.name)
    if installed is not None and satisfies(installed.version, relation.operator, relation.version):
        return True
    return any(_provides(package, relation) for package in chosen.values())


def _candidate(index: PackageIndex, relation: Relation, needed_by: str = "") -> Package | None:
    """The newest real package meeting relation, else the only provider of it (several providers are ambiguous)."""
    for package in index.versions.get(relation.name, ()):
        if satisfies(package.version, relation.operator, relation.version):
            return package
    providers = list(dict.fromkeys(p.name for p, version in index.providers.get(relation.name, ())
                                   if relation.operator is None or (version is not None and satisfies(version, relation.operator, relation.version))))
    if len(providers) == 1:
        return index.versions[providers[0]][0]
    if len(providers) > 1:
        raise ResolutionError(f"{needed_by}{relation} is a virtual package provided by {', '.join(sorted(providers))}: name the one you want with --package")
    return None


def _requested(index: PackageIndex, name: str) -> Package:
    relation = Relation(name)
    package = _candidate(index, relation)
    if package is None:
        raise ResolutionError(f"no package {name!r} in the archive for this suite and architecture; check the name (apt-cache search)")
    return package


def resolve(index: PackageIndex, names: Sequence[str], left_out: Iterable[str] = MAINTAINER_ONLY) -> list[Package]:
    """The packages to install for names, sorted by name; a dependency nobody can meet is one ResolutionError."""
    skipped = frozenset(left_out) - set(names)
    chosen: dict[str, Package] = {}
    queue: deque[Package] = deque()
    for name in names:
        package = _requested(index, name)
        if package.name not in chosen:
            chosen[package.name] = package
            queue.append(package)
    while queue:
        package = queue.popleft()
        for field, text in (("Pre-Depends", package.pre_depends), ("Depends", package.depends)):
            for clause in parse_relations(text, f"{field} of {package.name}"):
                if any(_satisfied_by(chosen, relation) for relation in clause):
                    continue
                if all(relation.name in skipped for relation in clause):
                    continue
                candidates = (_candidate(index, r, f"{package.name} needs {r.name}: ") for r in clause if r.name not in skipped)
                found = next((c for c in candidates if c is not None), None)
                if found is None:
                    wanted = " | ".join(str(r) for r in clause)
                    raise ResolutionError(f"{package.name} {package.version} needs {wanted}, which the archive does not have")
                if found.name in chosen:  # a name already chosen at a version this clause refuses
                    raise ResolutionError(f"{package.name} needs {' | '.join(str(r) for r in clause)}, "
                                          f"but {found.name} {chosen[found.name].version} is chosen")
                chosen[found.name] = found
                queue.append(found)
    return sorted(chosen.values(), key=lambda p: p.name)
