"""The import graph of src/pyjib, read with ast (nothing of pyjib is imported): for the dependency-rule tests and
tools/codeshape.py."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "pyjib"


def module_name(path: Path, source: Path = SOURCE) -> str:
    parts = list(path.relative_to(source.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, name: str, is_package: bool, known: set[str], top_level_only: bool) -> set[str]:
    """pyjib modules this module imports (relative or absolute); a `from . import x` counts x when x is a module."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    nodes = ast.iter_child_nodes(tree) if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
                elif target in known:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def parse_tree(source: Path = SOURCE) -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package under source, by dotted name, with its file and syntax tree."""
    return {module_name(f, source): (f, ast.parse(f.read_text())) for f in sorted(source.rglob("*.py"))}


def import_graph(trees: dict[str, tuple[Path, ast.Module]], top_level_only: bool = False) -> dict[str, set[str]]:
    known = set(trees)
    return {n: imported_modules(t, n, f.name == "__init__.py", known, top_level_only) for n, (f, t) in trees.items()}


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = function.args
    names = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    return len([a for a in names if a.arg not in ("self", "cls")]) + bool(args.vararg) + bool(args.kwarg)
