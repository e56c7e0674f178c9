from pathlib import Path

import pytest

from pyjib.cli import cli_options, make_parser
from pyjib.constraints import Constraints, find_constraints
from pyjib.errors import ConfigError
from pyjib.indexes import IndexConfig
from pyjib.interpreter import Interpreter
from pyjib.oci.platforms import Platform
from pyjib.resolve import resolution_key
from pyjib.settings import load_settings

AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("option.txt", "env-a.txt", "env-b.txt", "conf.txt"):
        (tmp_path / name).write_text("six==1.16.0\n")
    (tmp_path / "pip.conf").write_text(f"[global]\nconstraint = {tmp_path / 'nowhere.txt'}\n[install]\nconstraint = {tmp_path / 'conf.txt'}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "pip.conf"))
    return tmp_path


def test_the_option_wins_over_pip_constraint_and_pip_conf(files: Path) -> None:
    found = find_constraints(("option.txt",), files, {"PIP_CONSTRAINT": str(files / "env-a.txt")})
    assert found.files == (files / "option.txt",)  # relative to the project
    assert found.uv_arguments() == ["--constraint", str(files / "option.txt")]


def test_pip_constraint_wins_over_pip_conf_and_may_name_several_files(files: Path) -> None:
    found = find_constraints((), files, {"PIP_CONSTRAINT": f"{files / 'env-a.txt'}  {files / 'env-b.txt'}"})
    assert found.files == (files / "env-a.txt", files / "env-b.txt")
    assert found.source == "PIP_CONSTRAINT"


def test_pip_conf_install_section_over_global(files: Path) -> None:
    found = find_constraints((), files, {})
    assert found.files == (files / "conf.txt",)
    assert found.source == str(files / "pip.conf")


def test_no_constraints_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    assert find_constraints((), tmp_path, {}) == Constraints((), "")


def test_a_missing_constraint_file_is_one_clear_error(files: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.txt"):
        find_constraints((), files, {"PIP_CONSTRAINT": str(files / "missing.txt")})


def test_the_resolution_key_follows_the_constraint_files_contents(files: Path) -> None:
    def key() -> str:
        return resolution_key(["six"], AMD, IndexConfig(), False, False, files, find_constraints(("option.txt",), files, {}))

    first = key()
    assert key() == first
    (files / "option.txt").write_text("six==1.15.0\n")
    assert key() != first
    assert resolution_key(["six"], AMD, IndexConfig(), False, False, files, Constraints()) not in (first, key())


def test_constraint_option_in_the_file_and_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n[tool.pyjib]\nconstraint = ["c.txt"]\n')
    assert load_settings(tmp_path, {}).constraint == ("c.txt",)
    monkeypatch.chdir(tmp_path)
    options = cli_options(make_parser().parse_args(["build", "--constraint", "here.txt", "--constraint", "/abs/there.txt"]))
    assert load_settings(tmp_path, options).constraint == (str(tmp_path / "here.txt"), "/abs/there.txt")
