from pathlib import Path

from pyjib.buildlog import TAIL_LINES, failure_message, keep_log
from pyjib.wheelbuild import bin_first_on_path, project_name


def test_the_message_is_what_failed_and_where_the_log_is_then_the_indented_tail(tmp_path: Path) -> None:
    output = "\n".join(f"line {n}" for n in range(50)) + "\n\n   \nLookupError: the real cause\n"
    log = keep_log(tmp_path, "wheel-my app", output)
    assert log.parent == tmp_path / "build-logs" and log.name.startswith("wheel-my-app-") and log.read_text() == output
    first, *quoted = failure_message("building the wheel of my-app", log, output).splitlines()
    assert first.startswith("building the wheel of my-app failed") and str(log) in first
    assert len(quoted) == TAIL_LINES
    assert quoted[-1] == "    LookupError: the real cause" and quoted[0] == "    line 31"


def test_a_silent_failure_is_one_line(tmp_path: Path) -> None:
    message = failure_message("uv build", tmp_path / "x.log", "\n \n", hint="pin a version")
    assert "\n" not in message and "pin a version" in message


def test_the_build_interpreters_folder_comes_first_on_path_once() -> None:
    environ = bin_first_on_path("/cache/build-envs/k/bin/python", {"PATH": "/usr/bin:/cache/build-envs/k/bin:/bin", "HOME": "/root"})
    assert environ == {"PATH": "/cache/build-envs/k/bin:/usr/bin:/bin", "HOME": "/root"}


def test_the_project_is_named_by_its_distribution_name(tmp_path: Path) -> None:
    (tmp_path / "checkout").mkdir()
    assert project_name(tmp_path / "checkout") == "checkout"  # setup.py-only: the folder
    (tmp_path / "checkout" / "pyproject.toml").write_text('[project]\nname = "billing-service"\n')
    assert project_name(tmp_path / "checkout") == "billing-service"
    (tmp_path / "checkout" / "pyproject.toml").write_text("not toml [")
    assert project_name(tmp_path / "checkout") == "checkout"
