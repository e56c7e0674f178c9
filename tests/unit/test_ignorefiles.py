"""The ignore rules of app folders: git's .gitignore semantics (checked against git itself), Docker's .dockerignore, and
what never goes into an image."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pyjib.ignorefiles import RuleSet, app_files, compile_pattern, is_ignored, parse_rules

TREE = [
    "app.py", "README.md", "debug.log", "notes.txt", "secret.txt", "build/out.bin", "src/build/keep.py", "src/main.py",
    "src/util/helpers.py", "src/util/data.json", "src/util/deep/x.log", "docs/a.md", "docs/internal/b.md", "templates/index.html",
    "static/css/site.css", "static/js/app.js", "a[1].txt", "foo bar.txt", "#hash.txt", "!bang.txt", "logs/today.log",
    "logs/keep.log", "cache/x/y/z.txt", "src/cache/q.txt",
]


def _tree(root: Path, gitignore: str) -> Path:
    for relative in TREE:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(relative)
    (root / ".gitignore").write_text(gitignore)
    return root


def _git_kept(root: Path) -> list[str]:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z"],
                            capture_output=True, check=True).stdout.decode()
    return sorted(path for path in listed.split("\0") if path)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to compare with")
@pytest.mark.parametrize("gitignore", [
    "*.log\n",
    "*.log\n!keep.log\n",
    "build/\n",
    "/build\n",
    "src/util/\n",
    "docs/**/*.md\n",
    "**/cache\n",
    "cache/**\n",
    "static/**/*.js\n",
    "a\\[1\\].txt\nfoo\\ bar.txt\n",
    "\\#hash.txt\n\\!bang.txt\n",
    "# a comment\n\n*.txt\n!notes.txt\n",
    "s*/\n",
    "*.md\n!/README.md\n",
    "logs/*\n!logs/keep.log\n",
    "util\n",
    "src/*.py\n",
    "?ecret.txt\n[a-d]*.log\n",
    "**\n!*/\n!*.py\n",
    "*\n",
    "deep/\n",
    "*/\n",
    "/*.txt\n",
    "src/**/\n",
    "**/util/**\n!**/util/*.py\n",
    "src/**/x.log\n",
    "[!a-m]*.txt\n",
    "*.LOG\n",
    "docs/*\n!docs/internal/\ndocs/internal/*\n",
])
def test_gitignore_keeps_what_git_keeps(tmp_path: Path, gitignore: str) -> None:
    root = _tree(tmp_path / "app", gitignore)
    expected = _git_kept(root)
    assert sorted(app_files(root)) == sorted(p for p in expected if not p.startswith(".git/"))


def test_nested_gitignore_applies_below_its_folder(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app", "*.log\n")
    (root / "src" / ".gitignore").write_text("*.json\n!*.log\n/main.py\n")
    kept = set(app_files(root))
    assert "src/util/data.json" not in kept and "src/main.py" not in kept
    assert "src/util/deep/x.log" in kept  # re-included by the deeper file
    assert "logs/today.log" not in kept and "src/util/helpers.py" in kept
    assert sorted(kept) == _git_kept(root)


def test_an_excluded_folder_is_never_entered(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app", "logs/\n!logs/keep.log\n")
    assert not any(path.startswith("logs/") for path in app_files(root))  # git says the same: a parent folder stays excluded
    assert sorted(app_files(root)) == _git_kept(root)


def test_never_shipped_whatever_the_ignore_files_say(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app", "!.env\n!*.pyc\n")
    for relative in (".env", "src/.env", ".git/config", ".venv/bin/python", "venv/pyvenv.cfg", "__pycache__/app.cpython-311.pyc",
                     "src/__pycache__/main.cpython-311.pyc", "old.pyc", ".mypy_cache/x"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x")
    kept = set(app_files(root))
    assert {".env", "src/.env", "old.pyc"}.isdisjoint(kept)
    assert not any(part in path.split("/") for path in kept for part in (".git", ".venv", "venv", "__pycache__", ".mypy_cache"))
    assert {"app.py", ".gitignore", "src/main.py", "templates/index.html"} <= kept


def test_dockerignore_patterns_are_anchored_at_the_top(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app", "")
    (root / ".dockerignore").write_text("*.log\n  docs/\n  # a comment\n**/data.json\n!logs/keep.log\n./src/util/deep\n")
    kept = set(app_files(root))
    assert "debug.log" not in kept and "logs/today.log" in kept  # `*.log` is the top's only, as Docker reads it
    assert not any(path.startswith("docs/") for path in kept)  # a trailing slash is dropped: the folder goes
    assert "src/util/data.json" not in kept and "src/util/deep/x.log" not in kept
    assert "src/util/helpers.py" in kept


def test_either_file_excluding_a_path_keeps_it_out(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app", "notes.txt\n!debug.log\n")
    (root / ".dockerignore").write_text("debug.log\n")
    kept = set(app_files(root))
    assert "notes.txt" not in kept and "debug.log" not in kept


def test_rule_details() -> None:
    assert compile_pattern("# comment") is None and compile_pattern("   ") is None and compile_pattern("/") is None
    rule = compile_pattern("build/")
    assert rule is not None and rule.directories_only and rule.matches("src/build", True) and not rule.matches("src/build", False)
    trailing = compile_pattern("name.txt   ")
    assert trailing is not None and trailing.matches("name.txt", False)
    rules = RuleSet("", tuple(parse_rules("*.log\n!keep.log\n")))
    assert is_ignored("a/b.log", False, [rules]) and not is_ignored("a/keep.log", False, [rules])
    below = RuleSet("src", tuple(parse_rules("/main.py\n")))
    assert is_ignored("src/main.py", False, [below]) and not is_ignored("main.py", False, [below])


def test_dockerignore_exceptions_reach_into_excluded_folders(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app", "")
    (root / ".dockerignore").write_text("docs\n!docs/internal/b.md\nstatic/**\n!static/css\n")
    kept = set(app_files(root))
    assert {p for p in kept if p.startswith(("docs/", "static/"))} == {"docs/internal/b.md", "static/css/site.css"}


def test_gitignores_above_the_app_in_its_checkout_apply(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    app = _tree(repo / "services" / "web", "!keep.log\n")
    (repo / ".gitignore").write_text("*.log\n/services/web/secret.txt\ncache/\n")
    (repo / "services" / ".gitignore").write_text("notes.txt\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    listed = subprocess.run(["git", "-C", str(app), "ls-files", "--others", "--exclude-standard", "-z"], capture_output=True, check=True)
    expected = sorted(path for path in listed.stdout.decode().split("\0") if path)
    assert sorted(app_files(app)) == expected
    assert "secret.txt" not in expected and "logs/keep.log" in expected and "notes.txt" not in expected  # the case is a real one


def test_gitignores_above_a_folder_outside_any_checkout_do_not_apply(tmp_path: Path) -> None:
    app = _tree(tmp_path / "outside" / "web", "")
    (tmp_path / "outside" / ".gitignore").write_text("*.log\n")
    assert "debug.log" in set(app_files(app))
