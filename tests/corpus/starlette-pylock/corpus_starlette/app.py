"""A Starlette service on uvicorn with uvloop and httptools, answering with orjson."""

import importlib.metadata
import os

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def health(request: Request) -> Response:
    versions = {name: importlib.metadata.version(name) for name in ("starlette", "uvloop", "httptools", "orjson")}
    return Response(orjson.dumps({"versions": versions, "loop": type(__import__("asyncio").get_running_loop()).__module__}),
                    media_type="application/json")


app = Starlette(routes=[Route("/health", health)])


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), loop="uvloop", http="httptools", log_level="warning")
