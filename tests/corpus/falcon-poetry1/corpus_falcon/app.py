"""A Falcon service on waitress that reports whether Falcon's compiled build loaded."""

import importlib.metadata
import importlib.util
import os

import falcon
import falcon.app
import waitress


class Health:
    def on_get(self, request: falcon.Request, response: falcon.Response) -> None:
        response.media = {"falcon": importlib.metadata.version("falcon"), "compiled": falcon.app.__file__.endswith(".so"),
                          "pytest_in_image": importlib.util.find_spec("pytest") is not None}


app = falcon.App()
app.add_route("/health", Health())


def main() -> None:
    waitress.serve(app, host="127.0.0.1", port=int(os.environ["PORT"]))
