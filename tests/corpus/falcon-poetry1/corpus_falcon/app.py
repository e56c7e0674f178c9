"""A Falcon service on waitress that reports whether it got Falcon's compiled wheel (not its pure one)."""

import importlib.metadata
import importlib.util
import os
from pathlib import Path

import falcon
import waitress


class Health:
    def on_get(self, request: falcon.Request, response: falcon.Response) -> None:
        response.media = {"falcon": importlib.metadata.version("falcon"), "compiled": any(Path(falcon.__file__).parent.rglob("*.so")),
                          "pytest_in_image": importlib.util.find_spec("pytest") is not None}


app = falcon.App()
app.add_route("/health", Health())


def main() -> None:
    waitress.serve(app, host="127.0.0.1", port=int(os.environ["PORT"]))
