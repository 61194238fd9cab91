"""Starlette, the whole app object wrapped with ``compose`` (outside its error handler)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from asgi_middleware import compose
from asgi_middleware.metrics import metrics_app
from tests.matrix.stack import (
    FIRST_CHUNK,
    ITEM_BODY,
    LAST_CHUNK,
    REGISTRY,
    STREAM_PAUSE,
    configure_logging,
    layers,
)

configure_logging()


async def item(request: Request) -> Response:
    """One item, compressible."""
    return Response(ITEM_BODY, media_type="text/plain")


async def stream(request: Request) -> StreamingResponse:
    """Two chunks, a pause apart."""

    async def chunks() -> AsyncIterator[bytes]:
        yield FIRST_CHUNK
        await anyio.sleep(STREAM_PAUSE)
        yield LAST_CHUNK

    return StreamingResponse(chunks(), media_type="text/plain")


async def private(request: Request) -> JSONResponse:
    """Only with the token (the stack refuses anyone else)."""
    return JSONResponse({"user": request.user.display_name})


async def echo(websocket: WebSocket) -> None:
    """Echo text frames until the client leaves."""
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


ROUTES = [
    Route("/items/{item_id}", item),
    Route("/stream", stream),
    Route("/private", private),
    Route("/metrics", metrics_app(REGISTRY)),
    WebSocketRoute("/ws", echo),
]


def starlette_app(middleware: list[Middleware] | None = None) -> Starlette:
    """The Starlette app, with ``middleware`` in its own list."""
    return Starlette(routes=ROUTES, middleware=middleware)


app = compose(starlette_app(), *layers())
