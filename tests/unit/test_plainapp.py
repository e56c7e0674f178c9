"""App folders that are not packages: which folders count, their Procfile, their requirements.txt and their image defaults."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pyjib.cache import BlobCache
from pyjib.context import BuildContext, Sources
from pyjib.errors import ConfigError
from pyjib.ignorefiles import app_files
from pyjib.indexes import IndexConfig
from pyjib.install import Environment
from pyjib.interpreter import Interpreter
from pyjib.log import SILENT
from pyjib.oci.platforms import parse_platform
from pyjib.plainapp import APP_DIR, PlainApp, app_name, fingerprint, own_output
from pyjib.procfile import LAUNCHER, WebProcess, process_types, read_web_process, split_command
from pyjib.projectsource import start_source
from pyjib.registry import ClientPool
from pyjib.requirementsfile import read_requirements
from pyjib.settings import is_plain_app, load_settings


def _app(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


# ---------------------------------------------------------------- which folders are apps


def test_which_folders_are_plain_apps(tmp_path: Path) -> None:
    assert is_plain_app(_app(tmp_path / "a", {"app.py": "", "requirements.txt": "flask\n"}))
    assert is_plain_app(_app(tmp_path / "b", {"app.py": "", "pyproject.toml": '[tool.pyjib]\nmodule = "app"\n'}))
    assert not is_plain_app(_app(tmp_path / "c", {"pyproject.toml": '[project]\nname = "c"\nversion = "1"\n'}))
    assert not is_plain_app(_app(tmp_path / "d", {"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n'}))
    assert not is_plain_app(_app(tmp_path / "e", {"setup.py": "", "app.py": ""}))
    assert not is_plain_app(_app(tmp_path / "f", {"setup.cfg": "[metadata]\nname = f\n", "app.py": ""}))


def test_a_folder_with_nothing_python_in_it_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(ConfigError, match=r"no pyproject\.toml"):
        load_settings(tmp_path, {})


def test_settings_from_a_tool_pyjib_only_pyproject(tmp_path: Path) -> None:
    folder = _app(tmp_path / "svc", {"app.py": "", "pyproject.toml": '[tool.pyjib]\nmodule = "app"\nports = ["8080"]\n'})
    settings = load_settings(folder, {})
    assert settings.module == "app" and settings.ports == ("8080",)


# ---------------------------------------------------------------- Procfile


def test_procfile_lines() -> None:
    text = "# processes\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\nworker:python worker.py\n\nrelease: ./migrate\n"
    assert process_types(text) == {"web": "gunicorn app:app --bind 0.0.0.0:$PORT", "worker": "python worker.py", "release": "./migrate"}


def test_procfile_command_is_split_like_a_shell() -> None:
    assert split_command("python app.py --greeting 'hello world' \"a b\"", "Procfile web:") == (
        "python", "app.py", "--greeting", "hello world", "a b")
    assert split_command("uvicorn main:app --port=${PORT:-5000}", "w") == ("uvicorn", "main:app", "--port=${PORT:-5000}")
    assert split_command("echo 'a && b'", "w") == ("echo", "a && b")  # quoted, it is one word, not shell syntax


@pytest.mark.parametrize("command", ["cd src && gunicorn app:app", "python a.py | tee log", "python a.py > out", "a; b",
                                     "python $(which app)", "A=1 python app.py", "python 'unclosed", ""])
def test_procfile_commands_the_image_cannot_run(command: str) -> None:
    with pytest.raises(ConfigError):
        split_command(command, "Procfile web:")


def test_web_process_read_from_the_folder(tmp_path: Path) -> None:
    assert read_web_process(tmp_path) is None
    (tmp_path / "Procfile").write_text("worker: python w.py\n")
    assert read_web_process(tmp_path) is None
    (tmp_path / "Procfile").write_text("web: python app.py\nworker: python w.py\n")
    assert read_web_process(tmp_path) == WebProcess(("python", "app.py"))


def test_entrypoint_without_variables_is_the_command_itself() -> None:
    process = WebProcess(("gunicorn", "app:app"))
    assert process.entrypoint("/app/venv/bin/python") == ("gunicorn", "app:app")
    assert not process.uses_port


def test_launcher_expands_variables_when_the_container_starts(tmp_path: Path) -> None:
    process = WebProcess(("printf", "%s|", "0.0.0.0:$PORT", "${HOST}", "${WORKERS:-4}", "${EMPTY:-x}", "$UNSET", "$$"))
    assert process.uses_port
    entrypoint = process.entrypoint(sys.executable)
    assert entrypoint[:3] == (sys.executable, "-c", LAUNCHER)
    ran = subprocess.run(entrypoint, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PORT": "9000", "HOST": "h", "EMPTY": ""})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "0.0.0.0:9000|h|4|x||$$|"


# ---------------------------------------------------------------- requirements.txt


def test_requirements_file(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("requests>=2 ; python_version >= '3.8'\n")
    (tmp_path / "requirements.txt").write_text(
        "# web\nflask==3.0.3  # pinned\n-r base.txt\n"
        "gunicorn \\\n  >=22\n"
        "cryptography==43.0.0 --hash=sha256:" + "a" * 64 + "\n"
        "mylib @ git+https://example.invalid/mylib@v1\n"
    )
    assert read_requirements(tmp_path / "requirements.txt") == [
        "flask==3.0.3", "requests>=2 ; python_version >= '3.8'", "gunicorn >=22", "cryptography==43.0.0",
        "mylib @ git+https://example.invalid/mylib@v1"]


@pytest.mark.parametrize(("line", "says"), [
    ("--index-url https://example.invalid/simple", "index-url"),
    ("--extra-index-url=https://example.invalid/simple", "extra-index-url"),
    ("-e .", "editable"),
    ("./libs/mylib", "file:///"),
    ("flask[", "not a requirement"),
    ("--pre", "remove it"),
])
def test_requirements_the_image_cannot_take_are_one_clear_line(tmp_path: Path, line: str, says: str) -> None:
    (tmp_path / "requirements.txt").write_text(f"flask\n{line}\n")
    with pytest.raises(ConfigError, match=says):
        read_requirements(tmp_path / "requirements.txt")


def test_requirements_include_loop(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r other.txt\n")
    (tmp_path / "other.txt").write_text("--requirement requirements.txt\n")
    with pytest.raises(ConfigError, match="includes itself"):
        read_requirements(tmp_path / "requirements.txt")


# ---------------------------------------------------------------- the app as a project source


def test_app_facts(tmp_path: Path) -> None:
    folder = _app(tmp_path / "My_Shop.Web", {"app.py": "", "requirements.txt": "flask\ngunicorn\n", "Procfile": "web: gunicorn app:app\n"})
    app = PlainApp.open(load_settings(folder, {}))
    assert app.metadata.name == "my-shop-web" == app_name(folder)
    assert app.metadata.version == "0"  # no git tag on a commit
    assert app.metadata.requires_dist == ("flask", "gunicorn")
    assert app.web == WebProcess(("gunicorn", "app:app"))


def test_version_from_a_git_tag_on_the_commit(tmp_path: Path) -> None:
    folder = _app(tmp_path / "svc", {"app.py": "", "Procfile": "web: python app.py\n"})
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    subprocess.run([*git, "tag", "v1.4.2"], check=True)
    assert PlainApp.open(load_settings(folder, {})).metadata.version == "1.4.2"


@pytest.mark.parametrize(("files", "says"), [
    ({"app.py": ""}, "has no Procfile"),
    ({"app.py": "", "Procfile": "worker: python w.py\n"}, "no web: line"),
])
def test_an_app_without_entrypoint_is_one_clear_line(tmp_path: Path, files: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        PlainApp.open(load_settings(_app(tmp_path / "svc", files), {}))


def test_options_win_over_the_procfile_and_port_defaults(tmp_path: Path) -> None:
    folder = _app(tmp_path / "svc", {"app.py": "", "Procfile": "web: gunicorn -b 0.0.0.0:$PORT app:app\n"})
    environment = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), parse_platform("linux/amd64")))
    app = PlainApp.open(load_settings(folder, {}))
    filled = app.image_settings(load_settings(folder, {}), environment)
    assert filled.workdir == APP_DIR and filled.environment == {"PORT": "8080"} and filled.ports == ("8080",)
    assert filled.entrypoint == (environment.python, "-c", LAUNCHER, "gunicorn", "-b", "0.0.0.0:$PORT", "app:app")
    chosen = app.image_settings(load_settings(folder, {"module": "app", "workdir": "/srv", "environment": {"PORT": "9000"}}), environment)
    assert chosen.entrypoint is None and chosen.module == "app" and chosen.workdir == "/srv"
    assert chosen.environment == {"PORT": "9000"} and chosen.ports == ()


def test_fingerprint_follows_bytes_paths_and_exec_bits(tmp_path: Path) -> None:
    folder = _app(tmp_path / "svc", {"app.py": "print(1)\n", "templates/a.html": "<p>"})
    files = ["app.py", "templates/a.html"]
    first = fingerprint(folder, files)
    assert fingerprint(folder, files) == first
    (folder / "app.py").write_text("print(2)\n")
    second = fingerprint(folder, files)
    assert second != first
    (folder / "app.py").chmod(0o755)
    assert fingerprint(folder, files) != second


def test_the_builds_own_output_in_the_folder_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _app(tmp_path / "svc", {"app.py": "", "dist/image/index.json": "{}", "dist/app.tar": "x", "dist/keep.txt": "x"})
    monkeypatch.chdir(folder)  # targets are relative to where pyjib runs
    assert own_output("oci:dist/image:1.0", folder.resolve()) == ("dist/image",)
    assert own_output(f"docker-archive:{folder / 'dist/app.tar'}", folder.resolve()) == ("dist/app.tar",)
    assert own_output("oci:../elsewhere", folder.resolve()) == () and own_output("registry.example/app:1", folder.resolve()) == ()
    kept = set(app_files(folder, ("dist/image", "dist/app.tar")))
    assert kept == {"app.py", "dist/keep.txt"}


def test_the_name_option_names_an_app_and_is_refused_for_a_package(tmp_path: Path) -> None:
    folder = _app(tmp_path / "src", {"app.py": "", "Procfile": "web: python app.py\n"})
    assert PlainApp.open(load_settings(folder, {"name": "Shop_Front"})).metadata.name == "shop-front"
    package = _app(tmp_path / "pkg", {"pyproject.toml": '[project]\nname = "pkg"\nversion = "1"\n'})
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(ConfigError, match="is a package"):
        settings = load_settings(package, {"name": "other"})
        start_source(BuildContext(settings, Sources(IndexConfig(), None), BlobCache(tmp_path / "cache"), ClientPool(), SILENT), pool)
