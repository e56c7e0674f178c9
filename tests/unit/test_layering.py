"""The project's installed files split by how often they change: code (every commit) above resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyjib.layering import is_code, split_resources

BIN = Path("app/venv/bin")
SITE = Path("app/venv/lib/python3.11/site-packages")


@pytest.mark.parametrize(("relative", "code"), [
    (SITE / "shop" / "views.py", True),
    (SITE / "shop" / "views.pyi", True),
    (SITE / "shop" / "__pycache__" / "views.cpython-311.pyc", True),
    (SITE / "shop" / "_speedups.cpython-311-x86_64-linux-gnu.so", True),
    (SITE / "shop.pth", True),
    (SITE / "shop" / "py.typed", True),
    (SITE / "shop-1.0.dist-info" / "RECORD", True),  # metadata changes with the version, as the code does
    (SITE / "shop-1.0.dist-info" / "licenses" / "LICENSE.txt", True),
    (BIN / "shop", True),  # console scripts
    (SITE / "shop" / "templates" / "index.html", False),
    (SITE / "shop" / "static" / "logo.png", False),
    (SITE / "shop" / "data" / "rates.json", False),
    (SITE / "shop" / "locale" / "de" / "LC_MESSAGES" / "shop.mo", False),
])
def test_code_is_python_compiled_metadata_and_scripts_and_the_rest_is_resources(relative: Path, code: bool) -> None:
    assert is_code(relative, BIN) is code


def test_split_moves_resources_with_their_paths_and_leaves_the_code(tmp_path: Path) -> None:
    installed, resources = tmp_path / "installed", tmp_path / "resources"
    files = {SITE / "shop" / "__init__.py": "", SITE / "shop" / "templates" / "index.html": "<html>",
             SITE / "shop" / "templates" / "mail" / "welcome.txt": "hi", SITE / "shop-1.0.dist-info" / "METADATA": "Name: shop",
             BIN / "shop": "#!/app/venv/bin/python"}
    for relative, text in files.items():
        (installed / relative).parent.mkdir(parents=True, exist_ok=True)
        (installed / relative).write_text(text)
    assert split_resources(installed, resources, BIN) == 2
    assert {p.relative_to(resources) for p in resources.rglob("*") if p.is_file()} == {
        SITE / "shop" / "templates" / "index.html", SITE / "shop" / "templates" / "mail" / "welcome.txt"}
    assert (resources / SITE / "shop" / "templates" / "mail" / "welcome.txt").read_text() == "hi"
    assert {p.relative_to(installed) for p in installed.rglob("*") if p.is_file()} == {
        BIN / "shop", SITE / "shop-1.0.dist-info" / "METADATA", SITE / "shop" / "__init__.py"}


def test_a_project_of_code_only_moves_nothing(tmp_path: Path) -> None:
    installed = tmp_path / "installed"
    (installed / SITE / "tool").mkdir(parents=True)
    (installed / SITE / "tool" / "cli.py").write_text("")
    assert split_resources(installed, tmp_path / "resources", BIN) == 0
    assert not (tmp_path / "resources").exists()
