"""The dependency rules of src/pyjib, checked on its import graph as go-containerregistry's depcheck tests do: the image
model imports no transport, the transports import no Python-packaging code, the front ends import only the API, and
no module comes back to itself round a cycle (imports inside functions count: they are cycles deferred, not gone)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from tests.importgraph import SOURCE, cycles, import_graph, imported_modules, parse_tree

GRAPH = import_graph(parse_tree())

# The image model: digests, descriptors, media types, platforms, images, indexes, artifacts.
MODEL = ["pyjib.oci", "pyjib.oci.*"]
MODEL_MAY_IMPORT = [*MODEL, "pyjib.errors"]
# What moves images: the location parser, each transport, and the registry client under the remote one.
TRANSPORTS = ["pyjib.transports", "pyjib.transports.*", "pyjib.registry", "pyjib.registry.*"]
TRANSPORTS_MAY_IMPORT = [
    *MODEL, *TRANSPORTS,
    "pyjib.errors", "pyjib.log", "pyjib.progress", "pyjib.workers",  # reporting and threads
    "pyjib.cache", "pyjib.reference",  # blobs on disk, and what names an image
    "pyjib.baseconfig", "pyjib.layer",  # a base's config checked as it is read; the tar constants a docker-archive shares
]
# The front ends parse options and call the API; the hatch plugin is checked from its own tree.
FRONT_ENDS = ["pyjib.cli", "pyjib.pytest_plugin", "pyjib.__main__"]
FRONT_ENDS_MAY_IMPORT = ["pyjib", "pyjib.api", "pyjib.errors", "pyjib.log", "pyjib.settings", "pyjib.cli"]
HATCH_PLUGIN = SOURCE.parent.parent / "hatch_build_hook" / "src" / "hatch_pyjib"


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _members(graph: dict[str, set[str]], patterns: list[str]) -> list[str]:
    found = sorted(name for name in graph if _matches(name, patterns))
    assert found, f"no module matches {patterns}: the rule would hold vacuously"
    return found


def breaches(graph: dict[str, set[str]], members: list[str], allowed: list[str]) -> dict[str, list[str]]:
    """For each member that imports something it may not, what that is."""
    found = {m: sorted(i for i in graph[m] if not _matches(i, allowed)) for m in _members(graph, members)}
    return {m: imports for m, imports in found.items() if imports}


def test_the_image_model_imports_only_itself_and_the_errors() -> None:
    assert breaches(GRAPH, MODEL, MODEL_MAY_IMPORT) == {}


def test_the_transports_import_no_python_packaging_code() -> None:
    assert breaches(GRAPH, TRANSPORTS, TRANSPORTS_MAY_IMPORT) == {}


def test_the_front_ends_import_only_the_api() -> None:
    assert breaches(GRAPH, FRONT_ENDS, FRONT_ENDS_MAY_IMPORT) == {}


def test_the_hatch_plugin_imports_only_the_api() -> None:
    plugin = parse_tree(HATCH_PLUGIN)
    imports = {name: imported_modules(tree, name, path.name == "__init__.py", set(GRAPH), False) for name, (path, tree) in plugin.items()}
    assert any(imports.values()), "the plugin imports nothing of pyjib: the rule would hold vacuously"
    assert {n: sorted(i for i in found if not _matches(i, FRONT_ENDS_MAY_IMPORT)) for n, found in imports.items()} == {n: [] for n in imports}


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


@pytest.mark.parametrize(("module", "imports", "patterns", "allowed"), [
    ("pyjib.oci.image", "pyjib.transports.remote", MODEL, MODEL_MAY_IMPORT),
    ("pyjib.transports.remote", "pyjib.resolve", TRANSPORTS, TRANSPORTS_MAY_IMPORT),
    ("pyjib.cli", "pyjib.imagebuild", FRONT_ENDS, FRONT_ENDS_MAY_IMPORT),
])
def test_a_forbidden_import_is_caught(module: str, imports: str, patterns: list[str], allowed: list[str]) -> None:
    """The rules see what they forbid: the real graph with one forbidden edge added breaks exactly that rule."""
    graph = {name: set(edges) for name, edges in GRAPH.items()}
    graph[module].add(imports)
    assert breaches(graph, patterns, allowed) == {module: [imports]}


def test_a_cycle_through_a_function_level_import_is_caught() -> None:
    graph = {name: set(edges) for name, edges in GRAPH.items()}
    graph["pyjib.oci.digest"].add("pyjib.oci.descriptor")  # descriptor already imports digest
    assert ["pyjib.oci.descriptor", "pyjib.oci.digest"] in cycles(graph)


def test_the_graph_reads_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\nfrom .sub import c\n")
    (package / "b.py").write_text("def f():\n    from .sub.c import X\n")
    (package / "sub" / "__init__.py").write_text("from ..a import thing\n")
    (package / "sub" / "c.py").write_text("from .. import b\n")
    graph = import_graph(parse_tree(package))
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b", "pkg.sub.c"}, "pkg.b": {"pkg.sub.c"}, "pkg.sub": {"pkg.a"}, "pkg.sub.c": {"pkg.b"}}
    assert import_graph(parse_tree(package), top_level_only=True)["pkg.b"] == set()
