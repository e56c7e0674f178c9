"""Finding the base's Python from its files: synthetic layers stand in for real bases of other shapes."""

import io
import tarfile
from pathlib import Path

import pytest

from pyjib.cache import BlobCache
from pyjib.errors import BaseImageError
from pyjib.interpreter import detect_interpreter
from pyjib.oci.descriptor import Descriptor
from pyjib.oci.image import Blob, Image


def _layer(tmp_path: Path, name: str, entries: dict[str, bytes | str]) -> Blob:
    """entries: path -> bytes for a file, or '->target' for a symlink."""
    path = tmp_path / name
    with tarfile.open(path, "w") as tar:
        for member_name, value in entries.items():
            info = tarfile.TarInfo(member_name)
            if isinstance(value, str):
                info.type, info.linkname = tarfile.SYMTYPE, value.removeprefix("->")
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    return Blob(Descriptor("application/vnd.oci.image.layer.v1.tar", "sha256:" + "0" * 64, path.stat().st_size), lambda: path)


LIBC = b"\0GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\0"


def _image(config: dict[str, object], *layers: Blob) -> Image:
    return Image({"architecture": "amd64", "os": "linux", "config": config, "rootfs": {"type": "layers", "diff_ids": []}}, layers)


def test_debian_layout_with_merged_usr_and_dpkg_status(tmp_path: Path) -> None:
    base = _layer(tmp_path, "base", {
        "lib": "->usr/lib",
        "usr/lib/x86_64-linux-gnu/libc.so.6": LIBC,
        "usr/bin/python3.11": b"\0ELF 3.11.9\0",
        "usr/bin/python3": "->python3.11",
        "usr/lib/python3.11/os.py": b"",
        "var/lib/dpkg/status.d/python3.11-minimal": b"Package: python3.11-minimal\nVersion: 3.11.2-6+deb12u6\nArchitecture: amd64\n",
    })
    found = detect_interpreter(_image({"Entrypoint": ["/usr/bin/python3.11"]}, base), BlobCache(tmp_path / "c1"))
    assert (found.path, found.version, found.libc, found.libc_version) == ("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36))


def test_official_image_style_env_and_local_prefix(tmp_path: Path) -> None:
    base = _layer(tmp_path, "base", {
        "usr/lib/x86_64-linux-gnu/libc.so.6": LIBC,
        "usr/local/bin/python3.12": b"\0ELF\0",
        "usr/local/bin/python3": "->python3.12",
        "usr/local/lib/python3.12/os.py": b"",
    })
    found = detect_interpreter(_image({"Env": ["PYTHON_VERSION=3.12.7"], "Cmd": ["python3"]}, base), BlobCache(tmp_path / "c"))
    assert (found.path, found.version) == ("/usr/local/bin/python3.12", "3.12.7")


def test_version_from_the_binary_and_whiteouts_in_upper_layers(tmp_path: Path) -> None:
    lower = _layer(tmp_path, "lower", {
        "usr/lib/libc.so.6": LIBC,
        "usr/bin/python3.11": b"junk\x003.11.4\x00more",
        "usr/lib/python3.11/os.py": b"",
        "usr/bin/python3": "->python3.11",
        "usr/bin/python3.10": b"\x003.10.1\x00",
    })
    upper = _layer(tmp_path, "upper", {"usr/bin/.wh.python3.10": b""})
    found = detect_interpreter(_image({}, lower, upper), BlobCache(tmp_path / "c"))
    assert found.version == "3.11.4"


def test_no_python_is_a_clear_error(tmp_path: Path) -> None:
    base = _layer(tmp_path, "base", {"usr/lib/libc.so.6": LIBC, "etc/hostname": b"x"})
    with pytest.raises(BaseImageError, match="no Python interpreter"):
        detect_interpreter(_image({}, base), BlobCache(tmp_path / "c"))


def test_python_removed_by_a_whiteout_is_gone(tmp_path: Path) -> None:
    lower = _layer(tmp_path, "lower", {"usr/lib/libc.so.6": LIBC, "usr/bin/python3": b"\x003.11.2\x00", "usr/lib/python3.11/os.py": b""})
    upper = _layer(tmp_path, "upper", {"usr/bin/.wh..wh..opq": b""})
    with pytest.raises(BaseImageError, match="no Python interpreter"):
        detect_interpreter(_image({}, lower, upper), BlobCache(tmp_path / "c"))
