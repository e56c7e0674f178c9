"""What the image checks need from the base: its loader's libraries and its Python X.Y, read once and cached."""

from __future__ import annotations

import json
from pathlib import Path

from pyjib.bytecode import CompileFailure, compile_tree, find_compiler
from pyjib.cache import BlobCache
from pyjib.interpreter import cached_facts, detect_base
from tests.unit.test_interpreter import LIBC, _image, _layer


def _debian_like() -> dict[str, bytes | str]:
    return {
        "lib": "->usr/lib",
        "lib64": "->usr/lib64",
        "usr/lib64/ld-linux-x86-64.so.2": "->../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "usr/lib/x86_64-linux-gnu/libc.so.6": LIBC,
        "usr/lib/x86_64-linux-gnu/libstdc++.so.6": "->libstdc++.so.6.0.30",
        "usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30": b"\x7fELF",
        "usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so": b"\x7fELF",  # not a loader folder
        "usr/lib/python3.11/os.py": b"",
        "usr/bin/python3.11": b"\0ELF\x003.11.2\0",
        "usr/bin/python3": "->python3.11",
        "etc/ld.so.conf.d/vendor.conf": b"# a vendor's libraries\n/opt/vendor/lib\ninclude /etc/other.d/*.conf\n",
        "opt/vendor/lib/libvendor.so.3": b"\x7fELF",
        "srv/lib/libfromenv.so": b"\x7fELF",
        "usr/share/doc/libfake.so.1": b"",
    }


def test_loader_folders_hold_the_base_libraries(tmp_path: Path) -> None:
    base = _layer(tmp_path, "base", _debian_like())
    facts = detect_base(_image({"Env": ["LD_LIBRARY_PATH=/srv/lib"]}, base), BlobCache(tmp_path / "c"))
    assert facts.libraries == {"libc.so.6", "libstdc++.so.6", "libstdc++.so.6.0.30", "ld-linux-x86-64.so.2", "libvendor.so.3",
                               "libfromenv.so"}
    assert (facts.found_python, facts.advertised_python, facts.interpreter.version) == ("3.11", None, "3.11.2")


def test_a_whiteout_removes_a_library(tmp_path: Path) -> None:
    lower = _layer(tmp_path, "lower", _debian_like())
    upper = _layer(tmp_path, "upper", {"usr/lib/x86_64-linux-gnu/.wh.libstdc++.so.6": b"", "usr/lib/x86_64-linux-gnu/.wh.libstdc++.so.6.0.30": b""})
    facts = detect_base(_image({}, lower, upper), BlobCache(tmp_path / "c"))
    assert "libstdc++.so.6" not in facts.libraries and "libc.so.6" in facts.libraries


def test_advertised_python_is_recorded_beside_what_the_files_say(tmp_path: Path) -> None:
    base = _layer(tmp_path, "base", {
        "usr/lib/x86_64-linux-gnu/libc.so.6": LIBC,
        "usr/local/bin/python3": b"\0ELF\x003.11.9\0",  # no X.Y in the name: the one standard library tells
        "usr/local/lib/python3.11/os.py": b"",
    })
    facts = detect_base(_image({"Env": ["PYTHON_VERSION=3.12.4"], "Cmd": ["python3"]}, base), BlobCache(tmp_path / "c"))
    assert (facts.interpreter.path, facts.found_python, facts.advertised_python) == ("/usr/local/bin/python3", "3.11", "3.12.4")


def test_facts_are_cached_by_config_digest_and_old_records_are_read_again(tmp_path: Path) -> None:
    base_path = tmp_path / "base"
    image = _image({}, _layer(tmp_path, "base", _debian_like()))
    cache = BlobCache(tmp_path / "c")
    first = detect_base(image, cache)
    base_path.unlink()  # the layer is gone: only the cache can answer
    assert cached_facts(image, cache) == first and detect_base(image, cache) == first
    (record,) = (cache.root / "interpreters").glob("*.json")
    record.write_text(json.dumps(first.interpreter.to_json()))  # a record of pyjib before the checks: no libraries
    assert cached_facts(image, cache) is None


def test_compile_failure_names_the_first_file_and_line(tmp_path: Path) -> None:
    compiler = find_compiler("3.11.2")
    assert compiler is not None, "the tests run on Python 3.11"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "good.py").write_text("x = 1\n")
    assert compile_tree(tmp_path, compiler) is None
    (tmp_path / "pkg" / "later.py").write_text("match = 1\nprint 'python 2'\n")
    failure = compile_tree(tmp_path, compiler)
    assert failure == CompileFailure("pkg/later.py", 2, failure.message if failure else "") and failure is not None
    assert failure.message.startswith("SyntaxError")
    assert (tmp_path / "pkg" / "__pycache__" / "good.cpython-311.pyc").is_file()  # the rest still compiles
