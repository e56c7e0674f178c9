"""A Flask app as the commonest Dockerfile holds it: app.py and requirements.txt, no package."""

import importlib.metadata
import os

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, str]:
    return {"app": "plain", "flask": importlib.metadata.version("flask")}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
