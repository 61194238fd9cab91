"""Trusted hosts in a Starlette app: only the hosts you serve reach it.

Run: `uvicorn trusted_host_basic:app --app-dir docs/examples`, then
`curl -i -H 'Host: www.example.com' localhost:8000/` (200),
`curl -i -H 'Host: example.com' localhost:8000/x` (307 to http://www.example.com/x) or
`curl -i -H 'Host: evil.example' localhost:8000/` (400).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose
from asgi_middleware.trusted_host import TrustedHostMiddleware


async def home(request: Request) -> PlainTextResponse:
    """Say which host the request was for: only an allowed one gets here."""
    return PlainTextResponse(f"Hello from {request.url.hostname}")


starlette_app = Starlette(routes=[Route("/", home), Route("/x", home)])

# --8<-- [start:wrap]
app = compose(
    starlette_app,
    Layer(
        TrustedHostMiddleware,
        allowed_hosts=[
            "www.example.com",  # and example.com is redirected here (www_redirect=True)
            "*.api.example.com",  # v1.api.example.com, eu.v1.api.example.com, ...
            "localhost:8000",  # this port only
            "127.0.0.1",  # any port
            "[::1]",  # IPv6 in brackets
        ],
    ),
)
# --8<-- [end:wrap]
