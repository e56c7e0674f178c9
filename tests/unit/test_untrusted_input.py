"""Every pyproject table and base config gets a result or one ConfigError/BaseImageError, never a traceback (issue 11, 14-16).

Properties over generated input (hypothesis) plus the cases the attack review found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyjib.baseconfig import check_base_config
from pyjib.cli import main
from pyjib.errors import BaseImageError, ConfigError, PyjibError
from pyjib.imageconfig import container_config
from pyjib.install import Environment
from pyjib.interpreter import Interpreter
from pyjib.oci.image import Image
from pyjib.oci.platforms import Platform, platform_of_config
from pyjib.settings import OPTIONS, Settings, creation_timestamp, load_settings, look_alike_tables
from pyjib.wheelmeta import WheelMetadata

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
                    max_leaves=8)
ENVIRONMENT = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")))
PROJECT = WheelMetadata("app", "1.0", (), ("app",), {})


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.dictionaries(st.sampled_from([*OPTIONS, "tool", "unknown-key"]), JSON, max_size=4), tool=JSON)
def test_any_pyproject_table_gives_settings_or_one_config_error(tmp_path: Path, table: dict[str, Any], tool: Any) -> None:
    for pyproject in ({"tool": {"pyjib": table}}, {"tool": tool}):
        try:
            result = load_settings(tmp_path, {}, pyproject)
        except PyjibError as exc:  # the CLI prints any of these as one line and exits 2
            assert "\n" not in str(exc)
        else:
            assert isinstance(result, Settings)


CONFIG_FIELDS = st.fixed_dictionaries({}, optional={
    "architecture": JSON | st.just("amd64"), "os": JSON | st.just("linux"), "history": JSON, "rootfs": JSON,
    "config": JSON | st.fixed_dictionaries({}, optional={k: JSON for k in ("Env", "Entrypoint", "Cmd", "User", "WorkingDir", "Labels",
                                                                             "ExposedPorts")}),
})


@settings(max_examples=300)
@given(config=CONFIG_FIELDS | JSON)
def test_any_base_config_is_used_or_refused_in_one_line(config: Any) -> None:
    try:
        checked = check_base_config(config, "r.example/base:1")
    except BaseImageError as exc:
        assert "\n" not in str(exc)
        return
    platform_of_config(checked)
    image = Image(checked, ())
    fields = container_config(Settings(Path(".")), PROJECT, ENVIRONMENT, image.container_config)
    json.loads(image.with_container_config(**fields).config_bytes())


@pytest.mark.parametrize(("field", "value"), [("Env", 5), ("Labels", ["a"]), ("Entrypoint", "python"), ("Labels", {"a": 1})])
def test_wrong_types_in_a_base_config_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(BaseImageError, match=f"config.{field} must be"):
        check_base_config({"config": {field: value}}, "base")
    with pytest.raises(BaseImageError, match="history must be"):
        check_base_config({"history": {"created": "x"}}, "base")


def _load(tmp_path: Path, table: dict[str, Any], cli: dict[str, Any] | None = None) -> Settings:
    return load_settings(tmp_path, cli or {}, {"tool": {"pyjib": table}})


@pytest.mark.parametrize(("table", "fragment"), [
    ({"workdir": "app"}, "relative"),
    ({"environment": {"A": "x\0y"}}, "NUL"),
    ({"entrypoint": ""}, "entrypoint is empty"),
    ({"entrypoint": []}, "entrypoint is empty"),
    ({"user": ""}, "user is empty"),
    ({"labels": {"a": "\udcff"}}, "UTF-8"),
    ({"creation-time": "99999999999999999"}, "creation-time"),
    ({"creation-tme": "now"}, "did you mean 'creation-time'"),
])
def test_values_that_would_break_at_run_time_are_refused_up_front(tmp_path: Path, table: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        _load(tmp_path, table)


def test_a_huge_source_date_epoch_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        creation_timestamp(None, {"SOURCE_DATE_EPOCH": "9" * 30})


def test_tool_that_is_not_a_table_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tool must be a table"):
        load_settings(tmp_path, {}, {"tool": "x"})


def test_a_table_name_that_looks_like_pyjib_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert look_alike_tables({"pjib": {}, "py-jib": {}, "pyjib": {}, "ruff": {}, "pytest": {}}) == ["pjib", "py-jib"]
    load_settings(tmp_path, {}, {"tool": {"pjib": {"to": "oci:x"}}})
    assert "[tool.pjib]" in capsys.readouterr().err


def test_a_root_user_on_purpose_is_allowed(tmp_path: Path) -> None:
    assert _load(tmp_path, {"user": "0"}).user == "0"


def test_a_bad_top_level_flag_points_at_the_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, expected in ((["--badflag"], "python -m pyjib --help"), (["push", "--badflag"], "python -m pyjib push --help")):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        err = capsys.readouterr().err
        assert exited.value.code == 2 and expected in err and "pyjib pyjib" not in err
