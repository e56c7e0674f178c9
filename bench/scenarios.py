"""The four scenarios, run for one tool at a time on the same app and the same kind of loopback registry.

- cold: an empty registry (only the base in it), an empty runner, a fresh checkout;
- no-change: the same checkout and runner again, the image already pushed;
- one-file: one .py file changed and committed, then build + push on the warm runner;
- fresh-runner: per-commit CI, an empty runner and a fresh checkout with a one-file change, pushing to the registry that
  holds the previous commit's image.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.infra.registry import Registry

from bench import uploads
from bench.images import Images, seeded_registry
from bench.measure import Step, StepFailed, run_steps, wait_for_quiet
from bench.tools import EDITED_FILE, Context, Runner, Target, Tool
from bench.verify import verify_layout, verify_pushed

SCENARIOS = ("cold", "no-change", "one-file", "fresh-runner")
_GIT_IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "commit.gpgsign=false")


@dataclass(frozen=True)
class Run:
    steps: tuple[Step, ...]
    uploads: uploads.Uploads | None  # None for a tool that writes a layout instead of pushing

    @property
    def wall_s(self) -> float:
        return sum(step.wall_s for step in self.steps)

    @property
    def cpu_s(self) -> float:
        return sum(step.cpu_s for step in self.steps)

    @property
    def max_rss_kb(self) -> int:
        return max(step.max_rss_kb for step in self.steps)

    @property
    def background_cores(self) -> float:
        return sum(step.background_cores * step.wall_s for step in self.steps) / self.wall_s


@dataclass(frozen=True)
class Warm:
    """One tool's state for the no-change, one-file and fresh-runner scenarios."""

    registry: Registry
    target: Target
    runner: Runner
    project: Path


