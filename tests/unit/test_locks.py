"""Each lock reader on real locks (tests/fixtures/locks, made by Poetry 1.8, Poetry 2, PDM and uv), without the network.

The readers find a file's URL on the index by its hash and keep the answer; these tests put fake answers in that cache,
so what is checked is the walk, the markers, the groups and the wheel each package gets, not the index.
"""

from __future__ import annotations

import itertools
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from pyjib.cache import Records
from pyjib.errors import ConfigError, PyjibError, ResolveError
from pyjib.interpreter import Interpreter
from pyjib.locks.core import FoundLock, LockRequest, LockSource
from pyjib.locks.find import detect, find_lock
from pyjib.locks.indexfiles import IndexFiles, parse_project_page
from pyjib.locks.pdm import read_pdm_lock
from pyjib.locks.poetry import read_poetry_lock
from pyjib.locks.pylock import from_pylock
from pyjib.locks.read import open_lock
from pyjib.locks.requirements import exact_pin, requirement_lines
from pyjib.locks.uvcurrent import stale_reason
from pyjib.locks.uvlock import explain_export_failure, export_command, read_uv_lock
from pyjib.markers import top_level_requirements
from pyjib.oci.platforms import Platform

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "locks"
AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))
ARM = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64"))


def _pyproject(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "pyproject.toml").read_text())


def _project_requirements(folder: Path, interpreter: Interpreter) -> tuple[str, ...]:
    """What the project's wheel would require (its [project] or [tool.poetry] dependencies), as the build sees them."""
    document = _pyproject(folder)
    if "project" in document and document["project"].get("dependencies"):
        return tuple(top_level_requirements(document["project"]["dependencies"], [], interpreter))
    poetry = document["tool"]["poetry"]["dependencies"]
    lines = [f"{name}=={value}" if isinstance(value, str) else f"{name}>={value['version'].lstrip('>=')}; {value['markers']}"
             for name, value in poetry.items() if name != "python"]
    return tuple(top_level_requirements(lines, [], interpreter))


def _seed_index_answers(lock: Path, cache_root: Path) -> None:
    """Every file of the lock 'found on the index' at a fake URL, as IndexFiles keeps its answers (by sha256)."""
    document = tomllib.loads(lock.read_text())
    records = Records(cache_root, "index-file-urls")
    for package in document.get("package", []):
        for file in package.get("files", []):
            records.put(file["hash"].split(":")[1], {"filename": file["file"], "url": f"https://files.example/{file['file']}"})


def _request(folder: Path, interpreter: Interpreter, tmp_path: Path, groups: tuple[str, ...] = ()) -> LockRequest:
    return LockRequest(interpreter, folder, canonicalize_name(_pyproject(folder).get("project", {}).get("name", folder.name)),
                       _project_requirements(folder, interpreter), groups=groups, cache_root=tmp_path)


def _lock_versions(lock: Path) -> dict[str, str]:
    return {canonicalize_name(p["name"]): p["version"] for p in tomllib.loads(lock.read_text())["package"]}


READERS = {"poetry1": ("poetry.lock", read_poetry_lock), "poetry2": ("poetry.lock", read_poetry_lock), "pdm": ("pdm.lock", read_pdm_lock)}


@pytest.mark.parametrize("fixture", sorted(READERS))
def test_graph_locks_give_main_dependencies_at_their_locked_versions(fixture: str, tmp_path: Path) -> None:
    folder = FIXTURES / fixture
    name, reader = READERS[fixture]
    _seed_index_answers(folder / name, tmp_path)
    wheels = reader(folder / name, _request(folder, AMD, tmp_path), _pyproject(folder))
    versions = {w.name: w.version for w in wheels}
    # requests and what it needs; not colorama (sys_platform == "win32"), nor the dev group's pytest and its dependencies.
    assert set(versions) == {"requests", "certifi", "charset-normalizer", "idna", "urllib3"}
    locked = _lock_versions(folder / name)
    assert versions == {n: locked[n] for n in versions}
    charset = next(w for w in wheels if w.name == "charset-normalizer")
    assert charset.filename.startswith("charset_normalizer-3.5.3-cp311-cp311-manylinux") and "x86_64" in charset.filename
    assert charset.url == f"https://files.example/{charset.filename}" and len(charset.sha256) == 64


