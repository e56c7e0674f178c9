"""`pyjib base --exclude`: a default package left out, refused for the interpreter's packages and for what another package needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyjib.debian.build import DISTROLESS, check_exclude, checked_lock, labels, resolve_platform
from pyjib.debian.lock import BaseLock, LockedPackage, read_lock, write_lock
from pyjib.debian.packages import Package, PackageIndex
from pyjib.debian.request import base_request
from pyjib.errors import ConfigError
from pyjib.oci.platforms import Platform

AMD64 = Platform("linux", "amd64")


def pkg(name: str, depends: str = "") -> Package:
    return Package(name, "1.0", "amd64", f"pool/main/{name}_1.0_amd64.deb", "0" * 64, 1, depends, "", "", "http://x/debian")


def index(**depends: str) -> PackageIndex:
    """Every default package and the Python 3.11 ones, each with no dependencies unless named (underscores for dashes)."""
    names = [*DISTROLESS, "python3.11-minimal", "libpython3.11-stdlib"]
    return PackageIndex.of([pkg(n, depends.get(n.replace("-", "_").replace(".", "_").replace("+", "p"), "")) for n in names])


def names(packages: list[Package]) -> set[str]:
    return {p.name for p in packages}


def test_an_excluded_default_package_is_left_out() -> None:
    request = base_request({"to": "oci:x"}, {"exclude": ["libstdc++6", "libgomp1,libstdc++6"]}, "f")
    assert request.exclude == ("libgomp1", "libstdc++6")
    check_exclude(request)
    chosen = names(resolve_platform(request, index(), AMD64))
    assert "libstdc++6" not in chosen and "libgomp1" not in chosen and {"libc6", "python3.11-minimal"} <= chosen
    assert names(resolve_platform(base_request({"to": "oci:x"}, {}, "f"), index(), AMD64)) >= {"libstdc++6", "libgomp1"}


def test_a_package_another_needs_is_refused_naming_who_needs_it() -> None:
    request = base_request({"to": "oci:x", "exclude": ["libssl3"]}, {}, "f")
    with pytest.raises(ConfigError, match=r"cannot exclude libssl3 on linux/amd64: the base's libpython3.11-stdlib depend on it"):
        resolve_platform(request, index(libpython3_11_stdlib="libc6, libssl3 (>= 0.9)"), AMD64)


@pytest.mark.parametrize(("exclude", "message"), [
    ("python3.11-minimal", "it is the base's Python 3.11"),
    ("libpython3.11-stdlib", "it is the base's Python 3.11"),
    ("libpq5", "not a default package of the base"),
])
def test_only_a_default_package_that_is_not_pythons_may_be_excluded(exclude: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_exclude(base_request({"to": "oci:x", "exclude": [exclude]}, {}, "f"))


@pytest.mark.parametrize(("table", "message"), [
    ({"exclude": ["Lib C"]}, "invalid Debian package name"),
    ({"exclude": ["libstdc++6"], "packages": ["libstdc++6"]}, "both a package to add and one to exclude"),
    ({"exclud": ["libstdc++6"]}, "did you mean 'exclude'"),
])
def test_bad_exclude_values_are_one_error(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        base_request({"to": "oci:x", **table}, {}, "f")


def test_the_lock_and_labels_record_the_exclusions(tmp_path: Path) -> None:
    libc = LockedPackage("libc6", "2.36", "amd64", "http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36_amd64.deb", "a" * 64, 1)
    lock = BaseLock("bookworm", "3.11", (), {"linux/amd64": (libc,)}, ("libstdc++6",))
    write_lock(tmp_path / "l.json", lock)
    assert read_lock(tmp_path / "l.json") == lock
    without = base_request({"to": "oci:x", "exclude": ["libstdc++6"]}, {}, "f")
    assert checked_lock(without, lock, tmp_path / "l.json") == lock
    assert labels(without, lock, "linux/amd64")["dev.pyjib.base.exclude"] == "libstdc++6"
    with pytest.raises(ConfigError, match="not what is asked"):  # the full base from a lock that leaves libstdc++6 out
        checked_lock(base_request({"to": "oci:x"}, {}, "f"), lock, tmp_path / "l.json")
