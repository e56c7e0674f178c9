"""Precompiled bytecode for the image, made by a host interpreter of the image's Python X.Y.

A non-root container cannot write __pycache__ under /app, so without .pyc files every start compiles every imported
module again. .pyc depends on the Python minor version, not the CPU, so any host interpreter of the image's X.Y can
compile for any platform. pyjib's own interpreter compiles when it is of that X.Y (its version is known without asking);
else another host interpreter does, the exact X.Y.Z preferred. The compiler's full version is part of every compiled
layer's cache key, since patch releases may emit other bytes. Compiling always happens in a fresh process: marshal's
output depends on reference counts, so compiling inside pyjib (or inside hatch) could give other bytes.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError


@dataclass(frozen=True)
class Compiler:
    executable: str
    version: str  # full X.Y.Z, part of every cache key of a compiled layer


def _own_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def _version_of(executable: str) -> str | None:
    try:
        result = subprocess.run([executable, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


@functools.cache
def find_compiler(version: str) -> Compiler | None:
    """This interpreter if it is of the image's X.Y; else a host one of that X.Y (the exact X.Y.Z first); else None."""
    minor = ".".join(version.split(".")[:2])
    if _own_version().rsplit(".", 1)[0] == minor:
        return Compiler(sys.executable, _own_version())
    candidates = [*(shutil.which(name) for name in (f"python{minor}", "python3")), f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}"]
    found: list[Compiler] = []
    for candidate in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        candidate_version = _version_of(candidate)
        if candidate_version and candidate_version.rsplit(".", 1)[0] == minor:
            found.append(Compiler(candidate, candidate_version))
    exact = [c for c in found if c.version == version]
    return (exact or found)[0] if found else None


def compiler_for(version: str, mode: str) -> Compiler | None:
    """The compiler the bytecode option asks for: 'auto' (when the host has one), 'required' (or fail), 'off'."""
    if mode == "off":
        return None
    compiler = find_compiler(version)
    if compiler is None and mode == "required":
        minor = ".".join(version.split(".")[:2])
        raise ConfigError(f"bytecode = \"required\" but this host has no Python {minor} to compile for the image; install one or set bytecode = \"auto\"")
    return compiler


@dataclass(frozen=True)
class CompileFailure:
    """The first file under a tree that does not compile: its path relative to the tree, its line, what is wrong."""

    path: str
    line: int | None
    message: str


# Run by the compiler only after compileall failed, to name the first file and line (compileall's own report is prose).
_FIRST_FAILURE = """
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
for path in sorted(root.rglob("*.py")):
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        print(json.dumps([path.relative_to(root).as_posix(), exc.lineno, f"{type(exc).__name__}: {exc.msg}"]))
        break
    except Exception as exc:
        print(json.dumps([path.relative_to(root).as_posix(), None, f"{type(exc).__name__}: {exc}"]))
        break
"""


def _first_failure(tree: Path, compiler: Compiler) -> CompileFailure | None:
    result = subprocess.run([compiler.executable, "-I", "-c", _FIRST_FAILURE, str(tree)], capture_output=True, text=True, check=False)
    try:
        path, line, message = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None
    return CompileFailure(str(path), line if isinstance(line, int) else None, str(message))


# A tree of at most this many .py files (an application layer, a small dependency layer) compiles in one process
# with no pool: starting compileall's workers costs more than compiling a few files. Decided by the tree alone, never
# by this machine's cores, so one tree always gives one set of bytes.
SINGLE_PROCESS_MAX_FILES = 100

