from pathlib import Path

import pytest

from pyjib.errors import ResolveError
from pyjib.indexes import IndexConfig
from pyjib.interpreter import Interpreter
from pyjib.oci.platforms import Platform
from pyjib.resolve import parse_pylock

ARM = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64"))
AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))


def test_uv_platform_follows_glibc_and_arch() -> None:
    assert ARM.uv_platform == "aarch64-manylinux_2_36"
    amd = Interpreter("/usr/bin/python3", "3.13.5", "glibc", (2, 41), Platform("linux", "amd64"))
    assert amd.uv_platform == "x86_64-manylinux_2_40"
    assert Interpreter("/p", "3.12.1", "glibc", (2, 30), Platform("linux", "amd64")).uv_platform == "x86_64-manylinux_2_28"
    assert Interpreter("/p", "3.12.1", "musl", (1, 2), Platform("linux", "arm64")).uv_platform == "aarch64-unknown-linux-musl"


def test_pylock_parsing(tmp_path: Path) -> None:
    text = '''lock-version = "1.0"
[[packages]]
name = "MarkupSafe"
version = "3.0.4"
wheels = [{ url = "https://files.example/m/markupsafe-3.0.4-cp311-cp311-manylinux_2_17_x86_64.whl", hashes = { sha256 = "ab" } }]
'''
    (wheel,) = parse_pylock(text, tmp_path, IndexConfig(), tmp_path, AMD)
    assert (wheel.name, wheel.version, wheel.sha256) == ("markupsafe", "3.0.4", "ab")
    assert wheel.filename == "markupsafe-3.0.4-cp311-cp311-manylinux_2_17_x86_64.whl"


def test_pylock_without_wheel_or_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ResolveError, match="docopt"):
        parse_pylock('lock-version = "1.0"\n[[packages]]\nname = "docopt"\nversion = "0.6.2"\n', tmp_path, IndexConfig(), tmp_path, AMD)


def test_a_release_with_several_fitting_wheels_gets_the_one_the_image_prefers(tmp_path: Path) -> None:
    text = '''lock-version = "1.0"
[[packages]]
name = "charset-normalizer"
version = "3.5.3"
wheels = [
  { url = "https://f.example/charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.whl", hashes = { sha256 = "aa" } },
  { url = "https://f.example/charset_normalizer-3.5.3-cp37-abi3-manylinux1_x86_64.manylinux_2_28_x86_64.whl", hashes = { sha256 = "bb" } },
  { url = "https://f.example/charset_normalizer-3.5.3-py3-none-any.whl", hashes = { sha256 = "cc" } },
]
'''
    assert [w.sha256 for w in parse_pylock(text, tmp_path, IndexConfig(), tmp_path, AMD)] == ["aa"]
    assert [w.sha256 for w in parse_pylock(text, tmp_path, IndexConfig(), tmp_path, ARM)] == ["cc"]


@pytest.mark.parametrize(("sha256", "filename"), [("../../../planted", "x-1-py3-none-any.whl"), ("AB" * 32, "x-1-py3-none-any.whl"),
                                                  ("ab" * 32, "../x-1-py3-none-any.whl"), ("ab" * 32, "..")])
def test_a_lock_hash_or_name_that_is_not_plain_is_refused_before_it_names_a_path(tmp_path: Path, sha256: str, filename: str) -> None:
    planted = tmp_path / "wheels" / sha256 / filename
    from pyjib.resolve import _download_file

    with pytest.raises(ResolveError, match="not"):
        _download_file("https://files.example/x-1-py3-none-any.whl", sha256, filename, tmp_path / "wheels", IndexConfig())
    assert not planted.exists()
