"""A response deadline for a Starlette app: 504 after 10 s, longer for exports, none for events.

Run: `uvicorn timeout_basic:app --app-dir docs/examples`, then `curl -i localhost:8000/search`
(504 after 10 s), `curl -i localhost:8000/exports/q3` (200 after 45 s) or
`curl -N localhost:8000/events` (an event every 15 s, never cut).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware.timeout import TimeoutMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Answer at once, as nearly every request does."""
    return PlainTextResponse("Hello")


async def search(request: Request) -> PlainTextResponse:
    """Stands for a query stuck on a lock: cancelled at the deadline, the client gets 504."""
    await anyio.sleep(30)
    return PlainTextResponse("results")


async def export(request: Request) -> PlainTextResponse:
    """A slow report, allowed two minutes by its path's deadline."""
    await anyio.sleep(45)
    return PlainTextResponse(f"export {request.path_params['name']}")


async def events(request: Request) -> StreamingResponse:
    """Server-sent events: a long-lived response with no deadline at all."""

    async def stream() -> AsyncIterator[str]:
        for number in range(4):
            await anyio.sleep(15)
            yield f"data: tick {number}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream")


starlette_app = Starlette(
    routes=[
        Route("/", home),
        Route("/search", search),
        Route("/exports/{name}", export),
        Route("/events", events),
    ]
)

# --8<-- [start:wrap]
app = TimeoutMiddleware(
    starlette_app,
    timeout=10,  # seconds to start the response, everywhere else
    path_timeouts={
        "/exports/*": 120,  # reports take longer
        "/events": None,  # a stream that never ends: no deadline
    },
)
# --8<-- [end:wrap]
