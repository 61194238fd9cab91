"""Behind Traefik in a Docker network, with a StripPrefix middleware for /shop.

Run: `uvicorn proxy_headers_traefik:app --app-dir docs/examples --no-proxy-headers` as the
service of the Traefik labels shown in docs/proxy-headers.md.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware.proxy_headers import ProxyHeadersMiddleware


async def who(request: Request) -> JSONResponse:
    """The client, the URL and a link built by url_for, as the app sees them."""
    return JSONResponse(
        {
            "client": request.client and request.client.host,
            "url": str(request.url),
            "link": str(request.url_for("who")),
        }
    )


# --8<-- [start:app]
# Traefik reaches the app from the Docker network, and overwrites every X-Forwarded-* header of
# a client it does not trust (its forwardedHeaders.trustedIPs is empty): all five are safe.
app = ProxyHeadersMiddleware(
    Starlette(routes=[Route("/who", who, name="who")]),
    trusted_proxies=["172.16.0.0/12"],
    forwarded_host=True,
    forwarded_port=True,
    forwarded_prefix=True,
)
# --8<-- [end:app]
