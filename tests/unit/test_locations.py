"""Every form of image location, through the one parser, and what each transport says it cannot do (one line each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyjib.api import check_target
from pyjib.cache import BlobCache
from pyjib.errors import ConfigError, InvalidReferenceError, PyjibError
from pyjib.reference import DOCKER_HUB, Reference
from pyjib.registry import ClientPool
from pyjib.transports import Session, location, login_registry, parse_location
from pyjib.transports.daemon import DaemonLocation
from pyjib.transports.layout import LayoutLocation, write_image
from pyjib.transports.remote import RemoteLocation
from pyjib.transports.tarball import ArchiveLocation
from tests.unit.test_layout_writes import _image

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, reference", [
    ("reg.example/team/app", Reference("reg.example", "team/app")),
    ("reg.example/team/app:1.0", Reference("reg.example", "team/app", "1.0")),
    (f"reg.example/team/app@{DIGEST}", Reference("reg.example", "team/app", None, DIGEST)),
    (f"localhost:5000/app:dev@{DIGEST}", Reference("localhost:5000", "app", "dev", DIGEST)),
    ("python:3.11", Reference(DOCKER_HUB, "library/python", "3.11")),
])
def test_registry_references(text: str, reference: Reference) -> None:
    parsed = parse_location(text)
    assert isinstance(parsed, RemoteLocation)
    assert (parsed.text, parsed.reference, parsed.path, parsed.scheme) == (text, reference, None, "registry")


@pytest.mark.parametrize("text, path, tag", [
    ("oci:dist/image", Path("dist/image"), None),
    ("oci:dist/image:1.0", Path("dist/image"), "1.0"),
    ("oci:/abs/layout:base", Path("/abs/layout"), "base"),
    ("oci:a:b/c", Path("a:b/c"), None),  # a last part with a / is the folder's name, not a tag
    ("oci:./x", Path("x"), None),
])
def test_oci_layouts(text: str, path: Path, tag: str | None) -> None:
    parsed = parse_location(text)
    assert isinstance(parsed, LayoutLocation)
    assert (parsed.text, parsed.path, parsed.tag, parsed.reference, parsed.scheme) == (text, path, tag, None, "oci")


@pytest.mark.parametrize("text, path", [("docker-archive:dist/app.tar", Path("dist/app.tar")), ("docker-archive:/t/a:b.tar", Path("/t/a:b.tar"))])
def test_docker_archives(text: str, path: Path) -> None:
    parsed = parse_location(text)
    assert isinstance(parsed, ArchiveLocation)
    assert (parsed.text, parsed.path, parsed.reference, parsed.scheme) == (text, path, None, "docker-archive")


@pytest.mark.parametrize("text, name, tag", [
    ("docker-daemon:app", "app", None),
    ("docker-daemon:app:dev", "app", "dev"),
    ("docker-daemon:localhost:5000/team/app", "localhost:5000/team/app", None),
    ("docker-daemon:localhost:5000/team/app:1.2", "localhost:5000/team/app", "1.2"),
])
def test_engine_names(text: str, name: str, tag: str | None) -> None:
    parsed = parse_location(text)
    assert isinstance(parsed, DaemonLocation)
    assert (parsed.text, parsed.name, parsed.tag, parsed.reference, parsed.path) == (text, name, tag, None, None)


@pytest.mark.parametrize("text, error, message", [
    ("oci:", ConfigError, "oci: needs a folder, as in oci:dist/image"),
    ("docker-archive:", ConfigError, "docker-archive: needs a file, as in docker-archive:dist/app.tar"),
    ("docker-daemon:", ConfigError, "docker-daemon: needs an image name, as in docker-daemon:myapp:dev"),
    (f"docker-daemon:app@{DIGEST}", ConfigError, "names a digest; give a name and a tag"),
    ("docker-daemon:App", InvalidReferenceError, "must be lowercase"),
    ("docker-daemon:a b", InvalidReferenceError, "invalid image reference"),
    ("", InvalidReferenceError, "expected REGISTRY/REPOSITORY"),
    ("Upper/Case", InvalidReferenceError, "must be lowercase"),
    ("reg.example/app:bad tag", InvalidReferenceError, "invalid image reference"),
    ("reg.example/app@sha256:abc", InvalidReferenceError, "64 hex digits"),
    ("nope:/out", InvalidReferenceError, "bad registry host"),  # an unknown prefix is read as a registry reference
])
def test_bad_locations_are_one_line(text: str, error: type[PyjibError], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")) as raised:
        parse_location(text)
    assert "\n" not in str(raised.value)


def test_every_prefix_of_the_table_gives_a_location_of_its_own_text() -> None:
    for prefix in location.TRANSPORTS:
        parsed = parse_location(f"{prefix}x")
        assert parsed.text == f"{prefix}x" and parsed.scheme == prefix.rstrip(":")


@pytest.mark.parametrize("text", ["docker-archive:a.tar", "docker-daemon:app:dev"])
def test_one_platform_transports_say_so(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=f"^{text.split(':')[0]}: holds one platform"):
        parse_location(text).check_writable(2)
    with pytest.raises(ConfigError, match="holds no SBOM; read it from the registry or an oci:DIR layout"):
        parse_location(text).read_sbom(None, Session(ClientPool(), BlobCache(Path("/nonexistent"))))


def test_layouts_and_registries_take_several_platforms() -> None:
    parse_location("oci:out").check_writable(3)
    parse_location("reg.example/app:1").check_writable(3)


def test_an_engine_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="docker-daemon:app: pyjib cannot read an image from an engine; read it from a registry or an oci:DIR"):
        parse_location("docker-daemon:app").open(None, Session(ClientPool(), BlobCache(tmp_path)))


def test_an_engine_target_needs_an_engine_before_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://engine.example:2376")
    with pytest.raises(PyjibError, match="Unix socket only"):
        parse_location("docker-daemon:app").check_writable(1)


def test_commands_check_what_the_target_is() -> None:
    with pytest.raises(ConfigError, match=r"push needs a registry reference .* use `pyjib build` for docker-archive:"):
        check_target("docker-archive:a.tar", "push")
    with pytest.raises(ConfigError, match="build writes oci:DIR, docker-archive:FILE or docker-daemon:NAME"):
        check_target("reg.example/app:1", "build")
    assert check_target("oci:out:{version}", "build").path == Path("out")  # templates fill later; the tag is no part of the folder


def test_pinned_names_the_image_of_a_digest() -> None:
    assert parse_location("reg.example/base/python:3.11").pinned(DIGEST) == f"reg.example/base/python@{DIGEST}"
    assert parse_location("oci:base:3.11").pinned(DIGEST) == "oci:base:3.11"  # a layout is read again and its digest compared


def test_anchored_takes_relative_paths_from_a_root(tmp_path: Path) -> None:
    assert parse_location("oci:dist/image:1").anchored(tmp_path).path == tmp_path / "dist/image"
    assert parse_location("docker-archive:/abs/a.tar").anchored(tmp_path).path == Path("/abs/a.tar")
    remote = parse_location("reg.example/app:1")
    assert remote.anchored(tmp_path) == remote


def test_the_login_is_for_the_first_location_in_a_registry() -> None:
    assert login_registry("reg.example/team/app:1", "gcr.io/distroless/python3") == "reg.example"
    assert login_registry("docker-daemon:app:dev", "private.example/base:1") == "private.example"
    assert login_registry("oci:dist/image", "oci:base") is None


def test_a_layout_folder_named_with_a_colon_is_read_as_that_folder(tmp_path: Path) -> None:
    image = _image(tmp_path, "colon")
    write_image(tmp_path / "base:3.11", image, ["latest"])
    opened = parse_location(f"oci:{tmp_path}/base:3.11").open(None, Session(ClientPool(), BlobCache(tmp_path / "cache")))
    assert opened.digest == image.digest and opened.name == f"oci:{tmp_path}/base:3.11"
