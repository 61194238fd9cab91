"""An API used by a single-page app on another origin: timings visible in its devtools and code.

Run it with `uvicorn timing_cross_origin:app --app-dir docs/examples`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import CORSMiddleware, Layer, TimingMiddleware, compose, record_timing

SPA = "https://app.example"


async def items(request: Request) -> JSONResponse:
    """List the items."""
    record_timing("db", 4.2)
    return JSONResponse({"items": []})


# --8<-- [start:app]
app = compose(
    Starlette(routes=[Route("/api/items", items)]),
    # fetch() can read a cross-origin response header only if CORS exposes it.
    Layer(CORSMiddleware, allow_origins=[SPA], expose_headers=["Server-Timing"]),
    # The Resource Timing API (performance.getEntries()) and the devtools of a page on another
    # origin show Server-Timing only to origins in Timing-Allow-Origin.
    Layer(TimingMiddleware, timing_allow_origin=[SPA]),
)
# --8<-- [end:app]
