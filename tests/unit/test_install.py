import zipfile
from pathlib import Path

import pytest

from pyjib.errors import InstallError
from pyjib.install import Environment, SharedFile, check_wheel_paths, install_all, install_wheel, write_skeleton
from pyjib.interpreter import Interpreter
from pyjib.layering import split_resources
from pyjib.oci.platforms import Platform
from tests.infra.distributions import make_wheel

ENV = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")))


def _wheel(path: Path, files: dict[str, str]) -> Path:
    dist = "demo-1.0.dist-info"
    files = {
        **files,
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": "[console_scripts]\ndemo = demo:main\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{dist}/RECORD", "\n".join(f"{n},," for n in [*files, f"{dist}/RECORD"]) + "\n")
    return path


def test_install_into_the_environment_with_image_paths(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "demo-1.0-py3-none-any.whl", {"demo/__init__.py": "def main(): pass\n", "demo/templates/a.html": "<p>"})
    staging, skeleton = tmp_path / "staging", tmp_path / "skeleton"
    write_skeleton(skeleton, ENV)
    install_wheel(wheel, staging, ENV)
    site = staging / "app/venv/lib/python3.11/site-packages"
    assert (site / "demo/__init__.py").is_file()
    script = (staging / "app/venv/bin/demo").read_text()
    assert script.startswith("#!/app/venv/bin/python\n")
    assert (skeleton / "app/venv/bin/python").readlink() == Path("/usr/bin/python3.11")
    assert (skeleton / "app/venv/bin/python3.11").readlink() == Path("python")
    assert "home = /usr/bin" in (skeleton / "app/venv/pyvenv.cfg").read_text()
    assert (site / "demo-1.0.dist-info/INSTALLER").read_text() == "pyjib\n"
    resources = tmp_path / "resources"
    assert split_resources(staging, resources, Path("app/venv/bin")) == 1
    assert (resources / "app/venv/lib/python3.11/site-packages/demo/templates/a.html").is_file()
    assert not (site / "demo/templates/a.html").exists() and (site / "demo/__init__.py").exists()


@pytest.mark.parametrize("bad", ["../escape.py", "/etc/passwd", "demo/../../x", "C:/x"])
def test_paths_outside_the_environment_are_refused(tmp_path: Path, bad: str) -> None:
    with zipfile.ZipFile(tmp_path / "w.whl", "w") as archive:
        archive.writestr(bad, "x")
    with pytest.raises(InstallError, match="outside"):
        check_wheel_paths(tmp_path / "w.whl")


@pytest.mark.parametrize("name", ["../../../../tmp/pyjib-escaped", "/tmp/pyjib-absolute", "sub/dir", ".."])
def test_a_script_name_that_is_a_path_is_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    dist = "demo-1.0.dist-info"
    files = {
        "demo/__init__.py": "def main(): pass\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": f"[console_scripts]\nok = demo:main\n{name} = demo:main\n",
    }
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
        archive.writestr(f"{dist}/RECORD", "\n".join(f"{n},," for n in [*files, f"{dist}/RECORD"]) + "\n")
    with pytest.raises(InstallError, match="script name"):
        install_wheel(wheel, tmp_path / "staging", ENV)
    assert not (tmp_path / "staging").exists()
    assert not Path("/tmp/pyjib-escaped").exists() and not Path("/tmp/pyjib-absolute").exists()


def test_a_file_two_distributions_ship_is_the_later_ones_as_with_pip(tmp_path: Path) -> None:
    alpha = make_wheel(tmp_path / "w", "alpha", "1.0", {"alpha/__init__.py": "", "tests/__init__.py": "# alpha\n"})
    beta = make_wheel(tmp_path / "w", "beta", "2.0", {"beta/__init__.py": "", "tests/__init__.py": "# beta\n"})
    tree = tmp_path / "tree"
    environment = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")))
    shared = install_all([alpha, beta], tree, environment)
    path = f"{environment.site_packages}/tests/__init__.py"
    assert shared == [SharedFile(path, "alpha", "beta")]
    assert (tree / path.lstrip("/")).read_text() == "# beta\n"
    assert (tree / environment.site_packages.lstrip("/") / "alpha" / "__init__.py").is_file()


def test_distinct_files_share_nothing(tmp_path: Path) -> None:
    alpha = make_wheel(tmp_path / "w", "alpha", "1.0", {"alpha/__init__.py": ""})
    beta = make_wheel(tmp_path / "w", "beta", "2.0", {"beta/__init__.py": ""})
    environment = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")))
    assert install_all([alpha, beta], tmp_path / "tree", environment) == []


@pytest.mark.parametrize("record", ["garbage,,,,,\n", "demo/__init__.py,sha256=abc,notanumber\n", "\x00\x01\n"])
def test_a_malformed_record_is_one_install_error(tmp_path: Path, record: str) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo/__init__.py", "")
        archive.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        archive.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("demo-1.0.dist-info/RECORD", record)
    with pytest.raises(InstallError, match=r"demo-1\.0-py3-none-any\.whl") as raised:
        install_wheel(wheel, tmp_path / "staging", ENV)
    assert "\n" not in str(raised.value)
