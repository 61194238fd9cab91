"""Behind Cloudflare, connecting straight to the app's public address.

Run: `uvicorn proxy_headers_cloudflare:app --app-dir docs/examples --no-proxy-headers`; keep
CLOUDFLARE in step with https://www.cloudflare.com/ips/ (see docs/proxy-headers.md).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware.proxy_headers import ProxyHeadersMiddleware


async def who(request: Request) -> JSONResponse:
    """The client and the URL as the app sees them."""
    return JSONResponse({"client": request.client and request.client.host, "url": str(request.url)})


# --8<-- [start:app]
# Cloudflare's published ranges (https://www.cloudflare.com/ips/, two of each family here):
# only a request that really comes through Cloudflare is believed.
CLOUDFLARE = ["173.245.48.0/20", "104.16.0.0/13", "2400:cb00::/32", "2606:4700::/32"]

# Cloudflare appends the visitor to X-Forwarded-For and sets X-Forwarded-Proto.
app = ProxyHeadersMiddleware(Starlette(routes=[Route("/who", who)]), trusted_proxies=CLOUDFLARE)
# --8<-- [end:app]
