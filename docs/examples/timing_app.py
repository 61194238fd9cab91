"""Server-Timing for a Starlette app: the middleware's own metric and the app's.

Run it with `uvicorn timing_app:app --app-dir docs/examples`, open http://127.0.0.1:8000/orders
and look at the Timing tab of the request in your browser's devtools.
"""

from __future__ import annotations

import time

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import TimingMiddleware, record_timing
from asgi_middleware.timing import timed

# --8<-- [start:app]
CACHE: dict[str, list[dict[str, object]]] = {}


async def load_orders() -> list[dict[str, object]]:
    """Stand-in for a database query, timed by hand with record_timing."""
    started = time.perf_counter()
    await anyio.sleep(0.01)
    record_timing("db", (time.perf_counter() - started) * 1000, "orders query")
    return [{"id": 1, "total": 9.5}]


@timed("render", "JSON encoding")  # every call is timed and recorded
def render(orders: list[dict[str, object]]) -> JSONResponse:
    """Build the response."""
    return JSONResponse({"orders": orders})


async def orders(request: Request) -> JSONResponse:
    """List the orders."""
    with timed("cache", "cache lookup"):  # a block, timed
        cached = CACHE.get("orders")
    return render(cached if cached is not None else await load_orders())


app = TimingMiddleware(
    Starlette(routes=[Route("/orders", orders)]),
    metric_description="time to first byte",
)
# --8<-- [end:app]
