"""From slowapi and from Litestar's RateLimitMiddleware to ours.

`before_app` is slowapi's way, `app` ours, with the same limit: 5 a minute per client.
`litestar_before` and `litestar_after` do the same for Litestar.
"""

from __future__ import annotations

from litestar import Litestar, get
from litestar.middleware.rate_limit import RateLimitConfig
from slowapi import Limiter
from slowapi.middleware import SlowAPIASGIMiddleware
from slowapi.util import get_remote_address
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose
from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("Hello!\n")


# --8<-- [start:before]
limiter = Limiter(key_func=get_remote_address, default_limits=["5/minute"], headers_enabled=True)
before_app = Starlette(routes=[Route("/", home)])
before_app.state.limiter = limiter
before_app.add_middleware(SlowAPIASGIMiddleware)
# --8<-- [end:before]

# --8<-- [start:after]
app = Starlette(routes=[Route("/", home)])
app.add_middleware(RateLimitMiddleware, limits=[RateLimit("per-minute", 5, 60)])
# --8<-- [end:after]


@get("/", sync_to_thread=False)
def hello() -> str:
    """Say hello."""
    return "Hello!"


# --8<-- [start:litestar-before]
config = RateLimitConfig(rate_limit=("minute", 5))
litestar_before = Litestar(route_handlers=[hello], middleware=[config.middleware])
# --8<-- [end:litestar-before]

# --8<-- [start:litestar-after]
litestar_after = compose(
    Litestar(route_handlers=[hello]),
    Layer(RateLimitMiddleware, limits=[RateLimit("per-minute", 5, 60)]),
)
# --8<-- [end:litestar-after]
