"""What the API gives the front ends besides publish: an image's layers and files read back (the pytest plugin's), a
docker-archive of it, the host's platform among a project's, registry clients from the command line's access options,
and the checks `pyjib base` makes before any download."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from pyjib import api
from pyjib.errors import ConfigError
from pyjib.layer import tree_layer
from pyjib.oci.image import Image


def _image(tmp_path: Path) -> Image:
    """Two layers under a history with an empty step between them: the second replaces /app/a and deletes /app/b."""
    (tmp_path / "one" / "app").mkdir(parents=True)
    (tmp_path / "one" / "app" / "a").write_text("first")
    (tmp_path / "one" / "app" / "b").write_text("gone later")
    (tmp_path / "two" / "app").mkdir(parents=True)
    (tmp_path / "two" / "app" / "a").write_text("second")
    (tmp_path / "two" / "app" / ".wh.b").write_text("")
    image = Image({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": []}, ())
    for name in ("one", "two"):
        layer = tree_layer(tmp_path / name, tmp_path / "blobs")
        image = image.append_blob(layer.blob(), layer.diff_id, created_by=f"step {name}", comment="", created=None)
        if name == "one":
            image = Image({**image.config, "history": [*image.config["history"], {"created_by": "ENV X=1", "empty_layer": True}]},
                          image.layers)
    return image


def test_each_layer_is_paired_with_its_own_history_step(tmp_path: Path) -> None:
    image = _image(tmp_path)
    layers = api.image_layers(image)
    assert [layer.created_by for layer in layers] == ["step one", "step two"]
    assert [(layer.digest, layer.size) for layer in layers] == [(b.descriptor.digest, b.descriptor.size) for b in image.layers]
    assert set(layers[0].files) >= {"app/a", "app/b"} and "app/.wh.b" not in layers[1].files
    assert layers[1].files == tuple(sorted(layers[1].files))


def test_a_layer_without_a_history_step_has_no_created_by(tmp_path: Path) -> None:
    image = _image(tmp_path)
    bare = Image({**image.config, "history": image.config["history"][:1]}, image.layers)
    assert [layer.created_by for layer in api.image_layers(bare)] == ["step one", ""]


def test_the_filesystem_is_the_layers_merged(tmp_path: Path) -> None:
    files = api.image_filesystem(_image(tmp_path))
    assert files.read_file("/app/a") == b"second"
    assert files.resolve("/app/b") is None


def test_the_docker_archive_names_the_image_by_its_tags(tmp_path: Path) -> None:
    image = _image(tmp_path)
    archive = tmp_path / "image.tar"
    api.write_docker_archive(archive, image, ["pyjib-test/abc:latest"])
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.load(member)
    assert manifest[0]["RepoTags"] == ["pyjib-test/abc:latest"] and len(manifest[0]["Layers"]) == 2


@pytest.mark.parametrize(("machine", "chosen"), [
    ("aarch64", "linux/arm64"), ("arm64", "linux/arm64"), ("x86_64", "linux/amd64"), ("s390x", "linux/arm64"),
])
def test_the_host_platform_is_chosen_when_it_is_among_them(machine: str, chosen: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "machine", lambda: machine)
    assert api.host_platform(["linux/arm64", "linux/amd64"]) == chosen


def test_registry_clients_log_in_to_the_named_registry_only(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until a connection is made")
    clients = api.registry_clients(["127.0.0.1:5000"], api.Access("user", "secret", (ca,)), "registry.example.com")
    try:
        assert (clients.insecure_registries, clients.ca_certs, clients.login_registry) == (
            frozenset({"127.0.0.1:5000"}), (ca,), "registry.example.com")
    finally:
        clients.close()


def test_a_missing_ca_certificate_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        api.registry_clients((), api.Access(ca_certs=(tmp_path / "missing.pem",)))


def test_the_layout_target_is_a_local_folder(tmp_path: Path) -> None:
    target = api.layout_target(tmp_path / "dist" / "app-1.0-image")
    assert (target.reference, target.path) == (None, tmp_path / "dist" / "app-1.0-image")


@pytest.mark.parametrize(("options", "message"), [
    ({"to": "oci:base", "suit": "bookworm"}, "unknown key 'suit'"),
    ({"to": "oci:base", "python": "3"}, "invalid python"),
    ({"suite": "bookworm"}, "no target"),
])
def test_the_base_request_is_checked_before_any_download(options: dict[str, str], message: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=message):
        api.build_base(tmp_path, options, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("table", "message"), [
    ('to = "oci:base"\npython = "x"\n', "invalid python 'x'"),
    ('suit = "bookworm"\n', r"pyproject.toml \[tool.pyjib.base\]: unknown key 'suit'"),
])
def test_the_projects_base_table_is_read_and_checked(table: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pyjib.base]\n" + table)
    with pytest.raises(ConfigError, match=message):
        api.build_base(tmp_path, {"suite": "bookworm"}, cache_dir=tmp_path / "cache")
