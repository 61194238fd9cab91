"""Behind nginx on the same host: nginx appends the peer to X-Forwarded-For and sets the rest.

Run: `uvicorn proxy_headers_nginx:app --app-dir docs/examples --no-proxy-headers` behind the
nginx configuration shown in docs/proxy-headers.md.
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
# nginx connects from 127.0.0.1 (the default trust) and overwrites X-Forwarded-Proto and
# X-Forwarded-Host; it appends to X-Forwarded-For, whose right-most entry is the one it wrote.
app = ProxyHeadersMiddleware(Starlette(routes=[Route("/who", who)]), forwarded_host=True)
# --8<-- [end:app]
