"""Where pyjib's time goes: profile `pyjib push` in bench/run.py's scenarios (cold, no change, one-file change, fresh runner).

    python3 bench/profile_pyjib.py [--pyjib-rev REV] [--top 25] [--cases cold,no-change,one-file,fresh-runner]

Same app, registry and runner set-up as bench/run.py's scenarios. Prints, for each case: the wall time, the imports
that cost most (python -X importtime, cumulative, top-level modules only) and the functions with the most cumulative and
own time (cProfile). Time spent in subprocesses (uv, git, the PEP 517 backend) shows up as subprocess waits.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import pstats
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.infra import base_image  # noqa: E402

from bench.images import Images  # noqa: E402
from bench.measure import Command, run_step  # noqa: E402
from bench.scenarios import Bench, edit_and_commit  # noqa: E402
from bench.tools import TOOLS, Context, Target, find_uv, install_pyjib, snapshot_pyjib  # noqa: E402

CASES = ("cold", "no-change", "one-file", "fresh-runner")
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def with_interpreter_flags(command: Command, *flags: str) -> Command:
    """The same command with flags for the interpreter (argv[0] is the python running `-m pyjib`)."""
    return dataclasses.replace(command, argv=(command.argv[0], *flags, *command.argv[1:]))


def import_tree(stderr: str, threshold_s: float = 0.01, depth: int = 4) -> list[str]:
    """The imports that cost at least threshold_s (cumulative), as the tree -X importtime prints, at most depth levels deep."""
    rows = [(int(cumulative), int(own), len(indent) // 2, name) for own, cumulative, indent, name in _IMPORTTIME.findall(stderr)]
    total = sum(cumulative for cumulative, _own, level, _name in rows if level == 0)
    lines = [f"  all imports: {total / 1e6:.3f} s"]
    # importtime lists a module after the modules it imported: reversed, each parent comes before its children.
    for cumulative, own, level, name in reversed(rows):
        if cumulative >= threshold_s * 1e6 and level < depth:
            lines.append(f"  {cumulative / 1e6:6.3f} s cumulative {own / 1e6:6.3f} s own  {'  ' * level}{name}")
    return lines


def top_functions(profile: Path, count: int, strip: str) -> str:
    """pyjib's own functions by cumulative time (where the phases go), then every function by own time (the hot spots)."""
    out = io.StringIO()
    stats = pstats.Stats(str(profile), stream=out)
    stats.sort_stats("cumulative").print_stats(r"/pyjib/|hatch_pyjib", count)
    stats.sort_stats("tottime").print_stats(count // 2)
    # The header lines (the file name, the date, "Ordered by") are noise here, and so is the scratch folder's path.
    lines = [line.replace(strip, "") for line in out.getvalue().splitlines() if line.strip() and not line.startswith(str(profile))]
    return "\n".join(lines)


def profile_case(title: str, command: Command | Callable[[], Command], work: Path, top: int, prepare: Callable[[str], None]) -> None:
    """Run command plainly, under -X importtime and under cProfile; prepare(label) runs before each (the one-file case
    edits). A callable command is made anew for each run (the cold and fresh-runner cases need an empty runner each time)."""
    def make() -> Command:
        return command() if callable(command) else command

    prepare("plain")
    plain = run_step(make())
    prepare("importtime")
    imports = run_step(with_interpreter_flags(make(), "-X", "importtime"))
    prepare("cprofile")
    profile = work / "pyjib.prof"
    run_step(with_interpreter_flags(make(), "-m", "cProfile", "-o", str(profile)))
    print(f"\n## pyjib push, {title}: {plain.wall_s:.3f} s wall, {plain.cpu_s:.3f} s CPU\n")
    print("pyjib's own progress log:\n" + "\n".join(f"  {line}" for line in plain.output.splitlines() if line.startswith("pyjib [")))
    print("\nimports of 10 ms or more (python -X importtime):")
    print("\n".join(import_tree(imports.output)))
    print("\ncProfile:")
    print(top_functions(profile, top, strip=str(work)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/profile_pyjib.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyjib-rev", metavar="REV", help="profile pyjib as committed at REV instead of the work tree")
    parser.add_argument("--top", type=int, default=25, help="rows per listing")
    parser.add_argument("--cases", default="no-change,one-file", help="comma-separated subset of: " + ", ".join(CASES))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pyjib-profile-"))
    try:
        snapshot = snapshot_pyjib(REPO_ROOT, args.pyjib_rev, work / "pyjib")
        print(f"# pyjib from {snapshot.source['from']} at {snapshot.source['commit']}")
        uv = find_uv()
        ctx = Context(repo=snapshot.path, app=REPO_ROOT / "bench" / "app", work=work, python=install_pyjib(snapshot, work / "pyjib-venv", uv),
                      pythonpath="", tls=None, uv=uv, hatch=None, pyoci=None)
        tool = TOOLS["pyjib"]
        bench = Bench(ctx, Images(base_image.base_layout(), None), runs=1, verify=False, progress=lambda message: None)
        with bench.registry(tool) as registry, contextlib.ExitStack() as registries:
            target = Target(registry.host)
            runner, project = bench.runner(tool), bench.checkout(tool, target)
            bench.execute(tool, project, runner, target, registry)  # the image is pushed and the runner warm
            (command,) = tool.commands(project, runner, target, ctx)

            def on_empty_runner(cold: bool) -> Callable[[], Command]:
                """The push from a new checkout on an empty runner: to a new registry holding only the base (cold), or
                with a one-file change to this one, which holds the previous commit (a fresh runner)."""
                def make() -> Command:
                    where = Target(registries.enter_context(bench.registry(tool)).host) if cold else target
                    fresh = bench.checkout(tool, where)
                    if not cold:
                        edit_and_commit(fresh, "profile-fresh")
                    (made,) = tool.commands(fresh, bench.runner(tool), where, ctx)
                    return made
                return make

            for case in args.cases.split(","):
                if case == "cold":
                    profile_case("cold", on_empty_runner(cold=True), work, args.top, lambda label: None)
                elif case == "no-change":
                    profile_case("no change", command, work, args.top, lambda label: None)
                elif case == "one-file":
                    profile_case("one-file change", command, work, args.top, lambda label: edit_and_commit(project, f"profile-{label}"))
                elif case == "fresh-runner":
                    profile_case("fresh runner", on_empty_runner(cold=False), work, args.top, lambda label: None)
                else:
                    raise SystemExit(f"unknown case {case!r}: choose from {', '.join(CASES)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
