"""The SBOM of an image: SPDX 2.3 JSON (the default) or CycloneDX 1.6 JSON, from what contents.py gathered.

Deterministic: the same image gives the same bytes (the creation time is the image's, identifiers derive from its
digest, lists are sorted), so pushing an image again attaches nothing new.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .contents import ImageContents, PythonPackage
from .interpreter import OsPackage
from .oci import mediatypes
from .oci.descriptor import canonical_json

FORMATS = {"spdx": mediatypes.SPDX_JSON, "cyclonedx": mediatypes.CYCLONEDX_JSON}
NOASSERTION = "NOASSERTION"
_SPDX_HOST = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*\.[a-z]{2,5}$", re.IGNORECASE)
_SPDX_SCHEMES = {"http", "https", "ssh", "git", "svn", "sftp", "ftp"}
_TOOL = f"pyjib-{__version__}"
_SOURCE_NOTES = {
    "sdist": "pyjib built this wheel from the sdist on the build host; the checksum is that wheel's",
    "local": "pyjib built this wheel from a local folder on the build host; it comes from no index",
    "vcs": "pyjib built this wheel from a VCS checkout on the build host; the checksum is that wheel's",
    "project": "the project the image was built for, installed from the wheel pyjib built",
}


def _namespace(contents: ImageContents) -> str:
    return f"https://pyjib.dev/spdx/{contents.name}-{contents.version}-{contents.digest.split(':', 1)[1]}"


def _spdx_id(kind: str, name: str, taken: set[str]) -> str:
    base = "SPDXRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", f"{kind}-{name}")
    candidate, n = base, 1
    while candidate in taken:  # libstdc++6 and libstdc--6 would meet
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def _purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}


def _spdx_package(spdx_id: str, name: str, version: str, purl: str, **extra: Any) -> dict[str, Any]:
    package = {"SPDXID": spdx_id, "name": name, "versionInfo": version, "downloadLocation": NOASSERTION, "filesAnalyzed": False,
               "licenseConcluded": NOASSERTION, "licenseDeclared": NOASSERTION, "copyrightText": NOASSERTION,
               "externalRefs": [_purl_ref(purl)]}
    package.update(extra)
    return package


def spdx_location(url: str) -> bool:
    """Whether SPDX 2.3's download-location pattern accepts url: it wants a DNS name ending in a 2-5 letter TLD, so an
    index at an IP address, localhost or a .internal name is named in sourceInfo instead (the document stays valid)."""
    parts = urlsplit(url)
    return parts.scheme.split("+")[-1] in _SPDX_SCHEMES and _SPDX_HOST.match(parts.hostname or "") is not None


def _spdx_python(spdx_id: str, package: PythonPackage) -> dict[str, Any]:
    extra: dict[str, Any] = {"primaryPackagePurpose": "APPLICATION" if package.source == "project" else "LIBRARY"}
    notes = [note] if (note := _SOURCE_NOTES.get(package.source)) else []
    if package.download and spdx_location(package.download):
        extra["downloadLocation"] = package.download
    elif package.download:
        notes.append(f"downloaded from {package.download}")
    if package.sha256:
        extra["checksums"] = [{"algorithm": "SHA256", "checksumValue": package.sha256}]
    if package.license_expression:
        extra["licenseDeclared"] = package.license_expression
    elif package.license_text:
        extra["licenseComments"] = f"the metadata says: {package.license_text}"
    if notes:
        extra["sourceInfo"] = "; ".join(notes)
    return _spdx_package(spdx_id, package.name, package.version, package.purl, **extra)


def _spdx_deb(spdx_id: str, package: OsPackage, contents: ImageContents) -> dict[str, Any]:
    extra: dict[str, Any] = {"primaryPackagePurpose": "LIBRARY"}
    if package.source != package.name or package.source_version != package.version:
        extra["sourceInfo"] = f"built from the source package {package.source} {package.source_version}"
    return _spdx_package(spdx_id, package.name, package.version, contents.deb_purl(package), **extra)


def _relationship(element: str, kind: str, related: str) -> dict[str, str]:
    return {"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related}


def spdx_document(contents: ImageContents) -> dict[str, Any]:
    taken: set[str] = set()
    image_id, base_id = _spdx_id("Image", contents.name, taken), _spdx_id("Base", "image", taken)
    packages = [
        _spdx_package(image_id, contents.name, contents.version, contents.purl, primaryPackagePurpose="CONTAINER",
                      checksums=[{"algorithm": "SHA256", "checksumValue": contents.digest.split(":", 1)[1]}]),
        _spdx_package(base_id, contents.base_name, contents.base_digest, contents.base_purl, primaryPackagePurpose="CONTAINER"),
    ]
    relationships = [_relationship("SPDXRef-DOCUMENT", "DESCRIBES", image_id), _relationship(image_id, "DESCENDANT_OF", base_id)]
    python_ids = {p.name: _spdx_id("pypi", p.name, taken) for p in contents.python}
    for package in contents.python:
        packages.append(_spdx_python(python_ids[package.name], package))
        relationships.append(_relationship(image_id, "CONTAINS", python_ids[package.name]))
        relationships += [_relationship(python_ids[package.name], "DEPENDS_ON", python_ids[d]) for d in package.depends_on]
    if contents.distro:  # scanners (trivy) tell which advisories apply to the OS packages from this package
        os_id = _spdx_id("OperatingSystem", contents.distro, taken)
        name, _, version = contents.distro.partition("-")
        packages.append({"SPDXID": os_id, "name": name, "versionInfo": version, "downloadLocation": NOASSERTION, "filesAnalyzed": False,
                         "licenseConcluded": NOASSERTION, "licenseDeclared": NOASSERTION, "copyrightText": NOASSERTION,
                         "primaryPackagePurpose": "OPERATING-SYSTEM"})
        relationships.append(_relationship(image_id, "CONTAINS", os_id))
    for deb in contents.os_packages:
        deb_id = _spdx_id("deb", f"{deb.name}-{deb.architecture}", taken)
        packages.append(_spdx_deb(deb_id, deb, contents))
        relationships.append(_relationship(image_id, "CONTAINS", deb_id))
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{contents.name}-{contents.version} image {contents.digest}",
        "documentNamespace": _namespace(contents),
        "creationInfo": {"created": contents.created, "creators": [f"Tool: {_TOOL}"]},
        "documentDescribes": [image_id],
        "packages": packages,
        "relationships": relationships,
    }


def _cdx_python(package: PythonPackage) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "application" if package.source == "project" else "library", "bom-ref": package.purl,
                                 "name": package.name, "version": package.version, "purl": package.purl}
    if package.sha256:
        component["hashes"] = [{"alg": "SHA-256", "content": package.sha256}]
    if package.license_expression:
        component["licenses"] = [{"expression": package.license_expression}]
    elif package.license_text:
        component["licenses"] = [{"license": {"name": package.license_text}}]
    if package.download:
        component["externalReferences"] = [{"type": "vcs" if package.source == "vcs" else "distribution", "url": package.download}]
    if note := _SOURCE_NOTES.get(package.source):
        component["properties"] = [{"name": "pyjib:source", "value": package.source}, {"name": "pyjib:note", "value": note}]
    return component


def _cdx_deb(package: OsPackage, contents: ImageContents) -> dict[str, Any]:
    purl = contents.deb_purl(package)
    component: dict[str, Any] = {"type": "library", "bom-ref": purl, "name": package.name, "version": package.version, "purl": purl}
    if package.source != package.name:
        component["properties"] = [{"name": "pyjib:dpkg-source", "value": f"{package.source} {package.source_version}"}]
    return component


def cyclonedx_document(contents: ImageContents) -> dict[str, Any]:
    python = {p.name: p for p in contents.python}
    base = {"type": "container", "bom-ref": contents.base_purl, "name": contents.base_name, "version": contents.base_digest,
            "purl": contents.base_purl}
    image = {"type": "container", "bom-ref": contents.purl, "name": contents.name, "version": contents.version, "purl": contents.purl,
             "hashes": [{"alg": "SHA-256", "content": contents.digest.split(":", 1)[1]}], "pedigree": {"ancestors": [base]}}
    components = [_cdx_python(p) for p in contents.python] + [_cdx_deb(d, contents) for d in contents.os_packages]
    if contents.distro:
        name, _, version = contents.distro.partition("-")
        components.append({"type": "operating-system", "bom-ref": f"os:{contents.distro}", "name": name, "version": version})
    dependencies = [{"ref": contents.purl, "dependsOn": sorted(c["bom-ref"] for c in components)}]
    dependencies += [{"ref": p.purl, "dependsOn": sorted(python[d].purl for d in p.depends_on)} for p in contents.python]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": uuid.uuid5(uuid.NAMESPACE_URL, _namespace(contents)).urn,
        "version": 1,
        "metadata": {"timestamp": contents.created, "tools": {"components": [{"type": "application", "name": "pyjib", "version": __version__}]},
                     "component": image},
        "components": components,
        "dependencies": dependencies,
    }


def sbom_bytes(contents: ImageContents, form: str) -> bytes:
    """The SBOM in the named format ("spdx" or "cyclonedx"), as canonical JSON."""
    document = spdx_document(contents) if form == "spdx" else cyclonedx_document(contents)
    return canonical_json(document)