# compileall's work for compile_tree's small trees (same files, same recorded paths, unchecked-hash .pyc) without its
# imports: run with -I -S -X utf8 it costs ~12 ms where `-m compileall` costs ~35 ms and `-j 0` ~70 ms. Its .pyc
# differ from compileall's in a few marshal ref flags (which strings are shared depends on what the process has
# loaded), so the layer recipe moved on with it. Exit status 1 when some file did not compile.
_COMPILE_SMALL_TREE = """
import os, sys, _imp
from _frozen_importlib_external import _RAW_MAGIC_NUMBER, _calc_mode, _code_to_hash_pyc, _write_atomic, cache_from_source
root = sys.argv[1]
skipped = set(sys.argv[2:])  # folder names whose files get no .pyc
failed = 0
def walk(folder):
    for name in sorted(os.listdir(folder)):
        if name == "__pycache__":
            continue
        if name in skipped and os.path.isdir(os.path.join(folder, name)):
            continue
        path = os.path.join(folder, name)
        if not os.path.isdir(path):
            yield path
        elif not os.path.islink(path):
            yield from walk(path)
for path in walk(root):
    if not path.endswith(".py") or not os.path.isfile(path):
        continue
    try:
        with open(path, "rb") as source:
            data = source.read()
        code = compile(data, "/" + os.path.relpath(path, root), "exec", dont_inherit=True)
        cached = cache_from_source(path)
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        _write_atomic(cached, _code_to_hash_pyc(code, _imp.source_hash(_RAW_MAGIC_NUMBER, data), False), _calc_mode(path))
    except Exception:
        failed = 1
sys.exit(failed)
"""


# A distribution's own test suite (numpy/core/tests, pandas/tests, ...) ships without .pyc: a service never imports it,
# and it is half of a data stack's Python source (52% of numpy, pandas, scipy and pyarrow's), so half its bytecode
# time. A module without .pyc still imports (compiled in memory). "testing" folders are left alone: numpy.testing and
# the like are imported at run time.
TEST_FOLDERS = ("test", "tests")


def _one_process(compiler: Compiler, sources: int) -> bool:
    """Whether the tree compiles in one isolated (-I) process. Not for Python 3.10 and older: marshal writes their
    frozenset constants in hash order, which only PYTHONHASHSEED (ignored under -I) keeps from changing per process."""
    major, minor = (int(part) for part in compiler.version.split(".")[:2])
    return sources <= SINGLE_PROCESS_MAX_FILES and (major, minor) >= (3, 11)


def _compile_command(tree: Path, compiler: Compiler, sources: int, skipped: tuple[str, ...] = ()) -> list[str]:
    """A fresh, isolated process for a small tree; compileall with a worker per core for a big one."""
    if _one_process(compiler, sources):
        return [compiler.executable, "-I", "-S", "-X", "utf8", "-c", _COMPILE_SMALL_TREE, str(tree), *skipped]
    return _compileall_command(tree, compiler, skipped)


def _compileall_command(tree: Path, compiler: Compiler, skipped: tuple[str, ...]) -> list[str]:
    # compileall's -x searches each file's full path; anchored at the tree, a folder above it never matches.
    exclude = ["-x", re.escape(str(tree)) + "/(?:[^/]+/)*(?:" + "|".join(map(re.escape, skipped)) + ")/"] if skipped else []
    return [compiler.executable, "-m", "compileall", "-qq", "-j", "0", "--invalidation-mode", "unchecked-hash",
            *exclude, "-s", str(tree), "-p", "/", str(tree)]


def compile_tree(tree: Path, compiler: Compiler, *, skip_tests: bool = False) -> CompileFailure | None:
    """Write __pycache__/*.pyc beside every .py under tree, recording each file's path as the image will see it
    (skip_tests: none under a folder named in TEST_FOLDERS, for dependencies).

    A file that does not compile ships without its .pyc, as pip does; the first such file is returned, so that the
    caller can refuse the project's own code (a dependency's test data with Python 2 syntax is no reason to fail).
    """
    sources = sum(1 for _ in itertools.islice(tree.rglob("*.py"), SINGLE_PROCESS_MAX_FILES + 1))
    if not sources:
        return None
    skipped = TEST_FOLDERS if skip_tests else ()
    # A fixed hash seed: Python 3.10's marshal writes frozenset constants in hash order (3.11 sorts them).
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(_compile_command(tree, compiler, sources, skipped), capture_output=True, check=False, env=environment)
    if result.returncode == 0:
        return None
    failure = _first_failure(tree, compiler)
    if failure is None and _one_process(compiler, sources):
        # No file failed, so the script itself did (an interpreter without the importlib internals it uses): compileall
        # does the tree, so it never ships without bytecode in silence.
        subprocess.run(_compileall_command(tree, compiler, skipped), capture_output=True, check=False, env=environment)
    return failure
