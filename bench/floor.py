"""The floor of a cold build on this machine: what any tool must at least spend to turn an app's wheels into layers.

    python3 -m venv /tmp/bench-venv
    PIP_CONFIG_FILE=/dev/null /tmp/bench-venv/bin/pip install packaging isal==1.9.1 zlib-ng==1.1.0 zstandard==0.25.0
    /tmp/bench-venv/bin/python bench/floor.py --app data
    /tmp/bench-venv/bin/python bench/floor.py --app torch --compressors gzip-6,isal-2 --cores 2

For the app's wheels, resolved with uv for linux x86_64 and CPython 3.11 as pyjib resolves them (the public index only),
it measures, each from cold (no cache, a fresh temporary folder):

- download: every wheel fetched from PyPI, 8 at a time, hashed as an installer checks it (and, for reference, what
  `uv pip install --target` with an empty cache takes for the same pinned wheels: download and unpack together);
- unpack: zipfile extraction of every wheel, on one core and on two (two processes on halves of the bytes);
- compress: the unpacked trees as one PAX tar stream, written the way pyjib's layer.py writes a layer (sha256 of the tar
  and of the compressed bytes, the blob written to disk), with each compressor, on one core and on two (two processes,
  each on a half of the files balanced by size: the best any split into layers could do);
- bytecode (not part of the floor, shown because pyjib does it): compileall of the unpacked trees on two processes.

The floor is max(download, unpack + compress, both on two cores): downloading is network-bound and unpacking and
compressing are CPU-bound, and a tool can overlap them (unpack and compress one wheel while the next downloads), so the
slower of the two bounds the build. The sum is printed too: it is the floor of a tool that downloads everything first.
Prints a markdown table; writes JSON to bench/results/DATE_floor_APP.json. Does not need root or a registry.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # bench.apps imports from the repository root

from bench.apps import APPS, DEFAULT_APP, App, requirements  # noqa: E402

# What pyjib resolves for the tests' distroless-like base (Debian 12: glibc 2.36, CPython 3.11).
PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-manylinux_2_36"
GLIBC = (2, 36)
PARALLEL_DOWNLOADS = 8
CHUNK = 1 << 20
GZIP_LEVEL = 6  # pyjib's (src/pyjib/layer.py GZIP_LEVEL)
DEFAULT_COMPRESSORS = ("gzip-6", "zlib-ng-6", "isal-2", "zstd-3")
FLOOR_COMPRESSOR = "gzip-6"  # what pyjib writes today


@dataclass(frozen=True)
class Wheel:
    name: str
    filename: str
    url: str
    size: int
    sha256: str


# ---------------------------------------------------------------------------------------------------------- resolution


def _platform_tags() -> list[str]:
    """x86_64 platform tags a glibc 2.36 system accepts, best first (as pip and uv rank them)."""
    tags = [f"manylinux_{GLIBC[0]}_{minor}_x86_64" for minor in range(GLIBC[1], 4, -1)]
    legacy = {"manylinux_2_17_x86_64": "manylinux2014_x86_64", "manylinux_2_12_x86_64": "manylinux2010_x86_64",
              "manylinux_2_5_x86_64": "manylinux1_x86_64"}
    ranked: list[str] = []
    for tag in tags:
        ranked.append(tag)
        if tag in legacy:
            ranked.append(legacy[tag])
    return [*ranked, "linux_x86_64"]


def _tag_ranks() -> dict[Tag, int]:
    platforms = _platform_tags()
    ordered = [*cpython_tags((3, 11), platforms=platforms), *compatible_tags((3, 11), platforms=platforms)]
    return {tag: rank for rank, tag in reversed(list(enumerate(ordered)))}


def best_wheel(candidates: Sequence[dict[str, Any]], ranks: dict[Tag, int]) -> dict[str, Any]:
    """The wheel an installer picks for the image among those a package publishes for it."""
    def rank(wheel: dict[str, Any]) -> int:
        _name, _version, _build, tags = parse_wheel_filename(wheel["url"].rsplit("/", 1)[1])
        return min((ranks[tag] for tag in tags if tag in ranks), default=len(ranks))

    chosen = min(candidates, key=rank)
    if rank(chosen) == len(ranks):
        raise SystemExit(f"floor: no wheel of {chosen['url']} fits CPython {PYTHON_VERSION} on {PYTHON_PLATFORM}")
    return chosen


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user has: this machine's pip configuration adds local wheel folders (see FACTS.md)."""
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS" and not k.startswith("UV_")}
    env.update(PIP_CONFIG_FILE="/dev/null", UV_PYTHON_DOWNLOADS="never", **extra)
    return env


