"""`pyjib base`'s options: [tool.pyjib.base] under the command line, each bad value one error before any download."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyjib.debian.request import base_request
from pyjib.debian.sources import host_sources, mirror_sources
from pyjib.errors import ConfigError
from pyjib.oci.platforms import Platform
from pyjib.settings import load_settings


def test_command_line_wins_key_by_key() -> None:
    table = {"to": "oci:dist/base", "packages": ["libpq5", "fonts-dejavu-core"], "python": "3.11", "lock": "base.lock.json"}
    request = base_request(table, {"to": "registry.example.com/base/python:3.11", "platforms": ["linux/amd64", "linux/arm64"]}, "f")
    assert request.to == "registry.example.com/base/python:3.11" and request.packages == ("fonts-dejavu-core", "libpq5")
    assert request.platforms == (Platform("linux", "amd64"), Platform("linux", "arm64")) and request.lock == Path("base.lock.json")
    assert request.suite == "bookworm" and request.mirrors == ()


@pytest.mark.parametrize(("table", "message"), [
    ({"packges": ["x"]}, "did you mean 'packages'"),
    ({"packages": ["Bad Name"]}, "invalid Debian package name"),
    ({"python": "3"}, "invalid python"),
    ({"platforms": ["windows/amd64"]}, "no Debian architecture"),
    ({"packages": "libpq5", "suite": 12}, "non-empty string"),
])
def test_bad_values_are_one_error(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        base_request({"to": "oci:x", **table}, {}, "pyproject.toml [tool.pyjib.base]")


def test_a_target_is_needed() -> None:
    with pytest.raises(ConfigError, match="no target"):
        base_request({}, {}, "f")


def test_build_settings_leave_the_base_table_alone(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.pyjib]\nto = "oci:out"\n[tool.pyjib.base]\npackages = ["libpq5"]\n')
    settings = load_settings(tmp_path, {})
    assert settings.to == "oci:out" and settings.base_recipe == {"packages": ["libpq5"]}  # no `from`: the base is made from it
    assert load_settings(tmp_path, {"from": "registry.example.com/base:1"}).base_recipe is None  # `from` wins
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.pyjib]\nbase = "debian"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        load_settings(tmp_path, {})


def test_apt_sources_in_both_formats(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("deb [signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n# deb http://x bullseye main\n")
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb-src\nURIs: http://src\nSuites: bookworm\n")
    found = host_sources("bookworm", tmp_path)
    assert [(s.uri, s.suite, s.components, str(s.keyring)) for s in found] == [
        ("http://mirror.example/debian", "bookworm", ("main", "contrib"), "/k.gpg"),
        ("http://deb.debian.org/debian-security", "bookworm-security", ("main",), "/usr/share/keyrings/debian-archive-keyring.gpg"),
    ]
    with pytest.raises(ConfigError, match="list no trixie suite"):
        host_sources("trixie", tmp_path)
    assert [s.suite for s in mirror_sources(["http://m/debian"], "bookworm")] == ["bookworm", "bookworm-updates", "bookworm-security"]
    with pytest.raises(ConfigError, match="no http"):
        mirror_sources(["ftp://m"], "bookworm")
