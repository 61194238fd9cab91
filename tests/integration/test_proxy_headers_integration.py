"""ProxyHeadersMiddleware around Starlette and FastAPI apps, through httpx in process.

httpx's ASGI transport reports the peer as ``127.0.0.1``, which the default trust lists.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from asgi_middleware.proxy_headers import ProxyHeadersMiddleware
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio


async def describe(request: StarletteRequest) -> JSONResponse:
    """What Starlette makes of the request: client, URL, and a link built by url_for."""
    return JSONResponse(
        {
            "client": [request.client.host, request.client.port] if request.client else None,
            "url": str(request.url),
            "link": str(request.url_for("item", name="ab")),
            "root_path": request.scope["root_path"],
        }
    )


async def item(request: StarletteRequest) -> JSONResponse:
    """A routed endpoint with a path parameter."""
    return JSONResponse({"name": request.path_params["name"]})


def starlette_app() -> Starlette:
    """Routes at the top and under a mount, so url_for crosses both."""
    return Starlette(
        routes=[Route("/", describe), Mount("/items", routes=[Route("/{name}", item, name="item")])]
    )


async def get(app: Any, path: str, headers: dict[str, str]) -> httpx.Response:
    """One GET through httpx in process."""
    async with asgi_client(app, base_url="http://internal:8000") as client:
        return await client.get(path, headers=headers)


async def test_starlette_sees_client_scheme_and_host() -> None:
    """request.client and request.url come from the proxy headers."""
    app = ProxyHeadersMiddleware(starlette_app(), forwarded_host=True)
    response = await get(
        app,
        "/",
        {
            "X-Forwarded-For": "198.51.100.7, 203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "api.example",
        },
    )
    assert response.json() == {
        "client": ["203.0.113.9", 0],
        "url": "https://api.example/",
        "link": "https://api.example/items/ab",
        "root_path": "",
    }


async def test_routing_and_url_for_under_a_prefix() -> None:
    """With X-Forwarded-Prefix, routes still match and url_for links carry the prefix."""
    app = ProxyHeadersMiddleware(starlette_app(), forwarded_host=True, forwarded_prefix=True)
    headers = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "api.example",
        "X-Forwarded-Prefix": "/shop",
    }
    page = await get(app, "/", headers)
    routed = await get(app, "/items/x", headers)
    assert page.json()["url"] == "https://api.example/shop/"
    assert page.json()["link"] == "https://api.example/shop/items/ab"
    assert page.json()["root_path"] == "/shop"
    assert routed.json() == {"name": "x"}


async def test_untrusted_peer_is_not_believed() -> None:
    """With the test client's 127.0.0.1 not listed, the headers change nothing."""
    app = ProxyHeadersMiddleware(starlette_app(), trusted_proxies=["10.0.0.0/8"])
    response = await get(app, "/", {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"})
    assert response.json()["client"] == ["127.0.0.1", 123]
    assert response.json()["url"] == "http://internal:8000/"


async def test_fastapi_with_add_middleware_and_forwarded() -> None:
    """FastAPI's add_middleware with RFC 7239 Forwarded: client and scheme applied."""
    api = FastAPI()

    @api.get("/who")
    async def who(request: Request) -> dict[str, Any]:
        assert request.client is not None
        return {"client": request.client.host, "scheme": request.url.scheme}

    api.add_middleware(ProxyHeadersMiddleware, headers="forwarded")
    response = await get(api, "/who", {"Forwarded": 'for="[2001:db8::9]:4711";proto=https'})
    assert response.json() == {"client": "2001:db8::9", "scheme": "https"}
