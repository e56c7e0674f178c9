"""The images every tool starts from, and the registries the benchmark starts.

The base is the tests' distroless-like Python 3.11 that `pyjib base` makes from Debian packages (tests/infra/base_image.py).
The Dockerfile build also needs a builder image with pip: the same base plus Debian's python3-pip (its own lock), running
as root, with the host's CA bundle, as FACTS.md describes. Both are OCI layouts cached between runs and copied into each
registry with skopeo, a tool independent of the ones measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.infra import base_image
from tests.infra.registry import Registry, make_self_signed_cert

from pyjib.layer import tree_layer
from pyjib.oci.image import Image

BASE_REPOSITORY = "distroless/python3"
BUILDER_REPOSITORY = "bench/python3-builder"
BUILDER_TAG = "3.11"
BUILDER_PACKAGES = ("python3-pip", "python3-setuptools", "python3-wheel")  # their dependencies come in with them
BUILDER_LOCK = base_image.LOCKS / "bench-builder.json"
BUILDER_RECIPE = "2"  # bump when the builder's recipe changes, so a cached layout is rebuilt
# pip in the builder stage reaches PyPI through this machine's egress proxy only if the image trusts the host's CAs.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def base_reference(host: str) -> str:
    return f"{host}/{BASE_REPOSITORY}:{base_image.TAG}"


def builder_reference(host: str) -> str:
    return f"{host}/{BUILDER_REPOSITORY}:{BUILDER_TAG}"


def builder_layout(cache: Path | None = None) -> Path:
    """An OCI layout of the builder (the base with pip, running as root, trusting the host's CAs), built once per lock and CA bundle."""
    cache = cache or base_image.test_cache_dir()
    with_pip = base_image.debian_base(cache, "bench-pip-amd64", BUILDER_LOCK, BUILDER_TAG, packages=BUILDER_PACKAGES)
    ca_bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""

    def make_image(work: Path) -> Image:
        image = base_image.opened(with_pip, BUILDER_TAG)
        if ca_bundle:
            bundle = work / "ca" / "etc/ssl/certs/ca-certificates.crt"
            bundle.parent.mkdir(parents=True)
            bundle.write_bytes(ca_bundle)
            layer = tree_layer(work / "ca", work / "blobs")
            image = image.append_blob(layer.blob(), layer.diff_id, created_by="the host's CA bundle", comment="", created=None)
        config = json.loads(json.dumps(image.config))
        config["config"].update(User="0", WorkingDir="/")  # a builder stage installs as root
        return Image(config, image.layers)

    key = [BUILDER_RECIPE, with_pip.name, hashlib.sha256(ca_bundle).hexdigest()]
    return base_image.image_layout(cache, "bench-builder-amd64", key, BUILDER_TAG, make_image)


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
