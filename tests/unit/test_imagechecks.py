"""Each image check on its own: the facts of a base, the project's metadata and wheel, the layers' linkage."""

from __future__ import annotations

import pytest

from pyjib.dependencies import NamedLayer
from pyjib.errors import ImageCheckError
from pyjib.imagechecks import (
    check_advertised_python,
    check_libraries,
    check_requires_python,
    check_wheel_platform,
    missing_libraries,
)
from pyjib.interpreter import BaseFacts, Interpreter
from pyjib.linkage import Linkage
from pyjib.oci.descriptor import Descriptor
from pyjib.oci.platforms import Platform
from pyjib.wheelmeta import WheelMetadata

AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))
MUSL = Interpreter("/usr/local/bin/python3.11", "3.11.9", "musl", (1, 2), Platform("linux", "amd64"))
BASE_LIBS = frozenset({"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libpthread.so.0", "ld-linux-x86-64.so.2"})


def _project(requires_python: str | None = None) -> WheelMetadata:
    return WheelMetadata("demo-app", "1.0", (), (), {}, requires_python)


def _layer(name: str, provides: set[str], needs: dict[str, tuple[str, ...]], machine: int = 62) -> NamedLayer:
    linkage = Linkage(((machine, frozenset(provides)),), tuple(sorted((machine, library, users) for library, users in needs.items())))
    return NamedLayer(name, "", Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "1" * 64, 1), "sha256:" + "2" * 64,
                      linkage)


def test_advertised_python_must_match_the_files() -> None:
    with pytest.raises(ImageCheckError) as failure:
        check_advertised_python(BaseFacts(AMD, found_python="3.11", advertised_python="3.12.4"), "example/base")
    assert "PYTHON_VERSION=3.12.4" in str(failure.value) and "Python 3.11" in str(failure.value)
    check_advertised_python(BaseFacts(AMD, found_python="3.11", advertised_python="3.11.9"), "example/base")
    check_advertised_python(BaseFacts(AMD, found_python="3.11", advertised_python=None), "example/base")
    check_advertised_python(BaseFacts(AMD, found_python=None, advertised_python="3.12.4"), "example/base")  # cannot tell: no claim


@pytest.mark.parametrize(("specifier", "fits"), [(">=3.12", False), ("<3.11", False), ("~=3.10", True), (">=3.8,<4", True),
                                                 ("==3.11.*", True), ("!=3.11.2", False), (None, True)])
def test_requires_python(specifier: str | None, fits: bool) -> None:
    if fits:
        check_requires_python(_project(specifier), AMD)
    else:
        with pytest.raises(ImageCheckError, match=r"3\.11\.2"):
            check_requires_python(_project(specifier), AMD)


def test_requires_python_that_does_not_parse() -> None:
    with pytest.raises(ImageCheckError, match="does not parse"):
        check_requires_python(_project("=>3.8"), AMD)


@pytest.mark.parametrize(("wheel", "interpreter", "fits"), [
    ("demo_app-1.0-py3-none-any.whl", AMD, True),
    ("demo_app-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", AMD, True),
    ("demo_app-1.0-cp311-abi3-manylinux_2_28_x86_64.whl", AMD, True),
    ("demo_app-1.0-cp311-cp311-linux_x86_64.whl", AMD, True),  # built on this host by setuptools
    ("demo_app-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", AMD, False),
    ("demo_app-1.0-cp311-cp311-linux_aarch64.whl", AMD, False),
    ("demo_app-1.0-cp311-cp311-manylinux_2_39_x86_64.whl", AMD, False),  # needs a newer glibc than the base's 2.36
    ("demo_app-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", AMD, False),
    ("demo_app-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", AMD, False),
    ("demo_app-1.0-cp311-cp311-linux_x86_64.whl", MUSL, False),
    ("demo_app-1.0-cp311-cp311-musllinux_1_1_x86_64.whl", MUSL, True),
    ("not-a-wheel.zip", AMD, False),
])
def test_own_wheel_platform(wheel: str, interpreter: Interpreter, fits: bool) -> None:
    if fits:
        check_wheel_platform(_project(), wheel, interpreter)
    else:
        with pytest.raises(ImageCheckError) as failure:
            check_wheel_platform(_project(), wheel, interpreter)
        assert wheel in str(failure.value) and str(interpreter.platform) in str(failure.value)


def test_a_library_nowhere_in_the_image_is_missing_with_everyone_who_needs_it() -> None:
    facts = BaseFacts(AMD, BASE_LIBS)
    layers = [_layer("native dependencies", {"ujson.cpython-311-x86_64-linux-gnu.so"}, {"libstdc++.so.6": ("ujson",)}),
              _layer("big", set(), {"libstdc++.so.6": ("grpcio",), "libgomp.so.1": ("scikit-learn",)})]
    assert missing_libraries(layers, facts) == {"libgomp.so.1": ("scikit-learn",), "libstdc++.so.6": ("grpcio", "ujson")}
    with pytest.raises(ImageCheckError) as failure:
        check_libraries(layers, facts, "example/base")
    assert "libgomp.so.1" in str(failure.value) and "scikit-learn" in str(failure.value) and "libgomp1" in str(failure.value)
    assert "libstdc++.so.6" in str(failure.value)  # the others are named too


def test_a_library_in_the_base_or_in_any_layer_is_found() -> None:
    needs = _layer("native dependencies", set(), {"libstdc++.so.6": ("ujson",), "libzmq-2f02442c.so.5.2.5": ("pyzmq",)})
    vendored = _layer("pyzmq", {"libzmq-2f02442c.so.5.2.5"}, {})
    assert missing_libraries([needs, vendored], BaseFacts(AMD, BASE_LIBS | {"libstdc++.so.6"})) == {}
    assert missing_libraries([needs], BaseFacts(AMD, BASE_LIBS | {"libstdc++.so.6"})) == {"libzmq-2f02442c.so.5.2.5": ("pyzmq",)}
    check_libraries([], BaseFacts(AMD, frozenset()), "example/base")


def test_files_for_another_cpu_are_data_to_the_loader() -> None:
    arm_binaries = _layer("tools", {"libarm.so"}, {"libstdc++.so.6": ("cross-tools",)}, machine=183)
    arm_user = _layer("native dependencies", set(), {"libarm.so": ("user",)})
    assert missing_libraries([arm_binaries, arm_user], BaseFacts(AMD, BASE_LIBS)) == {"libarm.so": ("user",)}
    arm = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64"))
    assert missing_libraries([arm_binaries], BaseFacts(arm, BASE_LIBS)) == {"libstdc++.so.6": ("cross-tools",)}


def test_a_gpu_drivers_libraries_and_those_named_runtime_libraries_are_left_to_the_runtime() -> None:
    """PyPI's torch links libcuda.so.1, which the GPU runtime mounts from the host; NVSHMEM's optional transport
    plugins link libibverbs, which only the user can say the runtime provides or nothing loads."""
    torch = _layer("torch", set(), {"libcuda.so.1": ("torch",), "libnvidia-ml.so.1": ("torch",), "libibverbs.so.1": ("nvidia-nvshmem-cu12",)})
    facts = BaseFacts(AMD, BASE_LIBS)
    assert missing_libraries([torch], facts) == {"libibverbs.so.1": ("nvidia-nvshmem-cu12",)}
    with pytest.raises(ImageCheckError, match="list it in runtime-libraries"):
        check_libraries([torch], facts, "example/base")
    assert missing_libraries([torch], facts, ("libibverbs.so.1",)) == {}
    check_libraries([torch], facts, "example/base", ("libibverbs.so.1",))
