"""Ctrl-C during a push stops it at once (issue 11 item 15), with nothing published, even while an upload is stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLES
from tests.infra.fault_proxy import Fault, FaultProxy
from tests.infra.registry import Registry

pytestmark = pytest.mark.e2e


def test_ctrl_c_stops_a_push_whose_upload_is_stuck_and_publishes_nothing(registry: Registry, base_ref: str, tmp_path: Path) -> None:
    stuck = Fault("stall", method="POST", path="/blobs/uploads/", seconds=120, times=None)
    with FaultProxy(registry.host).add(stuck) as proxy:
        process = subprocess.Popen(
            [sys.executable, "-m", "pyjib", "push", str(EXAMPLES / "hello-web"), "--from", base_ref, "--to", f"{proxy.host}/ctrl-c/app:1",
             "--cache-dir", str(tmp_path / "cache")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYJIB_HTTP_TIMEOUT": "300"},
        )
        try:
            deadline = time.monotonic() + 240
            while stuck.hits == 0 and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stuck.hits > 0 and process.poll() is None, "the push never reached an upload"
            time.sleep(0.5)  # the upload is now waiting on the stalled registry
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=10)  # without the fix, the uploads held the process for the stall's 120 s
        finally:
            process.kill()
        assert process.returncode == 130, err
        assert "Traceback" not in err and err.strip().splitlines()[-1] == "pyjib: interrupted"
        assert httpx.get(f"{registry.url}/v2/ctrl-c/app/tags/list").status_code == 404  # no tag, no manifest
