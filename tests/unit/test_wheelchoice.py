"""The one function that picks a release's wheel for the image: tag orders as the image's interpreter ranks them."""

from __future__ import annotations

import pytest

from pyjib.grouping import WheelInfo
from pyjib.interpreter import Interpreter
from pyjib.lockedwheel import LockedWheel
from pyjib.oci.platforms import Platform
from pyjib.wheelchoice import best_wheel, filename_of, is_pure, wheel_rank

AMD_311 = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))
ARM_311 = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64"))
OLD_GLIBC = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 17), Platform("linux", "amd64"))
MUSL = Interpreter("/usr/bin/python3.11", "3.11.9", "musl", (1, 2), Platform("linux", "amd64"))

CHARSET = [
    "charset_normalizer-3.5.3-py3-none-any.whl",
    "charset_normalizer-3.5.3-cp37-abi3-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
    "charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
]


def test_the_interpreters_own_abi_beats_abi3_which_beats_pure() -> None:
    assert best_wheel(CHARSET, AMD_311) == CHARSET[2]
    assert best_wheel(CHARSET[:2], AMD_311) == CHARSET[1]
    assert best_wheel(CHARSET[:1], AMD_311) == CHARSET[0]


def test_another_cpu_gets_the_pure_wheel_when_no_native_one_fits() -> None:
    assert best_wheel(CHARSET, ARM_311) == CHARSET[0]


def test_newer_manylinux_beats_older_and_too_new_is_refused() -> None:
    wheels = ["x-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "x-1-cp311-cp311-manylinux_2_28_x86_64.whl"]
    assert best_wheel(wheels, AMD_311) == wheels[1]
    assert best_wheel(wheels, OLD_GLIBC) == wheels[0]
    assert wheel_rank("x-1-cp311-cp311-manylinux_2_39_x86_64.whl", AMD_311) is None


def test_musl_and_glibc_wheels_do_not_mix() -> None:
    wheels = ["x-1-cp311-cp311-musllinux_1_2_x86_64.whl", "x-1-cp311-cp311-manylinux_2_17_x86_64.whl"]
    assert best_wheel(wheels, MUSL) == wheels[0]
    assert best_wheel(wheels, AMD_311) == wheels[1]


def test_other_pythons_and_platforms_do_not_fit() -> None:
    assert best_wheel(["x-1-cp312-cp312-manylinux_2_17_x86_64.whl", "x-1-cp311-cp311-win_amd64.whl", "x-1-cp311-cp311-macosx_11_0_arm64.whl"],
                      AMD_311) is None
    assert best_wheel(["x-1.tar.gz", "not a wheel"], AMD_311) is None


def test_an_older_cpython_abi3_fits_a_newer_interpreter() -> None:
    assert wheel_rank("cryptography-46.0.0-cp38-abi3-manylinux_2_34_x86_64.whl", AMD_311) is not None
    assert wheel_rank("cryptography-46.0.0-cp312-abi3-manylinux_2_34_x86_64.whl", AMD_311) is None


PURITY = [("a-1-py3-none-any.whl", True), ("a-1-cp311-none-any.whl", True), ("a-1-cp311-cp311-any.whl", True),
          ("a-1-py2.py3-none-any.whl", True), ("a-1-cp37-abi3-manylinux_2_17_x86_64.whl", False),
          ("a-1-py3-none-any.linux_x86_64.whl", False)]


@pytest.mark.parametrize(("filename", "pure"), PURITY)
def test_pure_means_any_platform(filename: str, pure: bool) -> None:
    assert is_pure(filename) is pure


@pytest.mark.parametrize(("filename", "pure"), PURITY)
def test_layer_grouping_and_the_source_build_check_agree_on_purity(filename: str, pure: bool) -> None:
    # They once disagreed on cp311-cp311-any: the source build check also asked for abi "none", the grouping did not.
    # A wheel is pure when it runs on every CPU and libc, whatever Python ABI it names: its platform tags are all "any".
    info = WheelInfo(LockedWheel("a", "1", f"https://files.example/{filename}", "0" * 64, filename), 1)
    assert info.pure is pure


def test_filenames_come_from_urls_without_fragments_or_escapes() -> None:
    assert filename_of("https://files.example/p/a/x_y-1-py3-none-any.whl#sha256=ab") == "x_y-1-py3-none-any.whl"
    assert filename_of("file:///w/local%2Bbuild-1-py3-none-any.whl") == "local+build-1-py3-none-any.whl"
