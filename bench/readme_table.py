"""The README's speed tables, from the JSON files bench/run.py and bench/floor.py wrote (nothing is typed in by hand).

    python3 bench/readme_table.py bench/results/DATE_TOOLS.json                      # the flask app, every tool
    python3 bench/readme_table.py --big data=RUN.json,FLOOR.json torch=RUN.json,FLOOR.json ...

The first prints one row per scenario and one column per tool ("wall s · bytes sent", medians); --big prints one row
per app with its gzip-6 floor on two cores and each tool's cold and fresh-runner times against it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import human_bytes

SCENARIO_NAMES = {
    "cold": "cold: empty registry and caches",
    "no-change": "no change",
    "one-file": "one `.py` file changed",
    "fresh-runner": "fresh CI runner, registry holds the previous commit",
}
TOOL_NAMES = {
    "pyjib": "pyjib push", "hatch": "hatch build -t container", "hatchling": "hatchling, in-process",
    "buildah": "buildah (Dockerfile, pip stage)", "pyoci": "pyoci 0.2.1", "pyjib-build": "pyjib build (layout)",
    "hatchling-layout": "hatchling (layout)",
}


def _summaries(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads(path.read_text())
    return {(s["tool"], s["scenario"]): s for s in data["summary"]}


def _cell(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "—"
    sent = summary.get("sent_bytes")
    return f"{summary['wall_s']:.2f} s" + (f" · {human_bytes(int(sent))}" if sent is not None else "")


def tools_table(path: Path) -> str:
    """Scenarios by tools, as the README shows them (the median wall time and the bytes sent)."""
    data = json.loads(path.read_text())
    by_key = _summaries(path)
    tools = list(dict.fromkeys(s["tool"] for s in data["summary"]))
    scenarios = [s for s in SCENARIO_NAMES if any((t, s) in by_key for t in tools)]
    runs = data.get("runs_per_scenario")
    lines = [f"| scenario (median of {runs} runs) | " + " | ".join(TOOL_NAMES.get(t, t) for t in tools) + " |",
             "|---|" + "---:|" * len(tools)]
    lines += [f"| {SCENARIO_NAMES[s]} | " + " | ".join(_cell(by_key.get((t, s))) for t in tools) + " |" for s in scenarios]
    return "\n".join(lines)


def _gzip_floor(path: Path) -> float:
    floors = json.loads(path.read_text())["floors"]
    return float(next(f["floor_s"] for f in floors if f["compressor"] == "gzip-6" and f["cores"] == 2))


def big_table(apps: Sequence[tuple[str, list[Path], Path]]) -> str:
    """One row per big app: its floor, then each tool's cold and fresh-runner wall time (cold also as a multiple of the floor)."""
    lines = ["| app | floor (gzip-6, 2 cores) | tool | cold | cold / floor | fresh runner | peak RSS (cold) |", "|---|---:|---|---:|---:|---:|---:|"]
    for app, runs, floor_file in apps:
        floor = _gzip_floor(floor_file)
        by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for run in runs:
            by_key.update(_summaries(run))
        for tool in dict.fromkeys(t for t, _ in by_key):
            cold, fresh = by_key.get((tool, "cold")), by_key.get((tool, "fresh-runner"))
            ratio = f"{cold['wall_s'] / floor:.1f}×" if cold else "—"
            rss = f"{cold['max_rss_mb']:.0f} MB" if cold else "—"
            lines.append(f"| {app} | {floor:.1f} s | {tool} | {_cell(cold)} | {ratio} | {_cell(fresh)} | {rss} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/readme_table.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="?", type=Path, help="a bench/run.py JSON file of the flask app")
    parser.add_argument("--big", nargs="+", default=[], metavar="APP=RUN[,RUN...],FLOOR",
                        help="a big app's bench/run.py JSON files and, last, its bench/floor.py JSON file")
    args = parser.parse_args(argv)
    if args.results:
        print(tools_table(args.results))
    if args.big:
        apps = []
        for item in args.big:
            app, _, files = item.partition("=")
            paths = [Path(p) for p in files.split(",")]
            apps.append((app, paths[:-1], paths[-1]))
        print(big_table(apps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
