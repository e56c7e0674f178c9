"""Small distributions made by the tests: a pure wheel, and an sdist whose build compiles C."""

from __future__ import annotations

import base64
import hashlib
import tarfile
import textwrap
import zipfile
from pathlib import Path


def make_wheel(directory: Path, name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> Path:
    """A py3-none-any wheel with the given module files, its METADATA and a RECORD with real hashes."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    contents = {**files, f"{dist_info}/METADATA": metadata,
                f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: pyjib-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    records = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        records.append(f"{path},sha256={digest},{len(text.encode())}")
    records.append(f"{dist_info}/RECORD,,")
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return wheel


def make_c_extension_sdist(directory: Path, name: str, version: str) -> Path:
    """An sdist of a package with a C extension: building it gives a wheel for the host's CPU, never a pure one."""
    module = name.replace("-", "_")
    root = directory / f"{module}-{version}"
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text("")
    (root / module / "fast.c").write_text(textwrap.dedent("""\
        #include <Python.h>
        static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "fast", NULL, -1, NULL};
        PyMODINIT_FUNC PyInit_fast(void) { return PyModule_Create(&def); }
        """))
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "{version}"
        """))
    (root / "setup.py").write_text(
        f"from setuptools import Extension, setup\nsetup(ext_modules=[Extension('{module}.fast', ['{module}/fast.c'])])\n"
    )
    (root / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    sdist = directory / f"{module}-{version}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(root, arcname=root.name)
    return sdist
