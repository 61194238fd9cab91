"""The opt-in total deadline: a started stream is cut when the whole response takes too long.

Run: `uvicorn timeout_streaming:app --app-dir docs/examples`, then `curl -N localhost:8000/tail`:
the lines stop after five minutes and curl reports the connection closed mid-body
("transfer closed with outstanding read data remaining"), while uvicorn logs the TimeoutError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from asgi_middleware.timeout import TimeoutMiddleware


async def tail(request: Request) -> StreamingResponse:
    """Follow a log forever, a line a second: it starts at once, so ``timeout`` never cuts it."""

    async def lines() -> AsyncIterator[str]:
        number = 0
        while True:
            yield f"line {number}\n"
            number += 1
            await anyio.sleep(1)

    return StreamingResponse(lines(), media_type="text/plain")


starlette_app = Starlette(routes=[Route("/tail", tail)])

# --8<-- [start:total]
app = TimeoutMiddleware(
    starlette_app,
    timeout=10,  # to start the response
    total_timeout=300,  # to finish it, from the request's start: then the connection is closed
)
# --8<-- [end:total]