@pytest.mark.parametrize("fixture", sorted(READERS))
def test_graph_locks_ship_a_group_only_when_asked(fixture: str, tmp_path: Path) -> None:
    folder = FIXTURES / fixture
    name, reader = READERS[fixture]
    _seed_index_answers(folder / name, tmp_path)
    wheels = reader(folder / name, _request(folder, ARM, tmp_path, groups=("dev",)), _pyproject(folder))
    names = {w.name for w in wheels}
    assert {"pytest", "iniconfig", "pluggy", "packaging", "requests"} <= names and "colorama" not in names
    assert "cp311-cp311-manylinux2014_aarch64" in next(w for w in wheels if w.name == "charset-normalizer").filename


def test_poetry_marker_and_extras_edges(tmp_path: Path) -> None:
    lock = tmp_path / "poetry.lock"
    lock.write_text('''
[[package]]
name = "app-dep"
version = "1.0"
files = [{file = "app_dep-1.0-py3-none-any.whl", hash = "sha256:''' + "a" * 64 + '''"}]

[package.dependencies]
pysocks = {version = ">=1.5", optional = true}
uvloop = {version = ">=0.17", markers = "sys_platform != \\"win32\\""}
pywin32 = {version = ">=300", markers = "sys_platform == \\"win32\\""}

[package.extras]
socks = ["PySocks (>=1.5)"]

[[package]]
name = "pysocks"
version = "1.7.1"
files = [{file = "PySocks-1.7.1-py3-none-any.whl", hash = "sha256:''' + "b" * 64 + '''"}]

[[package]]
name = "uvloop"
version = "0.21.0"
files = [
  {file = "uvloop-0.21.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", hash = "sha256:''' + "c" * 64 + '''"},
  {file = "uvloop-0.21.0-cp311-cp311-macosx_10_9_universal2.whl", hash = "sha256:''' + "d" * 64 + '''"},
]

[metadata]
lock-version = "2.0"
content-hash = "x"
''')
    _seed_index_answers(lock, tmp_path)
    plain = LockRequest(AMD, tmp_path, "app", ("app-dep",), cache_root=tmp_path)
    assert {w.name for w in read_poetry_lock(lock, plain, {})} == {"app-dep", "uvloop"}
    with_extra = LockRequest(AMD, tmp_path, "app", ("app-dep[socks]",), cache_root=tmp_path)
    wheels = {w.name: w.filename for w in read_poetry_lock(lock, with_extra, {})}
    assert set(wheels) == {"app-dep", "uvloop", "pysocks"} and "manylinux" in wheels["uvloop"]


def test_poetry_1_1_metadata_files_and_a_missing_pin(tmp_path: Path) -> None:
    """Poetry before 1.3 kept files in [metadata.files]; a requirement the lock lacks says to lock again."""
    lock = tmp_path / "poetry.lock"
    lock.write_text('''[[package]]
name = "six"
version = "1.16.0"
category = "main"
optional = false
python-versions = ">=2.7"

[metadata]
lock-version = "1.1"
content-hash = "x"

[metadata.files]
six = [{file = "six-1.16.0-py2.py3-none-any.whl", hash = "sha256:''' + "e" * 64 + '''"}]
''')
    Records(tmp_path, "index-file-urls").put("e" * 64, {"filename": "six-1.16.0-py2.py3-none-any.whl", "url": "https://f/six.whl"})
    (wheel,) = read_poetry_lock(lock, LockRequest(AMD, tmp_path, "app", ("six",), cache_root=tmp_path), {})
    assert (wheel.name, wheel.version, wheel.sha256, wheel.url) == ("six", "1.16.0", "e" * 64, "https://f/six.whl")
    with pytest.raises(ResolveError, match=r"does not pin flask.*poetry lock"):
        read_poetry_lock(lock, LockRequest(AMD, tmp_path, "app", ("six", "flask"), cache_root=tmp_path), {})


