"""An aiohttp service that reports its aiohttp version and whether its C speedups loaded."""

import os

import aiohttp
import multidict
from aiohttp import web


async def health(request: web.Request) -> web.Response:
    compiled = multidict.MultiDict.__module__ == "multidict._multidict"  # the C extension, not _multidict_py
    return web.json_response({"aiohttp": aiohttp.__version__, "multidict_compiled": compiled})


def main() -> None:
    app = web.Application()
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), print=None)
