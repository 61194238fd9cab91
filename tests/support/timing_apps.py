"""A Starlette app whose endpoints record Server-Timing metrics, for the TimingMiddleware tests.

The in-process tests (tests/integration), the real-server tests (tests/live) and the browser test
(tests/browser) wrap ``starlette_app()`` in ``TimingMiddleware`` and read the header with
:func:`entries` and :data:`OWN`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from asgi_middleware import record_timing
from asgi_middleware.timing import timed

__all__ = ["OWN", "entries", "starlette_app"]

# The middleware's own metric, whatever the duration.
OWN = re.compile(r"app;dur=\d+\.\d{3}")


def starlette_app() -> Starlette:
    """A Starlette app whose endpoints record metrics, async and sync (thread pool)."""

    async def orders(request: Request) -> JSONResponse:
        record_timing("db", 3.2, "orders query")
        return JSONResponse({"orders": []})

    def report(request: Request) -> PlainTextResponse:  # sync: runs in Starlette's thread pool
        with timed("render"):
            text = "report"
        return PlainTextResponse(text)

    async def stream(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(3):
                await anyio.sleep(0.05)
                yield f"chunk {index}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    async def public(request: Request) -> JSONResponse:
        # Readable by any page (a CORS response), as an SPA's API calls are.
        record_timing("db", 1.5, "public query")
        return JSONResponse({"public": True}, headers={"access-control-allow-origin": "*"})

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("boom")

    return Starlette(
        routes=[
            Route("/orders", orders),
            Route("/report", report),
            Route("/stream", stream),
            Route("/public", public),
            Route("/boom", boom),
        ]
    )


def entries(value: str) -> list[str]:
    """Split a Server-Timing value made of our own (unquoted-comma-free) entries."""
    return [entry.strip() for entry in value.split(",")]
