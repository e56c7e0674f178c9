"""The README's first command: start a registry, push the base, push an example with pyjib, run it with podman."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import base_image, podman
from .registry import Registry

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="hello-web")
    parser.add_argument("--port", type=int, default=18080, help="port the service listens on")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyjib-demo-") as work_name, Registry(Path(work_name) / "registry") as registry:
        work = Path(work_name)
        print(f"registry: {registry.url}", flush=True)
        base = f"{registry.host}/distroless/python3:{base_image.TAG}"
        print("building the Debian-based Python base and pushing it with skopeo ...", flush=True)
        base_image.push_with_skopeo(base_image.base_layout(), base)
        target = f"{registry.host}/demo/{options.example}:1.0"
        command = [sys.executable, "-m", "pyjib", "push", str(ROOT / "examples" / options.example), "--from", base, "--to", target]
        print("$ " + " ".join(command), flush=True)
        pushed = subprocess.run(command, check=True, capture_output=True, text=True)
        sys.stderr.write(pushed.stderr)
        print(f"pushed: {pushed.stdout.strip()}", flush=True)

        runtime = podman.Podman(work / "podman", storage_dir=work / "podman-storage")
        cid = runtime.run_detached(target, env={"PORT": str(options.port)})
        try:
            for _ in range(150):
                try:
                    page = httpx.get(f"http://127.0.0.1:{options.port}/", timeout=2)
                    health = httpx.get(f"http://127.0.0.1:{options.port}/health", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            else:
                print(runtime.logs(cid).stderr, file=sys.stderr)
                raise SystemExit("the container did not answer")
            print(f"GET / -> {page.status_code}\n{page.text.strip()}")
            print(f"GET /health -> {health.text.strip()}")
        finally:
            runtime.remove(cid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
