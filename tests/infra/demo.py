"""The README's first command: start a registry, make the base with `pyjib base`, push an example with pyjib, run it with podman."""

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


def run(command: list[str]) -> str:
    """Run a pyjib command as the README shows it (from the repository's root); its last line on stdout is the result."""
    print("$ " + " ".join(["python", *command[1:]]), flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    sys.stderr.write(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="hello-web")
    parser.add_argument("--port", type=int, default=18080, help="port the service listens on")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyjib-demo-") as work_name, Registry(Path(work_name) / "registry") as registry:
        work = Path(work_name)
        print(f"registry: {registry.url}", flush=True)
        base = f"{registry.host}/distroless/python3:{base_image.TAG}"
        # The tests' lock: the demo's base is the same bytes on every machine and day, while Debian's archive still serves
        # the locked versions; after a security update it may not, and the demo then resolves the base afresh.
        try:
            run([sys.executable, "-m", "pyjib", "base", "--to", base, "--lock", str(base_image.BASE_LOCK.relative_to(ROOT))])
        except subprocess.CalledProcessError as exc:
            sys.stderr.write(exc.stderr)
            print("the committed lock could not be used; making the base from today's packages instead", flush=True)
            run([sys.executable, "-m", "pyjib", "base", "--to", base, "--lock", str(work / "base.lock.json")])
        target = f"{registry.host}/demo/{options.example}:1.0"
        pushed = run([sys.executable, "-m", "pyjib", "push", str(ROOT / "examples" / options.example), "--from", base, "--to", target])
        print(f"pushed: {pushed}", flush=True)

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
