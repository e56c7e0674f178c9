"""A layer's linkage, scanned from a tree of real installed wheels from the public index."""

from __future__ import annotations

from pathlib import Path

from pyjib.install import Environment, install_all
from pyjib.interpreter import Interpreter
from pyjib.linkage import Linkage, scan_tree
from pyjib.oci.platforms import Platform
from tests.unit.wheels import download_wheel

ENV = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")))


def test_installed_wheels_need_what_they_do_not_bring(tmp_path: Path) -> None:
    install_all([download_wheel("ujson==6.1.0"), download_wheel("pyzmq==27.3.0")], tmp_path, ENV)
    (tmp_path / "app/venv/lib/python3.11/site-packages/zmq/broken.so").write_bytes(b"\x7fELF\x02\x01\x01" + b"\xff" * 40)
    linkage = scan_tree(tmp_path)
    needs = dict(linkage.needed(62))
    provides = linkage.provided(62)
    assert linkage.needed(183) == [] and linkage.provided(183) == frozenset()
    assert needs["libstdc++.so.6"] == ("pyzmq", "ujson")  # libzmq (in pyzmq.libs) and ujson's extension both need it
    assert needs["libc.so.6"] == ("pyzmq", "ujson")
    assert not any(library.startswith(("libzmq-", "libsodium-")) for library in needs)  # auditwheel put them in pyzmq.libs
    assert {name for name in provides if name.startswith("libzmq-")} == {"libzmq-2f02442c.so.5.2.5"}
    assert "ujson.cpython-311-x86_64-linux-gnu.so" in provides and "broken.so" not in provides
    assert Linkage.from_json(linkage.to_json()) == linkage


def test_files_without_a_record_are_named_by_path(tmp_path: Path) -> None:
    library = Path("/usr/lib/x86_64-linux-gnu/libstdc++.so.6").read_bytes()
    (tmp_path / "opt").mkdir()
    (tmp_path / "opt" / "libfoo.so").write_bytes(library)
    linkage = scan_tree(tmp_path)
    assert dict(linkage.needed(None))["libgcc_s.so.1"] == ("opt/libfoo.so",)
    assert "libstdc++.so.6" in linkage.provided(None) and scan_tree(tmp_path / "opt" / "missing") == Linkage()
