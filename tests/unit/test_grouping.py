import pytest

from pyjib.bytecode import compiler_for, find_compiler
from pyjib.errors import ConfigError
from pyjib.grouping import LayerGroup, WheelInfo, check_layer_count, parse_groups, plan_layers
from pyjib.lockedwheel import LockedWheel


def _info(name: str, version: str = "1.0", tag: str = "py3-none-any", size: int = 1000) -> WheelInfo:
    filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
    return WheelInfo(LockedWheel(name, version, f"https://files.example/{filename}", name * 2, filename), size)


def test_default_grouping_lowest_first() -> None:
    wheels = [
        _info("flask"),
        _info("markupsafe", tag="cp311-cp311-manylinux_2_17_x86_64"),
        _info("numpy", tag="cp311-cp311-manylinux_2_17_x86_64", size=60_000_000),
        _info("internal-lib", version="2.0.dev3"),
        _info("beta", version="1.0b1", tag="cp311-cp311-manylinux_2_17_x86_64"),
    ]
    plans = plan_layers(wheels, ())
    assert [(p.name, [w.name for w in p.wheels]) for p in plans] == [
        ("numpy", ["numpy"]),
        ("native dependencies", ["markupsafe"]),
        ("dependencies", ["flask"]),
        ("snapshot dependencies", ["beta", "internal-lib"]),
    ]


def test_named_groups_take_their_packages_first_with_globs() -> None:
    wheels = [_info("numpy", size=60_000_000), _info("scipy"), _info("scikit-learn"), _info("flask")]
    plans = plan_layers(wheels, (LayerGroup("scientific", ("numpy", "sci*")),))
    assert [(p.name, [w.name for w in p.wheels]) for p in plans] == [
        ("scientific", ["numpy", "scikit-learn", "scipy"]),
        ("dependencies", ["flask"]),
    ]


def test_empty_groups_make_no_layer() -> None:
    assert plan_layers([], (LayerGroup("x", ("y",)),)) == []


def test_layer_limit() -> None:
    check_layer_count(3, 97)
    with pytest.raises(ConfigError, match="101 layers"):
        check_layer_count(4, 97)


@pytest.mark.parametrize("value", ["x", [{"name": "a"}], [{"name": "a", "packages": "numpy"}], [{"name": "a", "packages": [], "z": 1}]])
def test_bad_groups(value: object) -> None:
    with pytest.raises(ConfigError):
        parse_groups(value, "here")


def test_groups_normalise_names() -> None:
    assert parse_groups([{"name": "sci", "packages": ["Scikit_Learn"]}], "here") == (LayerGroup("sci", ("scikit-learn",)),)


def test_bytecode_compiler_choice() -> None:
    import sys

    version = ".".join(str(p) for p in sys.version_info[:3])
    compiler = find_compiler(version)
    assert compiler is not None and compiler.version == version
    assert compiler_for(version, "off") is None
    assert compiler_for("3.99.1", "auto") is None
    with pytest.raises(ConfigError, match=r"no Python 3\.99"):
        compiler_for("3.99.1", "required")
