"""A metrics hook: every request's durations reach a callback, no header is sent.

Run it with `uvicorn timing_callback:app --app-dir docs/examples`.
"""

from __future__ import annotations

from collections import defaultdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import TimingMiddleware
from asgi_middleware.timing import TimingResult


# --8<-- [start:callback]
class LatencyStats:
    """Keeps latencies in memory per route and status; stands in for your metrics client."""

    def __init__(self) -> None:
        self.total_ms: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.ttfb_ms: dict[tuple[str, int], list[float]] = defaultdict(list)

    def __call__(self, result: TimingResult) -> None:
        """Take one request's result (called by the middleware after the response)."""
        # The route template, not the raw path: /users/1 and /users/2 are one series.
        route = result.scope.get("route")
        key = (getattr(route, "path", "unmatched"), result.status)
        self.total_ms[key].append(result.total_ms)
        if result.ttfb_ms is not None:
            self.ttfb_ms[key].append(result.ttfb_ms)


stats = LatencyStats()


async def user(request: Request) -> PlainTextResponse:
    """Greet one user."""
    return PlainTextResponse(f"user {request.path_params['user_id']}")


app = TimingMiddleware(
    Starlette(routes=[Route("/users/{user_id:int}", user)]),
    server_timing=False,  # timings stay internal
    callback=stats,
)
# --8<-- [end:callback]
