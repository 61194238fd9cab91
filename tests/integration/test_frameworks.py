"""Typed usage with Starlette, FastAPI and Litestar, checked by mypy --strict and run over httpx.

This file is the "typed-usage file" of STYLE.md: if our ASGI aliases stopped accepting a framework's
own types, mypy would fail here, without a single cast in sight.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from litestar import Litestar, get
from litestar.middleware import DefineMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from asgi_middleware import ASGIApp, Layer, compose
from tests.conformance.reference import ReferenceMiddleware
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio


async def hello(request: Request) -> PlainTextResponse:
    """Say hello."""
    return PlainTextResponse("hello")


def starlette_app() -> Starlette:
    """A Starlette app with our middleware in its own list and added later."""
    app = Starlette(
        routes=[Route("/", hello)],
        middleware=[Middleware(ReferenceMiddleware, header="x-in-list")],
    )
    app.add_middleware(ReferenceMiddleware, header="x-added")
    return app


def fastapi_app() -> FastAPI:
    """A FastAPI app with our middleware added the FastAPI way."""
    app = FastAPI()
    app.add_middleware(ReferenceMiddleware, header="x-in-list")

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"hello": "world"}

    return app


@get("/", sync_to_thread=False)
def litestar_hello() -> str:
    """Say hello, Litestar style."""
    return "hello"


def litestar_app() -> Litestar:
    """A Litestar app with our middleware in DefineMiddleware and as a bare class."""
    return Litestar(
        [litestar_hello],
        middleware=[DefineMiddleware(ReferenceMiddleware, header="x-in-list"), ReferenceMiddleware],
    )


async def _get(app: ASGIApp) -> httpx.Response:
    async with asgi_client(app) as client:
        return await client.get("/")


async def test_starlette_app_wrapped_and_listed() -> None:
    """Starlette: our middleware works in Middleware(...), add_middleware and compose."""
    app = compose(starlette_app(), Layer(ReferenceMiddleware, header="x-outer"))
    response = await _get(app)
    assert response.text == "hello"
    assert {"x-outer", "x-added", "x-in-list"} <= set(response.headers)


async def test_fastapi_app_wrapped_and_listed() -> None:
    """FastAPI: our middleware works in add_middleware and compose."""
    app = compose(fastapi_app(), ReferenceMiddleware)
    response = await _get(app)
    assert response.json() == {"hello": "world"}
    assert {"x-reference", "x-in-list"} <= set(response.headers)


async def test_litestar_app_wrapped_and_listed() -> None:
    """Litestar: our middleware works in DefineMiddleware, as a class, and around the app."""
    app = compose(litestar_app(), Layer(ReferenceMiddleware, header="x-outer"))
    response = await _get(app)
    assert response.text == "hello"
    assert {"x-outer", "x-in-list", "x-reference"} <= set(response.headers)
