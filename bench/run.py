"""pyjib's benchmark: the same app, the same kind of loopback registry, four scenarios, every tool, in one run.

    python3 bench/run.py                       # every tool, 5 runs per scenario (about 20 minutes on 2 cores)
    python3 bench/run.py --tools pyjib,buildah --runs 7
    python3 bench/run.py --quick               # pyjib only, one run per scenario: checks the benchmark works (< 1 min)
    python3 bench/run.py --pyjib-rev HEAD      # measure a committed pyjib rather than the work tree
    python3 bench/run.py --app data --tools pyjib,buildah --runs 1 --scenarios cold,fresh-runner   # a big image (issue 16)

Prints a markdown table and writes JSON to bench/results/DATE_TOOLS.json. Needs what .ci/setup installs (docker-registry,
skopeo, buildah, podman, hatch, uv), as root. Speed is measured here, never asserted by a timed test.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # bench.* and tests.infra.* import from the repository root

from tests.infra import base_image  # noqa: E402

from bench import report  # noqa: E402
from bench.apps import APPS, DEFAULT_APP, App, requirements  # noqa: E402
from bench.images import Images, builder_layout, make_tls  # noqa: E402
from bench.scenarios import SCENARIOS, Bench, ToolRuns  # noqa: E402
from bench.tools import TOOLS, Context, Snapshot, ensure_pyoci, find_hatch, find_uv, install_pyjib, snapshot_pyjib  # noqa: E402

RESULTS_DIR = REPO_ROOT / "bench" / "results"
QUICK_TOOLS = ("pyjib",)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured runs per tool and scenario (default 5; the median is reported)")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated subset of: {', '.join(TOOLS)} (default: all)")
    parser.add_argument("--app", choices=sorted(APPS), default=DEFAULT_APP,
                        help="the app to build: " + "; ".join(f"{a.name}: {a.summary}" for a in APPS.values()) + f" (default {DEFAULT_APP})")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of: {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="pyjib only, one run per scenario, no image check and no JSON unless --json")
    parser.add_argument("--json", type=Path, help="where to write the results (default: bench/results/DATE_TOOLS.json)")
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip running each tool's last image with podman")
    parser.add_argument("--pyjib-rev", metavar="REV", help="measure pyjib (and hatch-pyjib) as committed at REV (default: the work tree as it is at start)")
    parser.add_argument("--quiet-wait", type=float, default=30, metavar="S",
                        help="before each measured run, wait up to S seconds for other jobs on the machine to go quiet (default 30; 0: never)")
    parser.add_argument("--pyjib-arg", dest="pyjib_args", action="append", default=[], metavar="ARG",
                        help="one more argument for `pyjib push`/`pyjib build` (repeat it: --pyjib-arg=--bytecode --pyjib-arg=off)")
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch folder (checkouts, runners) for inspection")
    args = parser.parse_args(argv)
    args.tools = list(QUICK_TOOLS) if args.quick else [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in args.tools if t not in TOOLS]
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown_scenarios := [s for s in args.scenarios if s not in SCENARIOS]:
        parser.error(f"unknown scenario(s) {', '.join(unknown_scenarios)}; choose from {', '.join(SCENARIOS)}")
    if args.quick:
        args.runs, args.verify, args.quiet_wait = 1, False, 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def check_machine() -> None:
    missing = [tool for tool in ("docker-registry", "skopeo", "git") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"bench: {', '.join(missing)} not found: run `bash .ci/setup` first")


def _output(argv: Sequence[str]) -> str:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    os_release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": os_release.get("PRETTY_NAME", "?").strip('"'),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions(ctx: Context, pyjib: dict[str, object]) -> dict[str, Any]:
    return {
        "pyjib": pyjib,
        "hatch": _output([ctx.hatch, "--version"]) if ctx.hatch else None,
        "hatchling": _version("hatchling"),
        "uv": _output([ctx.uv, "--version"]),
        "buildah": _output(["buildah", "--version"]),
        "pyoci": _output([str(ctx.pyoci.parent / "python"), "-c", "import importlib.metadata as m; print(m.version('pyoci'))"]) if ctx.pyoci else None,
        "registry": _output(["docker-registry", "--version"]),
        "skopeo": _output(["skopeo", "--version"]),
        "podman": _output(["podman", "--version"]),
    }


def app_info(app: App) -> dict[str, Any]:
    return {
        "name": app.name,
        "path": str(app.path.relative_to(REPO_ROOT)),
        "summary": app.summary,
        "requirements": requirements(app),
        "distributions": app.distributions,
    }


def default_json_path(tools: Sequence[str], app: str) -> Path:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    name = "all" if list(tools) == list(TOOLS) else "+".join(tools)
    return RESULTS_DIR / (f"{date}_{name}.json" if app == DEFAULT_APP else f"{date}_{app}_{name}.json")


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def make_context(args: argparse.Namespace, work: Path, snapshot: Snapshot) -> Context:
    chosen = set(args.tools)
    uv = find_uv()
    pyoci = ensure_pyoci(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyjib-bench") if "pyoci" in chosen else None
    tls = make_tls(work / "tls") if any(TOOLS[t].tls for t in chosen) else None
    return Context(
        repo=snapshot.path, app=APPS[args.app].path, work=work, python=install_pyjib(snapshot, work / "pyjib-venv", uv), pythonpath="", tls=tls,
        uv=uv,
        hatch=find_hatch(), pyoci=pyoci, pyjib_args=tuple(args.pyjib_args),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    check_machine()
    # A terminated benchmark still stops its registries and removes its scratch folder (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="pyjib-bench-"))
    try:
        snapshot = snapshot_pyjib(REPO_ROOT, args.pyjib_rev, work / "pyjib")
        progress(f"measuring pyjib from {snapshot.source['from']} at {snapshot.source['commit']}")
        ctx = make_context(args, work, snapshot)
        progress("preparing the base image" + (" and the builder image" if "buildah" in args.tools else ""))
        images = Images(base_image.base_layout(), builder_layout() if "buildah" in args.tools else None)
        started = datetime.datetime.now(datetime.UTC)
        bench = Bench(ctx, images, args.runs, args.verify, progress, quiet_wait_s=args.quiet_wait, scenarios=args.scenarios)
        results: list[ToolRuns] = bench.measure([TOOLS[name] for name in args.tools])
        table = report.markdown_table(results)
        print(table)
        if args.json or not args.quick:
            path = args.json or default_json_path(args.tools, args.app)
            payload = {
                "schema": 1,
                "started": started.isoformat(timespec="seconds"),
                "command": " ".join(["python3", "bench/run.py", *(sys.argv[1:] if argv is None else argv)]),
                "runs_per_scenario": args.runs,
                "machine": machine_info(),
                "versions": versions(ctx, snapshot.source),
                "app": app_info(APPS[args.app]),
                "scenarios": args.scenarios,
                **report.results_json(results),
                "table": table,
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(payload, indent=2) + "\n")
            progress(f"wrote {path}")
        failed = any(r.failures or r.unavailable for r in results)
        return 1 if failed and args.quick else 0
    finally:
        if args.keep_work:
            progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
