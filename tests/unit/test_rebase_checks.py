"""What `pyjib rebase` refuses and how it merges the container config, on small values."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyjib.interpreter import Interpreter
from pyjib.layer import tree_layer
from pyjib.oci.image import Image
from pyjib.oci.platforms import Platform
from pyjib.rebase import RebaseError, check_compatible, merged_config, newest_manylinux

AMD64 = Platform("linux", "amd64")
OLD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), AMD64)


@pytest.mark.parametrize(("new", "needed", "message"), [
    (Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64", "v8")), None, "is for linux/arm64/v8"),
    (Interpreter("/usr/bin/python3.13", "3.13.5", "glibc", (2, 41), AMD64), None, "has Python 3.13"),
    (Interpreter("/usr/local/bin/python3.11", "3.11.9", "glibc", (2, 36), AMD64), None, "at /usr/local/bin/python3.11"),
    (Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 31), AMD64), (2, 34), "older than the glibc 2.34"),
    (Interpreter("/usr/bin/python3.11", "3.11.2", "musl", (1, 2), AMD64), (2, 17), "has musl 1.2"),
])
def test_unsafe_bases_are_refused(new: Interpreter, needed: tuple[int, int] | None, message: str) -> None:
    with pytest.raises(RebaseError, match=message.replace(".", r"\.")):
        check_compatible(OLD, new, needed, "new-base")


def test_a_compatible_base_passes() -> None:
    check_compatible(OLD, Interpreter("/usr/bin/python3.11", "3.11.9", "glibc", (2, 36), AMD64), (2, 28), "new-base")


def test_newest_manylinux_tag_of_the_installed_wheels(tmp_path: Path) -> None:
    site = tmp_path / "tree/app/venv/lib/python3.11/site-packages"
    for name, tags in (("numpy-2.0.dist-info", "cp311-cp311-manylinux_2_17_x86_64\nTag: cp311-cp311-manylinux_2_28_x86_64"),
                       ("old-1.0.dist-info", "cp311-cp311-manylinux2014_x86_64"), ("pure-1.0.dist-info", "py3-none-any")):
        (site / name).mkdir(parents=True)
        (site / name / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {tags}\n")
    layer = tree_layer(tmp_path / "tree", tmp_path / "blobs")
    assert newest_manylinux(Image({}, (layer.blob(),))) == (2, 28)
    (site / "numpy-2.0.dist-info/WHEEL").unlink()
    assert newest_manylinux(Image({}, (tree_layer(tmp_path / "tree", tmp_path / "blobs").blob(),))) == (2, 17)


def test_config_from_the_old_base_is_replaced_and_the_projects_kept() -> None:
    old_base: dict[str, object] = {"Env": ["PATH=/usr/bin:/bin", "SSL_CERT_FILE=/old.crt", "LANG=C.UTF-8"], "User": "65532", "WorkingDir": "/home/nonroot",
                "Labels": {"base": "v1", "shared": "x"}, "Entrypoint": ["/usr/bin/python3.11"]}
    new_base: dict[str, object] = {"Env": ["PATH=/usr/sbin:/usr/bin", "SSL_CERT_FILE=/new.crt"], "User": "1000", "WorkingDir": "/home/nonroot",
                "Labels": {"base": "v2"}, "Entrypoint": ["/usr/bin/python3.11"]}
    image: dict[str, object] = {"Env": ["PATH=/app/venv/bin:/usr/bin:/bin", "SSL_CERT_FILE=/old.crt", "LANG=C.UTF-8", "VIRTUAL_ENV=/app/venv", "MODE=prod"],
             "User": "65532", "WorkingDir": "/srv", "Labels": {"base": "v1", "shared": "x", "team": "a"},
             "Entrypoint": ["/app/venv/bin/greet"], "ExposedPorts": {"8080/tcp": {}}}
    merged = merged_config(image, old_base, new_base)
    assert merged["Env"] == ["PATH=/app/venv/bin:/usr/sbin:/usr/bin", "SSL_CERT_FILE=/new.crt", "VIRTUAL_ENV=/app/venv", "MODE=prod"]
    assert merged["User"] == "1000" and merged["WorkingDir"] == "/srv"  # the base's user follows the base; the project's folder stays
    assert merged["Labels"] == {"base": "v2", "team": "a"}
    assert merged["Entrypoint"] == ["/app/venv/bin/greet"] and merged["Cmd"] is None and merged["ExposedPorts"] == {"8080/tcp": {}}