def test_pdm_extras_entries_and_package_markers(tmp_path: Path) -> None:
    lock = tmp_path / "pdm.lock"
    hashes = iter("0123456789")
    def file(name: str) -> str:
        return f'{{file = "{name}", hash = "sha256:{next(hashes) * 64}"}}'
    lock.write_text(f'''[metadata]
groups = ["default"]
lock_version = "4.5.0"
content_hash = "sha256:x"

[[package]]
name = "requests"
version = "2.31.0"
dependencies = ["idna<4"]
files = [{file("requests-2.31.0-py3-none-any.whl")}]

[[package]]
name = "requests"
version = "2.31.0"
extras = ["socks"]
dependencies = ["PySocks!=1.5.7,>=1.5.6", "requests==2.31.0"]
files = [{file("requests-2.31.0-py3-none-any.whl")}]

[[package]]
name = "idna"
version = "3.7"
files = [{file("idna-3.7-py3-none-any.whl")}]

[[package]]
name = "pysocks"
version = "1.7.1"
files = [{file("PySocks-1.7.1-py3-none-any.whl")}]

[[package]]
name = "numpy"
version = "1.26.4"
marker = "python_version < \\"3.12\\""
files = [{file("numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")}]

[[package]]
name = "numpy"
version = "2.1.0"
marker = "python_version >= \\"3.12\\""
files = [{file("numpy-2.1.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")}]
''')
    _seed_index_answers(lock, tmp_path)
    plain = read_pdm_lock(lock, LockRequest(ARM, tmp_path, "app", ("requests", "numpy"), cache_root=tmp_path), {})
    assert {(w.name, w.version) for w in plain} == {("requests", "2.31.0"), ("idna", "3.7"), ("numpy", "1.26.4")}
    socks = read_pdm_lock(lock, LockRequest(ARM, tmp_path, "app", ("requests[socks]",), cache_root=tmp_path), {})
    assert {w.name for w in socks} == {"requests", "idna", "pysocks"}


def test_a_lock_without_a_wheel_for_the_image_says_so(tmp_path: Path) -> None:
    lock = tmp_path / "poetry.lock"
    lock.write_text('[[package]]\nname = "winonly"\nversion = "1"\nfiles = [{file = "winonly-1-cp311-cp311-win_amd64.whl", '
                    'hash = "sha256:' + "f" * 64 + '"}]\n[metadata]\nlock-version = "2.1"\ncontent-hash = "x"\n')
    with pytest.raises(ResolveError, match=r"winonly 1 has no wheel for Python 3.11.2"):
        read_poetry_lock(lock, LockRequest(AMD, tmp_path, "app", ("winonly",), cache_root=tmp_path), {})


def test_a_hash_the_index_contradicts_is_refused(tmp_path: Path) -> None:
    files = IndexFiles.__new__(IndexFiles)
    files.indexes, files.where = __import__("pyjib.indexes", fromlist=["IndexConfig"]).IndexConfig(), "poetry.lock"
    files.records, files._client, files.pages = Records(tmp_path, "index-file-urls"), None, {
        ("https://pypi.org/simple", "six"): parse_project_page(
            '{"files": [{"filename": "six-1.16.0-py2.py3-none-any.whl", "url": "../../p/six.whl", "hashes": {"sha256": "' + "1" * 64 + '"}}]}',
            "application/vnd.pypi.simple.v1+json", "https://pypi.org/simple/six/")}
    assert files.url_for("six", "six-1.16.0-py2.py3-none-any.whl", "1" * 64) == "https://pypi.org/p/six.whl"
    with pytest.raises(ResolveError, match=r"lists 1111.*lock again"):
        files.url_for("six", "six-1.16.0-py2.py3-none-any.whl", "2" * 64)
    with pytest.raises(ResolveError, match=r"six-1.17.0.*not on https://pypi.org/simple"):
        files.url_for("six", "six-1.17.0-py2.py3-none-any.whl", "3" * 64)


def test_html_project_pages_give_absolute_urls_and_hashes() -> None:
    page = ('<html><body><a href="../../packages/aa/six-1.16.0-py2.py3-none-any.whl#sha256=' + "a" * 64 +
            '" data-requires-python="&gt;=2.7">six-1.16.0-py2.py3-none-any.whl</a>\n'
            '<a href="https://mirror.example/six-1.16.0.tar.gz">six-1.16.0.tar.gz</a></body></html>')
    files = parse_project_page(page, "text/html", "https://index.example/simple/six/")
    assert [(f.filename, f.url, f.sha256) for f in files] == [
        ("six-1.16.0-py2.py3-none-any.whl", "https://index.example/packages/aa/six-1.16.0-py2.py3-none-any.whl", "a" * 64),
        ("six-1.16.0.tar.gz", "https://mirror.example/six-1.16.0.tar.gz", None),
    ]


