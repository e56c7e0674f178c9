"""The registry package has no import cycle: no module of pyjib.registry imports, directly or through others, a module
that imports it back (typing-only imports count too). Read from the source with ast, so nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pyjib

SOURCE = Path(pyjib.__file__).parent
PACKAGE = "pyjib.registry"


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, known: set[str]) -> set[str]:
    """The pyjib modules a file imports, `from . import x` of a submodule included."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in SOURCE.rglob("*.py")}
    return {name: imported(path, set(files)) for name, path in files.items()}


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A chain of imports from start that leads back to it, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, chain = stack.pop()
        for target in sorted(graph.get(module, ())):
            if target == start:
                return [*chain, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*chain, target]))
    return None


def test_the_graph_sees_the_package_modules_and_their_imports() -> None:
    graph = import_graph()
    assert {"pyjib.registry.client", "pyjib.registry.upload", "pyjib.registry.transport"} <= set(graph)
    assert "pyjib.registry.transport" in graph["pyjib.registry.upload"]  # FileSlice
    assert "pyjib.registry.errors" in graph["pyjib.registry.upload"]  # Interrupted
    assert cycle_through({"a": {"b"}, "b": {"c"}, "c": {"a"}}, "a") == ["a", "b", "c", "a"]


def test_no_registry_module_is_part_of_an_import_cycle() -> None:
    graph = import_graph()
    # The package's __init__ re-exports its modules by design; a module reaching back to it would be a cycle.
    cycles = {name: chain for name in graph if name.startswith(PACKAGE + ".") and (chain := cycle_through(graph, name))}
    assert cycles == {}
    assert not any(PACKAGE in targets for name, targets in graph.items() if name.startswith(PACKAGE + "."))
