"""HTTPS redirect in a Starlette app, with a health check served over plain HTTP.

Run: `uvicorn https_redirect_basic:app --app-dir docs/examples`, then
`curl -i localhost:8000/orders?page=2` (308 to https://localhost:8443/orders?page=2) or
`curl -i localhost:8000/health` (200, over plain HTTP).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose
from asgi_middleware.https_redirect import HTTPSRedirectMiddleware


async def orders(request: Request) -> PlainTextResponse:
    """An endpoint that is only ever served over HTTPS."""
    return PlainTextResponse(f"orders, over {request.url.scheme}")


async def health(request: Request) -> PlainTextResponse:
    """The load balancer's health check, over plain HTTP on the internal port."""
    return PlainTextResponse("ok")


starlette_app = Starlette(routes=[Route("/orders", orders), Route("/health", health)])

# --8<-- [start:wrap]
app = compose(
    starlette_app,
    Layer(
        HTTPSRedirectMiddleware,
        status=308,  # permanent; 307 (the default) while you try it out
        https_port=8443,  # where HTTPS is served; left out of the URL when 443
        exclude_paths=["/health"],
    ),
)
# --8<-- [end:wrap]
