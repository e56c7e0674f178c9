"""The resolver on small indexes: Pre-Depends, alternatives, virtual packages, versions, and what it leaves out."""

from __future__ import annotations

import pytest

from pyjib.debian.packages import Package, PackageIndex
from pyjib.debian.resolve import ResolutionError, resolve


def pkg(name: str, version: str = "1.0", depends: str = "", pre_depends: str = "", provides: str = "") -> Package:
    return Package(name, version, "amd64", f"pool/main/{name}_{version}_amd64.deb", "0" * 64, 1, depends, pre_depends, provides, "http://x/debian")


def names(packages: list[Package]) -> list[str]:
    return [p.name for p in packages]


def test_depends_and_pre_depends_are_followed() -> None:
    index = PackageIndex.of([pkg("app", depends="libb"), pkg("libb", pre_depends="libc"), pkg("libc"), pkg("unrelated")])
    assert names(resolve(index, ["app"])) == ["app", "libb", "libc"]


def test_first_alternative_the_archive_has_is_taken() -> None:
    index = PackageIndex.of([pkg("app", depends="missing | second | third"), pkg("second"), pkg("third")])
    assert names(resolve(index, ["app"])) == ["app", "second"]


def test_an_alternative_already_chosen_satisfies_the_clause() -> None:
    index = PackageIndex.of([pkg("app", depends="first | second"), pkg("first"), pkg("second")])
    assert names(resolve(index, ["second", "app"])) == ["app", "second"]


def test_virtual_package_through_its_only_provider() -> None:
    index = PackageIndex.of([pkg("app", depends="libfoo-abi"), pkg("libfoo2", provides="libfoo-abi (= 2)")])
    assert names(resolve(index, ["app"])) == ["app", "libfoo2"]


def test_virtual_package_with_several_providers_asks_for_one() -> None:
    index = PackageIndex.of([pkg("app", depends="mta"), pkg("exim", provides="mta"), pkg("postfix", provides="mta")])
    with pytest.raises(ResolutionError, match="exim, postfix"):
        resolve(index, ["app"])
    assert names(resolve(index, ["postfix", "app"])) == ["app", "postfix"]


def test_versioned_constraint_takes_the_newest_version_that_meets_it() -> None:
    index = PackageIndex.of([pkg("app", depends="lib (<< 2.0)"), pkg("lib", "1.5"), pkg("lib", "1.9"), pkg("lib", "2.1")])
    chosen = {p.name: p.version for p in resolve(index, ["app"])}
    assert chosen == {"app": "1.0", "lib": "1.9"}
    assert {p.name: p.version for p in resolve(index, ["lib"])} == {"lib": "2.1"}  # unconstrained: the newest, as apt


def test_newest_across_suites_wins() -> None:
    main = [pkg("libssl3", "3.0.15-1~deb12u1")]
    security = [pkg("libssl3", "3.0.17-1~deb12u2")]
    assert resolve(PackageIndex.of([*main, *security]), ["libssl3"])[0].version == "3.0.17-1~deb12u2"


def test_maintainer_script_dependencies_are_left_out_unless_asked_for() -> None:
    index = PackageIndex.of([pkg("libssl3", depends="libc6, debconf (>= 0.5) | debconf-2.0"), pkg("libc6"), pkg("base-files", pre_depends="awk"),
                             pkg("debconf", pre_depends="perl-base"), pkg("perl-base"), pkg("mawk", provides="awk")])
    assert names(resolve(index, ["libssl3", "base-files"])) == ["base-files", "libc6", "libssl3"]
    assert "debconf" in names(resolve(index, ["libssl3", "debconf"]))


def test_a_missing_package_is_one_line() -> None:
    index = PackageIndex.of([pkg("app", depends="libgone (>= 3)"), pkg("libgone", "2.0")])
    with pytest.raises(ResolutionError) as caught:
        resolve(index, ["app"])
    assert "app 1.0 needs libgone (>= 3)" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ResolutionError, match="no package 'nope'"):
        resolve(index, ["nope"])
