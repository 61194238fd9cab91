"""The edge layers together, as the docs order them: proxy headers, trusted host, HTTPS redirect."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import (
    ASGIApp,
    HTTPSRedirectMiddleware,
    Layer,
    ProxyHeadersMiddleware,
    SecurityHeadersMiddleware,
    TrustedHostMiddleware,
    compose,
)

pytestmark = pytest.mark.anyio


async def where(request: Request) -> JSONResponse:
    """What the app believes about the request: its URL, client and the URL of this route."""
    return JSONResponse(
        {
            "url": str(request.url),
            "client": request.client.host if request.client else None,
            "self": str(request.url_for("where", item="1")),
        }
    )


def edge(app: ASGIApp) -> ASGIApp:
    """The edge as a service behind one proxy on 127.0.0.1 that strips the /api prefix."""
    return compose(
        app,
        Layer(ProxyHeadersMiddleware, forwarded_host=True, forwarded_prefix=True),
        SecurityHeadersMiddleware,
        Layer(TrustedHostMiddleware, allowed_hosts=["public.example"]),
        Layer(HTTPSRedirectMiddleware, status=308),
    )


STARLETTE = edge(Starlette(routes=[Route("/items/{item}", where, name="where")]))
PROXIED = {"x-forwarded-host": "public.example", "x-forwarded-prefix": "/api"}


def client() -> httpx.AsyncClient:
    """A client that connects from 127.0.0.1 (the trusted proxy) to the internal address."""
    transport = httpx.ASGITransport(app=STARLETTE)
    return httpx.AsyncClient(transport=transport, base_url="http://internal:8000")


async def test_plain_http_through_the_proxy_is_redirected_to_the_public_url() -> None:
    """The redirect points at the public host and keeps the proxy's prefix, path and query."""
    async with client() as http:
        response = await http.get("/items/7?x=1", headers={**PROXIED, "x-forwarded-proto": "http"})
    assert response.status_code == 308
    assert response.headers["location"] == "https://public.example/api/items/7?x=1"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_https_through_the_proxy_reaches_the_app_with_the_public_url() -> None:
    """The app sees the client, the public URL and builds its links under the prefix; HSTS too."""
    headers = {**PROXIED, "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.5"}
    async with client() as http:
        response = await http.get("/items/7", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "url": "https://public.example/api/items/7",
        "client": "203.0.113.5",
        "self": "https://public.example/api/items/1",
    }
    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_a_forwarded_host_outside_the_allowlist_is_refused() -> None:
    """A proxy passing a client's X-Forwarded-Host cannot steer the redirect: 400, no Location."""
    async with client() as http:
        response = await http.get(
            "/items/7", headers={"x-forwarded-host": "evil.example", "x-forwarded-proto": "http"}
        )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.text == "Invalid host header"


async def test_an_untrusted_peer_cannot_claim_https() -> None:
    """From a peer that is not a listed proxy, X-Forwarded-Proto changes nothing: redirected."""
    transport = httpx.ASGITransport(app=STARLETTE, client=("198.51.100.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://public.example") as http:
        response = await http.get("/items/7", headers={"x-forwarded-proto": "https"})
    assert response.status_code == 308
    assert response.headers["location"] == "https://public.example/items/7"
