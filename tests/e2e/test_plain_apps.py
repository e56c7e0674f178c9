"""Apps that are not packages (a folder with requirements.txt and app.py, the commonest Dockerfile shape): built against
the public index, pushed to the real registry, read back and served by podman."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.conftest import Pyjib, RegistryReader
from tests.e2e.test_bad_input import assert_clean_failure
from tests.helpers import free_port, get_when_up
from tests.infra.podman import Podman
from tests.infra.registry import Registry
from tests.oci_checks import check_image, layer_members

pytestmark = pytest.mark.e2e

APP_PY = textwrap.dedent("""\
    import os

    from flask import Flask, jsonify, render_template

    from greetings import greeting

    app = Flask(__name__)


    @app.get("/")
    def index():
        return render_template("index.html", greeting=greeting())


    @app.get("/inside")
    def inside():
        names = ["secret.txt", "debug.log", ".env", "notes", ".venv", "app.py", "templates/index.html"]
        return jsonify(cwd=os.getcwd(), uid=os.getuid(), present=sorted(n for n in names if os.path.exists(n)))


    if __name__ == "__main__":
        app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
    """)

FILES = {
    "requirements.txt": "flask\n",
    "app.py": APP_PY,
    "greetings.py": "def greeting():\n    return 'Hello from a plain folder'\n",
    "templates/index.html": "<h1>{{ greeting }}</h1>\n<link rel=stylesheet href=/static/style.css>\n",
    "static/style.css": "body { font-family: sans-serif; }\n",
    ".gitignore": "secret.txt\n*.log\n",
    ".dockerignore": "notes/\n",
    "secret.txt": "do not ship me\n",
    "debug.log": "noise\n",
    ".env": "API_KEY=hunter2\n",
    "notes/todo.md": "- ship it\n",
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    "__pycache__/removed.cpython-311.pyc": "stale",
    "leftover.pyc": "stale",
}
NEVER_IN_IMAGE = ("secret.txt", "debug.log", ".env", "notes/todo.md", ".venv/pyvenv.cfg", "__pycache__/removed.cpython-311.pyc",
                  "leftover.pyc")


def write_app(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def push(pyjib: Pyjib, folder: Path, reference: str, base_ref: str, *options: str) -> str:
    digest_file = folder.parent / f"{folder.name}-{reference.rsplit(':', 1)[-1]}.digest"
    pyjib("push", str(folder), "--from", base_ref, "--to", reference, "--digest-file", str(digest_file), *options)
    return digest_file.read_text().strip()


def layers_by_name(registry_reader: RegistryReader, repository: str, tag: str) -> tuple[dict[str, object], dict[str, bytes]]:
    manifest, config = check_image(registry_reader.manifest(repository, tag), lambda digest: registry_reader.blob(repository, digest))
    names = [h["created_by"].removeprefix("pyjib: ") for h in config["history"]][-len(manifest["layers"]) + 1:]
    blobs = {name: registry_reader.blob(repository, layer["digest"]) for name, layer in zip(names, manifest["layers"][1:], strict=True)}
    return {"manifest": manifest, "config": config}, blobs


@pytest.fixture(scope="module")
def shop(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = write_app(tmp_path_factory.mktemp("apps") / "shop-front", FILES)
    reference = f"{registry.host}/apps/shop-front:1"
    return {"folder": folder, "reference": reference, "digest": push(pyjib, folder, reference, base_ref, "--module", "app")}


def test_the_folder_is_served_for_real(shop: dict[str, object], containers: Podman) -> None:
    port = free_port()
    cid = containers.run_detached(str(shop["reference"]), env={"PORT": str(port)})
    try:
        page = get_when_up(f"http://127.0.0.1:{port}/", containers, cid)
        assert page.status_code == 200 and "<h1>Hello from a plain folder</h1>" in page.text  # template + a second module
        assert "font-family" in httpx.get(f"http://127.0.0.1:{port}/static/style.css").text
        inside = httpx.get(f"http://127.0.0.1:{port}/inside").json()
        assert inside == {"cwd": "/app/src", "uid": 65532, "present": ["app.py", "templates/index.html"]}
    finally:
        containers.remove(cid)


def test_image_holds_the_folder_minus_what_is_ignored(shop: dict[str, object], registry_reader: RegistryReader) -> None:
    found, blobs = layers_by_name(registry_reader, "apps/shop-front", "1")
    config, manifest = found["config"], found["manifest"]
    assert isinstance(config, dict) and isinstance(manifest, dict)
    assert [h["created_by"] for h in config["history"]][-4:] == [
        "pyjib: native dependencies", "pyjib: dependencies", "pyjib: resources", "pyjib: application"]
    assert config["config"]["Entrypoint"] == ["/app/venv/bin/python", "-m", "app"]
    assert config["config"]["WorkingDir"] == "/app/src"
    assert manifest["annotations"]["org.opencontainers.image.title"] == "shop-front"
    assert manifest["annotations"]["org.opencontainers.image.version"] == "0"

    application, resources = layer_members(blobs["application"]), layer_members(blobs["resources"])
    assert {"app/src/app.py", "app/src/greetings.py", "app/src/__pycache__/greetings.cpython-311.pyc",
            "app/venv/lib/python3.11/site-packages/pyjib-app.pth"} <= set(application)
    assert {"app/src/templates/index.html", "app/src/static/style.css", "app/src/requirements.txt"} <= set(resources)
    site = "app/venv/lib/python3.11/site-packages"
    assert f"{site}/flask/__init__.py" in layer_members(blobs["dependencies"])  # requirements.txt installed like a project's
    everywhere = {name for blob in blobs.values() for name in layer_members(blob)}
    assert not any(name.startswith(f"app/src/{path}") for name in everywhere for path in NEVER_IN_IMAGE)
    for layer in (application, resources):
        for member in layer.values():
            assert member.uid == 0 and member.gid == 0 and member.mtime == 1
            assert member.mode & 0o444 == 0o444 and not member.mode & 0o022  # readable by the app's user, writable by none


def test_same_folder_same_digest_and_one_file_rebuilds_one_layer(
    shop: dict[str, object], pyjib: Pyjib, registry: Registry, base_ref: str, registry_reader: RegistryReader, tmp_path: Path,
) -> None:
    copy = tmp_path / "shop-front"  # same name, another place: the image depends on what the folder holds, not where
    shutil.copytree(Path(str(shop["folder"])), copy)
    assert push(pyjib, copy, f"{registry.host}/apps/shop-front:again", base_ref, "--module", "app") == shop["digest"]

    (copy / "greetings.py").write_text("def greeting():\n    return 'Hello again'\n")
    push(pyjib, copy, f"{registry.host}/apps/shop-front:code", base_ref, "--module", "app")
    (copy / "templates" / "index.html").write_text("<h2>{{ greeting }}</h2>\n")
    push(pyjib, copy, f"{registry.host}/apps/shop-front:template", base_ref, "--module", "app")
    (copy / "debug.log").write_text("more noise, ignored\n")
    push(pyjib, copy, f"{registry.host}/apps/shop-front:ignored", base_ref, "--module", "app")

    def layer_digests(tag: str) -> list[str]:
        return [layer["digest"] for layer in json.loads(registry_reader.manifest("apps/shop-front", tag))["layers"]]

    first, code, template, ignored = (layer_digests(tag) for tag in ("1", "code", "template", "ignored"))
    assert code[:-1] == first[:-1] and code[-1] != first[-1]  # only the application layer
    assert template[:-2] == code[:-2] and template[-2] != code[-2] and template[-1] == code[-1]  # only the resources layer
    assert ignored == template  # an ignored file changes nothing


@pytest.fixture(scope="module")
def procfile_app(pyjib: Pyjib, registry: Registry, base_ref: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    files = {
        "requirements.txt": "flask\ngunicorn\n",
        "app.py": "import os\nfrom flask import Flask\napp = Flask(__name__)\n\n\n@app.get('/')\n"
                  "def index():\n    return f\"{os.environ['GREETING']} on {os.environ['PORT']}\"\n",
        "Procfile": "web: gunicorn --bind 127.0.0.1:$PORT --workers 1 app:app\nworker: python worker.py\n",
        # Settings without a package: [tool.pyjib] alone does not make the folder one.
        "pyproject.toml": '[tool.pyjib]\nenvironment = { GREETING = "Hello from the Procfile" }\n',
    }
    folder = write_app(tmp_path_factory.mktemp("apps") / "procfile-app", files)
    reference = f"{registry.host}/apps/procfile-app:1"
    push(pyjib, folder, reference, base_ref)
    return reference


def test_procfile_web_line_is_the_entrypoint(procfile_app: str, registry_reader: RegistryReader, containers: Podman) -> None:
    found, _blobs = layers_by_name(registry_reader, "apps/procfile-app", "1")
    config = found["config"]
    assert isinstance(config, dict)
    entrypoint = config["config"]["Entrypoint"]
    assert entrypoint[:2] == ["/app/venv/bin/python", "-c"]  # expands $PORT when the container starts
    assert entrypoint[3:] == ["gunicorn", "--bind", "127.0.0.1:$PORT", "--workers", "1", "app:app"]
    env = dict(e.split("=", 1) for e in config["config"]["Env"])
    assert env["PORT"] == "8080" and env["GREETING"] == "Hello from the Procfile"
    assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}

    port = free_port()
    cid = containers.run_detached(procfile_app, env={"PORT": str(port)})
    try:
        assert get_when_up(f"http://127.0.0.1:{port}/", containers, cid).text == f"Hello from the Procfile on {port}"
    finally:
        containers.remove(cid)


def test_a_folder_without_entrypoint_is_one_line(pyjib: Pyjib, registry: Registry, base_ref: str, registry_reader: RegistryReader,
                                                 tmp_path: Path) -> None:
    folder = write_app(tmp_path / "no-entry", {"requirements.txt": "flask\n", "app.py": "print('hi')\n"})
    result = pyjib("push", str(folder), "--from", base_ref, "--to", f"{registry.host}/apps/no-entry:1", check=False)
    line = assert_clean_failure(result, "no-entry", "--entrypoint", "--module", "Procfile")
    assert line.count("\n") == 0
    assert registry_reader.image_tags("apps/no-entry") == []
