"""What one platform image holds, gathered from the build for its SBOM: the image and its base, every Python
distribution (with the wheel's hash, where it came from, its licence and what it depends on) and the base's OS packages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .imagebuild import Build, PlatformImage
from .indexes import without_credentials
from .interpreter import Interpreter, OsPackage
from .markers import holds
from .wheelfacts import WheelFacts


@dataclass(frozen=True)
class PythonPackage:
    name: str  # PEP 503 normalised
    version: str
    sha256: str  # of the wheel installed; "" for the project's own wheel (built here, its bytes are not what is compared)
    source: str  # "project", "index", "sdist", "local" or "vcs"
    download: str  # where it can be fetched (the wheel, the sdist, git+URL@COMMIT); "" when nowhere
    license_expression: str
    license_text: str
    depends_on: tuple[str, ...]  # names of distributions in the image

    @property
    def purl(self) -> str:
        purl = f"pkg:pypi/{quote(self.name, safe='')}@{quote(self.version, safe='')}"
        if self.source == "vcs" and self.download:
            purl += f"?vcs_url={quote(self.download, safe='/:')}"
        return purl


@dataclass(frozen=True)
class ImageContents:
    name: str  # the project's
    version: str
    digest: str  # of the platform image's manifest
    architecture: str
    created: str
    base_name: str
    base_digest: str
    base_repository: str  # REGISTRY/REPO of a registry base; "" for a layout or archive
    python: tuple[PythonPackage, ...]  # the project first, then by name
    os_packages: tuple[OsPackage, ...]
    distro: str  # os-release ID-VERSION_ID

    @property
    def purl(self) -> str:
        return f"pkg:oci/{quote(self.name, safe='')}@{quote(self.digest, safe='')}?arch={quote(self.architecture, safe='')}"

    @property
    def base_purl(self) -> str:
        if self.base_repository:
            name = self.base_repository.rsplit("/", 1)[-1]
        else:  # oci:DIR[:TAG] or docker-archive:FILE: the folder's or file's name
            name = Path(self.base_name.split(":", 1)[-1]).name.split(":", 1)[0] or "base"
        name = name.lower()
        purl = f"pkg:oci/{quote(name, safe='')}@{quote(self.base_digest, safe='')}"
        return purl + (f"?repository_url={quote(self.base_repository, safe='/:')}" if self.base_repository else "")

    def deb_purl(self, package: OsPackage) -> str:
        """pkg:deb/debian/NAME@VERSION?arch=...&distro=debian-12, the epoch as a qualifier (as the purl spec and trivy do)."""
        namespace = self.distro.split("-", 1)[0] or "debian"
        epoch, _, upstream = package.version.rpartition(":")
        qualifiers = [("arch", package.architecture), ("distro", self.distro), ("epoch", epoch)]
        query = "&".join(f"{key}={quote(value, safe='')}" for key, value in qualifiers if value)
        return f"pkg:deb/{namespace}/{quote(package.name, safe='')}@{quote(upstream, safe='')}" + (f"?{query}" if query else "")


def _requested_extras(lines: list[str]) -> dict[str, set[str]]:
    extras: dict[str, set[str]] = {}
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        extras.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    return extras


def _depends_on(requires: tuple[str, ...], extras: set[str], present: set[str], interpreter: Interpreter) -> tuple[str, ...]:
    """The distributions in the image that these Requires-Dist lines ask for, markers evaluated for the image."""
    found = set()
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if holds(requirement.marker, interpreter, extras):
            found.add(canonicalize_name(requirement.name))
    return tuple(sorted(found & present))


def _download(source: str, url: str, origin: str) -> str:
    if source == "index":
        return without_credentials(url)
    return origin  # sdist URL or git+URL@COMMIT; "" for a local folder: no place anyone else can fetch it from


def image_contents(build: Build, platform_image: PlatformImage) -> ImageContents:
    image, base, interpreter = platform_image.image, platform_image.base, platform_image.interpreter
    facts = dict(zip((w.sha256 for w in platform_image.locked), platform_image.facts, strict=True))
    present = {w.name for w in platform_image.locked}
    all_lines = [*platform_image.requirements, *(line for f in platform_image.facts for line in f.requires_dist)]
    extras = _requested_extras(all_lines)
    project_facts = build.project_facts or WheelFacts("", "", "", ())
    project = PythonPackage(build.project.name, build.project.version, "", "project", "", project_facts.license_expression,
                            project_facts.license_text, _depends_on(platform_image.requirements, set(), present, interpreter))
    dependencies = []
    for wheel in sorted(platform_image.locked, key=lambda w: w.name):
        fact = facts.get(wheel.sha256) or WheelFacts(wheel.sha256, "", "", ())
        dependencies.append(PythonPackage(
            wheel.name, wheel.version, wheel.sha256, wheel.source, _download(wheel.source, wheel.url, wheel.origin),
            fact.license_expression, fact.license_text,
            tuple(n for n in _depends_on(fact.requires_dist, extras.get(wheel.name, set()), present, interpreter) if n != wheel.name),
        ))
    return ImageContents(
        name=build.project.name, version=build.project.version, digest=image.digest, architecture=image.platform["architecture"],
        created=image.created, base_name=base.name, base_digest=base.digest,
        base_repository=base.reference.repository_ref if base.reference else "",
        python=(project, *dependencies), os_packages=interpreter.os_packages, distro=interpreter.distro,
    )
