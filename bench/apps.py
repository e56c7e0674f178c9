"""The example apps the benchmark builds: the default small Flask service, and two big ones for issue 16's "Big images".

Every app is a project named bench-svc with its code in the package bench_svc (app.py serves /health on $PORT), so each
tool's settings (pyoci's entrypoint, the file the one-file scenario edits, hatch's layout name) fit all of them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class App:
    name: str  # as --app names it
    path: Path
    summary: str
    # How many distributions the image holds, as resolved when the app was written (the JSON results name them exactly).
    distributions: int


APPS: dict[str, App] = {
    app.name: app
    for app in (
        App("flask", BENCH_DIR / "app", "a Flask + pydantic service (3.5 MB of wheels, 10 MB unpacked)", 12),
        App("data", BENCH_DIR / "app-data", "a data service: numpy, pandas, scipy, pyarrow behind Flask (121 MB of wheels, 390 MB unpacked)", 13),
        App("torch", BENCH_DIR / "app-torch", "torch from PyPI with its CUDA libraries (nvidia-*, triton) behind Flask: 3.0 GB of wheels", 34),
        App("tensorflow", BENCH_DIR / "app-tensorflow", "tensorflow-cpu behind Flask: 336 MB of wheels, 1.5 GB unpacked", 39),
    )
}
DEFAULT_APP = "flask"


def requirements(app: App) -> list[str]:
    """The app's top-level requirements, as its requirements.txt lists them for the Dockerfile and pyoci."""
    lines = (line.split("#", 1)[0].strip() for line in (app.path / "requirements.txt").read_text().splitlines())
    return [line for line in lines if line]