def test_pylock_markers_and_project_entry(tmp_path: Path) -> None:
    document = tomllib.loads('''lock-version = "1.0"
[[packages]]
name = "app"
[[packages]]
name = "tomli"
version = "2.0.1"
marker = "python_version < '3.11'"
wheels = [{ name = "tomli-2.0.1-py3-none-any.whl", url = "https://f/tomli.whl", hashes = { sha256 = "aa" } }]
[[packages]]
name = "six"
version = "1.16.0"
wheels = [{ url = "https://user:pw@f/six-1.16.0-py2.py3-none-any.whl", hashes = { sha256 = "bb" } }]
''')
    (wheel,) = from_pylock(document, LockRequest(AMD, tmp_path, "app", ()), "pylock.toml", tmp_path)
    assert (wheel.name, wheel.url) == ("six", "https://f/six-1.16.0-py2.py3-none-any.whl")


def test_uv_export_flags_ship_no_group_unless_asked() -> None:
    request = LockRequest(AMD, Path("/p"), "api", (), extras=("cli",), groups=("lint",))
    command = export_command(FoundLock(Path("/w/uv.lock"), "uv", workspace_root=Path("/w")), request)
    assert {"--locked", "--no-default-groups", "--no-emit-project"} <= set(command) and "--frozen" not in command
    pairs = list(itertools.pairwise(command))
    assert ("--group", "lint") in pairs and ("--extra", "cli") in pairs and ("--package", "api") in pairs
    assert "--package" not in export_command(FoundLock(Path("/p/uv.lock"), "uv"), request)


def test_uv_stale_lock_is_one_line_with_what_to_run() -> None:
    found = FoundLock(Path("/p/uv.lock"), "uv")
    stale = "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided.\n\nhint: run `uv lock`.\n"
    message = explain_export_failure(found, stale)
    assert "\n" not in message and "no longer satisfies /p/pyproject.toml" in message and "uv lock" in message
    other = explain_export_failure(found, "warning: x\nerror: Group `nope` is not defined in the project's `dependency-groups` table\n")
    assert other == "cannot read /p/uv.lock: Group `nope` is not defined in the project's `dependency-groups` table"


