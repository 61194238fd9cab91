"""From Starlette's RequestBodyLimitMiddleware: the same option name; the import changes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware.body_limit import BodyLimitMiddleware


async def echo_size(request: Request) -> PlainTextResponse:
    """Read the body whole and answer with its size."""
    return PlainTextResponse(str(len(await request.body())))


routes = [Route("/echo", echo_size, methods=["POST"])]

# --8<-- [start:before]
before_app = Starlette(
    routes=routes,
    middleware=[Middleware(RequestBodyLimitMiddleware, max_body_size=1_000_000)],
)
# --8<-- [end:before]

# --8<-- [start:after]
app = Starlette(
    routes=routes,
    middleware=[Middleware(BodyLimitMiddleware, max_body_size=1_000_000)],
)
# --8<-- [end:after]
