import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from pyjib.bytecode import compiler_for, find_compiler
from pyjib.errors import ConfigError
from pyjib.grouping import BIG_DISTRIBUTION, LayerGroup, LayerPlan, WheelInfo, check_layer_count, parse_groups, plan_layers, unpacked_size
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


def _names(plans: list[LayerPlan]) -> list[tuple[str, list[str]]]:
    return [(p.name, [w.name for w in p.wheels]) for p in plans]


def test_a_distribution_gets_its_own_layer_only_above_the_threshold() -> None:
    wheels = [_info("at-limit", size=1000), _info("over-limit", size=1001)]
    assert _names(plan_layers(wheels, (), big=1000)) == [("over-limit", ["over-limit"]), ("dependencies", ["at-limit"])]


def test_local_folders_vcs_checkouts_and_unparsable_versions_are_snapshots() -> None:
    sibling = WheelInfo(replace(_info("sibling").wheel, source="local"), 1000)
    checkout = WheelInfo(replace(_info("checkout", tag="cp311-cp311-manylinux_2_17_x86_64").wheel, source="vcs"), 1000)
    odd = WheelInfo(replace(_info("odd-version").wheel, version="not.a.version"), 1000)  # a lock's version field
    built = WheelInfo(replace(_info("from-sdist").wheel, source="sdist"), 1000)  # a release, built here: not a snapshot
    assert _names(plan_layers([sibling, checkout, odd, built], ())) == [
        ("dependencies", ["from-sdist"]),
        ("snapshot dependencies", ["checkout", "odd-version", "sibling"]),
    ]


def test_a_package_two_groups_match_goes_to_the_first_and_a_big_one_in_a_group_stays_there() -> None:
    wheels = [_info("torch", size=900_000_000), _info("torchvision"), _info("flask")]
    groups = (LayerGroup("ml", ("torch*",)), LayerGroup("vision", ("torchvision",)))
    assert _names(plan_layers(wheels, groups)) == [("ml", ["torch", "torchvision"]), ("dependencies", ["flask"])]


def test_the_plan_does_not_depend_on_the_order_the_resolver_listed_the_wheels() -> None:
    wheels = [_info("b"), _info("a", tag="cp311-abi3-manylinux_2_17_x86_64"), _info("c"), _info("big", size=BIG_DISTRIBUTION + 1)]
    assert plan_layers(wheels, ()) == plan_layers(list(reversed(wheels)), ())
    assert _names(plan_layers(wheels, ())) == [("big", ["big"]), ("native dependencies", ["a"]), ("dependencies", ["b", "c"])]


def test_unpacked_size_is_the_sum_of_the_members_not_the_compressed_file(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("demo/__init__.py", "x" * 10_000)
        archive.writestr("demo-1.0.dist-info/METADATA", "Name: demo\n")
    assert unpacked_size(wheel) == 10_000 + len("Name: demo\n")
    assert wheel.stat().st_size < 10_000
