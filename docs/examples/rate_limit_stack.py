"""The rate limits of a public API in the recommended stack: per client, then per user.

Behind a proxy on 10.0.0.0/8: the proxy-headers layer makes `request.client` the real client,
a per-client limit guards everything (logins included), and a per-user limit sits inside
authentication, where the user is known.

Run: `API_TOKENS=alice-token,bob-token uvicorn rate_limit_stack:app --app-dir docs/examples`.
"""

from __future__ import annotations

import os
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import Layer, compose
from asgi_middleware.auth import AuthenticationMiddleware, BearerTokenBackend
from asgi_middleware.cors import CORSMiddleware
from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware, user
from asgi_middleware.request_id import RequestIDMiddleware


async def me(request: Request) -> JSONResponse:
    """Who the request is from."""
    client = request.client.host if request.client else None
    return JSONResponse({"user": request.user.display_name, "client": client})


# Without API_TOKENS, one random token nobody knows: every request gets 401.
tokens = [token for token in os.environ.get("API_TOKENS", "").split(",") if token]
tokens = tokens or [secrets.token_urlsafe(32)]

# --8<-- [start:stack]
app = compose(
    Starlette(routes=[Route("/me", me)]),
    Layer(ProxyHeadersMiddleware, trusted_proxies=["10.0.0.0/8"]),  # first: the real client
    Layer(
        CORSMiddleware,
        allow_origins=["https://app.example"],
        expose_headers=["RateLimit", "RateLimit-Policy", "Retry-After"],  # readable by pages
    ),
    Layer(RequestIDMiddleware),
    # Per client address, before authentication: guessing tokens costs attempts too.
    Layer(RateLimitMiddleware, limits=[RateLimit("per-client", 300, 60, burst=50)]),
    Layer(AuthenticationMiddleware, backend=BearerTokenBackend(tokens=tokens)),
    # Per user, inside authentication: one bucket per user wherever they connect from.
    Layer(RateLimitMiddleware, limits=[RateLimit("per-user", 1000, 3600)], key=user()),
)
# --8<-- [end:stack]
