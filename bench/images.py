"""The images every tool starts from, and the registries the benchmark starts.

The base is the tests' distroless-like Python 3.11 built from Debian packages (tests/infra/base_image.py). The Dockerfile
build also needs a builder image with pip: the same recipe plus Debian's python3-pip, as FACTS.md describes. Both are
OCI layouts cached between runs and copied into each registry with skopeo, a tool independent of the ones measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.infra import base_image, debian_base
from tests.infra.registry import Registry, make_self_signed_cert

from pyjib.image import Image

BASE_REPOSITORY = "distroless/python3"
BUILDER_REPOSITORY = "bench/python3-builder"
BUILDER_TAG = "3.11"
BUILDER_PACKAGES = ("python3-pip", "python3-distutils", "python3-setuptools", "python3-wheel", "python3-pkg-resources", "python3-lib2to3")
BUILDER_RECIPE = "1"  # bump when the builder's recipe changes, so a cached layout is rebuilt
# pip in the builder stage reaches PyPI through this machine's egress proxy only if the image trusts the host's CAs.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def base_reference(host: str) -> str:
    return f"{host}/{BASE_REPOSITORY}:{base_image.TAG}"


def builder_reference(host: str) -> str:
    return f"{host}/{BUILDER_REPOSITORY}:{BUILDER_TAG}"


def builder_layout(cache: Path | None = None) -> Path:
    """An OCI layout of the builder (base + pip, running as root), built once per recipe, package set and CA bundle."""
    cache = cache or base_image.test_cache_dir()
    debs = debian_base.download_packages(cache / "debs", "amd64", (*debian_base.PACKAGES, *BUILDER_PACKAGES))
    ca_digest = hashlib.sha256(HOST_CA_BUNDLE.read_bytes()).hexdigest() if HOST_CA_BUNDLE.is_file() else "none"

    def make_image(work: Path) -> Image:
        rootfs = work / "rootfs"
        debian_base.build_rootfs(rootfs, "amd64", download_dir=cache / "debs")
        for deb in debs:
            if deb.name.split("_", 1)[0] in BUILDER_PACKAGES:
                subprocess.run(["dpkg-deb", "-x", str(deb), str(rootfs)], check=True)  # all under /usr: no /usr merge needed
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        config = debian_base.base_config("amd64")
        config["config"].update(User="0", WorkingDir="/")  # a builder stage installs as root
        return base_image.rootfs_image(rootfs, work, config, "debian bookworm packages + " + " ".join(BUILDER_PACKAGES), "builder with pip")

    return base_image.cached_layout(cache, "bench-builder-amd64", [BUILDER_RECIPE, sorted(d.name for d in debs), ca_digest], BUILDER_TAG,
                                    make_image)


@dataclass(frozen=True)
class Images:
    base: Path
    builder: Path | None  # only when a tool builds from a Dockerfile


def copy_into(layout: Path, tag: str, destination: str) -> None:
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{tag}", f"docker://{destination}"],
        check=True, capture_output=True, text=True, timeout=300,
    )


@dataclass(frozen=True)
class Tls:
    """A self-signed certificate for a loopback registry, and a CA bundle with it and the host's CAs for the client."""

    cert: Path
    key: Path
    bundle: Path


def make_tls(directory: Path) -> Tls:
    cert, key = make_self_signed_cert(directory)
    bundle = directory / "ca-bundle.pem"
    host_cas = HOST_CA_BUNDLE.read_text() if HOST_CA_BUNDLE.is_file() else ""
    bundle.write_text(host_cas + cert.read_text())
    return Tls(cert, key, bundle)


@contextlib.contextmanager
def seeded_registry(directory: Path, images: Images, tls: Tls | None) -> Iterator[Registry]:
    """A fresh registry holding only the base (and the builder, when a Dockerfile build needs it)."""
    registry = Registry(directory, tls_cert=tls.cert if tls else None, tls_key=tls.key if tls else None)
    with registry:
        copy_into(images.base, base_image.TAG, base_reference(registry.host))
        if images.builder is not None:
            copy_into(images.builder, BUILDER_TAG, builder_reference(registry.host))
        yield registry
