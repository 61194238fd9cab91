"""CORSMiddleware with Starlette and FastAPI apps, through httpx's in-process transport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from asgi_middleware import ASGIApp, CORSMiddleware, Layer, compose
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio

ORIGIN = "https://app.example"
POLICY: dict[str, Any] = {
    "allow_origins": [ORIGIN],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["X-Custom"],
    "allow_credentials": True,
    "expose_headers": ["X-Total"],
}
PREFLIGHT = {
    "origin": ORIGIN,
    "access-control-request-method": "POST",
    "access-control-request-headers": "x-custom, content-type",
}


async def items(request: Request) -> Response:
    """List items, with a total the page may read."""
    return JSONResponse(["a", "b"], headers={"x-total": "2", "vary": "Accept-Encoding"})


async def boom(request: Request) -> Response:
    """Fail with an unhandled exception."""
    msg = "boom"
    raise RuntimeError(msg)


async def options_handler(request: Request) -> Response:
    """Answer a plain OPTIONS (not a preflight) with the allowed methods."""
    return PlainTextResponse("", headers={"allow": "GET, OPTIONS"})


ROUTES = [
    Route("/items", items, methods=["GET", "POST"]),
    Route("/boom", boom),
    Route("/opts", options_handler, methods=["OPTIONS"]),
]


def starlette_added() -> ASGIApp:
    """A Starlette app with the middleware added through ``add_middleware``."""
    app = Starlette(routes=ROUTES)
    app.add_middleware(CORSMiddleware, **POLICY)
    return app


def starlette_listed() -> ASGIApp:
    """A Starlette app with the middleware in its ``middleware=`` list."""
    return Starlette(routes=ROUTES, middleware=[Middleware(CORSMiddleware, **POLICY)])


def fastapi_app() -> ASGIApp:
    """A FastAPI app with the middleware added through ``add_middleware``."""
    api = FastAPI()

    @api.get("/items")
    async def list_items() -> JSONResponse:
        return JSONResponse(["a", "b"], headers={"x-total": "2", "vary": "Accept-Encoding"})

    @api.post("/items")
    async def create_item(item: dict[str, str]) -> dict[str, str]:
        return item

    api.add_middleware(CORSMiddleware, **POLICY)
    return api


APPS = {
    "starlette-add": starlette_added,
    "starlette-list": starlette_listed,
    "fastapi": fastapi_app,
}


@pytest.mark.parametrize("make", APPS.values(), ids=APPS.keys())
async def test_simple_request_gets_cors_headers(make: Any) -> None:
    """A GET from an allowed origin gets the CORS headers, merged with the app's Vary."""
    async with asgi_client(make()) as client:
        response = await client.get("/items", headers={"origin": ORIGIN})

    assert response.status_code == 200
    assert response.json() == ["a", "b"]
    assert response.headers.get_list("access-control-allow-origin") == [ORIGIN]
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "x-total"
    assert response.headers.get_list("vary") == ["Accept-Encoding, Origin"]


@pytest.mark.parametrize("make", APPS.values(), ids=APPS.keys())
async def test_preflight_answered(make: Any) -> None:
    """A preflight for POST with a custom header and JSON is answered by the middleware."""
    async with asgi_client(make()) as client:
        response = await client.options("/items", headers=PREFLIGHT)

    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    assert "x-custom" in response.headers["access-control-allow-headers"].split(", ")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("make", APPS.values(), ids=APPS.keys())
async def test_disallowed_origin_gets_no_cors_headers(make: Any) -> None:
    """A GET from another origin gets the app's answer without any CORS header."""
    async with asgi_client(make()) as client:
        response = await client.get("/items", headers={"origin": "https://evil.example"})

    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert response.headers.get_list("vary") == ["Accept-Encoding, Origin"]


async def test_fastapi_post_after_preflight() -> None:
    """The actual POST after a preflight reaches FastAPI's handler and gets CORS headers."""
    async with asgi_client(fastapi_app()) as client:
        response = await client.post(
            "/items", json={"name": "a"}, headers={"origin": ORIGIN, "x-custom": "1"}
        )

    assert response.json() == {"name": "a"}
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_plain_options_reaches_starlette_route() -> None:
    """An OPTIONS without Access-Control-Request-Method is answered by the app's route."""
    async with asgi_client(starlette_added()) as client:
        response = await client.options("/opts", headers={"origin": ORIGIN})

    assert response.headers["allow"] == "GET, OPTIONS"
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_wrapped_starlette_500_carries_cors_headers() -> None:
    """A whole Starlette app wrapped by compose: its 500 carries CORS headers."""
    app = compose(Starlette(routes=ROUTES), Layer(CORSMiddleware, **POLICY))

    async with asgi_client(app, raise_app_exceptions=False) as client:
        response = await client.get("/boom", headers={"origin": ORIGIN})

    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_added_starlette_500_lacks_cors_headers() -> None:
    """With add_middleware, Starlette's error handler sits outside, so the 500 has no CORS."""
    async with asgi_client(starlette_added(), raise_app_exceptions=False) as client:
        response = await client.get("/boom", headers={"origin": ORIGIN})

    assert response.status_code == 500
    assert "access-control-allow-origin" not in response.headers


REQUESTS: dict[str, tuple[str, dict[str, str]]] = {
    "allowed-get": ("GET", {"origin": ORIGIN}),
    "other-get": ("GET", {"origin": "https://other.example"}),
    "preflight": ("OPTIONS", PREFLIGHT),
    "preflight-bad-header": (
        "OPTIONS",
        {**PREFLIGHT, "access-control-request-headers": "x-unknown"},
    ),
    "preflight-bad-method": ("OPTIONS", {**PREFLIGHT, "access-control-request-method": "PUT"}),
}


def _allow_origin(response: httpx.Response) -> list[str]:
    # Only Allow-Origin: Starlette also sends Allow-Credentials to origins it refuses.
    return response.headers.get_list("access-control-allow-origin")


@pytest.mark.parametrize(("method", "headers"), REQUESTS.values(), ids=REQUESTS.keys())
async def test_drop_in_for_starlette(method: str, headers: dict[str, str]) -> None:
    """With the same options, the status and Allow-Origin decision equal Starlette's."""
    answers = []
    for cls in (StarletteCORSMiddleware, CORSMiddleware):
        app = Starlette(routes=ROUTES, middleware=[Middleware(cls, **POLICY)])
        async with asgi_client(app) as client:
            response = await client.request(method, "/items", headers=headers)
        allowed = response.status_code == 200
        answers.append((response.status_code, _allow_origin(response) if allowed else []))

    assert answers[0] == answers[1]
