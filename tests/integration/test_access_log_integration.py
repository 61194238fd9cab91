"""AccessLogMiddleware behind RequestIDMiddleware around Starlette and FastAPI apps (httpx)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route
from structlog.testing import LogCapture

from asgi_middleware import AccessLogMiddleware, ASGIApp, Layer, RequestIDMiddleware, compose
from tests.support.asgi import asgi_client

pytestmark = pytest.mark.anyio


def starlette_app(logger: Any) -> Starlette:
    """A Starlette app whose endpoints log through ``logger``."""

    async def hello(request: Request) -> PlainTextResponse:
        logger.info("handling", user="ada")
        return PlainTextResponse("hello")

    async def stream(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(4):
                yield b"%d" % index * 100

        return StreamingResponse(chunks(), media_type="text/plain")

    async def boom(request: Request) -> PlainTextResponse:
        raise RuntimeError("unhandled")

    return Starlette(
        routes=[Route("/hello", hello), Route("/stream", stream), Route("/boom", boom)]
    )


def fastapi_app(logger: Any) -> FastAPI:
    """A FastAPI app whose endpoints log through ``logger``."""
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        logger.info("handling", user="ada")
        return {"message": "hello"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unhandled")

    return app


def recommended(app: ASGIApp, logger: Any) -> ASGIApp:
    """The stack as the docs recommend: request ID outside the access log."""
    return compose(app, RequestIDMiddleware, Layer(AccessLogMiddleware, logger=logger))


FRAMEWORKS = [
    pytest.param(starlette_app, id="starlette"),
    pytest.param(fastapi_app, id="fastapi"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_app_log_and_access_event_share_the_request_id(
    framework: Callable[[Any], ASGIApp], logger: Any, capture: LogCapture
) -> None:
    """The endpoint's own event and the access event carry the response's request ID."""
    async with asgi_client(recommended(framework(logger), logger)) as client:
        response = await client.get("/hello?token=s3cret", headers={"User-Agent": "itest"})

    request_id = response.headers["x-request-id"]
    app_event, access = capture.entries
    assert app_event == {
        "event": "handling",
        "user": "ada",
        "log_level": "info",
        "method": "GET",
        "path": "/hello",
        "request_id": request_id,
    }
    assert access["event"] == "http_request"
    assert access["request_id"] == request_id
    assert (access["status"], access["query"], access["user_agent"]) == (
        200,
        "token=[redacted]",
        "itest",
    )
    assert access["bytes_sent"] == len(response.content)


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_unhandled_exception_is_a_500_with_the_id(
    framework: Callable[[Any], ASGIApp], logger: Any, capture: LogCapture
) -> None:
    """An endpoint's exception: a 500 carrying the ID, one event with status 500 and the error."""
    async with asgi_client(
        recommended(framework(logger), logger), raise_app_exceptions=False
    ) as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    (access,) = capture.entries
    assert access["request_id"] == response.headers["x-request-id"]
    assert access["status"] == 500
    assert isinstance(access["exc_info"], RuntimeError)
    assert access["log_level"] == "error"


async def test_streamed_response_bytes_are_counted(logger: Any, capture: LogCapture) -> None:
    """A StreamingResponse's chunks are all counted in ``bytes_sent``."""
    async with asgi_client(recommended(starlette_app(logger), logger)) as client:
        response = await client.get("/stream")

    assert len(response.content) == 400
    assert capture.entries[-1]["bytes_sent"] == 400


async def test_added_with_add_middleware(logger: Any, capture: LogCapture) -> None:
    """Listed through FastAPI's ``add_middleware`` the middleware logs the same event."""
    app = fastapi_app(logger)
    app.add_middleware(AccessLogMiddleware, logger=logger)
    app.add_middleware(RequestIDMiddleware)
    async with asgi_client(app) as client:
        response = await client.get("/hello")

    assert capture.entries[-1]["request_id"] == response.headers["x-request-id"]
    assert capture.entries[-1]["status"] == 200
