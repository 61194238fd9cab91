"""Policies for parts of an API, keyed on a tenant header, and the sliding window.

Run: `uvicorn rate_limit_policies:app --app-dir docs/examples`, then
`curl -si -X POST localhost:8000/login` six times: the sixth gets `429`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import Scope
from asgi_middleware.rate_limit import RateLimit, RateLimitMiddleware, api_key, client_address


async def echo(request: Request) -> PlainTextResponse:
    """Name the method and path."""
    return PlainTextResponse(f"{request.method} {request.url.path}\n")


starlette_app = Starlette(
    routes=[
        Route("/login", echo, methods=["GET", "POST"]),
        Route("/reports/{name}", echo),
        Route("/items", echo),
    ]
)

# --8<-- [start:policies]
limits = [
    # Every request: 100 a minute, smooth (GCRA), at most 20 at once.
    RateLimit("api", 100, 60, burst=20),
    # Password guessing: 5 login attempts a minute, counted apart from the rest.
    RateLimit("login", 5, 60, methods=["POST"], paths=["/login"]),
    # Expensive reports: 30 an hour as a plain count per window.
    RateLimit("reports", 30, 3600, algorithm="sliding-window", paths=["/reports/*"]),
]
# --8<-- [end:policies]


# --8<-- [start:key]
by_ip = client_address()


def tenant_or_client(scope: Scope) -> str | None:
    """One bucket per tenant (a header a gateway in front of the app set), else per client."""
    for name, value in scope.get("headers", ()):
        if name == b"x-tenant-id":
            return "tenant-" + bytes(value).decode("latin-1")  # hashed by the middleware if unsafe
    return by_ip(scope)


app = RateLimitMiddleware(starlette_app, limits=limits, key=tenant_or_client)
# --8<-- [end:key]

# --8<-- [start:api-key]
per_api_key = RateLimitMiddleware(
    starlette_app,
    limits=[RateLimit("per-key", 1000, 3600)],
    key=api_key(header="X-API-Key"),  # hashed: the key itself is never stored
)
# --8<-- [end:api-key]
