"""Medians per tool and scenario, as a markdown table and as JSON."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.measure import Step
from bench.scenarios import SCENARIOS, Run, ToolRuns

# A layout-writing tool is compared with pyjib's own layout command, a pushing tool with pyjib push.
REFERENCE = {True: "pyjib", False: "pyjib-build"}


@dataclass(frozen=True)
class Summary:
    tool: str
    scenario: str
    runs: int
    wall_s: float  # median
    wall_min_s: float
    wall_max_s: float
    cpu_s: float  # median of user + sys
    max_rss_mb: float  # median of the runs' peaks
    sent_bytes: int | None  # median; None when the tool pushes nothing
    blob_uploads: int | None
    new_bytes: int | None  # median storage growth of the registry
    background_cores: float  # median CPU used by other jobs on the machine during the runs


def summarize(tool: str, scenario: str, runs: Sequence[Run]) -> Summary:
    walls = [run.wall_s for run in runs]
    pushed = [run.uploads for run in runs if run.uploads is not None]
    return Summary(
        tool=tool,
        scenario=scenario,
        runs=len(runs),
        wall_s=statistics.median(walls),
        wall_min_s=min(walls),
        wall_max_s=max(walls),
        cpu_s=statistics.median(run.cpu_s for run in runs),
        max_rss_mb=statistics.median(run.max_rss_kb for run in runs) / 1024,
        sent_bytes=int(statistics.median(u.sent_bytes for u in pushed)) if pushed else None,
        blob_uploads=int(statistics.median(u.blob_uploads for u in pushed)) if pushed else None,
        new_bytes=int(statistics.median(u.new_bytes for u in pushed)) if pushed else None,
        background_cores=statistics.median(run.background_cores for run in runs),
    )


def summaries(results: Sequence[ToolRuns]) -> list[Summary]:
    return [summarize(r.tool.name, scenario, r.runs[scenario]) for scenario in SCENARIOS for r in results if r.runs.get(scenario)]


def human_bytes(count: int) -> str:
    for unit, size in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def _uploaded(summary: Summary) -> str:
    if summary.sent_bytes is None or summary.new_bytes is None:
        return "— (layout)"
    text = f"{human_bytes(summary.sent_bytes)} · {summary.blob_uploads} blobs"
    if summary.sent_bytes > summary.new_bytes:  # blobs sent although the registry had them
        text += f" ({human_bytes(summary.sent_bytes - summary.new_bytes)} of it already there)"
    return text


def _ratio(summary: Summary, by_key: dict[tuple[str, str], Summary], pushes: bool) -> str:
    reference = by_key.get((REFERENCE[pushes], summary.scenario))
    if reference is None or reference.wall_s <= 0:
        return ""
    return f"{summary.wall_s / reference.wall_s:.1f}×"


def markdown_table(results: Sequence[ToolRuns]) -> str:
    pushes = {r.tool.name: r.tool.pushes for r in results}
    rows = summaries(results)
    by_key = {(s.tool, s.scenario): s for s in rows}
    lines = [
        "| scenario | tool | wall, median (s) | min–max (s) | vs pyjib | CPU (s) | peak RSS (MB) | uploaded | other load (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for s in rows:
        lines.append(
            f"| {s.scenario} | {s.tool} | {s.wall_s:.2f} | {s.wall_min_s:.2f}–{s.wall_max_s:.2f} | {_ratio(s, by_key, pushes[s.tool])} "
            f"| {s.cpu_s:.2f} | {s.max_rss_mb:.0f} | {_uploaded(s)} | {s.background_cores:.2f} |"
        )
    for r in results:
        if r.unavailable:
            lines.append(f"| all | {r.tool.name} | not measured: {r.unavailable} | | | | | | |")
        for scenario, why in r.failures.items():
            lines.append(f"| {scenario} | {r.tool.name} | failed: {why} | | | | | | |")
    return "\n".join(lines)


def _step_json(step: Step) -> dict[str, Any]:
    return {
        "name": step.name, "wall_s": round(step.wall_s, 4), "user_s": round(step.user_s, 4), "sys_s": round(step.sys_s, 4),
        "max_rss_mb": round(step.max_rss_kb / 1024, 1), "background_cores": round(step.background_cores, 3),
    }


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "wall_s": round(run.wall_s, 4),
        "cpu_s": round(run.cpu_s, 4),
        "max_rss_mb": round(run.max_rss_kb / 1024, 1),
        "background_cores": round(run.background_cores, 3),
        "uploads": asdict(run.uploads) if run.uploads else None,
        "steps": [_step_json(step) for step in run.steps],
    }


def results_json(results: Sequence[ToolRuns]) -> dict[str, Any]:
    tools = {
        r.tool.name: {
            "command": r.tool.summary,
            "notes": r.tool.notes,
            "pushes": r.tool.pushes,
            "unavailable": r.unavailable,
            "failures": r.failures,
            "verified": r.verified,
            "runs": {scenario: [_run_json(run) for run in runs] for scenario, runs in r.runs.items()},
        }
        for r in results
    }
    return {"summary": [asdict(s) for s in summaries(results)], "tools": tools}