def find_uv() -> str:
    with contextlib.suppress(ImportError, FileNotFoundError):
        uv: Any = importlib.import_module("uv")  # installed or not: Any either way
        return str(uv.find_uv_bin())
    found = shutil.which("uv")
    if not found:
        raise SystemExit("floor: uv is needed (pip install uv)")
    return found


def resolve(app: App, uv: str, work: Path) -> list[Wheel]:
    lock = work / "pylock.floor.toml"
    argv = [uv, "pip", "compile", "-", "--quiet", "--python-platform", PYTHON_PLATFORM, "--python-version", PYTHON_VERSION,
            "--only-binary", ":all:", "--format", "pylock.toml", "--no-header", "-o", str(lock)]
    subprocess.run(argv, input="\n".join(requirements(app)), text=True, check=True, env=user_env(UV_CACHE_DIR=str(work / "uv-resolve")))
    ranks = _tag_ranks()
    wheels = []
    for package in tomllib.loads(lock.read_text())["packages"]:
        chosen = best_wheel(package["wheels"], ranks)
        wheels.append(Wheel(package["name"], chosen["url"].rsplit("/", 1)[1], chosen["url"], chosen["size"], chosen["hashes"]["sha256"]))
    return sorted(wheels, key=lambda w: w.name)


# ------------------------------------------------------------------------------------------------------------ download


def fetch(wheel: Wheel, directory: Path) -> Path:
    path = directory / wheel.filename
    digest = hashlib.sha256()
    with urllib.request.urlopen(wheel.url, timeout=120) as response, path.open("wb") as out:
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != wheel.sha256:
        raise SystemExit(f"floor: {wheel.filename} does not match its hash")
    return path


def download(wheels: Sequence[Wheel], directory: Path) -> tuple[float, list[Path]]:
    directory.mkdir(parents=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL_DOWNLOADS) as pool:
        # Biggest first, so the longest download does not start last.
        paths = list(pool.map(lambda w: fetch(w, directory), sorted(wheels, key=lambda w: -w.size)))
    return time.perf_counter() - start, paths


def uv_install(wheels: Sequence[Wheel], uv: str, work: Path) -> float:
    """uv's own cold install of the same pinned wheels (download + unpack into its cache + copy to the target)."""
    pins = "\n".join(f"{w.name} @ {w.url}" for w in wheels)
    argv = [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(work / "uv-target"), "--python-platform", PYTHON_PLATFORM,
            "--python-version", PYTHON_VERSION, "--only-binary", ":all:", "--no-compile", "-r", "-"]
    start = time.perf_counter()
    subprocess.run(argv, input=pins, text=True, check=True, env=user_env(UV_CACHE_DIR=str(work / "uv-cold-cache")))
    return time.perf_counter() - start


# -------------------------------------------------------------------------------------------------------------- halves


def halves(items: Sequence[tuple[Path, int]], parts: int) -> list[list[Path]]:
    """items split into parts of about equal total size (largest first, each to the lightest part), each part sorted."""
    loads = [0] * parts
    groups: list[list[Path]] = [[] for _ in range(parts)]
    for path, size in sorted(items, key=lambda item: -item[1]):
        lightest = loads.index(min(loads))
        groups[lightest].append(path)
        loads[lightest] += size
    return [sorted(group) for group in groups]


def _started(index: int) -> int:
    return index


def in_processes(work: Callable[[list[Path], Path], int], groups: Sequence[list[Path]], out: Path) -> tuple[float, int]:
    """Run work on each group in a process of its own, at once; the wall time and the summed results."""
    out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(len(groups)) as pool:
        list(pool.map(_started, range(len(groups))))  # the workers are started before the clock
        start = time.perf_counter()
        futures = [pool.submit(work, group, out / f"part{i}") for i, group in enumerate(groups)]
        total = sum(f.result() for f in futures)
        return time.perf_counter() - start, total


# -------------------------------------------------------------------------------------------------------------- unpack


def unpack_wheels(paths: list[Path], destination: Path) -> int:
    """Extract each wheel into destination/NAME; the bytes written."""
    written = 0
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            target = destination / path.name.removesuffix(".whl")
            archive.extractall(target)
            written += sum(info.file_size for info in archive.infolist())
    return written


# ------------------------------------------------------------------------------------------------------------ compress


class _Hashing:
    """A write-only file that hashes and counts what passes, as layer.py's _HashingWriter does."""

    def __init__(self, sink: IO[bytes] | _Hashing) -> None:
        self.sink, self.sha256, self.size = sink, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.sink.write(data)

    def flush(self) -> None:
        self.sink.flush()


