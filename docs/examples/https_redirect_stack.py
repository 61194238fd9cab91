"""The edge of a service: refuse unknown hosts, then send plain HTTP to HTTPS.

The trusted-host check sits outside the redirect, so a request for a host you do not serve gets
a 400 and never a redirect; `compose` takes its layers outermost first.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose
from asgi_middleware.https_redirect import HTTPSRedirectMiddleware
from asgi_middleware.trusted_host import TrustedHostMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Answer with the URL the app sees."""
    return PlainTextResponse(str(request.url))


starlette_app = Starlette(routes=[Route("/", home)])

# --8<-- [start:stack]
app = compose(
    starlette_app,
    Layer(TrustedHostMiddleware, allowed_hosts=["example.com", "www.example.com"]),
    HTTPSRedirectMiddleware,
)
# --8<-- [end:stack]
