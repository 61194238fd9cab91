"""RequestIDMiddleware with Starlette and FastAPI apps, through httpx in process."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_middleware import (
    ASGIApp,
    Receive,
    RequestIDMiddleware,
    Scope,
    Send,
    compose,
    get_request_id,
)
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio

HEX32 = re.compile(r"[0-9a-f]{32}")


async def whoami(request: Request) -> JSONResponse:
    """Report the request ID as the endpoint sees it, three ways."""
    return JSONResponse(
        {
            "state": request.state.request_id,
            "context": get_request_id(),
            "header": request.headers.get("x-request-id"),
        }
    )


async def boom(request: Request) -> JSONResponse:
    """Fail with an unhandled exception."""
    raise RuntimeError("unhandled")


def starlette_app(*, listed: bool = False) -> Starlette:
    """A Starlette app, with RequestIDMiddleware in its middleware list when ``listed``."""
    middleware = [Middleware(RequestIDMiddleware)] if listed else []
    return Starlette(routes=[Route("/whoami", whoami), Route("/boom", boom)], middleware=middleware)


def fastapi_app(*, listed: bool = False) -> FastAPI:
    """A FastAPI app, with RequestIDMiddleware added by ``add_middleware`` when ``listed``."""
    app = FastAPI()

    @app.get("/whoami")
    async def who(request: FastAPIRequest) -> dict[str, str | None]:
        return {
            "state": request.state.request_id,
            "context": get_request_id(),
            "header": request.headers.get("x-request-id"),
        }

    @app.get("/boom")
    async def fail() -> None:
        raise RuntimeError("unhandled")

    if listed:
        app.add_middleware(RequestIDMiddleware)
    return app


APPS = [
    pytest.param(lambda: compose(starlette_app(), RequestIDMiddleware), id="starlette-wrapped"),
    pytest.param(lambda: starlette_app(listed=True), id="starlette-listed"),
    pytest.param(lambda: compose(fastapi_app(), RequestIDMiddleware), id="fastapi-wrapped"),
    pytest.param(lambda: fastapi_app(listed=True), id="fastapi-added"),
]


@pytest.mark.parametrize("make_app", APPS)
async def test_endpoint_sees_the_id_it_gets_back(make_app: Callable[[], ASGIApp]) -> None:
    """request.state.request_id, get_request_id() and the header agree with the response."""
    async with asgi_client(make_app()) as client:
        response = await client.get("/whoami")

    request_id = response.headers["x-request-id"]
    assert HEX32.fullmatch(request_id)
    assert response.json() == {"state": request_id, "context": request_id, "header": request_id}


@pytest.mark.parametrize("make_app", APPS)
async def test_incoming_id_is_echoed(make_app: Callable[[], ASGIApp]) -> None:
    """A client's valid ID reaches the endpoint and comes back once."""
    async with asgi_client(make_app()) as client:
        response = await client.get("/whoami", headers={"X-Request-ID": "client-42"})

    assert response.headers.get_list("x-request-id") == ["client-42"]
    assert response.json()["state"] == "client-42"


@pytest.mark.parametrize("make_app", APPS)
async def test_each_request_gets_its_own_id(make_app: Callable[[], ASGIApp]) -> None:
    """Sequential requests on one client get distinct IDs."""
    async with asgi_client(make_app()) as client:
        ids = {(await client.get("/whoami")).headers["x-request-id"] for _ in range(5)}

    assert len(ids) == 5


@pytest.mark.parametrize(
    "make_app",
    [
        pytest.param(lambda: compose(starlette_app(), RequestIDMiddleware), id="starlette"),
        pytest.param(lambda: compose(fastapi_app(), RequestIDMiddleware), id="fastapi"),
    ],
)
async def test_wrapped_app_500_carries_the_id(make_app: Callable[[], ASGIApp]) -> None:
    """Wrapping the framework app (outside its error handler) puts the ID on its 500."""
    async with asgi_client(make_app(), raise_app_exceptions=False) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "failing-1"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "failing-1"


async def remember(request: Request) -> JSONResponse:
    """Store a value on ``request.state``, as authentication or tenancy code does."""
    request.state.tenant = "acme"
    return JSONResponse({"state": request.state.request_id})


async def test_endpoint_state_reaches_an_outer_middleware() -> None:
    """What a Starlette endpoint sets on request.state is read by a pure-ASGI layer outside."""
    seen: list[dict[str, object]] = []
    inner = RequestIDMiddleware(Starlette(routes=[Route("/remember", remember)]))

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        # httpx gives no state: this layer creates the per-request dict as uvicorn does (a
        # copy of the lifespan state) and reads it once the app returned.
        state: dict[str, object] = {"pool": "lifespan"}
        await inner({**scope, "state": state}, receive, send)
        seen.append(state)

    async with asgi_client(outer) as client:
        response = await client.get("/remember", headers={"X-Request-ID": "req-7"})

    assert response.json() == {"state": "req-7"}
    assert seen == [{"pool": "lifespan", "request_id": "req-7", "tenant": "acme"}]
