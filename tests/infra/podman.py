"""Run built images for real with podman (no Docker engine on the test machines).

Only one combination works on these hosts (FACTS.md): runc (crun fails on the hybrid
cgroup setup), cgroupfs, host network, and ulimits at or below podman's own
(``--ulimit host`` fails). The same settings are written to a containers.conf that
every call names through ``CONTAINERS_CONF``, so helper commands (pull, logs, rm)
agree with ``run``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence

ULIMITS = ("nofile=20000:20000", "nproc=32768:32768")

# Image references with these prefixes name a local source, not a registry.
_TRANSPORTS = ("docker-archive:", "oci:", "oci-archive:", "containers-storage:", "dir:", "docker://")

_CONTAINERS_CONF = """\
[containers]
netns = "host"
default_ulimits = [{ulimits}]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def available() -> bool:
    """True when podman and runc are on PATH (Debian packages podman, runc)."""
    return shutil.which("podman") is not None and shutil.which("runc") is not None


class PodmanError(RuntimeError):
    pass


class Podman:
    """Wrapper that applies the working flags to every podman call.

    ``config_dir`` receives containers.conf. ``storage_dir`` (optional) gives podman
    its own image store instead of the machine's /var/lib/containers: slower (every
    image is pulled again) but isolated.
    """

    def __init__(self, config_dir: pathlib.Path, *, storage_dir: pathlib.Path | None = None) -> None:
        if not available():
            raise PodmanError("podman and runc must be on PATH (apt-get install podman runc)")
        self.config_dir = config_dir
        self.storage_dir = storage_dir
        self.conf_file = config_dir / "containers.conf"
        config_dir.mkdir(parents=True, exist_ok=True)
        ulimits = ", ".join(f'"{u}"' for u in ULIMITS)
        self.conf_file.write_text(_CONTAINERS_CONF.format(ulimits=ulimits))

    # ------------------------------------------------------------------ plumbing

    @property
    def env(self) -> dict[str, str]:
        """Environment for podman (and skopeo/buildah, which read the same file)."""
        return dict(os.environ, CONTAINERS_CONF=str(self.conf_file))

    def global_flags(self) -> list[str]:
        flags = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]
        if self.storage_dir is not None:
            flags += ["--root", str(self.storage_dir / "root"), "--runroot", str(self.storage_dir / "run")]
        return flags

    def command(self, *args: str, timeout: float | None = 120, check: bool = False) -> subprocess.CompletedProcess[str]:
        """``podman GLOBAL_FLAGS ARGS`` with text stdout/stderr captured."""
        cmd = ["podman", *self.global_flags(), *args]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise PodmanError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def version(self) -> str:
        return self.command("--version", check=True).stdout.strip()

    def serve_api(self, socket: pathlib.Path) -> subprocess.Popen[bytes]:
        """`podman system service` on a socket of the caller's, with this store: the Docker Engine API over it.

        Returns once the socket answers; stop it with ``stop_api``."""
        socket.unlink(missing_ok=True)
        cmd = ["podman", *self.global_flags(), "system", "service", "--time=0", f"unix://{socket}"]
        service = subprocess.Popen(cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not socket.is_socket():
            if service.poll() is not None or time.monotonic() > deadline:
                self.stop_api(service)
                raise PodmanError(f"podman system service did not start: {service.stderr.read().decode() if service.stderr else ''}")
            time.sleep(0.1)
        return service

    @staticmethod
    def stop_api(service: subprocess.Popen[bytes]) -> None:
        service.terminate()
        try:
            service.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()

    # ------------------------------------------------------------------ containers

    def run(
        self,
        image_ref: str,
        args: Sequence[str] = (),
        *,
        tls_verify: bool = False,
        timeout: float = 120,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        pull: str | None = None,
        entrypoint: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``image_ref`` to completion; returns the process (check returncode yourself).

        stderr holds only the container's output (pull progress is silenced). ``pull``
        defaults to "always" for registry references: podman's own default ("missing")
        would run a stale local copy of a tag pushed again. On timeout the container is
        removed and ``subprocess.TimeoutExpired`` propagates.
        """
        name = f"pyjib-test-{uuid.uuid4().hex[:12]}"
        flags = ["--rm", "--name", name, *self._run_flags(image_ref, tls_verify, user, env, pull, entrypoint)]
        try:
            return self.command("run", *flags, image_ref, *args, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.remove(name)
            raise

    def run_detached(
        self,
        image_ref: str,
        args: Sequence[str] = (),
        *,
        tls_verify: bool = False,
        timeout: float = 120,
        user: str | None = None,
        env: Mapping[str, str] | None = None,
        pull: str | None = None,
        entrypoint: str | None = None,
    ) -> str:
        """Start ``image_ref`` in the background; returns the container id.

        No ``--rm``: a container that crashes at start would be gone before ``logs``
        could read it. Call ``remove(cid)`` when done.
        """
        flags = ["-d", *self._run_flags(image_ref, tls_verify, user, env, pull, entrypoint)]
        proc = self.command("run", *flags, image_ref, *args, timeout=timeout)
        if proc.returncode != 0:
            raise PodmanError(f"podman run -d {image_ref} failed ({proc.returncode}):\n{proc.stderr}")
        return proc.stdout.strip().splitlines()[-1]

    def logs(self, cid: str) -> subprocess.CompletedProcess[str]:
        """The container's output so far: ``.stdout`` and ``.stderr`` kept apart."""
        return self.command("logs", cid, timeout=30)

    def wait(self, cid: str, timeout: float = 120) -> int:
        """Wait for the container to exit; returns its exit code."""
        out = self.command("wait", cid, timeout=timeout, check=True).stdout.strip()
        return int(out.splitlines()[-1])

    def remove(self, cid: str) -> None:
        """Stop (at once) and remove the container; a missing container is fine."""
        self.command("rm", "--force", "--time", "0", "--ignore", cid, timeout=60)

    def _run_flags(
        self,
        image_ref: str,
        tls_verify: bool,
        user: str | None,
        env: Mapping[str, str] | None,
        pull: str | None,
        entrypoint: str | None,
    ) -> list[str]:
        flags = ["--quiet", "--network", "host"]
        for ulimit in ULIMITS:
            flags += ["--ulimit", ulimit]
        if not tls_verify:
            flags.append("--tls-verify=false")
        pull = pull or _default_pull(image_ref)
        if pull is not None:
            flags.append(f"--pull={pull}")
        if user is not None:
            flags += ["--user", user]
        if entrypoint is not None:
            flags += ["--entrypoint", entrypoint]
        for key, value in sorted((env or {}).items()):
            flags += ["--env", f"{key}={value}"]
        return flags


def _default_pull(image_ref: str) -> str | None:
    """ "always" for a registry reference; podman's default for local sources and localhost/ names."""
    if image_ref.startswith(_TRANSPORTS) or image_ref.startswith("localhost/"):
        return None
    return "always"
