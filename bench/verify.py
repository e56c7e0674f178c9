"""Check that a tool's image works, so that the numbers compare tools that all built a working image of the app.

Not timed. A pushed image is run with podman (the working flags are tests/infra/podman.py's) and must answer /health;
a layout must be readable by skopeo.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.infra.podman import Podman, available

_STARTUP_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(url: str, deadline: float) -> dict[str, object]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                answer: dict[str, object] = json.loads(response.read())
                return answer
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def verify_pushed(image: str, work: Path) -> str:
    if not available():
        return "not checked: podman or runc missing"
    # Its own image store: the machine's /var/lib/containers is left alone.
    podman = Podman(work / "config", storage_dir=work / "storage")
    port = _free_port()
    cid = podman.run_detached(image, env={"PORT": str(port)}, tls_verify=False, timeout=300)
    try:
        answer = _health(f"http://127.0.0.1:{port}/health", time.monotonic() + _STARTUP_TIMEOUT_S)
    except Exception as exc:
        raise RuntimeError(f"{image} did not answer /health: {exc}; log: {podman.logs(cid).stderr[-1000:]}") from exc
    finally:
        podman.remove(cid)
    if answer.get("status") != "ok":
        raise RuntimeError(f"/health answered {answer}")
    return f"ok: podman ran the pushed image, /health answered {json.dumps(answer, sort_keys=True)}"


def verify_layout(layout: Path) -> str:
    inspected = subprocess.run(["skopeo", "inspect", f"oci:{layout}:latest"], capture_output=True, text=True, timeout=60)
    if inspected.returncode != 0:
        raise RuntimeError(f"skopeo cannot read {layout}: {inspected.stderr.strip()}")
    layers = len(json.loads(inspected.stdout).get("Layers") or [])
    return f"ok: skopeo reads the layout ({layers} layers)"
