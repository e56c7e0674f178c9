"""Run one command and measure it: wall time, CPU time and peak memory of the whole process tree."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Enough of a failing command's output to tell why it failed, not so much that a report drowns in it.
_OUTPUT_TAIL = 4000


class StepFailed(RuntimeError):
    def __init__(self, name: str, argv: Sequence[str], code: int, output: str) -> None:
        super().__init__(f"{name} exited with {code}: {' '.join(argv)}\n{output[-_OUTPUT_TAIL:]}")
        self.name = name
        self.code = code
        self.output = output


@dataclass(frozen=True)
class Command:
    """One command of a tool's build + push (some tools need two: buildah bud, then buildah push)."""

    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]


@dataclass(frozen=True)
class Step:
    name: str
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kb: int
    background_cores: float  # CPU used meanwhile by everything else on the machine (other jobs, the registry), in cores
    output: str  # kept for diagnosis, not written to the results

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.25, window_s: float = 0.5) -> float:
    """Wait until the rest of the machine uses less than threshold_cores, or max_wait_s passed; return the last load seen.

    Other jobs on a shared machine (test suites, builds) take cores from the tool measured and inflate its wall time.
    """
    deadline = time.monotonic() + max_wait_s
    while True:
        before = machine_busy_s()
        time.sleep(window_s)
        load = (machine_busy_s() - before) / window_s
        if load < threshold_cores or time.monotonic() >= deadline:
            return load


def run_step(command: Command, timeout_s: float = 1800) -> Step:
    """Run command to completion and measure it; raise StepFailed when it fails.

    os.wait4 returns the rusage of the child together with every descendant it waited for (uv, pip, the PEP 517 backend,
    buildah's RUN), so CPU time is the whole tree's and max RSS is that of its largest single process. The output goes to
    a file, not a pipe, so a chatty tool can never block on a full pipe while we wait.
    """
    with tempfile.TemporaryFile() as output:
        busy_before = machine_busy_s()
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command.argv), cwd=command.cwd, env=dict(command.env), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        others = machine_busy_s() - busy_before - usage.ru_utime - usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        process.returncode = code  # reaped by wait4: Popen must not wait for it again
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    if code != 0:
        raise StepFailed(command.name, command.argv, code, text)
    return Step(command.name, wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, max(0.0, others / wall), text)


def run_steps(commands: Sequence[Command]) -> list[Step]:
    return [run_step(command) for command in commands]