@contextlib.contextmanager
def compressor(spec: str, sink: _Hashing) -> Iterator[IO[bytes]]:
    name, level = spec.rsplit("-", 1)
    # The optional compressors are imported by name: they may be missing, and this runs in a venv of its own.
    gzip_files: dict[str, tuple[str, str]] = {"gzip": ("gzip", "GzipFile"), "zlib-ng": ("zlib_ng.gzip_ng", "GzipFile"), "isal": ("isal.igzip", "IGzipFile")}
    target: Any = sink
    if name in gzip_files:
        module, cls = gzip_files[name]
        with getattr(importlib.import_module(module), cls)(filename="", mode="wb", compresslevel=int(level), fileobj=target, mtime=0) as stream:
            yield stream
    elif name == "zstd":
        zstandard: Any = importlib.import_module("zstandard")
        with zstandard.ZstdCompressor(level=int(level), write_content_size=False, threads=0).stream_writer(target, closefd=False) as writer:
            yield writer
    else:
        raise SystemExit(f"floor: unknown compressor {spec}; use gzip-N, zlib-ng-N, isal-N or zstd-N")


def available(spec: str) -> str | None:
    """Why the compressor cannot be measured here, or None."""
    module = {"zlib-ng": "zlib_ng", "isal": "isal", "zstd": "zstandard"}.get(spec.rsplit("-", 1)[0])
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed in this interpreter (see the module's docstring)"
    return None


def tar_files(spec: str, root: Path, files: list[Path], blob: Path) -> tuple[int, int]:
    """files (under root) as one PAX tar stream through the compressor into blob; (tar bytes, compressed bytes)."""
    with blob.open("wb") as out:
        compressed = _Hashing(out)
        with compressor(spec, compressed) as stream:
            uncompressed = _Hashing(stream)
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for path in files:
                    info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 1, 0, 0, "", ""
                    with path.open("rb") as f:
                        tar.addfile(info, f)
    return uncompressed.size, compressed.size


@dataclass(frozen=True)
class CompressJob:
    spec: str
    root: Path

    def __call__(self, files: list[Path], out: Path) -> int:
        out.mkdir(parents=True, exist_ok=True)
        tar_bytes, compressed = tar_files(self.spec, self.root, files, out / "blob")
        (out / "sizes.json").write_text(json.dumps([tar_bytes, compressed]))
        (out / "blob").unlink()  # the next measurement must not find the disk fuller
        return tar_bytes


@dataclass(frozen=True)
class UnpackJob:
    destination: Path

    def __call__(self, wheels: list[Path], _out: Path) -> int:
        return unpack_wheels(wheels, self.destination)


# ------------------------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Measured:
    step: str  # download, uv-install, unpack, compress, bytecode
    variant: str  # the compressor, or "" where there is one way
    cores: int
    wall_s: float
    megabytes: float  # what the MB/s counts: downloaded wheel bytes, unpacked bytes, tar bytes
    output_mb: float | None = None  # compressed bytes

    @property
    def mb_s(self) -> float:
        return self.megabytes / self.wall_s if self.wall_s else 0.0


def files_with_sizes(root: Path) -> list[tuple[Path, int]]:
    return [(Path(d) / name, (Path(d) / name).stat().st_size) for d, _dirs, names in os.walk(root) for name in names]


def measure(app: App, compressors: Sequence[str], cores: Sequence[int], work: Path, with_uv: bool, progress: Callable[[str], None]) -> dict[str, Any]:
    uv = find_uv()
    wheels = resolve(app, uv, work)
    wheel_mb = sum(w.size for w in wheels) / 1e6
    progress(f"{len(wheels)} wheels, {wheel_mb:.1f} MB; downloading")
    results: list[Measured] = []
    wall, paths = download(wheels, work / "wheels")
    results.append(Measured("download", f"{PARALLEL_DOWNLOADS} at a time", 1, wall, wheel_mb))
    if with_uv:
        progress("uv pip install --target, cold cache")
        results.append(Measured("uv-install", "download + unpack", 0, uv_install(wheels, uv, work), wheel_mb))
        shutil.rmtree(work / "uv-target")
        shutil.rmtree(work / "uv-cold-cache")
    sized = [(path, path.stat().st_size) for path in paths]
    unpacked = work / "unpacked"
    for count in cores:
        shutil.rmtree(unpacked, ignore_errors=True)
        progress(f"unpacking on {count} core(s)")
        wall, written = in_processes(UnpackJob(unpacked), halves(sized, count), work / "unpack-out")
        results.append(Measured("unpack", "zipfile", count, wall, written / 1e6))
    files = files_with_sizes(unpacked)
    for spec in compressors:
        if reason := available(spec):
            progress(f"{spec}: not measured: {reason}")
            continue
        for count in cores:
            progress(f"compressing with {spec} on {count} core(s)")
            out = work / f"compress-{spec}-{count}"
            wall, tar_bytes = in_processes(CompressJob(spec, unpacked), halves(files, count), out)
            compressed = sum(json.loads((part / "sizes.json").read_text())[1] for part in out.iterdir())
            results.append(Measured("compress", spec, count, wall, tar_bytes / 1e6, compressed / 1e6))
            shutil.rmtree(out)
    progress("bytecode (compileall -j 2)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "2", "--invalidation-mode", "unchecked-hash", str(unpacked)],
                   check=False, capture_output=True)
    py_mb = sum(size for path, size in files if path.suffix == ".py") / 1e6
    results.append(Measured("bytecode", "compileall -j 2 (not in the floor)", 2, time.perf_counter() - start, py_mb))
    return {"wheels": [asdict(w) for w in wheels], "wheel_mb": wheel_mb, "unpacked_mb": sum(s for _, s in files) / 1e6,
            "files": len(files), "measured": results}


def floors(measured: Sequence[Measured]) -> list[dict[str, Any]]:
    """For each compressor: max(download, unpack + compress) and their sum, on the most cores measured."""
    download = next(m.wall_s for m in measured if m.step == "download")
    most = max(m.cores for m in measured if m.step == "unpack")
    unpack = next(m.wall_s for m in measured if m.step == "unpack" and m.cores == most)
    rows = []
    for m in measured:
        if m.step == "compress" and m.cores == most:
            cpu = unpack + m.wall_s
            rows.append({"compressor": m.variant, "cores": most, "download_s": download, "unpack_s": unpack, "compress_s": m.wall_s,
                         "floor_s": max(download, cpu), "sum_s": download + cpu, "compressed_mb": m.output_mb})
    return rows


def markdown(app: App, result: dict[str, Any]) -> str:
    lines = [f"app {app.name}: {len(result['wheels'])} wheels, {result['wheel_mb']:.1f} MB; unpacked {result['unpacked_mb']:.1f} MB in {result['files']} files",
             "", "| step | variant | cores | wall s | MB | MB/s | output MB |", "|---|---|---:|---:|---:|---:|---:|"]
    for m in result["measured"]:
        out = f"{m.output_mb:.1f}" if m.output_mb is not None else ""
        lines.append(f"| {m.step} | {m.variant} | {m.cores or ''} | {m.wall_s:.2f} | {m.megabytes:.1f} | {m.mb_s:.0f} | {out} |")
    lines += ["", "| compressor | cores | download s | unpack s | compress s | floor = max(download, unpack + compress) s | sum s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for row in result["floors"]:
        lines.append(f"| {row['compressor']} | {row['cores']} | {row['download_s']:.2f} | {row['unpack_s']:.2f} | {row['compress_s']:.2f} | "
                     f"{row['floor_s']:.2f} | {row['sum_s']:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/floor.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", choices=sorted(APPS), default=DEFAULT_APP)
    parser.add_argument("--compressors", default=",".join(DEFAULT_COMPRESSORS), help=f"comma-separated NAME-LEVEL (default {','.join(DEFAULT_COMPRESSORS)})")
    parser.add_argument("--cores", default="1,2", help="process counts to measure unpacking and compressing with (default 1,2)")
    parser.add_argument("--no-uv", dest="uv", action="store_false", help="skip the reference cold `uv pip install --target`")
    parser.add_argument("--json", type=Path, help="where to write the results (default bench/results/DATE_floor_APP.json)")
    parser.add_argument("--work", type=Path, help="a folder for the scratch files (default: a temporary folder; several GB for torch)")
    args = parser.parse_args(argv)
    app = APPS[args.app]
    cores = sorted({int(c) for c in args.cores.split(",") if c.strip()})
    compressors = [c.strip() for c in args.compressors.split(",") if c.strip()]
    if FLOOR_COMPRESSOR not in compressors:
        compressors.insert(0, FLOOR_COMPRESSOR)

    def progress(message: str) -> None:
        print(f"floor: {message}", file=sys.stderr, flush=True)

    started = datetime.datetime.now(datetime.UTC)
    work = Path(tempfile.mkdtemp(prefix="pyjib-floor-", dir=args.work))
    try:
        result = measure(app, compressors, cores, work, args.uv, progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["floors"] = floors(result["measured"])
    table = markdown(app, result)
    print(table)
    path = args.json or BENCH_DIR / "results" / f"{started:%Y-%m-%d}_floor_{app.name}.json"
    payload = {"schema": 1, "started": started.isoformat(timespec="seconds"), "command": " ".join(["bench/floor.py", *(argv or sys.argv[1:])]),
               "app": app.name, "python_platform": PYTHON_PLATFORM, "python_version": PYTHON_VERSION, "cpu_count": os.cpu_count(),
               **{k: v for k, v in result.items() if k != "measured"},
               "measured": [{**asdict(m), "mb_s": m.mb_s} for m in result["measured"]], "table": table}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    progress(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