def test_requirements_lines_follow_includes_and_skip_options(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("idna==3.7 \\\n    --hash=sha256:" + "a" * 64 + "\n")
    (tmp_path / "requirements.txt").write_text("-r base.txt\n-e .\n--index-url https://x\nflask>=3  # web\nsix==1.16.0\n")
    lines = requirement_lines(tmp_path / "requirements.txt")
    assert [(str(line.requirement), sorted(line.hashes)) for line in lines] == [("idna==3.7", ["a" * 64]), ("flask>=3", []),
                                                                               ("six==1.16.0", [])]
    assert [exact_pin(line.requirement) for line in lines] == ["3.7", None, "1.16.0"]


def test_formats_are_detected_by_name_and_content(tmp_path: Path) -> None:
    for fixture, name, expected in [("poetry1", "poetry.lock", "poetry"), ("poetry2", "poetry.lock", "poetry"),
                                    ("pdm", "pdm.lock", "pdm"), ("uv", "uv.lock", "uv")]:
        assert detect(FIXTURES / fixture / name).format == expected
        renamed = tmp_path / f"{fixture}-copy.lock"
        shutil.copy(FIXTURES / fixture / name, renamed)
        if expected == "uv":
            with pytest.raises(ConfigError, match=r"name it uv.lock"):
                detect(renamed)
        else:
            assert detect(renamed).format == expected
    (tmp_path / "poetry.lock").write_text((FIXTURES / "pdm" / "pdm.lock").read_text())
    with pytest.raises(ConfigError, match=r"named like a poetry lock but holds a pdm lock"):
        detect(tmp_path / "poetry.lock")
    (tmp_path / "deps.lock").write_text("six==1.16.0\n")
    assert (detect(tmp_path / "deps.lock").format, detect(tmp_path / "deps.lock").hashed) == ("requirements", False)


def test_found_locks_and_the_unusable_one(tmp_path: Path) -> None:
    messages: list[str] = []

    class Collect:
        def info(self, message: str) -> None:
            messages.append(message)

    assert find_lock(tmp_path, None) is None
    (tmp_path / "Pipfile.lock").write_text("{}")
    with pytest.raises(ConfigError, match=r"Pipfile.lock: export it with `pipenv requirements --hash"):
        find_lock(tmp_path, None)
    shutil.copy(FIXTURES / "poetry2" / "poetry.lock", tmp_path / "poetry.lock")
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    found = find_lock(tmp_path, None, Collect())  # type: ignore[arg-type]
    assert found is not None and found.format == "poetry"
    assert messages == ["requirements.txt is not used: poetry.lock comes first; set lock-file to choose another lock"]
    explicit = find_lock(tmp_path, "requirements.txt")
    assert explicit is not None and (explicit.format, explicit.hashed) == ("requirements", False)
    with pytest.raises(ConfigError, match=r"lock-file missing.lock does not exist"):
        find_lock(tmp_path, "missing.lock")


@pytest.mark.parametrize(("name", "text"), [("pylock.toml", 'lock-version = "1.0"\n'), ("requirements.txt", "six==1.17.0\n")])
def test_groups_from_a_lock_that_has_none_is_an_error(name: str, text: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(PyjibError, match=rf"groups dev cannot be taken from {name}"):
        open_lock(detect(tmp_path / name)).wheels(LockRequest(AMD, tmp_path, "app", (), groups=("dev",)))


def test_the_projects_extras_reach_into_a_poetry_2_lock(tmp_path: Path) -> None:
    folder = FIXTURES / "poetry2"
    _seed_index_answers(folder / "poetry.lock", tmp_path)
    project = _pyproject(folder)["project"]
    requires = [*project["dependencies"], *(f'{line}; extra == "cli"' for line in project["optional-dependencies"]["cli"])]
    request = LockRequest(AMD, folder, "locked-poetry2", tuple(top_level_requirements(requires, ["cli"], AMD)), extras=("cli",),
                          cache_root=tmp_path)
    versions = {w.name: w.version for w in read_poetry_lock(folder / "poetry.lock", request, _pyproject(folder))}
    assert versions["click"] == "8.1.7" and set(versions) == {"click", "requests", "certifi", "charset-normalizer", "idna", "urllib3"}


def _uv_project_for_another_python(tmp_path: Path) -> Path:
    """The uv fixture as if it needed Python 3.14, which this host lacks: uv cannot check the lock, pyjib must."""
    project = Path(shutil.copytree(FIXTURES / "uv", tmp_path / "uv"))
    for name in ("pyproject.toml", "uv.lock"):
        path = project / name
        path.write_text(path.read_text().replace('requires-python = ">=3.11"', 'requires-python = ">=3.14"'))
    return project


def test_uv_lock_is_checked_without_a_fitting_host_python(tmp_path: Path) -> None:
    project = _uv_project_for_another_python(tmp_path)
    assert stale_reason(project / "uv.lock", project, "locked-uv") is None
    _seed_index_answers(project / "uv.lock", tmp_path)  # unused: uv.lock records URLs
    request = LockRequest(AMD, project, "locked-uv", ("requests==2.32.3",), cache_root=tmp_path)
    names = {w.name for w in read_uv_lock(FoundLock(project / "uv.lock", "uv"), request)}
    assert names == {"requests", "certifi", "charset-normalizer", "idna", "urllib3"}

    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('lint = ["iniconfig==2.0.0"]', 'lint = ["iniconfig==2.1.0"]'))
    assert stale_reason(project / "uv.lock", project, "locked-uv") == "dependency group lint changed for iniconfig"
    pyproject.write_text(pyproject.read_text().replace('"requests==2.32.3"', '"requests==2.32.3", "six"'))
    with pytest.raises(ResolveError, match=r"no longer satisfies .*requirements changed for six.*uv lock"):
        read_uv_lock(FoundLock(project / "uv.lock", "uv"), request)


def test_a_workspace_members_record_in_the_root_lock_is_current() -> None:
    workspace = FIXTURES / "uv-workspace"
    assert stale_reason(workspace / "uv.lock", workspace / "packages" / "api", "ws-api") is None
    assert stale_reason(workspace / "uv.lock", workspace / "packages" / "api", "ws-other") == "it has no entry for ws-other"


# Every reader through the one protocol the build uses (open_lock(found).wheels(request)), on real locks.
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SIX_WHEEL_SHA256 = "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"  # six-1.17.0-py2.py3-none-any.whl on PyPI


def _source(path: Path) -> LockSource:
    found = detect(path)
    source = open_lock(found)
    assert source.path == found.path
    return source


@pytest.mark.parametrize(("fixture", "name"), [("poetry1", "poetry.lock"), ("poetry2", "poetry.lock"), ("pdm", "pdm.lock"),
                                               ("uv", "uv.lock")])
@pytest.mark.parametrize("interpreter", [AMD, ARM], ids=["amd64", "arm64"])
def test_every_graph_lock_through_the_protocol(fixture: str, name: str, interpreter: Interpreter, tmp_path: Path) -> None:
    folder = FIXTURES / fixture
    _seed_index_answers(folder / name, tmp_path)
    wheels = _source(folder / name).wheels(_request(folder, interpreter, tmp_path))
    assert {w.name: w.version for w in wheels} == {n: _lock_versions(folder / name)[n]
                                                   for n in ("requests", "certifi", "charset-normalizer", "idna", "urllib3")}
    charset = next(w for w in wheels if w.name == "charset-normalizer")
    assert interpreter.platform.machine in charset.filename and all(len(w.sha256) == 64 for w in wheels)


@pytest.mark.parametrize(("fixture", "name"), [("poetry2", "poetry.lock"), ("pdm", "pdm.lock")])
def test_a_graph_lock_reads_the_projects_groups_through_the_protocol(fixture: str, name: str, tmp_path: Path) -> None:
    folder = FIXTURES / fixture
    _seed_index_answers(folder / name, tmp_path)
    names = {w.name for w in _source(folder / name).wheels(_request(folder, AMD, tmp_path, groups=("dev",)))}
    assert {"pytest", "iniconfig", "pluggy", "requests"} <= names and "colorama" not in names


@pytest.mark.parametrize("interpreter", [AMD, ARM], ids=["amd64", "arm64"])
def test_a_pylock_through_the_protocol(interpreter: Interpreter, tmp_path: Path) -> None:
    lock = CORPUS / "starlette-pylock" / "pylock.toml"
    packages = {canonicalize_name(p["name"]): p["version"] for p in tomllib.loads(lock.read_text())["packages"]}
    wheels = _source(lock).wheels(LockRequest(interpreter, lock.parent, "corpus-starlette", (), cache_root=tmp_path))
    assert {w.name: w.version for w in wheels} == {n: v for n, v in packages.items() if n in {w.name for w in wheels}}
    assert {"starlette", "uvicorn", "orjson", "uvloop"} <= {w.name for w in wheels}
    orjson = next(w for w in wheels if w.name == "orjson")
    assert orjson.filename.endswith(f"{interpreter.platform.machine}.whl") and orjson.source == "index"


def test_a_hashed_requirements_file_through_the_protocol(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(f"six==1.17.0 --hash=sha256:{SIX_WHEEL_SHA256}\n")
    (wheel,) = _source(tmp_path / "requirements.txt").wheels(LockRequest(AMD, tmp_path, "app", (), cache_root=tmp_path))
    assert (wheel.name, wheel.version, wheel.sha256) == ("six", "1.17.0", SIX_WHEEL_SHA256)
    (tmp_path / "requirements.txt").write_text(f"six==1.17.0 --hash=sha256:{'0' * 64}\n")
    with pytest.raises(ResolveError, match=r"does not allow"):
        _source(tmp_path / "requirements.txt").wheels(LockRequest(AMD, tmp_path, "app", (), cache_root=tmp_path, refresh=True))


def test_an_unhashed_requirements_file_through_the_protocol(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six==1.17.0\n")
    (wheel,) = _source(tmp_path / "requirements.txt").wheels(LockRequest(AMD, tmp_path, "app", (), cache_root=tmp_path))
    assert (wheel.name, wheel.version, wheel.sha256) == ("six", "1.17.0", SIX_WHEEL_SHA256)
