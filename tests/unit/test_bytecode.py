"""Small trees compile in one isolated process, big ones in compileall's pool; both give the same code objects, and
which one runs depends on the tree alone."""

from __future__ import annotations

import json
import marshal
import shutil
import subprocess
from pathlib import Path

import pytest

from pyjib import bytecode
from pyjib.bytecode import SINGLE_PROCESS_MAX_FILES, Compiler, compile_tree, find_compiler

STDLIB_JSON = Path(json.__file__).parent  # a real package: a few modules, relative imports, docstrings


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    found = find_compiler("3.11.2")
    assert found is not None, "the tests run on Python 3.11"
    return found


def _pycs(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*.pyc"))}


def _tree(tmp_path: Path, name: str) -> Path:
    tree = tmp_path / name
    shutil.copytree(STDLIB_JSON, tree / "site-packages" / "json", ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "site-packages" / "json" / "notes.txt").write_text("not code")
    (tree / "site-packages" / "link.py").symlink_to(tree / "site-packages" / "json" / "tool.py")
    (tree / "site-packages" / "linked-dir").symlink_to(tree / "site-packages" / "json", target_is_directory=True)
    return tree


def test_a_small_tree_compiles_as_compileall_would(tmp_path: Path, compiler: Compiler) -> None:
    small, reference = _tree(tmp_path, "small"), _tree(tmp_path, "reference")
    assert compile_tree(small, compiler) is None
    subprocess.run([compiler.executable, "-I", "-m", "compileall", "-qq", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    "-s", str(reference), "-p", "/", str(reference)], check=True)
    ours, theirs = _pycs(small), _pycs(reference)
    assert sorted(ours) == sorted(theirs) and "site-packages/__pycache__/link.cpython-311.pyc" in ours
    assert not any(name.startswith("site-packages/linked-dir/") for name in ours)  # a linked folder is not walked
    for name, data in ours.items():
        assert data[:16] == theirs[name][:16]  # magic, unchecked-hash flags, source hash
        code, expected = marshal.loads(data[16:]), marshal.loads(theirs[name][16:])
        assert code == expected and code.co_filename == expected.co_filename
    assert marshal.loads(ours["site-packages/json/__pycache__/decoder.cpython-311.pyc"][16:]).co_filename == "/site-packages/json/decoder.py"


def test_the_same_tree_gives_the_same_bytes(tmp_path: Path, compiler: Compiler) -> None:
    first, second = _tree(tmp_path, "a"), _tree(tmp_path, "b")
    assert compile_tree(first, compiler) is None and compile_tree(second, compiler) is None
    assert _pycs(first) == _pycs(second) and _pycs(first)


def test_the_way_of_compiling_depends_on_the_number_of_sources_only(tmp_path: Path, compiler: Compiler) -> None:
    small = bytecode._compile_command(tmp_path, compiler, SINGLE_PROCESS_MAX_FILES)
    big = bytecode._compile_command(tmp_path, compiler, SINGLE_PROCESS_MAX_FILES + 1)
    assert small[:5] == [compiler.executable, "-I", "-S", "-X", "utf8"] and "compileall" not in small
    assert big[1:3] == ["-m", "compileall"] and big[big.index("-j") + 1] == "0"


def test_a_big_tree_still_compiles_every_file(tmp_path: Path, compiler: Compiler) -> None:
    for n in range(SINGLE_PROCESS_MAX_FILES + 1):
        (tmp_path / "pkg" / f"m{n}").mkdir(parents=True)
        (tmp_path / "pkg" / f"m{n}" / "mod.py").write_text(f"VALUE = {n}\n")
    (tmp_path / "pkg" / "m7" / "broken.py").write_text("def (:\n")
    failure = compile_tree(tmp_path, compiler)
    assert failure is not None and failure.path == "pkg/m7/broken.py" and failure.line == 1
    assert len(list(tmp_path.rglob("*.pyc"))) == SINGLE_PROCESS_MAX_FILES + 1


def test_a_small_tree_with_a_bad_file_compiles_the_rest_and_names_it(tmp_path: Path, compiler: Compiler) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.py").write_text("A = 1\n")
    (tmp_path / "app" / "b.py").write_bytes(b"\xff\xfe not utf-8\n")
    (tmp_path / "app" / "c.py").write_text("C = 3\n")
    failure = compile_tree(tmp_path, compiler)
    assert failure is not None and failure.path == "app/b.py"
    assert sorted(p.name for p in tmp_path.rglob("*.pyc")) == ["a.cpython-311.pyc", "c.cpython-311.pyc"]


@pytest.mark.parametrize("modules", [3, SINGLE_PROCESS_MAX_FILES + 5])  # the one-process script and compileall's pool
def test_a_dependencys_test_folders_get_no_bytecode_and_its_code_does(tmp_path: Path, compiler: Compiler, modules: int) -> None:
    # The tree sits under a folder named tests/: only folders inside the tree may count.
    tree = tmp_path / "tests" / "tree"
    package = tree / "site-packages" / "pkg"
    for folder in (package, package / "tests", package / "sub" / "test", package / "testing"):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("VALUE = 1\n")
    for index in range(modules):
        (package / f"mod{index}.py").write_text(f"X = {index}\n")
    assert compile_tree(tree, compiler, skip_tests=True) is None
    compiled = {Path(p).parent.parent.as_posix() for p in _pycs(package)}
    assert compiled == {".", "testing"}
    assert len(list((package / "__pycache__").glob("mod*.pyc"))) == modules
    assert compile_tree(tree, compiler) is None  # the project's own code: every folder
    assert {Path(p).parent.parent.as_posix() for p in _pycs(package)} == {".", "testing", "tests", "sub/test"}


def test_a_tree_is_compiled_by_compileall_when_the_small_tree_script_itself_fails(tmp_path: Path, compiler: Compiler,
                                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bytecode, "_COMPILE_SMALL_TREE", "import sys; sys.exit(1)")  # as on an interpreter it does not fit
    tree = _tree(tmp_path, "tree")
    assert compile_tree(tree, compiler) is None
    assert _pycs(tree)  # not shipped without bytecode
