"""A rate limit in front of a Starlette app: ten a second, ten thousand a day, per client.

Run: `uvicorn rate_limit_basic:app --app-dir docs/examples`, then
`for i in $(seq 12); do curl -si localhost:8000/ | grep -iE '^(HTTP|ratelimit|retry)'; done`:
ten answers with `RateLimit: "per-second";r=9;t=1, "per-day";r=9999;t=9` counting down, then
`429` with `Retry-After: 1`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose
from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("Hello!\n")


starlette_app = Starlette(routes=[Route("/", home), Route("/health", home)])

# --8<-- [start:wrap]
app = compose(
    starlette_app,
    Layer(
        RateLimitMiddleware,
        limits=[
            RateLimit("per-second", 10, 1),  # 10 at once, then one every 0.1 s
            RateLimit("per-day", 10_000, 86_400),  # and 10,000 a day in all
        ],
        exempt_paths=["/health"],  # never limited: the load balancer's checks
    ),
)
# --8<-- [end:wrap]
