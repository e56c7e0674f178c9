"""Figures on the shape of src/pyjib: the largest modules, import cycles, the widest functions, unit tests per module.

Run from the repository root: `python3 tools/codeshape.py`. Reads the source with ast; imports nothing of pyjib.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.importgraph import cycles, import_graph, imported_modules, parameter_count, parse_tree

UNIT_TESTS = Path(__file__).resolve().parent.parent / "tests" / "unit"


def _test_count(tree: ast.AST) -> int:
    return sum(1 for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"))


def main() -> None:
    trees = parse_tree()
    known = set(trees)
    lines = sorted(((len(f.read_text().splitlines()), name) for name, (f, _) in trees.items()), reverse=True)
    print("largest modules:", ", ".join(f"{name} {count}" for count, name in lines[:5]))
    for scope, top in (("top-level", True), ("any", False)):
        found = cycles(import_graph(trees, top))
        print(f"import cycles ({scope} imports): {len(found)}", *(" <-> ".join(c) for c in found), sep="\n  ")
    widths = sorted(
        ((parameter_count(node), f"{name}.{node.name}") for name, (_, tree) in trees.items()
         for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)),
        reverse=True,
    )
    print("widest functions:", ", ".join(f"{name} ({count})" for count, name in widths[:5]))
    tests_per_module: dict[str, int] = defaultdict(int)
    for test_file in sorted(UNIT_TESTS.glob("test_*.py")):
        tree = ast.parse(test_file.read_text())
        count = _test_count(tree)
        for module in imported_modules(tree, "tests.unit.x", False, known, False):
            tests_per_module[module] += count
    modules = {n for n, (f, t) in trees.items() if f.name != "__main__.py" and (f.name != "__init__.py" or t.body)}
    untested = sorted(n for n in modules if not tests_per_module.get(n))
    total = sum(_test_count(ast.parse(f.read_text())) for f in UNIT_TESTS.glob("test_*.py"))
    print(f"modules: {len(modules)}; with unit tests importing them: {len(modules) - len(untested)}; unit tests: {total}")
    print("modules no unit test imports:", " ".join(m.removeprefix("pyjib.") for m in untested))


if __name__ == "__main__":
    main()
