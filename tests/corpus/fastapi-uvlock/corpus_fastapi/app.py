"""A FastAPI service that reports what it runs on, and which development tools leaked into its image."""

import importlib.metadata
import importlib.util
import os

import fastapi
import pydantic_core
import uvicorn

app = fastapi.FastAPI()


@app.get("/health")
def health() -> dict[str, object]:
    leaked = [name for name in ("pytest", "pyflakes") if importlib.util.find_spec(name) is not None]
    return {"fastapi": fastapi.__version__, "pydantic_core": importlib.metadata.version("pydantic-core"),
            "compiled": pydantic_core._pydantic_core.__file__.endswith(".so"), "dev_tools": leaked,
            "extra_json": importlib.util.find_spec("orjson") is not None}


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