@dataclass
class ToolRuns:
    tool: Tool
    runs: dict[str, list[Run]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # scenario -> why it has no (or fewer) numbers
    unavailable: str | None = None
    verified: str | None = None


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", *_GIT_IDENTITY, "-C", str(project), *args], check=True, capture_output=True)


def edit_and_commit(project: Path, token: str) -> None:
    """A one-line change to one .py file, committed as the next commit would be."""
    with (project / EDITED_FILE).open("a") as f:
        f.write(f'\nBENCH_REVISION = "{token}"\n')
    _git(project, "commit", "-q", "-a", "-m", f"change {token}")


def _failure_summary(exc: StepFailed) -> str:
    lines = [line for line in exc.output.strip().splitlines() if line.strip()]
    return f"{exc.name} exited with {exc.code}: {lines[-1] if lines else 'no output'}"


class Bench:
    def __init__(
        self, ctx: Context, images: Images, runs: int, verify: bool, progress: Callable[[str], None], quiet_wait_s: float = 0,
        scenarios: Sequence[str] = SCENARIOS,
    ) -> None:
        self.ctx = ctx
        self.images = images
        self.runs = runs
        self.verify = verify
        self.progress = progress
        self.quiet_wait_s = quiet_wait_s  # how long a measured run may wait for other jobs on the machine to calm down
        self.scenarios = tuple(scenarios)  # a big app's runs take minutes: a subset keeps a measurement affordable
        self._serial = 0

    # ------------------------------------------------------------------ places

    def fresh_dir(self, tool: Tool, kind: str) -> Path:
        self._serial += 1
        return self.ctx.work / tool.name / f"{kind}-{self._serial}"

    def checkout(self, tool: Tool, target: Target) -> Path:
        """A copy of the app as CI would check it out: a git repository with the tool's settings committed."""
        project = self.fresh_dir(tool, "checkout") / "bench-svc"
        shutil.copytree(self.ctx.app, project, ignore=shutil.ignore_patterns("__pycache__", "dist", ".venv", "build", "*.egg-info"))
        tool.configure(project, target, self.ctx)
        _git(project, "init", "-q")
        _git(project, "add", "-A")
        _git(project, "commit", "-q", "-m", "bench-svc")
        return project

    def runner(self, tool: Tool) -> Runner:
        return Runner(self.fresh_dir(tool, "runner"))

    @contextlib.contextmanager
    def registry(self, tool: Tool) -> Iterator[Registry]:
        directory = self.fresh_dir(tool, "registry")
        images = self.images if tool.needs_builder else Images(self.images.base, None)
        try:
            with seeded_registry(directory, images, self.ctx.tls if tool.tls else None) as registry:
                yield registry
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    # ------------------------------------------------------------------ runs

    def execute(self, tool: Tool, project: Path, runner: Runner, target: Target, registry: Registry) -> Run:
        before = uploads.mark(registry) if tool.pushes else None
        if self.quiet_wait_s:
            wait_for_quiet(self.quiet_wait_s)
        steps = run_steps(tool.commands(project, runner, target, self.ctx))
        return Run(tuple(steps), uploads.uploads_since(registry, before) if before else None)

    def _cold(self, tool: Tool) -> Run:
        with self.registry(tool) as registry:
            target = Target(registry.host)
            runner, project = self.runner(tool), self.checkout(tool, target)
            try:
                return self.execute(tool, project, runner, target, registry)
            finally:
                _remove(runner.root, project.parent)

    def _fresh_runner(self, tool: Tool, target: Target, registry: Registry, index: int) -> Run:
        runner, project = self.runner(tool), self.checkout(tool, target)
        edit_and_commit(project, f"fresh-runner-{index}")
        try:
            return self.execute(tool, project, runner, target, registry)
        finally:
            _remove(runner.root, project.parent)

    def _once(self, result: ToolRuns, scenario: str, index: int, run: Callable[[], Run]) -> None:
        """One measured run; a failure ends the tool's runs of that scenario, with the reason kept for the report."""
        if scenario in result.failures:
            return
        try:
            measured = run()
        except StepFailed as exc:
            result.failures[scenario] = _failure_summary(exc)
            self.progress(f"{result.tool.name} {scenario}: FAILED: {exc}")
            return
        result.runs.setdefault(scenario, []).append(measured)
        uploaded = f", sent {measured.uploads.sent_bytes} bytes in {measured.uploads.blob_uploads} blobs" if measured.uploads else ""
        busy = f" (other jobs used {measured.background_cores:.1f} cores meanwhile)" if measured.background_cores >= 0.25 else ""
        self.progress(f"{result.tool.name} {scenario} {index + 1}/{self.runs}: {measured.wall_s:.2f} s{uploaded}{busy}")

    def _one_file(self, tool: Tool, warm: Warm, index: int) -> Run:
        edit_and_commit(warm.project, f"one-file-{index}")
        return self.execute(tool, warm.project, warm.runner, warm.target, warm.registry)

    def _prime(self, tool: Tool, result: ToolRuns, stack: contextlib.ExitStack) -> Warm | None:
        """A registry holding the previous commit's image, and the runner that pushed it (warm), kept for three scenarios."""
        registry = stack.enter_context(self.registry(tool))
        target = Target(registry.host)
        warm = Warm(registry, target, self.runner(tool), self.checkout(tool, target))
        try:
            self.execute(tool, warm.project, warm.runner, target, registry)
        except StepFailed as exc:
            for scenario in SCENARIOS[1:]:
                result.failures[scenario] = f"the first build failed: {_failure_summary(exc)}"
            self.progress(f"{tool.name}: FAILED: {exc}")
            return None
        return warm

    # ------------------------------------------------------------------ all tools

    def measure(self, tools: Sequence[Tool]) -> list[ToolRuns]:
        """Every scenario for every tool, the tools taking turns run by run.

        Taking turns spreads whatever else the machine is doing (it is shared) over all tools alike, so the ratios
        between tools hold up better than when one tool's runs all fall in a busy minute.
        """
        results = [ToolRuns(tool) for tool in tools]
        for result in results:
            if reason := result.tool.unavailable(self.ctx):
                result.unavailable = reason
                self.progress(f"{result.tool.name}: not measured: {reason}")
        active = [r for r in results if r.unavailable is None]
        for index in range(self.runs if "cold" in self.scenarios else 0):
            for result in active:
                self._once(result, "cold", index, functools.partial(self._cold, result.tool))
        warm_scenarios: list[tuple[str, Callable[[Tool, Warm, int], Run]]] = [
            ("no-change", lambda tool, w, _index: self.execute(tool, w.project, w.runner, w.target, w.registry)),
            ("one-file", self._one_file),
            ("fresh-runner", lambda tool, w, index: self._fresh_runner(tool, w.target, w.registry, index)),
        ]
        warm_scenarios = [(name, run) for name, run in warm_scenarios if name in self.scenarios]
        if not warm_scenarios and not self.verify:
            return results
        with contextlib.ExitStack() as stack:
            warm = {r.tool.name: w for r in active if (w := self._prime(r.tool, r, stack)) is not None}
            primed = [r for r in active if r.tool.name in warm]
            for scenario, run in warm_scenarios:
                for index in range(self.runs):
                    for r in primed:
                        self._once(r, scenario, index, functools.partial(run, r.tool, warm[r.tool.name], index))
            for r in primed:
                w = warm[r.tool.name]
                if self.verify:
                    r.verified = self._verify(r.tool, w.target, w.project)
                    self.progress(f"{r.tool.name}: verified: {r.verified}")
                _remove(w.runner.root, w.project.parent)
        return results

    def _verify(self, tool: Tool, target: Target, project: Path) -> str:
        """Check that what the tool made is a working image: run the pushed one, or read the layout."""
        try:
            layout = tool.layout(project)
            if layout is not None:
                return verify_layout(layout)
            return verify_pushed(target.image, self.ctx.work / "podman")
        except Exception as exc:  # a failed check is a result to report, not a reason to lose the numbers
            return f"FAILED: {exc}"


def _remove(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
