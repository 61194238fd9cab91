"""Behind an AWS Application Load Balancer, whose nodes live in the VPC.

Run: `uvicorn proxy_headers_alb:app --app-dir docs/examples --no-proxy-headers` as the ALB's
target; see docs/proxy-headers.md for the VPC range to list.
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
# The ALB's nodes connect from the VPC's range. It appends to X-Forwarded-For (a client's own
# entries stay on the left) and overwrites X-Forwarded-Proto and X-Forwarded-Port. It passes the
# client's Host header on as it came, so forwarded_host stays off.
app = ProxyHeadersMiddleware(
    Starlette(routes=[Route("/who", who)]),
    trusted_proxies=["10.0.0.0/16"],
    forwarded_port=True,
)
# --8<-- [end:app]
