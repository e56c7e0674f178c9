"""A Flask service that reports its Flask version and whether a development tool leaked into its image."""

import importlib.metadata
import importlib.util
import os

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, object]:
    return {"flask": importlib.metadata.version("flask"), "pytest_in_image": importlib.util.find_spec("pytest") is not None}


def main() -> None:
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
