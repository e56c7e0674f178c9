import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from pyjib.cli import cli_options, make_parser
from pyjib.errors import ConfigError
from pyjib.settings import DEFAULT_BASE, creation_timestamp, load_settings


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n\n[tool.pyjib]\n' + table)
    return tmp_path


def _cli(*argv: str) -> dict[str, Any]:
    return cli_options(make_parser().parse_args(["build", *argv]))


def test_file_options_and_command_line_override(tmp_path: Path) -> None:
    project = _project(tmp_path, 'from = "r.io/base:1"\nto = "oci:out"\nports = ["8080"]\nenvironment = { A = "1", B = "2" }\n'
                                 'entrypoint = "/app/venv/bin/x --flag"\ncreation-time = "now"\n')
    settings = load_settings(project, _cli("--to", "oci:other", "--environment", "B=3", "--ports", "9090,9091/udp"))
    assert settings.base == "r.io/base:1"
    assert settings.to == "oci:other"
    assert settings.ports == ("9090", "9091/udp")
    assert settings.environment == {"A": "1", "B": "3"}
    assert settings.entrypoint == ("/app/venv/bin/x", "--flag")
    assert settings.creation_time == "now"


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(_project(tmp_path, ""), {})
    assert settings.base == DEFAULT_BASE and settings.tags == () and settings.entrypoint is None


def test_argv_as_json_on_the_command_line(tmp_path: Path) -> None:
    settings = load_settings(_project(tmp_path, ""), _cli("--entrypoint", '["/bin/a b", "c"]'))
    assert settings.entrypoint == ("/bin/a b", "c")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('tagz = ["x"]', "unknown option 'tagz'"),
        ("ports = [8080, true]", "ports must be a list of strings"),
        ('ports = ["http"]', "invalid port 'http'"),
        ('environment = "A=1"', "environment must be a table"),
        ('entrypoint = ["x"]\nmodule = "m"', "either entrypoint or module"),
        ('environment = { "BAD-NAME" = "1" }', "invalid environment variable name"),
        ('tags = ["release/1"]', "invalid tag 'release/1'"),
        ('registry-cache-trust = "everyone"', "invalid registry-cache-trust 'everyone'"),
        ('registry-cache-repository = "r.io/team/cache:1"', "invalid registry-cache-repository"),
        ('registry-cache-repository = "cache"', "invalid registry-cache-repository"),
    ],
)
def test_bad_options(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(_project(tmp_path, table), {})


def test_setup_py_only_project_has_no_options(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    assert load_settings(tmp_path, {"to": "oci:x"}).to == "oci:x"


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        (None, {}, "1970-01-01T00:00:00Z"),
        (None, {"SOURCE_DATE_EPOCH": "1700000000"}, "2023-11-14T22:13:20Z"),
        ("1700000000", {"SOURCE_DATE_EPOCH": "5"}, "2023-11-14T22:13:20Z"),
        ("2024-05-01T12:00:00Z", {}, "2024-05-01T12:00:00Z"),
        ("2024-05-01T14:00:00+02:00", {}, "2024-05-01T12:00:00Z"),
        ("2024-05-01", {}, "2024-05-01T00:00:00Z"),
    ],
)
def test_creation_time(value: str | None, environ: dict[str, str], expected: str) -> None:
    assert creation_timestamp(value, environ) == expected


def test_creation_time_now_and_garbage() -> None:
    moment = dt.datetime(2024, 5, 1, 14, 0, 7, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert creation_timestamp("now", {"SOURCE_DATE_EPOCH": "5"}, clock=lambda: moment) == "2024-05-01T12:00:07Z"  # in UTC, whole seconds
    with pytest.raises(ConfigError, match="invalid creation-time"):
        creation_timestamp("yesterday", {})


def test_module_on_the_command_line_replaces_the_files_entrypoint(tmp_path: Path) -> None:
    project = _project(tmp_path, 'entrypoint = ["/app/venv/bin/x"]\n')
    settings = load_settings(project, _cli("--module", "app.worker"))
    assert (settings.module, settings.entrypoint) == ("app.worker", None)


def test_entrypoint_on_the_command_line_replaces_the_files_module(tmp_path: Path) -> None:
    project = _project(tmp_path, 'module = "app"\nargs = ["--port", "8080"]\n')
    settings = load_settings(project, _cli("--entrypoint", '["/app/venv/bin/gunicorn", "app:wsgi"]'))
    assert (settings.module, settings.entrypoint) == (None, ("/app/venv/bin/gunicorn", "app:wsgi"))
    assert settings.args == ("--port", "8080")


def test_entrypoint_and_module_together_on_the_command_line_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="command line"):
        _cli("--entrypoint", "/app/venv/bin/x", "--module", "m")


def test_runtime_libraries_come_from_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.pyjib]\nruntime-libraries = ["libibverbs.so.1"]\n')
    assert load_settings(tmp_path, {}).runtime_libraries == ("libibverbs.so.1",)
